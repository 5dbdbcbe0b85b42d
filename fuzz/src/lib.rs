//! What the fuzz targets share: turning fuzzer bytes into header fields, and the round trip
//! every propagation target checks.

use traced::propagation::{self, Propagator};

/// Header fields: one per line of `data` (read as UTF-8, invalid bytes replaced), each
/// named by `name_of` from its line number; lines `name_of` gives no name for are left out.
pub fn fields(
    data: &[u8],
    name_of: impl Fn(usize) -> Option<&'static str>,
) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(data);
    (text.split('\n').enumerate())
        .filter_map(|(i, line)| Some((name_of(i)?.to_owned(), line.to_owned())))
        .collect()
}

/// Extracts `headers` with `propagators` only, injects what was found and extracts that again:
/// both extractions must agree, injecting the second must write the same headers, and a
/// `traceparent` written must be in the canonical version-00 form.
pub fn assert_round_trip(propagators: &[Propagator], headers: &Vec<(String, String)>) {
    propagation::set_propagators(propagators);
    let first = propagation::extract(headers);
    let mut written = Vec::new();
    propagation::inject_span(&first, &mut written);
    let second = propagation::extract(&written);
    assert_eq!(first, second, "{headers:?} was injected as {written:?}");
    let mut again = Vec::new();
    propagation::inject_span(&second, &mut again);
    assert_eq!(written, again, "from {headers:?}");
    for (name, value) in &written {
        match name.as_str() {
            "traceparent" => assert!(is_canonical_traceparent(value), "{value:?}"),
            "tracestate" | "b3" | "x-b3-traceid" | "x-b3-spanid" | "x-b3-sampled"
            | "x-b3-flags" => {
                assert!(
                    first.is_valid(),
                    "{name} written without a parent from {headers:?}"
                );
            }
            _ => {}
        }
        assert!(
            value.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "{name}: {value:?} is not visible ASCII"
        );
    }
}

/// `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zero, only known flags set.
fn is_canonical_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [version, trace, span, flags]
        if *version == "00"
            && trace.len() == 32 && hex(trace) && nonzero(trace)
            && span.len() == 16 && hex(span) && nonzero(span)
            && flags.len() == 2 && hex(flags)
            && u8::from_str_radix(flags, 16).is_ok_and(|f| f & !0x03 == 0))
}
