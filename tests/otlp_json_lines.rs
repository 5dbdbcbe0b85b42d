//! OTLP JSON lines (`otlp/stdout`, `otlp/file`, `OtlpJsonLinesExporter`) read back three ways:
//! by `traced-view`'s reader, by the official protobuf definitions' JSON mapping
//! (opentelemetry-proto's serde), and by Python's `google.protobuf.json_format` into the
//! `TracesData` message of the Python `opentelemetry-proto` package. Each must find the spans
//! traced recorded: ids, parents, names, kinds, times, attributes, events and status.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use opentelemetry_sdk::trace::SpanData;
use traced::export::{MemoryExporter, OtlpJsonLinesExporter};
use traced::{span, Span};
use traced_tests::{command_without_otel, lock, python_venv};
use traced_view::model::{self as view, StatusCode};
use traced_view::store::TraceStore;

fn temp_file(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("otlp-json-lines");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn nanos(time: SystemTime) -> u64 {
    u64::try_from(time.duration_since(UNIX_EPOCH).unwrap().as_nanos()).unwrap()
}

/// A checkout: a root with two children, attributes of every kind, an event, an error.
fn record_checkout() {
    span!("checkout", user = "ana", {
        span!("load cart", items = 3_i64, ratio = 0.5, fresh = true, {
            Span::current().add_event("cache.miss", [KeyValue::new("key", "cart:ana")]);
        });
        span!("charge", {
            Span::current().set_attribute(
                "tags",
                Value::Array(opentelemetry::Array::String(vec!["a".into(), "b c".into()])),
            );
            Span::current().set_status(Status::error("card declined"));
        });
    });
}

/// Writes the checkout through a file exporter and a memory exporter at once.
fn checkout_to_file(path: &Path) -> Vec<SpanData> {
    let _lock = lock();
    let (memory, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_service_name("shop")
        .with_exporter(OtlpJsonLinesExporter::to_file(path).unwrap())
        .with_exporter(memory)
        .install();
    record_checkout();
    drop(guard);
    spans.spans()
}

fn view_value(value: &Value) -> view::Value {
    match value {
        Value::Bool(v) => view::Value::Bool(*v),
        Value::I64(v) => view::Value::Int(*v),
        Value::F64(v) => view::Value::Double(*v),
        Value::String(v) => view::Value::String(v.to_string()),
        Value::Array(opentelemetry::Array::String(items)) => view::Value::Array(
            items
                .iter()
                .map(|s| view::Value::String(s.to_string()))
                .collect(),
        ),
        other => panic!("not used here: {other:?}"),
    }
}

fn view_attributes(attributes: &[KeyValue]) -> Vec<view::Attribute> {
    attributes
        .iter()
        .map(|kv| view::Attribute {
            key: kv.key.to_string(),
            value: view_value(&kv.value),
        })
        .collect()
}

#[test]
fn traced_view_reads_the_spans_traced_wrote() {
    let path = temp_file("view");
    let recorded = checkout_to_file(&path);
    assert_eq!(recorded.len(), 3);

    let mut store = TraceStore::new();
    let report = traced_view::input::read_file(&path, &mut store).unwrap();
    assert_eq!((report.spans, report.rejected_spans), (3, 0));
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(store.len(), 1);
    let trace = store.oldest_first()[0];
    assert_eq!(
        trace.id().to_string(),
        recorded[0].span_context.trace_id().to_string()
    );
    for expected in &recorded {
        let id = expected.span_context.span_id().to_string();
        let span = trace
            .spans()
            .iter()
            .find(|s| s.span_id.to_string() == id)
            .unwrap_or_else(|| panic!("span {} missing", expected.name));
        assert_eq!(span.name, expected.name);
        let parent = (expected.parent_span_id != opentelemetry::trace::SpanId::INVALID)
            .then(|| expected.parent_span_id.to_string());
        assert_eq!(span.parent_span_id.map(|p| p.to_string()), parent);
        assert_eq!(span.kind, view::SpanKind::Internal);
        assert_eq!(expected.span_kind, SpanKind::Internal);
        assert_eq!(span.start_unix_nano, nanos(expected.start_time));
        assert_eq!(span.end_unix_nano, nanos(expected.end_time));
        assert_eq!(span.attributes, view_attributes(&expected.attributes));
        let events: Vec<(String, u64, Vec<view::Attribute>)> = expected
            .events
            .iter()
            .map(|e| {
                (
                    e.name.to_string(),
                    nanos(e.timestamp),
                    view_attributes(&e.attributes),
                )
            })
            .collect();
        let got: Vec<(String, u64, Vec<view::Attribute>)> = span
            .events
            .iter()
            .map(|e| (e.name.clone(), e.time_unix_nano, e.attributes.clone()))
            .collect();
        assert_eq!(got, events, "{}", span.name);
        assert_eq!(span.service(), "shop");
        assert_eq!(span.scope.name, expected.instrumentation_scope.name());
    }
    let charge = trace.spans().iter().find(|s| s.name == "charge").unwrap();
    assert_eq!(
        (charge.status.code, charge.status.message.as_str()),
        (StatusCode::Error, "card declined")
    );
    assert_eq!(trace.root().map(|r| r.name.as_str()), Some("checkout"));
    // And the waterfall prints it as one tree.
    let printed =
        traced_view::print::print_trace(trace, &traced_view::print::PrintOptions::default());
    let names: Vec<&str> = printed
        .lines()
        .skip(1)
        .map(|line| line[..line.find(" shop ").unwrap()].trim_end())
        .collect();
    assert_eq!(names, ["checkout", "  load cart", "  charge"], "{printed}");
}

#[test]
fn the_official_proto_json_mapping_decodes_every_line() {
    let path = temp_file("proto");
    let recorded = checkout_to_file(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut decoded = Vec::new();
    for line in text.lines() {
        let data: TracesData = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for resource_spans in data.resource_spans {
            for scope_spans in resource_spans.scope_spans {
                decoded.extend(scope_spans.spans);
            }
        }
    }
    assert_eq!(decoded.len(), recorded.len());
    for expected in &recorded {
        let span = decoded
            .iter()
            .find(|s| s.span_id == expected.span_context.span_id().to_bytes())
            .unwrap();
        assert_eq!(span.name, expected.name);
        assert_eq!(span.trace_id, expected.span_context.trace_id().to_bytes());
        let parent = if expected.parent_span_id == opentelemetry::trace::SpanId::INVALID {
            Vec::new()
        } else {
            expected.parent_span_id.to_bytes().to_vec()
        };
        assert_eq!(span.parent_span_id, parent);
        assert_eq!(span.start_time_unix_nano, nanos(expected.start_time));
        assert_eq!(span.end_time_unix_nano, nanos(expected.end_time));
        assert_eq!(span.attributes.len(), expected.attributes.len());
        assert_eq!(span.events.len(), expected.events.len());
    }
    let load = decoded.iter().find(|s| s.name == "load cart").unwrap();
    let value = |key: &str| {
        load.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
    };
    assert_eq!(value("items"), Some(any_value::Value::IntValue(3)));
    assert_eq!(value("ratio"), Some(any_value::Value::DoubleValue(0.5)));
    assert_eq!(value("fresh"), Some(any_value::Value::BoolValue(true)));
    let charge = decoded.iter().find(|s| s.name == "charge").unwrap();
    let status = charge.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "card declined"));
}

/// Parses every line given on stdin strictly (unknown fields are errors) into `TracesData`
/// and prints one summary line per span.
///
/// Protobuf's generic JSON mapping reads `bytes` fields as base64, while OTLP JSON writes ids
/// in hex (the one exception the OTLP specification makes): a 32-character hex trace id is
/// also valid base64, and parses into 24 bytes. Encoding those bytes as base64 again gives back
/// the text in the line, which is what the summary prints as the id.
const PYTHON_PARSE: &str = r#"
import sys, base64
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

def hex_id(raw):
    return base64.b64encode(raw).decode() if raw else "-"

for line in sys.stdin:
    data = json_format.Parse(line, TracesData())
    for rs in data.resource_spans:
        service = [a.value.string_value for a in rs.resource.attributes if a.key == "service.name"][0]
        for ss in rs.scope_spans:
            for s in ss.spans:
                attrs = ",".join(f"{a.key}={a.value.WhichOneof('value')}" for a in s.attributes)
                events = ",".join(e.name for e in s.events)
                print(service, s.name, hex_id(s.trace_id), hex_id(s.span_id), hex_id(s.parent_span_id),
                      s.kind, s.status.code, attrs or "-", events or "-", s.end_time_unix_nano - s.start_time_unix_nano > 0,
                      sep="|")
"#;

#[test]
fn otlp_stdout_lines_parse_with_python_protobuf_json_format() {
    let output = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"))
        .env("OTEL_TRACES_EXPORTER", "otlp/stdout")
        .env("OTEL_SERVICE_NAME", "addsubtract")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("{\"resourceSpans\":[")),
        "{stdout}"
    );

    let python = python_venv(Path::new(env!("CARGO_TARGET_TMPDIR")))
        .join("bin")
        .join("python");
    let mut child = std::process::Command::new(python)
        .args(["-c", PYTHON_PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdout.as_bytes()).unwrap();
    let parsed = child.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let summary = String::from_utf8(parsed.stdout).unwrap();
    let rows: Vec<Vec<&str>> = summary.lines().map(|l| l.split('|').collect()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(
        names,
        ["add", "subtract", "add", "addsubtract"],
        "{summary}"
    );
    let root = &rows[3];
    assert_eq!(
        (root[0], root[4], root[5], root[6], root[8]),
        ("addsubtract", "-", "1", "0", "halfway")
    );
    for child in &rows[..3] {
        assert_eq!(child[2], root[2], "one trace");
        assert_eq!(child[4], root[3], "children of the root");
        assert_eq!(child[9], "True", "a positive duration");
    }
    assert_eq!(rows[0][7], "a=int_value");
    let is_hex = |id: &str, len: usize| {
        id.len() == len
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    assert!(is_hex(root[2], 32) && is_hex(root[3], 16), "{root:?}");
    assert!(stdout.contains(&format!("\"traceId\":\"{}\"", root[2])));
}

#[test]
fn otlp_file_appends_to_the_path_in_traced_otlp_file_path() {
    let path = temp_file("env");
    for _ in 0..2 {
        let output = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"))
            .env("OTEL_TRACES_EXPORTER", "otlp/file")
            .env("TRACED_OTLP_FILE_PATH", &path)
            .output()
            .unwrap();
        assert!(output.status.success());
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("warning") && !stderr.contains("error"),
            "{stderr}"
        );
    }
    let mut store = TraceStore::new();
    let report = traced_view::input::read_file(&path, &mut store).unwrap();
    assert_eq!(
        (report.spans, store.len()),
        (8, 2),
        "two runs, one trace each"
    );

    let output = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"))
        .env("OTEL_TRACES_EXPORTER", "otlp/file")
        .env("TRACED_OTLP_FILE_PATH", path.join("not-a-dir.jsonl"))
        .output()
        .unwrap();
    assert!(output.status.success(), "an unwritable path is not fatal");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("otlp/file exporter could not be set up (TRACED_OTLP_FILE_PATH)")
            && stderr.contains("not-a-dir.jsonl"),
        "{stderr}"
    );
    assert!(
        stderr.contains("addsubtract"),
        "falls back to the tree: {stderr}"
    );
}
