//! The W3C Baggage `baggage` header: user key/value pairs, each with optional properties.
//!
//! Parsing is lenient, as "Mutating baggage" allows: a list-member that breaks the grammar
//! is dropped and the others are kept, so one bad entry never costs the rest.

/// Most list-members kept: `list-member 0*179( OWS "," OWS list-member )` ("Definition").
pub(crate) const MAX_MEMBERS: usize = 180;

/// Most bytes of formatted header kept, commas included ("Limits": a platform MUST propagate
/// at least 8192 bytes; this framework propagates exactly that much).
pub(crate) const MAX_BYTES: usize = 8192;

/// One list-member: a key, its decoded value, and its properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaggageEntry {
    /// An RFC 7230 `token` ("key"), whitespace trimmed.
    pub(crate) key: String,
    /// The value with `%`-escapes decoded as UTF-8 ("value": "a URL encoded UTF-8 string");
    /// bytes that are not UTF-8 become U+FFFD.
    pub(crate) value: String,
    /// The properties after the first `;`, opaque to the spec ("property"): each trimmed of
    /// whitespace and joined by `;`, e.g. `k1=v1;k2`; empty when there are none.
    pub(crate) properties: String,
}

/// A parsed `baggage`: entries in header order, duplicates kept ("baggage-string": the order
/// of duplicate entries SHOULD be preserved), within [`MAX_MEMBERS`] and [`MAX_BYTES`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Baggage {
    /// The entries, in order.
    entries: Vec<BaggageEntry>,
    /// Length of [`Baggage::format`]'s output, kept to enforce [`MAX_BYTES`].
    bytes: usize,
}

impl Baggage {
    /// Parses a `baggage` value, keeping every valid list-member that fits the limits.
    ///
    /// - Members are separated by `,`; a member is `key OWS "=" OWS value *( OWS ";" OWS
    ///   property )` ("Definition"); whitespace around keys, values and properties is trimmed
    ///   ("key", "value", "property").
    /// - A member with a key that is not a token, a value or property with a character outside
    ///   `baggage-octet`, or an empty property is skipped ("Mutating baggage": an entry not in
    ///   the format MAY be removed).
    /// - `%XX` escapes are decoded; a `%` not followed by two hex digits is kept literally.
    /// - A member that would take the entries past [`MAX_MEMBERS`] or the formatted length past
    ///   [`MAX_BYTES`] is dropped ("Mutating baggage": entries beyond the limits MAY be
    ///   dropped); later, smaller members may still fit.
    pub(crate) fn parse(header: &str) -> Baggage {
        let mut baggage = Baggage::default();
        for member in header.split(',') {
            if baggage.entries.len() == MAX_MEMBERS {
                break;
            }
            if let Some(entry) = parse_member(member) {
                baggage.push_entry(entry);
            }
        }
        baggage
    }

    /// Parses several `baggage` fields of one request as one list: "Baggage HTTP Header Format"
    /// allows multiple headers, combined as RFC 7230 "Field Order" does (joined with `,`).
    pub(crate) fn parse_all(headers: &[&str]) -> Baggage {
        Baggage::parse(&headers.join(","))
    }

    /// Appends an entry built in process. `properties` uses the form [`BaggageEntry`] stores
    /// (`k1=v1;k2`, or empty). Returns `false`, changing nothing, when `key` is not a token,
    /// a property breaks the "property" grammar, or the entry does not fit the limits.
    pub(crate) fn push(&mut self, key: &str, value: &str, properties: &str) -> bool {
        let properties = if properties.is_empty() {
            Some(String::new())
        } else {
            parse_properties(properties)
        };
        match properties {
            Some(properties) if is_token(key) => self.push_entry(BaggageEntry {
                key: key.to_owned(),
                value: value.to_owned(),
                properties,
            }),
            _ => false,
        }
    }

    /// The entries, in header order.
    pub(crate) fn entries(&self) -> &[BaggageEntry] {
        &self.entries
    }

    /// Whether there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header value: `key=value;properties` members joined by `,`, with every value byte
    /// outside `baggage-octet`, and `%` itself, written as `%XX` ("value": URL encoded), so
    /// that [`Baggage::parse`] gives back the same entries.
    pub(crate) fn format(&self) -> String {
        let mut out = String::with_capacity(self.bytes);
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&entry.key);
            out.push('=');
            for &byte in entry.value.as_bytes() {
                if is_plain(byte) {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
                    out.push(char::from(HEX_UPPER[usize::from(byte & 0xf)]));
                }
            }
            if !entry.properties.is_empty() {
                out.push(';');
                out.push_str(&entry.properties);
            }
        }
        out
    }

    /// Appends `entry` if it fits [`MAX_MEMBERS`] and [`MAX_BYTES`] ("Limits").
    fn push_entry(&mut self, entry: BaggageEntry) -> bool {
        let encoded_value: usize = entry
            .value
            .bytes()
            .map(|b| if is_plain(b) { 1 } else { 3 })
            .sum();
        let properties = if entry.properties.is_empty() {
            0
        } else {
            1 + entry.properties.len()
        };
        let comma = usize::from(!self.entries.is_empty());
        let bytes = self.bytes + comma + entry.key.len() + 1 + encoded_value + properties;
        if self.entries.len() >= MAX_MEMBERS || bytes > MAX_BYTES {
            return false;
        }
        self.bytes = bytes;
        self.entries.push(entry);
        true
    }
}

/// Digits for `%XX` escapes; RFC 3986 "Percent-Encoding" recommends uppercase.
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Parses one list-member, or `None` when it breaks the "Definition" grammar.
fn parse_member(member: &str) -> Option<BaggageEntry> {
    let (pair, properties) = match member.split_once(';') {
        Some((pair, properties)) => (pair, parse_properties(properties)?),
        None => (member, String::new()),
    };
    let (key, value) = pair.split_once('=')?;
    let (key, value) = (trim_ows(key), trim_ows(value));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    Some(BaggageEntry {
        key: key.to_owned(),
        value: percent_decode(value),
        properties,
    })
}

/// Checks `property *( OWS ";" OWS property )` with `property = key OWS "=" OWS value / key
/// OWS` ("Definition") and returns the properties trimmed and joined by `;`.
fn parse_properties(raw: &str) -> Option<String> {
    let mut out = String::new();
    for property in raw.split(';') {
        let (key, value) = match property.split_once('=') {
            Some((key, value)) => (trim_ows(key), Some(trim_ows(value))),
            None => (trim_ows(property), None),
        };
        if !is_token(key) || !value.is_none_or(|v| v.bytes().all(is_baggage_octet)) {
            return None;
        }
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(key);
        if let Some(value) = value {
            out.push('=');
            out.push_str(value);
        }
    }
    Some(out)
}

/// Removes `OWS = *( SP / HTAB )` at both ends (RFC 7230 "Whitespace").
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// RFC 7230 "Field Value Components": `token = 1*tchar`, where `tchar` is an ASCII letter,
/// digit, or one of ``!#$%&'*+-.^_`|~``.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// "Definition": `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`, ASCII
/// without controls, whitespace, `"`, `,`, `;` and `\`.
fn is_baggage_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// Whether `format` writes `byte` of a value as is: a `baggage-octet` other than `%`, which
/// would otherwise read back as the start of an escape.
fn is_plain(byte: u8) -> bool {
    byte != b'%' && is_baggage_octet(byte)
}

/// Decodes `%XX` escapes (either case) to bytes and the bytes as UTF-8, lossily.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => hex_digit(*high).zip(hex_digit(*low)),
            _ => None,
        };
        if let Some((high, low)) = escaped {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hex digit of either case.
fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propagation::traceparent::mangled;

    /// The example under "Limits": three list-members, 86 bytes.
    const SPEC_EXAMPLE: &str = concat!(
        "key1=value1;property1;property2, key2 = value2, ",
        "key3=value3; propertyKey=propertyValue"
    );

    fn triples(baggage: &Baggage) -> Vec<(&str, &str, &str)> {
        let entries = baggage.entries().iter();
        entries
            .map(|e| (e.key.as_str(), e.value.as_str(), e.properties.as_str()))
            .collect()
    }

    #[test]
    fn spec_examples() {
        type Expected = &'static [(&'static str, &'static str, &'static str)];
        let cases: [(&str, Expected); 4] = [
            (
                SPEC_EXAMPLE,
                &[
                    ("key1", "value1", "property1;property2"),
                    ("key2", "value2", ""),
                    ("key3", "value3", "propertyKey=propertyValue"),
                ],
            ),
            (
                "userId=alice,serverNode=DF%2028,isProduction=false",
                &[
                    ("userId", "alice", ""),
                    ("serverNode", "DF 28", ""),
                    ("isProduction", "false", ""),
                ],
            ),
            ("userId =   alice", &[("userId", "alice", "")]),
            (
                "serverNode = DF%2028, isProduction = false",
                &[("serverNode", "DF 28", ""), ("isProduction", "false", "")],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(triples(&Baggage::parse(input)), expected, "{input}");
        }
        assert_eq!(SPEC_EXAMPLE.len(), 86);
        let joined = Baggage::parse_all(&["userId=alice", "serverNode=DF%2028,isProduction=false"]);
        assert_eq!(
            joined.format(),
            "userId=alice,serverNode=DF%2028,isProduction=false"
        );
    }

    #[test]
    fn values_and_keys() {
        let cases = [
            ("k=", "k", ""),
            ("k=a=b==", "k", "a=b=="),
            ("k=%E2%82%AC", "k", "€"),
            ("k=%e2%82%ac", "k", "€"),
            ("k=%ff%41", "k", "\u{fffd}A"),
            ("k=100%", "k", "100%"),
            ("k=%zz%4", "k", "%zz%4"),
            ("k=%2525", "k", "%25"),
            ("!#$%&'*+-.^_`|~09AZaz=v", "!#$%&'*+-.^_`|~09AZaz", "v"),
            ("\tk\t=\tv\t", "k", "v"),
        ];
        for (input, key, value) in cases {
            assert_eq!(
                triples(&Baggage::parse(input)),
                [(key, value, "")],
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_members_are_skipped() {
        let bad = [
            "",
            " ",
            "novalue",
            "=v",
            " =v",
            "bad key=v",
            "k(=v",
            "k\"=v",
            "k@=v",
            "é=v",
            "k=a b",
            "k=\"q\"",
            "k=a\\b",
            "k=é",
            "k=\u{1}",
            "k=\u{7f}",
            "k=v;",
            "k=v;;p",
            "k=v; =x",
            "k=v;p=\"x\"",
            "k=v;p=a b",
            "k=v;p q",
        ];
        for member in bad {
            let input = format!("a=1,{member},b=2");
            let parsed = Baggage::parse(&input);
            assert_eq!(
                triples(&parsed),
                [("a", "1", ""), ("b", "2", "")],
                "{member:?}"
            );
        }
    }

    #[test]
    fn properties_are_normalized() {
        let cases = [
            ("k=v;p", "p"),
            ("k=v ; p1 ; p2 = x ; p3=y", "p1;p2=x;p3=y"),
            ("k=v;p=%20=", "p=%20="),
            ("k=v;p=", "p="),
        ];
        for (input, properties) in cases {
            let parsed = Baggage::parse(input);
            assert_eq!(triples(&parsed), [("k", "v", properties)], "{input}");
            assert_eq!(Baggage::parse(&parsed.format()), parsed);
        }
    }

    #[test]
    fn duplicates_keep_their_order() {
        let parsed = Baggage::parse("a=1,b=2,a=3");
        assert_eq!(
            triples(&parsed),
            [("a", "1", ""), ("b", "2", ""), ("a", "3", "")]
        );
        assert_eq!(parsed.format(), "a=1,b=2,a=3");
    }

    #[test]
    fn member_limit_drops_the_rest() {
        let input: Vec<String> = (0..200).map(|i| format!("k{i}=v")).collect();
        let parsed = Baggage::parse(&input.join(","));
        assert_eq!(parsed.entries().len(), MAX_MEMBERS);
        assert_eq!(parsed.entries().last().unwrap().key, "k179");
    }

    #[test]
    fn byte_limit_drops_what_does_not_fit() {
        // Ten members of 1000 bytes: eight fit with their commas (8007 bytes).
        let member = |c: char| format!("{c}={}", "x".repeat(998));
        let mut input: Vec<String> = ('a'..='j').map(member).collect();
        input.push("small=1".to_owned());
        let parsed = Baggage::parse(&input.join(","));
        let keys: Vec<&str> = parsed.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g", "h", "small"]);
        assert!(parsed.format().len() <= MAX_BYTES);
        assert_eq!(parsed.format().len(), 8 * 1000 + 7 + 8);

        let mut exact = Baggage::default();
        assert!(exact.push("k", &"v".repeat(MAX_BYTES - 2), ""));
        assert!(!exact.push("k", "", ""));
        assert_eq!(exact.format().len(), MAX_BYTES);
        let mut escaped = Baggage::default();
        assert!(escaped.push("k", &" ".repeat(MAX_BYTES / 3), ""));
        assert!(!Baggage::default().push("k", &" ".repeat(MAX_BYTES / 3 + 1), ""));
    }

    #[test]
    fn format_escapes_values() {
        let mut baggage = Baggage::default();
        assert!(baggage.push("k", "a b,c;d\\e\"f%g€\n=~", ""));
        assert!(baggage.push("p", "", "x=1;y"));
        assert_eq!(
            baggage.format(),
            "k=a%20b%2Cc%3Bd%5Ce%22f%25g%E2%82%AC%0A=~,p=;x=1;y"
        );
        assert_eq!(Baggage::parse(&baggage.format()), baggage);
        for (key, properties) in [
            ("bad key", ""),
            ("", ""),
            ("k", ";"),
            ("k", "a b"),
            ("k", "p;"),
        ] {
            assert!(
                !baggage.push(key, "v", properties),
                "{key:?} {properties:?}"
            );
        }
        assert_eq!(baggage.entries().len(), 2);
        assert!(Baggage::default().is_empty());
        assert_eq!(Baggage::default().format(), "");
    }

    #[test]
    fn malformed_input_never_panics_and_round_trips() {
        let seeds = [SPEC_EXAMPLE, "serverNode=DF%2028,k=%E2%82%AC%"];
        for input in mangled(&seeds) {
            let parsed = Baggage::parse(&input);
            assert!(parsed.format().len() <= MAX_BYTES);
            assert_eq!(Baggage::parse(&parsed.format()), parsed, "{input:?}");
            let mut built = Baggage::default();
            let _ = built.push(&input, &input, &input);
            assert_eq!(Baggage::parse(&built.format()), built, "{input:?}");
        }
    }
}
