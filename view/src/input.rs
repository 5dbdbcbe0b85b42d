//! Reading OTLP JSON lines files: one `TracesData` object per line, as the OpenTelemetry file
//! exporter writes them. A line that does not decode is skipped and reported, never fatal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::otlp::json;
use crate::store::TraceStore;

/// A line that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// The line's number, from 1.
    pub line: usize,
    /// What was wrong with it.
    pub reason: String,
}

/// What reading one input gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputReport {
    /// Spans added to the store.
    pub spans: usize,
    /// Spans left out of lines that otherwise decoded (missing or malformed ids).
    pub rejected_spans: usize,
    /// Lines that were not OTLP JSON (a truncated last line, garbage).
    pub skipped: Vec<SkippedLine>,
}

/// Reads an OTLP JSON lines file into `store`.
pub fn read_file(path: &Path, store: &mut TraceStore) -> io::Result<InputReport> {
    read_lines(File::open(path)?, store)
}

/// Reads OTLP JSON lines from any reader into `store`; blank lines are ignored.
///
/// ```
/// use traced_view::{input::read_lines, store::TraceStore};
///
/// let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a"}]}]}]}
/// {"resourceSpans":[{"scopeSp"#;
/// let mut store = TraceStore::new();
/// let report = read_lines(text.as_bytes(), &mut store).unwrap();
/// assert_eq!((report.spans, report.skipped.len()), (1, 1));
/// assert_eq!(report.skipped[0].line, 2);
/// ```
pub fn read_lines(reader: impl Read, store: &mut TraceStore) -> io::Result<InputReport> {
    let mut reader = BufReader::new(reader);
    let mut report = InputReport::default();
    let mut buffer = Vec::new();
    let mut line_number = 0;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(report);
        }
        line_number += 1;
        let decoded = match std::str::from_utf8(&buffer) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => json::decode_line(line).map_err(|error| error.to_string()),
            Err(error) => Err(format!("not UTF-8: {error}")),
        };
        match decoded {
            Ok(batch) => {
                report.spans += batch.spans.len();
                report.rejected_spans += batch.rejected_spans;
                store.extend(batch.spans);
            }
            Err(reason) => report.skipped.push(SkippedLine {
                line: line_number,
                reason,
            }),
        }
    }
}
