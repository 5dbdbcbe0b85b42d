//! Plain-text waterfalls for CI logs and issue reports (`traced-view --print`).

use std::fmt::Write as _;

use crate::store::{Trace, TraceStore};
use crate::waterfall::{bar_columns, bar_text, format_duration, rows};

/// The mark after a root whose parent is not among the spans read.
pub const PARENT_MISSING: &str = "(parent not in input)";

/// Names (with their indentation) longer than this are cut.
const NAME_WIDTH_LIMIT: usize = 60;

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintOptions {
    /// Bars drawn with `#` and `-`, durations with `us`: plain ASCII output.
    pub ascii: bool,
    /// Columns of the time axis.
    pub bar_width: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        Self {
            ascii: false,
            bar_width: 40,
        }
    }
}

/// Every trace of the store, oldest first, separated by blank lines.
pub fn print_store(store: &TraceStore, options: &PrintOptions) -> String {
    store
        .oldest_first()
        .into_iter()
        .map(|trace| print_trace(trace, options))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One trace: a header line, then a line per span in tree order.
///
/// Each span line holds the indented name, the service, the duration, and a bar on the trace's
/// time axis, then `ERROR` (with the status message) for error spans and
/// [`PARENT_MISSING`] for roots whose parent was not read. Lines end without spaces.
pub fn print_trace(trace: &Trace, options: &PrintOptions) -> String {
    let mut out = String::new();
    let spans = trace.spans();
    let _ = write!(
        out,
        "trace {}  {} span{}  services: {}  duration {}",
        trace.id(),
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        trace.services().join(", "),
        format_duration(trace.duration_nanos(), options.ascii),
    );
    if trace.error_count() > 0 {
        let _ = write!(out, "  errors: {}", trace.error_count());
    }
    out.push('\n');
    let rows = rows(trace);
    let names: Vec<String> = rows
        .iter()
        .map(|row| {
            let name = format!("{}{}", "  ".repeat(row.depth), spans[row.span].name);
            truncate(&name, NAME_WIDTH_LIMIT, options.ascii)
        })
        .collect();
    let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let service_width = spans
        .iter()
        .map(|span| span.service().chars().count())
        .max()
        .unwrap_or(0);
    let axis = (trace.start_unix_nano(), trace.end_unix_nano());
    for (row, name) in rows.iter().zip(names) {
        let span = &spans[row.span];
        let columns = bar_columns(
            (span.start_unix_nano, span.end_unix_nano),
            axis,
            options.bar_width,
        );
        let _ = write!(
            out,
            "{name:<name_width$}  {service:<service_width$}  {duration:>8}  {bar}",
            service = span.service(),
            duration = format_duration(span.duration_nanos(), options.ascii),
            bar = bar_text(columns, options.bar_width, options.ascii),
        );
        if span.is_error() {
            out.push_str("  ERROR");
            if !span.status.message.is_empty() {
                let _ = write!(out, ": {}", span.status.message);
            }
        }
        if row.parent_missing {
            let _ = write!(out, "  {PARENT_MISSING}");
        }
        out.push('\n');
    }
    out
}

fn truncate(text: &str, limit: usize, ascii: bool) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let ellipsis = if ascii { "..." } else { "…" };
    let keep = limit - ellipsis.chars().count();
    text.chars().take(keep).chain(ellipsis.chars()).collect()
}
