//! Zipkin's B3 propagation (openzipkin/b3-propagation): the single `b3` header and the
//! `X-B3-*` multiple headers.
//!
//! Ids must be lowercase hex: every field of the spec is "lower-hex characters" and the single
//! header "is explicitly lowercase", so `ABCDEF` is malformed like any other non-hex byte and
//! the caller starts a new trace.

use crate::propagation::traceparent::lower_hex;

/// The single header's name ("Single Header").
pub(crate) const SINGLE_HEADER: &str = "b3";
/// `X-B3-TraceId`, lowercased as gRPC and case-sensitive carriers need ("Multiple Headers").
pub(crate) const TRACE_ID_HEADER: &str = "x-b3-traceid";
/// `X-B3-SpanId` (section `SpanId`).
pub(crate) const SPAN_ID_HEADER: &str = "x-b3-spanid";
/// `X-B3-ParentSpanId` (section `ParentSpanId`).
pub(crate) const PARENT_SPAN_ID_HEADER: &str = "x-b3-parentspanid";
/// `X-B3-Sampled` ("Sampling State").
pub(crate) const SAMPLED_HEADER: &str = "x-b3-sampled";
/// `X-B3-Flags`, whose only use is `1` for debug ("Debug Flag").
pub(crate) const FLAGS_HEADER: &str = "x-b3-flags";

/// A B3 sampling state ("Sampling State").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum B3Sampling {
    /// Sample and report: `1`.
    Accept,
    /// Do not sample: `0`.
    Deny,
    /// Force tracing: `d`, or `X-B3-Flags: 1`; implies accept.
    Debug,
    /// No decision yet (the field is absent); the receiver decides.
    Deferred,
}

impl B3Sampling {
    /// Whether the trace is sampled: `Some(true)` for accept and debug ("Debug is an
    /// emphasized accept decision"), `Some(false)` for deny, `None` when deferred.
    pub(crate) fn sampled(self) -> Option<bool> {
        match self {
            B3Sampling::Accept | B3Sampling::Debug => Some(true),
            B3Sampling::Deny => Some(false),
            B3Sampling::Deferred => None,
        }
    }
}

/// A B3 trace context. A 64-bit trace id is held in the low half, zero-extended (section
/// `TraceId`: trace ids are 64 or 128-bit). The parent span id is validated when parsed but
/// not kept: the received span id is the parent of whatever span the receiver starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct B3 {
    /// The trace id; never zero once parsed.
    pub(crate) trace_id: u128,
    /// The caller's span id; never zero once parsed.
    pub(crate) span_id: u64,
    /// The sampling state.
    pub(crate) sampling: B3Sampling,
}

/// What a B3 carrier held: ids with their sampling state, or a sampling decision alone
/// ("Single Header": "Sampling State can also be sent on its own (with no identifiers)").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum B3Parsed {
    /// Trace and span ids, with any sampling state.
    Context(B3),
    /// A decision without ids: accept, deny (the common `b3: 0`) or debug, never deferred.
    SamplingOnly(B3Sampling),
}

/// Parses a `b3` value: `{TraceId}-{SpanId}`, optionally `-{SamplingState}` and then
/// `-{ParentSpanId}`, or a sampling state alone ("Single Header").
///
/// - Trace id: 16 or 32 lowercase hex; span and parent ids: 16 lowercase hex; none all-zero.
/// - Sampling state: `1`, `0` or `d`; absent means deferred. Since deferring is "absence of
///   the sampling field", `{TraceId}-{SpanId}-{ParentSpanId}` is read as deferred with a
///   parent.
/// - Spaces and tabs around the value are trimmed; anything else malformed is `None`.
pub(crate) fn parse_single(header: &str) -> Option<B3Parsed> {
    let value = header.trim_matches([' ', '\t']);
    let fields: Vec<&str> = value.splitn(5, '-').collect();
    let (ids, sampling, parent) = match fields[..] {
        [state] => return sampling_state(state).map(B3Parsed::SamplingOnly),
        [trace, span] => ((trace, span), B3Sampling::Deferred, None),
        [trace, span, parent] if parent.len() == 16 => {
            ((trace, span), B3Sampling::Deferred, Some(parent))
        }
        [trace, span, state] => ((trace, span), sampling_state(state)?, None),
        [trace, span, state, parent] => ((trace, span), sampling_state(state)?, Some(parent)),
        _ => return None,
    };
    if let Some(parent) = parent {
        span_id(parent)?;
    }
    Some(B3Parsed::Context(B3 {
        trace_id: trace_id(ids.0)?,
        span_id: span_id(ids.1)?,
        sampling,
    }))
}

/// Parses the `X-B3-*` headers through `get`, which returns a header's value by its lowercase
/// name (the constants above; matching names case-insensitively and taking the first of
/// repeated values, as "Multiple Headers" asks, is the caller's job).
///
/// - `x-b3-traceid` and `x-b3-spanid` come together, with the id rules of [`parse_single`];
///   with neither, a sampling decision alone is returned, and with no decision either, `None`.
/// - `x-b3-sampled` is `1` or `0`; `true` and `false` (any case) are accepted too, as "a
///   lenient implementation may" for tracers that predate the spec.
/// - `x-b3-flags: 1` is debug and wins over `x-b3-sampled` ("Debug Flag": debug implies
///   accept); `0` means no flags.
/// - `x-b3-parentspanid`, if present, must be a valid span id.
/// - Values are trimmed of spaces and tabs, and an empty value counts as absent; any other
///   malformed value makes the whole context `None`.
pub(crate) fn parse_multi<'a>(get: impl Fn(&'static str) -> Option<&'a str>) -> Option<B3Parsed> {
    let field = |name| {
        get(name)
            .map(|v| v.trim_matches([' ', '\t']))
            .filter(|v| !v.is_empty())
    };
    let sampled = match field(SAMPLED_HEADER) {
        None => B3Sampling::Deferred,
        Some("1") => B3Sampling::Accept,
        Some("0") => B3Sampling::Deny,
        Some(v) if v.eq_ignore_ascii_case("true") => B3Sampling::Accept,
        Some(v) if v.eq_ignore_ascii_case("false") => B3Sampling::Deny,
        Some(_) => return None,
    };
    let sampling = match field(FLAGS_HEADER) {
        None | Some("0") => sampled,
        Some("1") => B3Sampling::Debug,
        Some(_) => return None,
    };
    if let Some(parent) = field(PARENT_SPAN_ID_HEADER) {
        span_id(parent)?;
    }
    match (field(TRACE_ID_HEADER), field(SPAN_ID_HEADER)) {
        (Some(trace), Some(span)) => Some(B3Parsed::Context(B3 {
            trace_id: trace_id(trace)?,
            span_id: span_id(span)?,
            sampling,
        })),
        (None, None) if sampling != B3Sampling::Deferred => Some(B3Parsed::SamplingOnly(sampling)),
        _ => None,
    }
}

/// Formats a `b3` value: 32-hex trace id, 16-hex span id and, unless deferred, `1`, `0` or
/// `d` ("Single Header"). No parent id is written: [`B3`] does not keep one, and the field is
/// optional.
pub(crate) fn format_single(b3: &B3) -> String {
    let mut out = format!("{:032x}-{:016x}", b3.trace_id, b3.span_id);
    if let Some(state) = single_state(b3.sampling) {
        out.push('-');
        out.push_str(state);
    }
    out
}

/// Formats the `X-B3-*` headers, names lowercase: trace id (32 hex), span id, then
/// `x-b3-sampled: 1|0`, or `x-b3-flags: 1` alone for debug ("Debug Flag": don't also send
/// `X-B3-Sampled`), or neither when deferred.
pub(crate) fn format_multi(b3: &B3) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (TRACE_ID_HEADER, format!("{:032x}", b3.trace_id)),
        (SPAN_ID_HEADER, format!("{:016x}", b3.span_id)),
    ];
    match b3.sampling {
        B3Sampling::Accept => headers.push((SAMPLED_HEADER, "1".to_owned())),
        B3Sampling::Deny => headers.push((SAMPLED_HEADER, "0".to_owned())),
        B3Sampling::Debug => headers.push((FLAGS_HEADER, "1".to_owned())),
        B3Sampling::Deferred => {}
    }
    headers
}

/// The single header's sampling field ("Sampling State"), `None` for deferred.
fn single_state(sampling: B3Sampling) -> Option<&'static str> {
    match sampling {
        B3Sampling::Accept => Some("1"),
        B3Sampling::Deny => Some("0"),
        B3Sampling::Debug => Some("d"),
        B3Sampling::Deferred => None,
    }
}

/// Reads a single-header sampling field: `1`, `0` or `d` ("Sampling State").
fn sampling_state(field: &str) -> Option<B3Sampling> {
    match field {
        "1" => Some(B3Sampling::Accept),
        "0" => Some(B3Sampling::Deny),
        "d" => Some(B3Sampling::Debug),
        _ => None,
    }
}

/// Section `TraceId`: 32 or 16 lower-hex characters, not all zero.
fn trace_id(field: &str) -> Option<u128> {
    if field.len() != 16 && field.len() != 32 {
        return None;
    }
    lower_hex(field.as_bytes()).filter(|&id| id != 0)
}

/// Sections `SpanId` and `ParentSpanId`: 16 lower-hex characters, not all zero.
fn span_id(field: &str) -> Option<u64> {
    if field.len() != 16 {
        return None;
    }
    let id = u64::try_from(lower_hex(field.as_bytes())?).ok()?;
    (id != 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::B3Sampling::{Accept, Debug, Deferred, Deny};
    use super::*;
    use crate::propagation::traceparent::mangled;

    const TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const TRACE_ID: u128 = 0x80f1_98ee_5634_3ba8_64fe_8b2a_57d3_eff7;
    const SPAN: &str = "e457b5a2e4d86bd1";
    const SPAN_ID: u64 = 0xe457_b5a2_e4d8_6bd1;
    const PARENT: &str = "05e3ac9a4f6e3b90";

    #[allow(clippy::unnecessary_wraps)] // compared with parse results in tables
    fn context(trace_id: u128, sampling: B3Sampling) -> Option<B3Parsed> {
        let b3 = B3 {
            trace_id,
            span_id: SPAN_ID,
            sampling,
        };
        Some(B3Parsed::Context(b3))
    }

    fn multi(headers: &[(&'static str, &'static str)]) -> Option<B3Parsed> {
        parse_multi(|name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn spec_examples() {
        let span_id = 0x05e3_ac9a_4f6e_3b90;
        let cases = [
            (
                "80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1-e457b5a2e4d86bd1",
                Accept,
            ),
            (
                "80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1",
                Accept,
            ),
            ("80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-d", Debug),
        ];
        for (input, sampling) in cases {
            let expected = B3 {
                trace_id: TRACE_ID,
                span_id,
                sampling,
            };
            assert_eq!(parse_single(input), Some(B3Parsed::Context(expected)));
        }
        assert_eq!(parse_single("0"), Some(B3Parsed::SamplingOnly(Deny)));
        let headers = [
            (TRACE_ID_HEADER, "463ac35c9f6413ad48485a3953bb6124"),
            (SPAN_ID_HEADER, "a2fb4a1d1a96d312"),
            (PARENT_SPAN_ID_HEADER, "0020000000000001"),
            (SAMPLED_HEADER, "1"),
        ];
        let expected = B3 {
            trace_id: 0x463a_c35c_9f64_13ad_4848_5a39_53bb_6124,
            span_id: 0xa2fb_4a1d_1a96_d312,
            sampling: Accept,
        };
        assert_eq!(multi(&headers), Some(B3Parsed::Context(expected)));
    }

    #[test]
    fn single_valid() {
        let cases = [
            (
                format!("{TRACE}-{SPAN}-1-{PARENT}"),
                context(TRACE_ID, Accept),
            ),
            (format!("{TRACE}-{SPAN}-1"), context(TRACE_ID, Accept)),
            (format!("{TRACE}-{SPAN}-0"), context(TRACE_ID, Deny)),
            (format!("{TRACE}-{SPAN}-d"), context(TRACE_ID, Debug)),
            (format!("{TRACE}-{SPAN}"), context(TRACE_ID, Deferred)),
            (
                format!("{TRACE}-{SPAN}-{PARENT}"),
                context(TRACE_ID, Deferred),
            ),
            (
                format!("{TRACE}-{SPAN}-d-{PARENT}"),
                context(TRACE_ID, Debug),
            ),
            (format!(" {TRACE}-{SPAN}-1\t"), context(TRACE_ID, Accept)),
            (
                format!("{}-{SPAN}-1", &TRACE[16..]),
                context(0x64fe_8b2a_57d3_eff7, Accept),
            ),
            ("0".to_owned(), Some(B3Parsed::SamplingOnly(Deny))),
            ("1".to_owned(), Some(B3Parsed::SamplingOnly(Accept))),
            ("d".to_owned(), Some(B3Parsed::SamplingOnly(Debug))),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_single(&input), expected, "{input}");
        }
    }

    #[test]
    fn single_invalid() {
        let zeros = "0000000000000000";
        let cases = [
            String::new(),
            "-".to_owned(),
            "2".to_owned(),
            "D".to_owned(),
            "true".to_owned(),
            "0-".to_owned(),
            TRACE.to_owned(),
            format!("{TRACE}-"),
            format!("{TRACE}-{SPAN}-"),
            format!("{TRACE}-{SPAN}-1-"),
            format!("{TRACE}-{SPAN}-2"),
            format!("{TRACE}-{SPAN}-D"),
            format!("{TRACE}-{SPAN}-true"),
            format!("{TRACE}-{SPAN}-1-{PARENT}-x"),
            format!("{TRACE}-{SPAN}-1-{}", &PARENT[1..]),
            format!("{TRACE}-{SPAN}-1-{zeros}"),
            format!("{TRACE}-{SPAN}-{zeros}"),
            format!("{TRACE}-{SPAN}-{PARENT}-1"),
            format!("{}-{SPAN}-1", TRACE.to_uppercase()),
            format!("{TRACE}-{}-1", SPAN.to_uppercase()),
            format!("{}-{SPAN}", &TRACE[1..]),
            format!("{}-{SPAN}", &TRACE[8..]),
            format!("{TRACE}0-{SPAN}"),
            format!("{TRACE}-{}", &SPAN[1..]),
            format!("{TRACE}-{SPAN}0"),
            format!("{zeros}{zeros}-{SPAN}-1"),
            format!("{zeros}-{SPAN}-1"),
            format!("{TRACE}-{zeros}-1"),
            format!("{TRACE}-+457b5a2e4d86bd1"),
            format!("{TRACE}_{SPAN}"),
            format!("{TRACE} -{SPAN}"),
        ];
        for input in &cases {
            assert_eq!(parse_single(input), None, "{input:?}");
        }
    }

    #[test]
    fn multi_valid() {
        let ids = [(TRACE_ID_HEADER, TRACE), (SPAN_ID_HEADER, SPAN)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = ids.to_vec();
            all.extend_from_slice(extra);
            multi(&all)
        };
        let cases = [
            (with(&[]), context(TRACE_ID, Deferred)),
            (
                with(&[(PARENT_SPAN_ID_HEADER, PARENT)]),
                context(TRACE_ID, Deferred),
            ),
            (with(&[(SAMPLED_HEADER, "1")]), context(TRACE_ID, Accept)),
            (with(&[(SAMPLED_HEADER, "0")]), context(TRACE_ID, Deny)),
            (with(&[(SAMPLED_HEADER, "true")]), context(TRACE_ID, Accept)),
            (with(&[(SAMPLED_HEADER, "False")]), context(TRACE_ID, Deny)),
            (with(&[(SAMPLED_HEADER, " 1 ")]), context(TRACE_ID, Accept)),
            (with(&[(SAMPLED_HEADER, "")]), context(TRACE_ID, Deferred)),
            (with(&[(FLAGS_HEADER, "1")]), context(TRACE_ID, Debug)),
            (
                with(&[(FLAGS_HEADER, "1"), (SAMPLED_HEADER, "0")]),
                context(TRACE_ID, Debug),
            ),
            (
                with(&[(FLAGS_HEADER, "0"), (SAMPLED_HEADER, "1")]),
                context(TRACE_ID, Accept),
            ),
            (
                with(&[(PARENT_SPAN_ID_HEADER, "")]),
                context(TRACE_ID, Deferred),
            ),
            (
                multi(&[
                    (TRACE_ID_HEADER, "64fe8b2a57d3eff7"),
                    (SPAN_ID_HEADER, SPAN),
                ]),
                context(0x64fe_8b2a_57d3_eff7, Deferred),
            ),
            (
                multi(&[(SAMPLED_HEADER, "0")]),
                Some(B3Parsed::SamplingOnly(Deny)),
            ),
            (
                multi(&[(SAMPLED_HEADER, "1")]),
                Some(B3Parsed::SamplingOnly(Accept)),
            ),
            (
                multi(&[(FLAGS_HEADER, "1")]),
                Some(B3Parsed::SamplingOnly(Debug)),
            ),
        ];
        for (i, (parsed, expected)) in cases.into_iter().enumerate() {
            assert_eq!(parsed, expected, "case {i}");
        }
    }

    #[test]
    fn multi_invalid() {
        let cases: [&[(&'static str, &'static str)]; 14] = [
            &[],
            &[(FLAGS_HEADER, "0")],
            &[(TRACE_ID_HEADER, TRACE)],
            &[(SPAN_ID_HEADER, SPAN), (SAMPLED_HEADER, "1")],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, "E457B5A2E4D86BD1"),
            ],
            &[
                (TRACE_ID_HEADER, "80F198EE56343BA864FE8B2A57D3EFF7"),
                (SPAN_ID_HEADER, SPAN),
            ],
            &[
                (TRACE_ID_HEADER, "00000000000000000000000000000000"),
                (SPAN_ID_HEADER, SPAN),
            ],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, "0000000000000000"),
            ],
            &[
                (TRACE_ID_HEADER, "80f198ee56343ba8a"),
                (SPAN_ID_HEADER, SPAN),
            ],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, SPAN),
                (SAMPLED_HEADER, "yes"),
            ],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, SPAN),
                (SAMPLED_HEADER, "d"),
            ],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, SPAN),
                (FLAGS_HEADER, "2"),
            ],
            &[
                (TRACE_ID_HEADER, TRACE),
                (SPAN_ID_HEADER, SPAN),
                (PARENT_SPAN_ID_HEADER, "0"),
            ],
            &[(SAMPLED_HEADER, "1"), (PARENT_SPAN_ID_HEADER, "x")],
        ];
        for (i, headers) in cases.iter().enumerate() {
            assert_eq!(multi(headers), None, "case {i}");
        }
    }

    #[test]
    fn multi_lookup_can_borrow_from_a_carrier() {
        let carrier: Vec<(String, String)> = vec![
            ("x-b3-traceid".to_owned(), TRACE.to_owned()),
            ("x-b3-spanid".to_owned(), SPAN.to_owned()),
        ];
        let parsed = parse_multi(|name| {
            let found = carrier.iter().find(|(k, _)| k == name);
            found.map(|(_, v)| v.as_str())
        });
        assert_eq!(parsed, context(TRACE_ID, Deferred));
    }

    #[test]
    fn formatting() {
        let b3 = |trace_id, sampling| B3 {
            trace_id,
            span_id: SPAN_ID,
            sampling,
        };
        let padded = "000000000000000064fe8b2a57d3eff7";
        let cases = [
            (
                b3(TRACE_ID, Accept),
                format!("{TRACE}-{SPAN}-1"),
                Some((SAMPLED_HEADER, "1")),
            ),
            (
                b3(TRACE_ID, Deny),
                format!("{TRACE}-{SPAN}-0"),
                Some((SAMPLED_HEADER, "0")),
            ),
            (
                b3(TRACE_ID, Debug),
                format!("{TRACE}-{SPAN}-d"),
                Some((FLAGS_HEADER, "1")),
            ),
            (b3(TRACE_ID, Deferred), format!("{TRACE}-{SPAN}"), None),
            (
                b3(0x64fe_8b2a_57d3_eff7, Accept),
                format!("{padded}-{SPAN}-1"),
                Some((SAMPLED_HEADER, "1")),
            ),
        ];
        for (value, single, sampling) in cases {
            assert_eq!(format_single(&value), single);
            assert_eq!(parse_single(&single), Some(B3Parsed::Context(value)));
            let headers = format_multi(&value);
            assert_eq!(headers[0], (TRACE_ID_HEADER, single[..32].to_owned()));
            assert_eq!(headers[1], (SPAN_ID_HEADER, SPAN.to_owned()));
            let rest: Vec<_> = headers[2..].iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(rest, sampling.into_iter().collect::<Vec<_>>());
            let lookup = |name| {
                headers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(parse_multi(lookup), Some(B3Parsed::Context(value)));
        }
    }

    #[test]
    fn sampled_decision() {
        let cases = [
            (Accept, Some(true)),
            (Debug, Some(true)),
            (Deny, Some(false)),
            (Deferred, None),
        ];
        for (sampling, sampled) in cases {
            assert_eq!(sampling.sampled(), sampled, "{sampling:?}");
        }
    }

    #[test]
    fn malformed_input_never_panics_and_round_trips() {
        let seeds = [
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
            "64fe8b2a57d3eff7-e457b5a2e4d86bd1-05e3ac9a4f6e3b90",
            "0",
        ];
        for input in mangled(&seeds) {
            if let Some(B3Parsed::Context(b3)) = parse_single(&input) {
                assert_eq!(
                    parse_single(&format_single(&b3)),
                    Some(B3Parsed::Context(b3))
                );
            }
            for broken in [
                TRACE_ID_HEADER,
                SPAN_ID_HEADER,
                PARENT_SPAN_ID_HEADER,
                SAMPLED_HEADER,
                FLAGS_HEADER,
            ] {
                let _ = parse_multi(|name| match name {
                    _ if name == broken => Some(input.as_str()),
                    TRACE_ID_HEADER => Some(TRACE),
                    SPAN_ID_HEADER => Some(SPAN),
                    _ => None,
                });
            }
        }
    }
}
