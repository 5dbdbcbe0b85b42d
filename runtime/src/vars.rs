//! Reading `OTEL_*` variables: the one place where a value is looked up,
//! trimmed, parsed into a typed setting and, when it cannot be used, warned
//! about once (through [`warn`](super::warn)) and replaced by what applies
//! instead.
//!
//! Every parser of the environment ([`env`](super::env) for the SDK's trace
//! settings, [`limits`](super::limits), the OTLP and Zipkin exporters' own
//! variables) reads through a [`Vars`] and these readers, so a duration, an
//! integer, a list or a `key=value` list means the same everywhere. A value
//! is trimmed of surrounding whitespace, and one that is empty after
//! trimming counts as unset. Reading a value is linear in its length, and a
//! warning quotes at most [`QUOTE_MAX_CHARS`](super::diag::QUOTE_MAX_CHARS)
//! characters of it.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::diag::{self, quote};

/// A variable of the process environment. A value that is not valid
/// Unicode is warned about and treated as unset.
pub(crate) fn var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(raw)) => {
            diag::warn_once_with(&format!("{name}:not-unicode"), || {
                format!(
                    "{name} is not valid UTF-8 (`{}`); treating it as unset",
                    quote(&raw.to_string_lossy())
                )
            });
            None
        }
    }
}

/// The variables one parser reads, through a lookup that returns a
/// variable's raw value if it is set ([`var`] for the process environment).
pub(crate) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Vars<'a> {
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Vars { lookup }
    }

    /// The trimmed value of `name`; `None` if unset or empty.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let value = (self.lookup)(name)?;
        let trimmed = value.trim();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == value.len() {
            Some(value)
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// Whether `name` is set to a non-empty value.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A duration in milliseconds (a positive whole number, at most
    /// [`MAX_DURATION`]: a longer one is clamped to it with a warning), or
    /// `default` when unset or bad (with a warning).
    pub(crate) fn duration_ms(&self, name: &str, default: Duration) -> Duration {
        let Some(value) = self.get(name) else {
            return default;
        };
        match millis(&value) {
            Some(duration) => at_most_max(name, &value, duration),
            None => {
                let default_ms = format!("{} ms", default.as_millis());
                invalid(name, &value, MILLIS_EXPECTED, default_ms);
                default
            }
        }
    }

    /// A whole number of `T` (unsigned), `None` when unset or bad; a bad
    /// value is warned about, expecting `expected` and naming `fallback` as
    /// what applies instead.
    pub(crate) fn integer<T: FromStr>(
        &self,
        name: &str,
        expected: &str,
        fallback: impl Display,
    ) -> Option<T> {
        let value = self.get(name)?;
        let parsed = integer(&value);
        if parsed.is_none() {
            invalid(name, &value, expected, fallback);
        }
        parsed
    }

    /// A positive whole number; as [`integer`](Self::integer).
    pub(crate) fn positive(&self, name: &str, fallback: impl Display) -> Option<usize> {
        let value = self.get(name)?;
        let parsed = integer(&value).filter(|n| *n > 0);
        if parsed.is_none() {
            invalid(name, &value, "a positive integer", fallback);
        }
        parsed
    }

    /// A boolean: `true` or `false` in any case, else `default` (with a
    /// warning); `default` when unset.
    pub(crate) fn boolean(&self, name: &str, default: bool) -> bool {
        let Some(value) = self.get(name) else {
            return default;
        };
        if value.eq_ignore_ascii_case("true") {
            true
        } else if value.eq_ignore_ascii_case("false") {
            false
        } else {
            invalid(name, &value, "`true` or `false`", format!("`{default}`"));
            default
        }
    }

    /// The entries of a comma-separated list, lowercased; `None` when unset
    /// or when it has no entry.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let value = self.get(name)?;
        let entries: Vec<String> = list(&value).map(str::to_ascii_lowercase).collect();
        (!entries.is_empty()).then_some(entries)
    }
}

/// What [`Vars::duration_ms`] expects, for callers that resolve a
/// duration among several variables.
pub(crate) const MILLIS_EXPECTED: &str = "a positive whole number of milliseconds";

/// The longest duration an `OTEL_*` variable may set (a timeout, a delay): 10 minutes. A
/// longer one is clamped to it, with a warning: an export timeout of `u64::MAX` milliseconds
/// would let one export, a flush or the shutdown (twice the export timeout, plus one second)
/// hang for ever.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(600);

/// `duration`, read from `value` of `var`, or [`MAX_DURATION`] if it is longer (warned about
/// once).
pub(crate) fn at_most_max(var: &str, value: &str, duration: Duration) -> Duration {
    if duration <= MAX_DURATION {
        return duration;
    }
    let max = MAX_DURATION.as_millis();
    diag::warn_once_with(&diag::key(var, value), || {
        format!(
            "{var} = `{}` ms is longer than traced accepts (at most {max} ms, 10 minutes); using {max} ms",
            quote(value)
        )
    });
    MAX_DURATION
}

/// A positive whole number of milliseconds (ASCII digits only).
pub(crate) fn millis(value: &str) -> Option<Duration> {
    integer::<u64>(value)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// A whole number written with ASCII digits only: no sign, no fraction, no
/// exponent.
fn integer<T: FromStr>(value: &str) -> Option<T> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The non-empty, trimmed entries of a comma-separated list.
pub(crate) fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// Why an entry of a `key=value` list cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryProblem {
    /// No `=`.
    NoEquals,
    /// Nothing before the `=`.
    EmptyKey,
    /// A `%` not followed by two hex digits in the value.
    BadPercent,
}

impl EntryProblem {
    /// The problem in words, ending with what was expected.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            EntryProblem::NoEquals => "expected key=value",
            EntryProblem::EmptyKey => "the key is empty; expected key=value",
            EntryProblem::BadPercent => "bad percent-encoding; expected `%` and two hex digits",
        }
    }
}

/// One entry of a `key=value` list: the trimmed key and the trimmed,
/// percent-decoded value, or the entry with its problem.
pub(crate) type Entry<'v> = Result<(&'v str, String), (&'v str, EntryProblem)>;

/// The entries of a comma-separated `key=value` list (W3C Baggage style, as
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` are written).
pub(crate) fn key_values(value: &str) -> impl Iterator<Item = Entry<'_>> {
    list(value).map(|entry| {
        let Some((key, raw)) = entry.split_once('=') else {
            return Err((entry, EntryProblem::NoEquals));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err((entry, EntryProblem::EmptyKey));
        }
        match percent_decode(raw.trim()) {
            Some(decoded) => Ok((key, decoded)),
            None => Err((entry, EntryProblem::BadPercent)),
        }
    })
}

/// Decodes `%XX` escapes as W3C Baggage values do; `None` if an escape is malformed.
///
/// Decoded bytes that are not UTF-8 become U+FFFD, as the Baggage specification requires.
pub(crate) fn percent_decode(value: &str) -> Option<String> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let mut bytes = value.bytes();
    let mut decoded = Vec::with_capacity(value.len());
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = hex(bytes.next()?)?;
            let low = hex(bytes.next()?)?;
            decoded.push((high << 4) | low);
        } else {
            decoded.push(byte);
        }
    }
    Some(String::from_utf8_lossy(&decoded).into_owned())
}

/// `invalid value `…` for VAR (expected …)`: the sentence every bad value
/// is reported with, its value quoted within bounds.
pub(crate) fn problem(var: &str, value: &str, expected: &str) -> String {
    format!(
        "invalid value `{}` for {var} (expected {expected})",
        quote(value)
    )
}

/// Warns once that `var` holds `value`, which is not `expected`, and that
/// `instead` is used.
pub(crate) fn invalid(var: &str, value: &str, expected: &str, instead: impl Display) {
    diag::warn_once_with(&diag::key(var, value), || {
        format!(
            "{}; using the default {instead}",
            problem(var, value, expected)
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::capture;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            let found = pairs.iter().find(|(var, _)| *var == name);
            found.map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn integers_are_ascii_digits_only() {
        for good in ["0", "7", "0042", "18446744073709551615"] {
            assert!(integer::<u64>(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "+1",
            "-1",
            "1.5",
            "1e3",
            "0x10",
            "1 2",
            "18446744073709551616",
        ] {
            assert_eq!(integer::<u64>(bad), None, "{bad}");
        }
        assert_eq!(millis("0"), None);
        assert_eq!(millis("250"), Some(Duration::from_millis(250)));
    }

    #[test]
    fn typed_readers_warn_once_and_fall_back() {
        let lookup = vars(&[
            ("D", " 5s "),
            ("B", "yes"),
            ("P", "0"),
            ("L", " A, ,b "),
            ("E", "  "),
        ]);
        let ((), warnings) = capture(|| {
            let vars = Vars::new(&lookup);
            let default = Duration::from_secs(2);
            assert_eq!(vars.duration_ms("D", default), default);
            assert_eq!(vars.duration_ms("D", default), default);
            assert!(!vars.boolean("B", false));
            assert_eq!(vars.positive("P", 3), None);
            assert_eq!(vars.list("L"), Some(vec!["a".to_owned(), "b".to_owned()]));
            assert_eq!(vars.get("E"), None);
            assert!(!vars.is_set("unset"));
        });
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("`5s` for D"), "{warnings:?}");
        assert!(
            warnings[0].ends_with("using the default 2000 ms"),
            "{warnings:?}"
        );
    }

    #[test]
    fn key_values_report_each_bad_entry() {
        let entries: Vec<Entry<'_>> = key_values(" a = b%20c ,x,=v, k=%zz ,,").collect();
        assert_eq!(
            entries,
            [
                Ok(("a", "b c".to_owned())),
                Err(("x", EntryProblem::NoEquals)),
                Err(("=v", EntryProblem::EmptyKey)),
                Err(("k=%zz", EntryProblem::BadPercent)),
            ]
        );
    }

    #[test]
    fn a_long_bad_value_is_quoted_within_bounds() {
        let long = "x".repeat(100_000);
        let pairs = [("N", long.as_str())];
        let lookup = vars(&pairs);
        let (_, warnings) = capture(|| Vars::new(&lookup).integer::<u32>("N", "a number", 1));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].len() < 400, "{}", warnings[0].len());
        assert!(warnings[0].contains("xxx…`"), "{}", warnings[0]);
    }
}
