//! An exporter that prints each span as the JSON object Python OpenTelemetry prints.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::export::json::JsonWriter;
use crate::export::time::iso8601;

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
    output_name: &'static str,
    resource: ResourceJson,
    is_shutdown: AtomicBool,
}

/// The resource as printed: ordered once in `set_resource` instead of on every span.
#[derive(Debug, Default)]
struct ResourceJson {
    attributes: Vec<KeyValue>,
    schema_url: String,
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
            output_name,
            resource: ResourceJson::default(),
            is_shutdown: AtomicBool::new(false),
        }
    }

    fn export_batch(&self, batch: &[SpanData]) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut text = String::new();
        for span in batch {
            write_span(&mut text, span, &self.resource);
            text.push('\n');
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
            attributes,
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
        };
    }
}

fn write_span(out: &mut String, span: &SpanData, resource: &ResourceJson) {
    let mut w = JsonWriter::new(out);
    w.begin_object();
    w.key("name");
    w.string(&span.name);
    w.key("context");
    write_context(&mut w, &span.span_context);
    w.key("kind");
    w.string(kind_name(&span.span_kind));
    w.key("parent_id");
    if span.parent_span_id == SpanId::INVALID {
        w.null();
    } else {
        w.string(&format!("0x{}", span.parent_span_id));
    }
    w.key("start_time");
    w.string(&iso8601(span.start_time));
    w.key("end_time");
    w.string(&iso8601(span.end_time));
    w.key("status");
    write_status(&mut w, &span.status);
    w.key("attributes");
    write_attributes(&mut w, &span.attributes);
    w.key("events");
    w.begin_array();
    for event in span.events.iter() {
        w.begin_object();
        w.key("name");
        w.string(&event.name);
        w.key("timestamp");
        w.string(&iso8601(event.timestamp));
        w.key("attributes");
        write_attributes(&mut w, &event.attributes);
        w.end_object();
    }
    w.end_array();
    w.key("links");
    w.begin_array();
    for link in span.links.iter() {
        w.begin_object();
        w.key("context");
        write_context(&mut w, &link.span_context);
        w.key("attributes");
        write_attributes(&mut w, &link.attributes);
        w.end_object();
    }
    w.end_array();
    w.key("resource");
    w.begin_object();
    w.key("attributes");
    write_attributes(&mut w, &resource.attributes);
    w.key("schema_url");
    w.string(&resource.schema_url);
    w.end_object();
    w.end_object();
}

fn write_context(w: &mut JsonWriter<'_>, context: &SpanContext) {
    w.begin_object();
    w.key("trace_id");
    w.string(&format!("0x{}", context.trace_id()));
    w.key("span_id");
    w.string(&format!("0x{}", context.span_id()));
    w.key("trace_state");
    w.string(&python_trace_state(context));
    w.end_object();
}

/// Python prints `repr(TraceState)`: the `repr` of a list of `"{key=k, value=v}"` strings,
/// so `[]` when empty and `['{key=k, value=v}']` otherwise.
fn python_trace_state(context: &SpanContext) -> String {
    let mut repr = String::from("[");
    for (i, (key, value)) in context.trace_state().into_iter().enumerate() {
        if i > 0 {
            repr.push_str(", ");
        }
        push_python_str_repr(&mut repr, &format!("{{key={key}, value={value}}}"));
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

/// Writes attributes as a JSON object. Python holds them in a dict, so a repeated key keeps
/// its first position and takes its last value; JSON objects must not repeat keys anyway.
fn write_attributes(w: &mut JsonWriter<'_>, attributes: &[KeyValue]) {
    w.begin_object();
    for (i, kv) in attributes.iter().enumerate() {
        if attributes[..i].iter().any(|earlier| earlier.key == kv.key) {
            continue;
        }
        let last = attributes[i..]
            .iter()
            .rev()
            .find(|later| later.key == kv.key)
            .unwrap_or(kv);
        w.key(kv.key.as_str());
        write_value(w, &last.value);
    }
    w.end_object();
}

fn write_value(w: &mut JsonWriter<'_>, value: &Value) {
    match value {
        Value::Bool(v) => w.bool(*v),
        Value::I64(v) => w.int(*v),
        Value::F64(v) => w.float(*v),
        Value::String(v) => w.string(v.as_str()),
        Value::Array(array) => {
            w.begin_array();
            match array {
                Array::Bool(values) => values.iter().for_each(|v| w.bool(*v)),
                Array::I64(values) => values.iter().for_each(|v| w.int(*v)),
                Array::F64(values) => values.iter().for_each(|v| w.float(*v)),
                Array::String(values) => values.iter().for_each(|v| w.string(v.as_str())),
                other => w.string(&other.to_string()),
            }
            w.end_array();
        }
        other => w.string(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};
    use std::time::UNIX_EPOCH;

    use opentelemetry::trace::{
        Event, Link, TraceFlags, TraceId, TraceState, Tracer as _, TracerProvider as _,
    };
    use opentelemetry::{InstrumentationScope, StringValue};
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanEvents, SpanLinks};
    use serde_json::{json, Value as Json};

    use super::*;

    /// Python's `ConsoleSpanExporter` output for a failed span (see `python-console-*.txt`).
    const PYTHON_ERROR_SPAN: &str = r#"{
    "name": "divide",
    "context": {
        "trace_id": "0x2915f2d4dfa52f5477821850a3b9e9ab",
        "span_id": "0xd49b5eb44db531d3",
        "trace_state": "[]"
    },
    "kind": "SpanKind.INTERNAL",
    "parent_id": null,
    "start_time": "2026-11-21T22:24:54.238852Z",
    "end_time": "2026-11-21T22:24:54.239825Z",
    "status": {
        "status_code": "ERROR",
        "description": "ZeroDivisionError: division by zero"
    },
    "attributes": {},
    "events": [
        {
            "name": "exception",
            "timestamp": "2026-11-21T22:24:54.239793Z",
            "attributes": {
                "exception.type": "ZeroDivisionError",
                "exception.message": "division by zero",
                "exception.stacktrace": "Traceback (most recent call last):\n  File \"app.py\", line 11, in divide\n    return a / b\nZeroDivisionError: division by zero\n",
                "exception.escaped": "False"
            }
        }
    ],
    "links": [],
    "resource": {
        "attributes": {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.45.1",
            "service.instance.id": "<uuid>",
            "service.name": "addsubtract"
        },
        "schema_url": ""
    }
}
"#;

    #[derive(Clone, Default)]
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl SharedBuf {
        /// Returns what was written since the last call.
        fn drain(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    impl Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The exporter finishes its work before returning the future: one poll must do.
    fn block_on<F: Future>(future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("export future was not ready"),
        }
    }

    const TRACE: &str = "eed7ad7fcfc40136d71dab659422ebd3";
    const ROOT: &str = "73bd92954eeb5526";
    /// 2026-11-21T22:24:49Z in microseconds.
    const T0: u64 = 1_795_299_889_000_000;

    /// An internal span with hex ids (`""` parent for none), times in µs after `T0`.
    fn span(
        name: &'static str,
        trace: &str,
        id: &str,
        parent: &str,
        start: u64,
        end: u64,
    ) -> SpanData {
        let hex_span = |hex: &str| SpanId::from_hex(hex).unwrap_or(SpanId::INVALID);
        let at = |micros| UNIX_EPOCH + Duration::from_micros(T0 + micros);
        SpanData {
            span_context: SpanContext::new(
                TraceId::from_hex(trace).unwrap(),
                hex_span(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: hex_span(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: at(start),
            end_time: at(end),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    fn exporter() -> (ConsoleExporter, SharedBuf) {
        let buf = SharedBuf::default();
        let mut exporter = ConsoleExporter::with_writer(buf.clone());
        // Deliberately not in print order: printing must sort them.
        exporter.set_resource(
            &Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", "addsubtract"),
                    KeyValue::new("telemetry.sdk.version", "1.45.1"),
                    KeyValue::new("service.instance.id", "<uuid>"),
                    KeyValue::new("telemetry.sdk.name", "opentelemetry"),
                    KeyValue::new("telemetry.sdk.language", "python"),
                ])
                .build(),
        );
        (exporter, buf)
    }

    fn parse_stream(text: &str) -> Vec<Json> {
        let stream = serde_json::Deserializer::from_str(text).into_iter::<Json>();
        stream.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn error_span_matches_python_byte_for_byte() {
        let (exporter, buf) = exporter();
        let mut divide = span(
            "divide",
            "2915f2d4dfa52f5477821850a3b9e9ab",
            "d49b5eb44db531d3",
            "",
            0,
            0,
        );
        let at = |micros: u64| UNIX_EPOCH + Duration::from_micros(1_795_299_894_000_000 + micros);
        (divide.start_time, divide.end_time) = (at(238_852), at(239_825));
        divide.status = Status::error("ZeroDivisionError: division by zero");
        let stacktrace = "Traceback (most recent call last):\n  File \"app.py\", line 11, in divide\n    return a / b\nZeroDivisionError: division by zero\n";
        let attributes = vec![
            KeyValue::new("exception.type", "ZeroDivisionError"),
            KeyValue::new("exception.message", "division by zero"),
            KeyValue::new("exception.stacktrace", stacktrace),
            KeyValue::new("exception.escaped", "False"),
        ];
        let event = Event::new("exception", at(239_793), attributes, 0);
        divide.events.events.push(event);
        block_on(exporter.export(vec![divide])).unwrap();
        assert_eq!(buf.drain(), PYTHON_ERROR_SPAN);
    }

    #[test]
    fn stream_of_spans_matches_python_reference() {
        let (exporter, buf) = exporter();
        let mut add = span("add", TRACE, "03c370bdce6666fb", ROOT, 76_957, 76_980);
        add.attributes.push(KeyValue::new("a", 1));
        let fail = span("fail", TRACE, "99e2de2861cb6095", ROOT, 77_311, 77_322);
        let root = span("addsubtract", TRACE, ROOT, "", 76_906, 77_446);
        block_on(exporter.export(vec![add, fail])).unwrap();
        block_on(exporter.export(vec![root])).unwrap();

        // The structure of python-console-spans.txt, one object per span.
        let python = |name, span_id, parent_id: &str, start, end| {
            json!({
                "name": name,
                "context": {"trace_id": format!("0x{TRACE}"), "span_id": format!("0x{span_id}"), "trace_state": "[]"},
                "kind": "SpanKind.INTERNAL",
                "parent_id": if parent_id.is_empty() { Json::Null } else { json!(format!("0x{parent_id}")) },
                "start_time": format!("2026-11-21T22:24:49.{start:06}Z"),
                "end_time": format!("2026-11-21T22:24:49.{end:06}Z"),
                "status": {"status_code": "UNSET"},
                "attributes": {},
                "events": [],
                "links": [],
                "resource": {
                    "attributes": {
                        "telemetry.sdk.language": "python",
                        "telemetry.sdk.name": "opentelemetry",
                        "telemetry.sdk.version": "1.45.1",
                        "service.instance.id": "<uuid>",
                        "service.name": "addsubtract"
                    },
                    "schema_url": ""
                }
            })
        };
        let mut expected = [
            python("add", "03c370bdce6666fb", ROOT, 76_957, 76_980),
            python("fail", "99e2de2861cb6095", ROOT, 77_311, 77_322),
            python("addsubtract", ROOT, "", 76_906, 77_446),
        ];
        expected[0]["attributes"] = json!({"a": 1});
        let text = buf.drain();
        assert!(text.ends_with("}\n"), "each span ends with a newline");
        assert_eq!(parse_stream(&text), expected);
    }

    #[test]
    fn attributes_and_links_print_like_python() {
        let (exporter, buf) = exporter();
        let mut s = span("s", TRACE, ROOT, "", 0, 0);
        s.attributes = vec![
            KeyValue::new("ok", true),
            KeyValue::new("n", -7),
            KeyValue::new("ratio", 1.0),
            KeyValue::new("huge", 1e20),
            KeyValue::new("text", "héllo \"q\"\n"),
            KeyValue::new("ints", Value::Array(vec![1, 2].into())),
            KeyValue::new("floats", Value::Array(vec![0.5, f64::NAN].into())),
            KeyValue::new("strs", Value::Array(vec![StringValue::from("a")].into())),
            // Python keeps a dict: the first position, the last value.
            KeyValue::new("n", 8),
        ];
        let state = TraceState::from_key_value([("vendor", "x'1"), ("k2", "v2")]).unwrap();
        let linked = SpanContext::new(
            TraceId::from(1),
            SpanId::from(2),
            TraceFlags::SAMPLED,
            true,
            state,
        );
        s.links
            .links
            .push(Link::new(linked, vec![KeyValue::new("why", "retry")], 0));
        block_on(exporter.export(vec![s])).unwrap();
        let expected = r#"
    "attributes": {
        "ok": true,
        "n": 8,
        "ratio": 1.0,
        "huge": 1e+20,
        "text": "h\u00e9llo \"q\"\n",
        "ints": [
            1,
            2
        ],
        "floats": [
            0.5,
            NaN
        ],
        "strs": [
            "a"
        ]
    },
    "events": [],
    "links": [
        {
            "context": {
                "trace_id": "0x00000000000000000000000000000001",
                "span_id": "0x0000000000000002",
                "trace_state": "[\"{key=vendor, value=x'1}\", '{key=k2, value=v2}']"
            },
            "attributes": {
                "why": "retry"
            }
        }
    ],
"#;
        let text = buf.drain();
        assert!(text.contains(expected), "{text}");
    }

    #[test]
    fn kinds_and_statuses_print_like_python() {
        let (exporter, buf) = exporter();
        let cases = [
            (SpanKind::Server, Status::Ok),
            (SpanKind::Client, Status::error("")),
            (SpanKind::Producer, Status::error("e")),
            (SpanKind::Consumer, Status::Unset),
        ];
        let batch = cases.into_iter().map(|(span_kind, status)| SpanData {
            span_kind,
            status,
            ..span("s", TRACE, ROOT, "", 0, 0)
        });
        block_on(exporter.export(batch.collect())).unwrap();
        let spans = parse_stream(&buf.drain());
        let printed: Vec<Json> = spans
            .iter()
            .map(|s| json!([s["kind"], s["status"]]))
            .collect();
        let expected = json!([
            ["SpanKind.SERVER", {"status_code": "OK"}],
            ["SpanKind.CLIENT", {"status_code": "ERROR"}],
            ["SpanKind.PRODUCER", {"status_code": "ERROR", "description": "e"}],
            ["SpanKind.CONSUMER", {"status_code": "UNSET"}]
        ]);
        assert_eq!(Json::Array(printed), expected);
    }

    #[test]
    fn resource_is_empty_until_set_and_keeps_its_schema_url() {
        let buf = SharedBuf::default();
        let mut exporter = ConsoleExporter::with_writer(buf.clone());
        let s = span("s", TRACE, ROOT, "", 0, 0);
        block_on(exporter.export(vec![s.clone()])).unwrap();
        let empty = json!({"attributes": {}, "schema_url": ""});
        assert_eq!(parse_stream(&buf.drain())[0]["resource"], empty);

        let schema = "https://opentelemetry.io/schemas/1.26.0";
        let attributes = [KeyValue::new("zeta", 1), KeyValue::new("alpha", 2)];
        exporter.set_resource(
            &Resource::builder_empty()
                .with_schema_url(attributes, schema)
                .build(),
        );
        block_on(exporter.export(vec![s])).unwrap();
        let expected = format!("\"alpha\": 2,\n            \"zeta\": 1\n        }},\n        \"schema_url\": \"{schema}\"\n    }}\n}}\n");
        let text = buf.drain();
        assert!(text.ends_with(&expected), "{text}");
    }

    #[test]
    fn write_failure_is_an_error_not_a_panic() {
        // A zero-length buffer refuses every byte.
        let exporter = ConsoleExporter::with_writer(io::Cursor::new([0u8; 0]));
        match block_on(exporter.export(vec![span("s", TRACE, ROOT, "", 0, 0)])) {
            Err(OTelSdkError::InternalFailure(message)) => assert!(message.contains("write")),
            other => panic!("expected InternalFailure, got {other:?}"),
        }
    }

    #[test]
    fn export_after_shutdown_is_refused() {
        let (exporter, buf) = exporter();
        exporter.force_flush().unwrap();
        exporter.shutdown().unwrap();
        let result = block_on(exporter.export(vec![span("s", TRACE, ROOT, "", 0, 0)]));
        assert!(matches!(result, Err(OTelSdkError::AlreadyShutdown)));
        assert_eq!(buf.drain(), "");
        assert!(format!("{exporter:?}").contains("is_shutdown: true"));
    }

    #[test]
    fn spans_from_the_sdk_pipeline_link_up() {
        let buf = SharedBuf::default();
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name("console-test")
                    .build(),
            )
            .with_simple_exporter(ConsoleExporter::with_writer(buf.clone()))
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("outer", |_| tracer.in_span("inner", |_| ()));
        provider.shutdown().unwrap();

        let text = buf.drain();
        let [inner, outer] = &parse_stream(&text)[..] else {
            panic!("expected two spans: {text}");
        };
        assert_eq!(
            (&inner["name"], &outer["parent_id"]),
            (&json!("inner"), &Json::Null)
        );
        assert_eq!(inner["parent_id"], outer["context"]["span_id"]);
        assert_eq!(inner["context"]["trace_id"], outer["context"]["trace_id"]);
        assert_eq!(
            outer["resource"]["attributes"]["service.name"],
            "console-test"
        );
        let sdk_first = [
            "telemetry.sdk.language",
            "telemetry.sdk.name",
            "telemetry.sdk.version",
            "service.name",
        ];
        let positions: Vec<usize> = sdk_first
            .iter()
            .map(|key| text.find(key).unwrap())
            .collect();
        assert!(positions.is_sorted(), "{positions:?}");
    }
}
