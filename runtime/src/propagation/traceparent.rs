//! The W3C Trace Context `traceparent` header: `version-traceid-parentid-flags`.
//!
//! Parsing is strict, as "traceparent Header Field Values" asks: lowercase hex only, fixed
//! widths, no all-zero ids. Anything else is `None`, and the caller starts a new trace
//! ("Versioning of traceparent": "the implementation should restart the trace").

/// The `sampled` bit ("Sampled flag"): the caller may have recorded trace data.
pub(crate) const FLAG_SAMPLED: u8 = 0x01;

/// The `random-trace-id` bit (Trace Context Level 2, "Random Trace ID Flag"): at least the
/// right-most 7 bytes of the trace id were chosen at random.
pub(crate) const FLAG_RANDOM: u8 = 0x02;

/// Every flag bit a known version defines; "Other Flags" says vendors MUST set the rest to zero.
pub(crate) const KNOWN_FLAGS: u8 = FLAG_SAMPLED | FLAG_RANDOM;

/// Length of a version `00` value: `2 + 1 + 32 + 1 + 16 + 1 + 2` ("version-format").
const VERSION_00_LEN: usize = 55;

/// A parsed `traceparent`: the caller's trace id, its span id (the spec's `parent-id`) and
/// the trace flags exactly as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TraceParent {
    /// The `trace-id` ("trace-id"); never zero once parsed.
    pub(crate) trace_id: u128,
    /// The `parent-id` ("parent-id"): the caller's span; never zero once parsed.
    pub(crate) span_id: u64,
    /// The `trace-flags` byte as received ("trace-flags"); undefined bits are kept here so a
    /// caller can see them, and cleared by [`TraceParent::format`].
    pub(crate) flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value, or returns `None` when the spec says to ignore it.
    ///
    /// - Spaces and tabs around the value are trimmed (it is an HTTP field value, whose
    ///   surrounding OWS vendors may drop).
    /// - `version` is two lowercase hex digits and not `ff` ("version").
    /// - Version `00` is exactly 55 characters ("version-format").
    /// - A higher version is parsed with the `00` layout; after the flags there must be the
    ///   end of the value or a `-` ("Versioning of traceparent"); what follows is ignored.
    /// - Ids and flags are lowercase hex; all-zero ids are invalid ("trace-id", "parent-id").
    pub(crate) fn parse(header: &str) -> Option<TraceParent> {
        let value = header.trim_matches([' ', '\t']).as_bytes();
        if value.len() < VERSION_00_LEN {
            return None;
        }
        let version = lower_hex(&value[0..2])?;
        let layout_ok = value[2] == b'-' && value[35] == b'-' && value[52] == b'-';
        let end = value.get(VERSION_00_LEN);
        let end_ok = matches!((version, end), (0, None) | (1..=0xfe, None | Some(b'-')));
        if !layout_ok || !end_ok {
            return None;
        }
        let trace_id = lower_hex(&value[3..35])?;
        let span_id = u64::try_from(lower_hex(&value[36..52])?).ok()?;
        let flags = u8::try_from(lower_hex(&value[53..55])?).ok()?;
        if trace_id == 0 || span_id == 0 {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            flags,
        })
    }

    /// Formats as version `00`, the highest version known here ("Versioning of traceparent":
    /// a higher version is downgraded), with flags outside [`KNOWN_FLAGS`] cleared
    /// ("Other Flags": vendors MUST set those to zero).
    pub(crate) fn format(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            self.flags & KNOWN_FLAGS
        )
    }

    /// Whether the caller may have recorded trace data ("Sampled flag"); masks the bit, as the
    /// spec's "trace-flags" section warns to.
    #[cfg(test)]
    pub(crate) fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }

    /// Whether the trace id's right-most 7 bytes are random (Level 2, "Random Trace ID Flag").
    #[cfg(test)]
    pub(crate) fn random(&self) -> bool {
        self.flags & FLAG_RANDOM != 0
    }
}

/// Decodes 1 to 32 lowercase hex digits (`HEXDIGLC` in "traceparent Header Field Values";
/// B3's "lower-hex"). Unlike `from_str_radix`, it refuses signs and uppercase.
pub(crate) fn lower_hex(digits: &[u8]) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.iter().try_fold(0u128, |acc, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(nibble))
    })
}

/// Malformed variants of valid header values, shared by the codecs' no-panic tests: every
/// prefix and suffix, awkward characters inserted at and substituted for every character,
/// and pseudo-random strings.
#[cfg(test)]
pub(crate) fn mangled(valid: &[&str]) -> Vec<String> {
    const ODD: [&str; 14] = [
        "é", "€", "😀", "\u{0}", "\u{7f}", "-", ",", "=", ";", "%", "@", " ", "\t", "F",
    ];
    let mut out = Vec::new();
    for seed in valid {
        let bounds: Vec<usize> = (0..=seed.len())
            .filter(|&i| seed.is_char_boundary(i))
            .collect();
        for (n, &i) in bounds.iter().enumerate() {
            out.push(seed[..i].to_owned());
            out.push(seed[i..].to_owned());
            let next = bounds.get(n + 1).copied().unwrap_or(i);
            for odd in ODD {
                out.push(format!("{}{odd}{}", &seed[..i], &seed[i..]));
                out.push(format!("{}{odd}{}", &seed[..i], &seed[next..]));
            }
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        let mut bytes = Vec::new();
        let len = state % 90;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let pick = state.to_le_bytes();
            bytes.push(match pick[1] % 4 {
                0 => b"0123456789abcdef"[usize::from(pick[2] % 16)],
                1 => b"-,=;%@ \t"[usize::from(pick[2] % 8)],
                _ => pick[3],
            });
        }
        out.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn header(version: &str, trace: &str, span: &str, flags: &str) -> String {
        format!("{version}-{trace}-{span}-{flags}")
    }

    #[test]
    fn spec_examples_parse() {
        let cases = [
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                0x01,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                0x00,
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                0x01,
            ),
        ];
        for (input, flags) in cases {
            let parsed = TraceParent::parse(input).expect(input);
            assert_eq!(parsed.flags, flags, "{input}");
            assert_eq!(parsed.format(), input);
        }
        let parsed = TraceParent::parse(cases[0].0).unwrap();
        assert_eq!(parsed.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        assert_eq!(parsed.span_id, 0x00f0_67aa_0ba9_02b7);
    }

    #[test]
    fn valid_values() {
        let tail = format!("{TRACE}-{SPAN}-01");
        let cases = [
            (format!("00-{tail}"), 0x01),
            (format!(" \t00-{tail}\t "), 0x01),
            (format!("01-{tail}"), 0x01),
            (format!("cc-{tail}-what-the-future-will-be-like"), 0x01),
            (format!("fe-{tail}-"), 0x01),
            (header("00", TRACE, SPAN, "03"), 0x03),
            (header("00", TRACE, SPAN, "ff"), 0xff),
        ];
        for (input, flags) in &cases {
            let parsed = TraceParent::parse(input).expect(input);
            assert_eq!(parsed.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
            assert_eq!(
                (parsed.span_id, parsed.flags),
                (0x00f0_67aa_0ba9_02b7, *flags)
            );
        }
        let smallest = header(
            "00",
            "00000000000000000000000000000001",
            "0000000000000001",
            "00",
        );
        let parsed = TraceParent::parse(&smallest).unwrap();
        assert_eq!((parsed.trace_id, parsed.span_id, parsed.flags), (1, 1, 0));
    }

    #[test]
    fn invalid_values() {
        let z32 = "00000000000000000000000000000000";
        let z16 = "0000000000000000";
        let upper = "4BF92F3577B34DA6A3CE929D0E0E4736";
        let cases = [
            String::new(),
            "00".to_owned(),
            header("ff", TRACE, SPAN, "01"),
            header("0f0", TRACE, SPAN, "01"),
            header("0", TRACE, SPAN, "01"),
            header("0A", TRACE, SPAN, "01"),
            header("+0", TRACE, SPAN, "01"),
            header("00", TRACE, SPAN, "01-"),
            header("00", TRACE, SPAN, "01-extra"),
            header("cc", TRACE, SPAN, "01x"),
            header("cc", TRACE, SPAN, "0"),
            header("00", TRACE, SPAN, "0"),
            header("00", TRACE, SPAN, "0A"),
            header("00", TRACE, SPAN, "+1"),
            header("00", TRACE, SPAN, "g1"),
            header("00", upper, SPAN, "01"),
            header("00", TRACE, "00F067AA0BA902B7", "01"),
            header("00", z32, SPAN, "01"),
            header("00", TRACE, z16, "01"),
            header("00", &TRACE[1..], SPAN, "01"),
            header("00", TRACE, &SPAN[1..], "01"),
            header("00", &format!("{TRACE}0"), &SPAN[1..], "01"),
            header("00", &TRACE.replace('4', "g"), SPAN, "01"),
            header("00", &TRACE.replace('4', "+"), SPAN, "01"),
            format!("00_{TRACE}-{SPAN}-01"),
            format!("00-{TRACE}_{SPAN}-01"),
            format!("00-{TRACE}-{SPAN}_01"),
            format!("00 -{TRACE}-{SPAN}-01"),
            format!("00-{TRACE}-{SPAN}-01\n"),
            format!("\n00-{TRACE}-{SPAN}-01"),
            format!("00-{TRACE}-{SPAN}-01\u{a0}"),
        ];
        for input in &cases {
            assert_eq!(TraceParent::parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn flags_are_kept_as_received_and_cleared_when_formatted() {
        // (received, sampled, random, formatted)
        let cases = [
            ("00", false, false, "00"),
            ("01", true, false, "01"),
            ("02", false, true, "02"),
            ("03", true, true, "03"),
            ("09", true, false, "01"),
            ("fe", false, true, "02"),
            ("ff", true, true, "03"),
        ];
        for (flags, sampled, random, formatted) in cases {
            let parsed = TraceParent::parse(&header("00", TRACE, SPAN, flags)).unwrap();
            assert_eq!(format!("{:02x}", parsed.flags), flags);
            assert_eq!(
                (parsed.sampled(), parsed.random()),
                (sampled, random),
                "{flags}"
            );
            assert_eq!(parsed.format(), header("00", TRACE, SPAN, formatted));
        }
    }

    #[test]
    fn higher_version_is_downgraded() {
        let input = format!("cc-{TRACE}-{SPAN}-03-unknown-fields");
        let parsed = TraceParent::parse(&input).unwrap();
        assert_eq!(parsed.format(), header("00", TRACE, SPAN, "03"));
    }

    #[test]
    fn lower_hex_bounds() {
        assert_eq!(lower_hex(b""), None);
        assert_eq!(lower_hex(b"0"), Some(0));
        assert_eq!(lower_hex(b"ff"), Some(255));
        assert_eq!(lower_hex(b"Ff"), None);
        assert_eq!(lower_hex(&[b'f'; 32]), Some(u128::MAX));
        assert_eq!(lower_hex(&[b'f'; 33]), None);
    }

    #[test]
    fn malformed_input_never_panics_and_round_trips() {
        let seeds = [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-xx",
        ];
        for input in mangled(&seeds) {
            if let Some(parsed) = TraceParent::parse(&input) {
                let again = TraceParent::parse(&parsed.format()).unwrap();
                assert_eq!(again.flags, parsed.flags & KNOWN_FLAGS, "{input:?}");
                assert_eq!(
                    (again.trace_id, again.span_id),
                    (parsed.trace_id, parsed.span_id)
                );
            }
        }
    }
}
