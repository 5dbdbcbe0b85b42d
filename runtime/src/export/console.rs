//! An exporter that prints each span as the JSON object Python OpenTelemetry prints.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::export::json::{ascii_str, write_hex, JsonWriter};
use crate::export::pipeline::{RecordBatch, RecordExporter};
use crate::export::record_view::{cut, SpanView, ValueRef};
use crate::export::time::iso8601_in;

/// Resource attributes Python lists first, in Python's order; the rest follow sorted by key.
const SDK_ATTRIBUTES: [&str; 3] = [
    "telemetry.sdk.language",
    "telemetry.sdk.name",
    "telemetry.sdk.version",
];

/// Prints every span as a pretty JSON object, byte for byte in the shape of Python
/// OpenTelemetry's `ConsoleSpanExporter` (`span.to_json(indent=4)` and a newline).
///
/// Output from a Rust service and a Python service can then be read, diffed and parsed by
/// the same tools. Keys come in Python's order (`name`, `context`, `kind`, `parent_id`,
/// `start_time`, `end_time`, `status`, `attributes`, `events`, `links`, `resource`); ids are
/// `0x`-prefixed hex, times ISO 8601 UTC with microseconds, and kinds `SpanKind.SERVER` etc.
/// Resource attributes, which the SDK keeps unordered, print `telemetry.sdk.*` first and the
/// rest sorted by key, so repeated runs print identical resources.
///
/// Each batch is rendered completely, then written with one call and flushed, so spans from
/// concurrent batches never interleave. A failed write becomes an
/// [`OTelSdkError::InternalFailure`]; after [`shutdown`](SpanExporter::shutdown), `export`
/// returns [`OTelSdkError::AlreadyShutdown`].
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::ConsoleExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(ConsoleExporter::new())
///     .build();
/// provider.tracer("example").in_span("add", |_| 1 + 2);
/// ```
///
/// prints, with other ids and times:
///
/// ```text
/// {
///     "name": "add",
///     "context": {
///         "trace_id": "0xeed7ad7fcfc40136d71dab659422ebd3",
///         "span_id": "0x03c370bdce6666fb",
///         "trace_state": "[]"
///     },
///     "kind": "SpanKind.INTERNAL",
///     "parent_id": "0x73bd92954eeb5526",
///     ...
/// }
/// ```
pub struct ConsoleExporter {
    output: Mutex<Box<dyn Write + Send>>,
    /// The text of a batch, kept from batch to batch.
    text: Mutex<String>,
    output_name: &'static str,
    resource: ResourceJson,
    is_shutdown: AtomicBool,
}

/// The resource as printed: ordered and written once in `set_resource` instead of on every
/// span.
#[derive(Debug)]
struct ResourceJson {
    rendered: String,
}

impl Default for ResourceJson {
    fn default() -> Self {
        Self {
            rendered: render_resource(&[], ""),
        }
    }
}

impl ConsoleExporter {
    /// Prints to standard output.
    pub fn new() -> Self {
        Self::with_output(Box::new(io::stdout()), "stdout")
    }

    /// Prints to `writer` instead of standard output: a file, a socket, a buffer in a test.
    pub fn with_writer(writer: impl Write + Send + 'static) -> Self {
        Self::with_output(Box::new(writer), "custom writer")
    }

    fn with_output(output: Box<dyn Write + Send>, output_name: &'static str) -> Self {
        Self {
            output: Mutex::new(output),
            text: Mutex::default(),
            output_name,
            resource: ResourceJson::default(),
            is_shutdown: AtomicBool::new(false),
        }
    }

    fn export_batch(&self, batch: &[SpanData]) -> OTelSdkResult {
        self.print(batch.iter())
    }

    /// Prints `spans`, each followed by a newline, with one write.
    fn print<'a, S: SpanView<'a>>(&self, spans: impl Iterator<Item = S>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        text.clear();
        let mut w = JsonWriter::new(&mut text);
        for span in spans {
            write_span(&mut w, &span, &self.resource);
            w.out().push('\n');
        }
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output
            .write_all(text.as_bytes())
            .and_then(|()| output.flush())
            .map_err(|err| write_failed(&err))
    }

    fn flush(&self) -> OTelSdkResult {
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output.flush().map_err(|err| write_failed(&err))
    }
}

fn write_failed(err: &io::Error) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("console exporter could not write spans: {err}"))
}

impl Default for ConsoleExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("output", &self.output_name)
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RecordExporter for ConsoleExporter {
    fn export_records(&self, batch: &RecordBatch<'_>) -> OTelSdkResult {
        self.print(batch.spans())
    }
}

impl SpanExporter for ConsoleExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_batch(&batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let mut attributes: Vec<KeyValue> = resource
            .iter()
            .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
            .collect();
        let rank = |kv: &KeyValue| {
            SDK_ATTRIBUTES
                .iter()
                .position(|sdk| *sdk == kv.key.as_str())
                .unwrap_or(SDK_ATTRIBUTES.len())
        };
        attributes.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.key.cmp(&b.key)));
        self.resource = ResourceJson {
            rendered: render_resource(&attributes, resource.schema_url().unwrap_or_default()),
        };
    }
}

fn write_span<'a>(w: &mut JsonWriter<'_>, span: &impl SpanView<'a>, resource: &ResourceJson) {
    let mut hex = [0; 34];
    let mut time = [0; 32];
    w.begin_object();
    w.key("name");
    w.string(span.name());
    w.key("context");
    write_context(w, span.trace_id(), span.span_id(), |w| {
        match &*span.trace_state() {
            "" => w.string("[]"),
            header => w.string(&python_trace_state(
                header.split(',').filter_map(|entry| entry.split_once('=')),
            )),
        }
    });
    w.key("kind");
    w.string(kind_name(&span.kind()));
    w.key("parent_id");
    let parent = span.parent_span_id();
    if parent == SpanId::INVALID {
        w.null();
    } else {
        w.string(prefixed_hex(&mut hex, &parent.to_bytes()));
    }
    w.key("start_time");
    w.string(iso8601_in(at(span.start_unix_nanos()), &mut time));
    w.key("end_time");
    w.string(iso8601_in(at(span.end_unix_nanos()), &mut time));
    w.key("status");
    write_status(w, span.status());
    w.key("attributes");
    w.begin_object();
    span.attributes(|key, value| write_member(w, key, value));
    w.end_object();
    let limits = span.limits();
    w.key("events");
    w.begin_array();
    for event in span.events() {
        w.begin_object();
        w.key("name");
        w.string(&event.name);
        w.key("timestamp");
        w.string(iso8601_in(event.timestamp, &mut time));
        w.key("attributes");
        w.begin_object();
        limits.event_attributes(event, |key, value| write_member(w, key, value));
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.key("links");
    w.begin_array();
    for link in span.links() {
        let context = &link.span_context;
        w.begin_object();
        w.key("context");
        write_context(w, context.trace_id(), context.span_id(), |w| {
            w.string(&python_trace_state(context.trace_state().into_iter()));
        });
        w.key("attributes");
        w.begin_object();
        limits.link_attributes(link, |key, value| write_member(w, key, value));
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.key("resource");
    w.raw(&resource.rendered);
    w.end_object();
}

/// The resource object as every span prints it (one level in).
fn render_resource(attributes: &[KeyValue], schema_url: &str) -> String {
    let mut out = String::new();
    let mut w = JsonWriter::at_depth(&mut out, 1);
    w.begin_object();
    w.key("attributes");
    w.begin_object();
    for kv in attributes {
        write_member(&mut w, kv.key.as_str(), ValueRef::new(&kv.value, None));
    }
    w.end_object();
    w.key("schema_url");
    w.string(schema_url);
    w.end_object();
    out
}

fn at(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

/// `0x` and the lowercase hex of `bytes` (at most 16), in `buf`.
fn prefixed_hex<'b>(buf: &'b mut [u8; 34], bytes: &[u8]) -> &'b str {
    buf[0] = b'0';
    buf[1] = b'x';
    let len = write_hex(&mut buf[2..], bytes);
    ascii_str(&buf[..2 + len])
}

fn write_context(
    w: &mut JsonWriter<'_>,
    trace_id: TraceId,
    span_id: SpanId,
    trace_state: impl FnOnce(&mut JsonWriter<'_>),
) {
    let mut hex = [0; 34];
    w.begin_object();
    w.key("trace_id");
    w.string(prefixed_hex(&mut hex, &trace_id.to_bytes()));
    w.key("span_id");
    w.string(prefixed_hex(&mut hex, &span_id.to_bytes()));
    w.key("trace_state");
    trace_state(w);
    w.end_object();
}

/// Python prints `repr(TraceState)`: the `repr` of a list of `"{key=k, value=v}"` strings,
/// so `[]` when empty and `['{key=k, value=v}']` otherwise.
fn python_trace_state<K: AsRef<str>, V: AsRef<str>>(
    entries: impl Iterator<Item = (K, V)>,
) -> String {
    let mut repr = String::from("[");
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            repr.push_str(", ");
        }
        push_python_str_repr(
            &mut repr,
            &format!("{{key={}, value={}}}", key.as_ref(), value.as_ref()),
        );
    }
    repr.push(']');
    repr
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`.
fn push_python_str_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python prints `str(SpanKind.X)`.
fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "SpanKind.CLIENT",
        SpanKind::Server => "SpanKind.SERVER",
        SpanKind::Producer => "SpanKind.PRODUCER",
        SpanKind::Consumer => "SpanKind.CONSUMER",
        SpanKind::Internal => "SpanKind.INTERNAL",
    }
}

fn write_status(w: &mut JsonWriter<'_>, status: &Status) {
    w.begin_object();
    w.key("status_code");
    match status {
        Status::Unset => w.string("UNSET"),
        Status::Ok => w.string("OK"),
        Status::Error { description } => {
            w.string("ERROR");
            // Python only keeps a description on errors, and drops an empty one.
            if !description.is_empty() {
                w.key("description");
                w.string(description);
            }
        }
    }
    w.end_object();
}

/// One attribute as a member of a JSON object (Python's dict of attributes: the views give
/// each key once).
fn write_member(w: &mut JsonWriter<'_>, key: &str, value: ValueRef<'_>) {
    w.key(key);
    match value {
        ValueRef::Bool(v) => w.bool(v),
        ValueRef::I64(v) => w.int(v),
        ValueRef::F64(v) => w.float(v),
        ValueRef::Str(v) => w.string(v),
        ValueRef::Array(array, max) => {
            w.begin_array();
            match array {
                Array::Bool(values) => values.iter().for_each(|v| w.bool(*v)),
                Array::I64(values) => values.iter().for_each(|v| w.int(*v)),
                Array::F64(values) => values.iter().for_each(|v| w.float(*v)),
                Array::String(values) => values.iter().for_each(|v| w.string(cut(v.as_str(), max))),
                other => w.string(&other.to_string()),
            }
            w.end_array();
        }
        ValueRef::Other(other) => w.string(&other.to_string()),
    }
}

#[cfg(test)]
#[path = "console_tests.rs"]
mod tests;
