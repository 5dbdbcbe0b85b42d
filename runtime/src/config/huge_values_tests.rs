//! Every `OTEL_*` variable traced reads, set at once to a 1 MB value: reading stays linear (a
//! quadratic reader takes minutes on this, so the test would not finish) and no warning quotes
//! more than a short prefix of a value.

use crate::diag::{capture, LINE_MAX_CHARS, QUOTE_MAX_CHARS};

/// What a warning may take at most: its sentence, with a bounded quote or two.
const MAX_WARNING_BYTES: usize = 1_000;

/// Reads the SDK's, the OTLP exporter's and the Zipkin exporter's settings with every `OTEL_*`
/// variable holding `value`; returns the warnings.
fn read_all(value: &str) -> Vec<String> {
    let lookup = |name: &str| name.starts_with("OTEL_").then(|| value.to_owned());
    let ((), warnings) = capture(|| {
        let _ = super::env::from_lookup(lookup);
        let _ = crate::export::otlp::OtlpConfig::from_lookup(lookup);
        let _ = crate::export::zipkin::ZipkinExporter::from_lookup(lookup);
    });
    warnings
}

#[test]
fn a_megabyte_in_every_variable_is_read_linearly_and_quoted_within_bounds() {
    const MB: usize = 1 << 20;
    let one_token = "y".repeat(MB);
    let many_entries = "k=v,".repeat(MB / 4);
    for value in [&one_token, &many_entries] {
        let warnings = read_all(value);
        assert!(!warnings.is_empty());
        assert!(warnings.len() < 100, "{} warnings", warnings.len());
        for warning in &warnings {
            assert!(
                warning.len() <= MAX_WARNING_BYTES,
                "{} bytes: {}…",
                warning.len(),
                &warning[..QUOTE_MAX_CHARS]
            );
            assert!(warning.chars().count() <= LINE_MAX_CHARS);
        }
    }
}
