//! Export over HTTP end to end: the probe program, configured only by
//! `OTEL_*` variables, sends its spans to a receiver on 127.0.0.1. OTLP is
//! decoded with the official protobuf definitions (opentelemetry-proto);
//! Zipkin v2 JSON is parsed and checked field by field.

use std::net::TcpListener;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use traced_tests::{command_without_otel, receiver};

#[path = "support/seed.rs"]
mod seed;

fn run_probe(env: &[(&str, String)], args: &[&str]) {
    let mut command = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"));
    let output = command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("warning") && !stderr.contains("error"),
        "{stderr}"
    );
}

#[test]
fn the_seed_trace_arrives_over_otlp_http_protobuf() {
    let (port, requests) = receiver(4);
    run_probe(
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_SERVICE_NAME", "addsubtract".to_owned()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme".to_owned()),
        ],
        &[],
    );
    let request = requests
        .recv_timeout(Duration::from_secs(10))
        .expect("an export request");
    assert_eq!(request.path, "/v1/traces");
    assert!(request.headers.contains(&(
        "content-type".to_owned(),
        "application/x-protobuf".to_owned()
    )));
    assert!(request
        .headers
        .contains(&("x-tenant".to_owned(), "acme".to_owned())));
    let export =
        ExportTraceServiceRequest::decode(request.body.as_slice()).expect("valid OTLP protobuf");
    seed::assert_seed_trace(&export, "addsubtract");
    let scope_spans = &export.resource_spans[0].scope_spans[0];
    assert_eq!(
        scope_spans.scope.as_ref().unwrap().version,
        env!("CARGO_PKG_VERSION")
    );
    for span in &scope_spans.spans {
        assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
        assert!(span
            .status
            .as_ref()
            .is_none_or(|s| s.code == StatusCode::Unset as i32));
    }
}

#[test]
fn errors_arrive_with_status_and_exception_event() {
    let (port, requests) = receiver(2);
    run_probe(
        &[
            ("OTEL_TRACES_EXPORTER", "otlp".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("http://127.0.0.1:{port}/custom/path"),
            ),
        ],
        &["error"],
    );
    let request = requests
        .recv_timeout(Duration::from_secs(10))
        .expect("an export request");
    assert_eq!(
        request.path, "/custom/path",
        "a signal-specific endpoint is used as is"
    );
    let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
    let span = &export.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "divide");
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "String: division by zero");
    assert_eq!(span.events[0].name, "exception");
    assert_eq!(
        seed::attribute(&span.events[0].attributes, "exception.message"),
        Some(&Value::StringValue("division by zero".into()))
    );
}

#[test]
fn an_unreachable_collector_never_blocks_the_program() {
    // A port with nothing listening: bind, take the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let mut command = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"));
    let output = command
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .args(["many", "50"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("traced: error"),
        "export failures are reported: {stderr}"
    );
}

#[test]
fn the_seed_trace_arrives_at_zipkin_as_v2_json() {
    let (port, requests) = receiver(2);
    run_probe(
        &[
            ("OTEL_TRACES_EXPORTER", "zipkin".to_owned()),
            (
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
                format!("http://127.0.0.1:{port}/api/v2/spans"),
            ),
            ("OTEL_SERVICE_NAME", "addsubtract".to_owned()),
        ],
        &[],
    );
    let request = requests
        .recv_timeout(Duration::from_secs(10))
        .expect("a zipkin request");
    assert_eq!(request.path, "/api/v2/spans");
    assert!(request
        .headers
        .contains(&("content-type".to_owned(), "application/json".to_owned())));
    let spans: Vec<serde_json::Value> =
        serde_json::from_slice(&request.body).expect("a JSON array");
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["add", "subtract", "add", "addsubtract"]);
    let root = &spans[3];
    assert!(root.get("parentId").is_none());
    let trace_id = root["traceId"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32);
    for span in &spans {
        assert_eq!(span["localEndpoint"]["serviceName"], "addsubtract");
        assert_eq!(span["traceId"], trace_id);
        assert!(span.get("kind").is_none(), "internal spans have no kind");
        assert!(
            span["timestamp"].as_u64().unwrap() > 1_700_000_000_000_000,
            "microseconds since the epoch"
        );
    }
    for child in &spans[..3] {
        assert_eq!(child["parentId"], root["id"]);
        assert!(child["timestamp"].as_u64() >= root["timestamp"].as_u64());
    }
    assert_eq!(spans[0]["tags"]["a"], "1");
    assert_eq!(spans[0]["tags"]["otel.scope.name"], "traced-tests");
    assert_eq!(root["annotations"][0]["value"], "\"halfway\":{\"s\":-1}");
}
