//! The W3C Trace Context `tracestate` header: vendor entries `key=value`, most recent first.
//!
//! A value that breaks the grammar is refused whole (`None`); "A traceparent is Received"
//! lets a vendor discard a `tracestate` it cannot parse, and keeping part of one would forward
//! a list its author never wrote. A bad `tracestate` never affects the `traceparent`
//! ("Tracestate Header").

/// Most list-members a `tracestate` holds ("tracestate Header Field Values": "There can be a
/// maximum of 32 list-members in a list").
pub(crate) const MAX_MEMBERS: usize = 32;

/// Longest value: `0*255(chr) nblk-chr` ("Value").
const MAX_VALUE_LEN: usize = 256;

/// Longest simple key: `lcalpha 0*255(...)` ("Key").
const MAX_SIMPLE_KEY_LEN: usize = 256;

/// Longest tenant id: `( lcalpha / DIGIT ) 0*240(...)` ("Key").
const MAX_TENANT_LEN: usize = 241;

/// Longest system id: `lcalpha 0*13(...)` ("Key").
const MAX_SYSTEM_LEN: usize = 14;

/// A parsed `tracestate`: at most [`MAX_MEMBERS`] entries with distinct keys, in header order
/// (left-most is the vendor that wrote the current `traceparent`, "Relationship Between the
/// Headers").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TraceState {
    /// `(key, value)` pairs, each valid under "Key" and "Value", keys distinct.
    members: Vec<(String, String)>,
}

impl TraceState {
    /// Parses one `tracestate` value, or returns `None` if any part breaks the grammar.
    ///
    /// - List-members are separated by `,`; spaces and tabs around each are ignored, and
    ///   empty or whitespace-only members are allowed and skipped ("tracestate Header Field
    ///   Values"). An empty header is a valid, empty state.
    /// - Each member is `key=value` with no whitespace around `=`; a value keeps its leading
    ///   spaces, while trailing ones are optional whitespace around the member ("Value").
    /// - More than [`MAX_MEMBERS`] non-empty members, or the same key twice ("Combined Header
    ///   Value": only one entry per key is allowed), makes the whole value invalid. Empty
    ///   members do not count toward the limit: they carry nothing and exist only so that
    ///   joined headers stay valid.
    pub(crate) fn parse(header: &str) -> Option<TraceState> {
        let mut members: Vec<(String, String)> = Vec::new();
        for member in header.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            let duplicate = members.iter().any(|(seen, _)| seen == key);
            if duplicate || members.len() == MAX_MEMBERS || !valid_key(key) || !valid_value(value) {
                return None;
            }
            members.push((key.to_owned(), value.to_owned()));
        }
        Some(TraceState { members })
    }

    /// Parses several `tracestate` fields of one request as a single value: "tracestate Header
    /// Field Values" says multiple fields MUST be combined as RFC 7230 "Field Order" does, that
    /// is, joined with `,` in the order received. Limits and duplicates apply to the whole.
    pub(crate) fn parse_all(headers: &[&str]) -> Option<TraceState> {
        TraceState::parse(&headers.join(","))
    }

    /// The value stored under `key`, if any.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Adds or updates an entry and moves it to the front ("Mutating the tracestate Field":
    /// modified and new keys go to the beginning). Past [`MAX_MEMBERS`], the right-most entry
    /// is dropped ("tracestate Limits": truncate whole entries, from the end). Returns `false`,
    /// changing nothing, when `key` or `value` breaks the "Key" or "Value" grammar.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: &str, value: &str) -> bool {
        if !valid_key(key) || !valid_value(value) {
            return false;
        }
        self.members.retain(|(k, _)| k != key);
        self.members.insert(0, (key.to_owned(), value.to_owned()));
        self.members.truncate(MAX_MEMBERS);
        true
    }

    /// Whether there are no entries ("tracestate Header Field Values": vendors SHOULD avoid
    /// sending an empty `tracestate`, so callers check this before injecting).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Number of entries, at most [`MAX_MEMBERS`].
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// The entries as `(key, value)`, left-most first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The header value: entries joined by `,` without optional whitespace ("tracestate
    /// Header Field Values": a caller SHOULD NOT generate it except as a single space).
    #[cfg(test)]
    pub(crate) fn format(&self) -> String {
        let mut out = String::new();
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }
}

/// Whether `key=value` is a valid entry ("Key" and "Value").
pub(crate) fn valid_entry(key: &str, value: &str) -> bool {
    valid_key(key) && valid_value(value)
}

/// "Key": `simple-key / multi-tenant-key`, where `simple-key = lcalpha 0*255(keychar)`,
/// `multi-tenant-key = tenant-id "@" system-id`, `tenant-id = (lcalpha / DIGIT)
/// 0*240(keychar)` and `system-id = lcalpha 0*13(keychar)`.
fn valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => starts_with_lcalpha(key) && valid_tail(key, MAX_SIMPLE_KEY_LEN),
        Some((tenant, system)) => {
            let tenant_start = tenant.bytes().next().is_some_and(|b| b.is_ascii_digit());
            (tenant_start || starts_with_lcalpha(tenant))
                && valid_tail(tenant, MAX_TENANT_LEN)
                && starts_with_lcalpha(system)
                && valid_tail(system, MAX_SYSTEM_LEN)
        }
    }
}

/// Whether `part` starts with `lcalpha` (`%x61-7A`, "Key").
fn starts_with_lcalpha(part: &str) -> bool {
    part.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// Whether `part` is at most `max` characters of `lcalpha / DIGIT / "_" / "-" / "*" / "/"`
/// ("Key"); the first character's stricter rule is checked by the caller.
fn valid_tail(part: &str, max: usize) -> bool {
    part.len() <= max
        && part.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
}

/// "Value": `0*255(chr) nblk-chr` with `chr = %x20 / nblk-chr` and
/// `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`: 1 to 256 printable ASCII characters without `,`
/// or `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    let printable = |b: u8| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e);
    value.len() <= MAX_VALUE_LEN
        && value.bytes().all(printable)
        && value.bytes().last().is_some_and(|b| b != b' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propagation::traceparent::mangled;

    fn members(state: &TraceState) -> Vec<(&str, &str)> {
        state.iter().collect()
    }

    fn list(count: usize) -> String {
        (0..count)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn spec_examples() {
        let cases: [(&str, &[(&str, &str)]); 4] = [
            ("congo=t61rcWkgMzE", &[("congo", "t61rcWkgMzE")]),
            ("rojo=00f067aa0ba902b7", &[("rojo", "00f067aa0ba902b7")]),
            (
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                &[("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")],
            ),
            (
                "vendorname1=opaqueValue1,vendorname2=opaqueValue2",
                &[
                    ("vendorname1", "opaqueValue1"),
                    ("vendorname2", "opaqueValue2"),
                ],
            ),
        ];
        for (input, expected) in cases {
            let state = TraceState::parse(input).expect(input);
            assert_eq!(members(&state), expected);
            assert_eq!(state.format(), input);
        }
    }

    #[test]
    fn whitespace_and_empty_members() {
        let cases: [(&str, &[(&str, &str)]); 8] = [
            ("", &[]),
            (" \t ", &[]),
            (",, ,\t,", &[]),
            (" a=1 ,\tb=2\t", &[("a", "1"), ("b", "2")]),
            ("a=1,,b=2,", &[("a", "1"), ("b", "2")]),
            ("a= 1", &[("a", " 1")]),
            ("a=x y", &[("a", "x y")]),
            ("a=1   ", &[("a", "1")]),
        ];
        for (input, expected) in cases {
            let state = TraceState::parse(input).expect(input);
            assert_eq!(members(&state), expected, "{input:?}");
        }
        assert!(TraceState::parse("").unwrap().is_empty());
    }

    #[test]
    fn keys() {
        let long = |c: &str, n: usize| c.repeat(n);
        let valid = [
            "a".to_owned(),
            "a0_-*/z".to_owned(),
            long("a", 256),
            "0tenant@sys".to_owned(),
            "t_-*/@s0_-*/".to_owned(),
            format!("{}@{}", long("1", 241), long("s", 14)),
        ];
        for key in &valid {
            assert!(TraceState::parse(&format!("{key}=v")).is_some(), "{key}");
        }
        let invalid = [
            "0simple".to_owned(),
            "_a".to_owned(),
            "Abc".to_owned(),
            "aBc".to_owned(),
            "a.b".to_owned(),
            "a b".to_owned(),
            "a ".to_owned(),
            "é".to_owned(),
            long("a", 257),
            "@sys".to_owned(),
            "tenant@".to_owned(),
            "tenant@0sys".to_owned(),
            "_t@sys".to_owned(),
            "t@s@s".to_owned(),
            "t@S".to_owned(),
            format!("{}@s", long("t", 242)),
            format!("t@{}", long("s", 15)),
        ];
        for key in &invalid {
            assert_eq!(TraceState::parse(&format!("{key}=v")), None, "{key}");
        }
    }

    #[test]
    fn values() {
        let valid = [
            "!",
            "~",
            "a b",
            " lead",
            &"v".repeat(256),
            "+/-*;:<>?@[]^{}|\"'",
        ];
        for value in valid {
            let state = TraceState::parse(&format!("k={value}")).expect(value);
            assert_eq!(state.get("k"), Some(value));
        }
        let invalid = [
            "",
            "a=b",
            "a\tb",
            "a\u{7f}",
            "é",
            "\u{0}",
            &"v".repeat(257),
            "   ",
        ];
        for value in invalid {
            assert_eq!(TraceState::parse(&format!("k={value}")), None, "{value:?}");
        }
        assert_eq!(TraceState::parse("novalue"), None);
        assert_eq!(TraceState::parse("a=1,novalue"), None);
        assert_eq!(TraceState::parse("=v"), None);
        assert_eq!(TraceState::parse("k =v"), None);
    }

    #[test]
    fn member_limit_and_duplicates() {
        assert_eq!(TraceState::parse(&list(32)).unwrap().len(), 32);
        assert_eq!(
            TraceState::parse(&format!(",{}, ,", list(32)))
                .unwrap()
                .len(),
            32
        );
        assert_eq!(TraceState::parse(&list(33)), None);
        assert_eq!(TraceState::parse("a=1,b=2,a=3"), None);
        assert_eq!(TraceState::parse("a=1,a=1"), None);
    }

    #[test]
    fn multiple_fields_combine() {
        let state = TraceState::parse_all(&["rojo=00f067aa0ba902b7", "", "congo=t61rcWkgMzE"]);
        assert_eq!(
            state.unwrap().format(),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        assert_eq!(TraceState::parse_all(&[]), Some(TraceState::default()));
        assert_eq!(TraceState::parse_all(&["a=1", "a=2"]), None);
        assert_eq!(TraceState::parse_all(&[&list(16), &list(17)]), None);
        assert_eq!(TraceState::parse_all(&["a=1", "b"]), None);
    }

    #[test]
    fn insert_moves_to_front() {
        let mut state = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap();
        assert!(state.insert("congo", "ucfJifl5GOE"));
        assert_eq!(state.format(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
        assert!(state.insert("new@sys", "1"));
        assert_eq!(state.get("new@sys"), Some("1"));
        assert_eq!(state.iter().next(), Some(("new@sys", "1")));
        let before = state.clone();
        for (key, value) in [("Bad", "1"), ("ok", "a=b"), ("ok", ""), ("ok", "trailing ")] {
            assert!(!state.insert(key, value), "{key}={value}");
        }
        assert_eq!(state, before);
        assert_eq!(state.get("missing"), None);
    }

    #[test]
    fn insert_past_limit_drops_right_most() {
        let mut state = TraceState::parse(&list(32)).unwrap();
        assert!(state.insert("new", "1"));
        assert_eq!(state.len(), 32);
        assert_eq!(state.get("new"), Some("1"));
        assert_eq!(state.get("k31"), None);
        assert_eq!(state.get("k30"), Some("v30"));
    }

    #[test]
    fn malformed_input_never_panics_and_round_trips() {
        let seeds = ["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", " a@b= x ,,c=d\t"];
        for input in mangled(&seeds) {
            if let Some(state) = TraceState::parse(&input) {
                assert_eq!(TraceState::parse(&state.format()), Some(state), "{input:?}");
            }
            let _ = TraceState::parse_all(&[&input, &input]);
            let _ = TraceState::default().insert(&input, &input);
        }
    }
}
