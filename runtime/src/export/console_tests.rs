//! Tests of the console exporter.

use std::time::UNIX_EPOCH;

use opentelemetry::trace::{
    Event, Link, SpanContext, TraceFlags, TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{StringValue, Value};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{json, Value as Json};

use super::*;
use crate::export::test_support::{block_on, internal_span, SharedBuf};

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

const TRACE: &str = "eed7ad7fcfc40136d71dab659422ebd3";
const ROOT: &str = "73bd92954eeb5526";
/// 2026-11-21T22:24:49Z in microseconds.
const T0: u64 = 1_795_299_889_000_000;

/// An internal span with hex ids (`""` parent for none), times in µs after `T0`.
fn span(name: &'static str, trace: &str, id: &str, parent: &str, start: u64, end: u64) -> SpanData {
    let hex_span = |hex: &str| u64::from_str_radix(hex, 16).unwrap_or(0);
    let at = |micros| UNIX_EPOCH + Duration::from_micros(T0 + micros);
    internal_span(
        u128::from_str_radix(trace, 16).unwrap(),
        hex_span(id),
        hex_span(parent),
        name,
        at(start),
        at(end),
    )
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
