//! The span limit variables (`OTEL_*_LIMIT`), parsed into [`SpanLimits`].
//!
//! A span-specific variable wins over the general `OTEL_ATTRIBUTE_*` one,
//! which in turn applies to every attribute collection of a span (its own,
//! its events', its links') that has no variable of its own set. Every
//! value is a non-negative integer; a bad one is warned about once and
//! ignored, as if unset.

use std::fmt::Display;

use crate::model::SpanLimits;
use crate::model::DEFAULT_COUNT;
use crate::vars::Vars;

const ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
const ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
const SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
const SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
const SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
const SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
const EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
const LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";

/// The span limits set by the environment, the specification's defaults for the rest.
pub(super) fn span_limits(vars: &Vars<'_>) -> SpanLimits {
    let limit = |var: &str, fallback: &dyn Display| {
        vars.integer::<u32>(var, "a non-negative integer", fallback)
    };
    let general_count = limit(ATTRIBUTE_COUNT_LIMIT, &DEFAULT_COUNT);
    let attribute_count = |var: &str| match general_count {
        Some(count) => {
            let from = format!("{count} (from {ATTRIBUTE_COUNT_LIMIT})");
            limit(var, &from).unwrap_or(count)
        }
        None => limit(var, &DEFAULT_COUNT).unwrap_or(DEFAULT_COUNT),
    };
    let count = |var: &str| limit(var, &DEFAULT_COUNT).unwrap_or(DEFAULT_COUNT);
    let general_length = limit(ATTRIBUTE_VALUE_LENGTH_LIMIT, &"no limit");
    let length_fallback = general_length.map_or_else(
        || "no limit".to_owned(),
        |length| format!("{length} (from {ATTRIBUTE_VALUE_LENGTH_LIMIT})"),
    );
    SpanLimits {
        max_attributes_per_span: attribute_count(SPAN_ATTRIBUTE_COUNT_LIMIT),
        max_events_per_span: count(SPAN_EVENT_COUNT_LIMIT),
        max_links_per_span: count(SPAN_LINK_COUNT_LIMIT),
        max_attributes_per_event: attribute_count(EVENT_ATTRIBUTE_COUNT_LIMIT),
        max_attributes_per_link: attribute_count(LINK_ATTRIBUTE_COUNT_LIMIT),
        max_attribute_value_length: limit(SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, &length_fallback)
            .or(general_length),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::from_lookup;
    use crate::diag::capture;

    /// The span limits of an environment holding just `vars`, and the
    /// warnings printed.
    fn parse(vars: &[(&str, &str)]) -> (SpanLimits, Vec<String>) {
        let lookup = |name: &str| {
            let found = vars.iter().find(|(var, _)| *var == name);
            found.map(|(_, value)| (*value).to_owned())
        };
        capture(|| from_lookup(lookup).span_limits)
    }

    fn good(vars: &[(&str, &str)]) -> SpanLimits {
        let (limits, warnings) = parse(vars);
        assert!(warnings.is_empty(), "{vars:?}: {warnings:?}");
        limits
    }

    #[test]
    fn defaults_are_the_specifications() {
        let expected = SpanLimits {
            max_attributes_per_span: 128,
            max_events_per_span: 128,
            max_links_per_span: 128,
            max_attributes_per_event: 128,
            max_attributes_per_link: 128,
            max_attribute_value_length: None,
        };
        assert_eq!(good(&[]), expected);
        assert_eq!(SpanLimits::default(), expected);
    }

    #[test]
    fn each_variable_sets_its_limit() {
        let limits = good(&[
            (SPAN_ATTRIBUTE_COUNT_LIMIT, "1"),
            (SPAN_EVENT_COUNT_LIMIT, "2"),
            (SPAN_LINK_COUNT_LIMIT, " 3 "),
            (EVENT_ATTRIBUTE_COUNT_LIMIT, "4"),
            (LINK_ATTRIBUTE_COUNT_LIMIT, "0"),
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "6"),
        ]);
        let expected = SpanLimits {
            max_attributes_per_span: 1,
            max_events_per_span: 2,
            max_links_per_span: 3,
            max_attributes_per_event: 4,
            max_attributes_per_link: 0,
            max_attribute_value_length: Some(6),
        };
        assert_eq!(limits, expected);
    }

    #[test]
    fn general_variables_apply_to_every_attribute_collection() {
        let limits = good(&[
            (ATTRIBUTE_COUNT_LIMIT, "7"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT, "8"),
        ]);
        assert_eq!(limits.max_attributes_per_span, 7);
        assert_eq!(limits.max_attributes_per_event, 7);
        assert_eq!(limits.max_attributes_per_link, 7);
        assert_eq!(limits.max_attribute_value_length, Some(8));
        // Event and link counts are not attribute counts.
        assert_eq!(limits.max_events_per_span, 128);
        assert_eq!(limits.max_links_per_span, 128);
    }

    #[test]
    fn specific_variables_win_over_general_ones() {
        let limits = good(&[
            (ATTRIBUTE_COUNT_LIMIT, "7"),
            (SPAN_ATTRIBUTE_COUNT_LIMIT, "200"),
            (EVENT_ATTRIBUTE_COUNT_LIMIT, "3"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT, "8"),
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "1000"),
        ]);
        assert_eq!(limits.max_attributes_per_span, 200);
        assert_eq!(limits.max_attributes_per_event, 3);
        assert_eq!(limits.max_attributes_per_link, 7);
        assert_eq!(limits.max_attribute_value_length, Some(1000));
    }

    #[test]
    fn bad_values_warn_once_naming_the_variable_and_fall_back() {
        let all = [
            SPAN_ATTRIBUTE_COUNT_LIMIT,
            SPAN_EVENT_COUNT_LIMIT,
            SPAN_LINK_COUNT_LIMIT,
            EVENT_ATTRIBUTE_COUNT_LIMIT,
            LINK_ATTRIBUTE_COUNT_LIMIT,
            ATTRIBUTE_COUNT_LIMIT,
            SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            ATTRIBUTE_VALUE_LENGTH_LIMIT,
        ];
        for var in all {
            for value in ["-1", "abc", "1.5", "1e3", "12 chars", "99999999999"] {
                let (limits, warnings) = parse(&[(var, value)]);
                assert_eq!(limits, SpanLimits::default(), "{var}={value}");
                assert_eq!(warnings.len(), 1, "{var}={value}: {warnings:?}");
                let warning = &warnings[0];
                assert!(warning.starts_with("traced: warning: "), "{warning}");
                assert!(warning.contains(var), "{warning}");
                assert!(warning.contains(&format!("`{value}`")), "{warning}");
                assert!(warning.contains("non-negative integer"), "{warning}");
            }
        }
        let (_, warnings) = parse(&[(SPAN_EVENT_COUNT_LIMIT, "many")]);
        assert!(warnings[0].contains("default 128"), "{warnings:?}");
        let (_, warnings) = parse(&[(ATTRIBUTE_VALUE_LENGTH_LIMIT, "long")]);
        assert!(warnings[0].contains("default no limit"), "{warnings:?}");
    }

    #[test]
    fn a_bad_specific_value_falls_back_to_the_general_one() {
        let (limits, warnings) = parse(&[
            (ATTRIBUTE_COUNT_LIMIT, "9"),
            (SPAN_ATTRIBUTE_COUNT_LIMIT, "-5"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT, "10"),
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "x"),
        ]);
        assert_eq!(limits.max_attributes_per_span, 9);
        assert_eq!(limits.max_attribute_value_length, Some(10));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains(&format!("9 (from {ATTRIBUTE_COUNT_LIMIT})")));
        let from = format!("10 (from {ATTRIBUTE_VALUE_LENGTH_LIMIT})");
        assert!(warnings[1].contains(&from), "{warnings:?}");
    }
}
