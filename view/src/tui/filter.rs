//! The trace list's filter: words that must all match, some of them with a meaning of their own.
//!
//! - `service:NAME`: a span's service contains NAME;
//! - `name:TEXT`: a span's name contains TEXT;
//! - `>DURATION`: the trace lasts longer, e.g. `>10ms`, `>1.5s`, `>500us`, `>200ns`;
//! - `is:error`: a span has status error;
//! - any other word: a span name, service, attribute key or string attribute value contains it.
//!
//! Matching ignores case.

use crate::model::Value;
use crate::store::Trace;

/// A parsed filter; the empty filter passes every trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Text(String),
    Service(String),
    Name(String),
    LongerThan(u64),
    Errors,
}

impl Filter {
    /// Parses the filter's text.
    ///
    /// ```
    /// use traced_view::tui::Filter;
    /// assert_eq!(Filter::parse("is:error >10ms"), Filter::parse("  is:error   >10ms "));
    /// ```
    pub fn parse(text: &str) -> Self {
        let terms = text
            .split_whitespace()
            .map(|word| {
                let lower = word.to_lowercase();
                if lower == "is:error" {
                    Term::Errors
                } else if let Some(service) = lower.strip_prefix("service:") {
                    Term::Service(service.to_owned())
                } else if let Some(name) = lower.strip_prefix("name:") {
                    Term::Name(name.to_owned())
                } else if let Some(nanos) = lower.strip_prefix('>').and_then(parse_duration) {
                    Term::LongerThan(nanos)
                } else {
                    Term::Text(lower)
                }
            })
            .collect();
        Self { terms }
    }

    /// Whether the filter has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `trace` passes every term.
    pub fn matches(&self, trace: &Trace) -> bool {
        self.terms.iter().all(|term| term.matches(trace))
    }
}

impl Term {
    fn matches(&self, trace: &Trace) -> bool {
        let has = |text: &str, needle: &str| text.to_lowercase().contains(needle);
        match self {
            Self::Errors => trace.error_count() > 0,
            Self::LongerThan(nanos) => trace.duration_nanos() > *nanos,
            Self::Service(needle) => trace.services().iter().any(|s| has(s, needle)),
            Self::Name(needle) => trace.spans().iter().any(|span| has(&span.name, needle)),
            Self::Text(needle) => {
                trace.services().iter().any(|s| has(s, needle))
                    || trace.spans().iter().any(|span| {
                        has(&span.name, needle) || span.attributes.iter().any(|attribute| {
                        has(&attribute.key, needle)
                            || matches!(&attribute.value, Value::String(text) if has(text, needle))
                    })
                    })
            }
        }
    }
}

/// `10ms`, `1.5s`, `500us` (or `µs`), `200ns`, `2m` as nanoseconds.
fn parse_duration(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((number * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, Filter, Term};

    #[test]
    fn parses_terms() {
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("500us"), Some(500_000));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(
            Filter::parse("Service:API >10ms IS:ERROR name:get >x cart").terms,
            [
                Term::Service("api".to_owned()),
                Term::LongerThan(10_000_000),
                Term::Errors,
                Term::Name("get".to_owned()),
                Term::Text(">x".to_owned()),
                Term::Text("cart".to_owned()),
            ]
        );
    }
}
