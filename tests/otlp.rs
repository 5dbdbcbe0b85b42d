//! Export over HTTP end to end: the probe program, configured only by
//! `OTEL_*` variables, sends its spans to a receiver on 127.0.0.1. OTLP is
//! decoded with the official protobuf definitions (opentelemetry-proto);
//! Zipkin v2 JSON is parsed and checked field by field.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use traced_tests::{command_without_otel, receiver, ClosedPort};

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
    // A port with nothing listening, held for the test's length.
    let closed = ClosedPort::new();
    let port = closed.port;
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

/// A collector on 127.0.0.1 that answers each of at most `max` requests with `200` and the
/// protobuf `body`; returns its endpoint.
fn collector_answering(max: usize, body: Vec<u8>) -> String {
    let port = traced_tests::serve(max, move |_| {
        traced_tests::reply(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf",
            &body,
        )
    });
    format!("http://127.0.0.1:{port}/v1/traces")
}

#[test]
fn spans_a_collector_refuses_are_counted_as_rejected_not_exported() {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    let _lock = traced_tests::lock();
    let body = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "too many attributes".to_owned(),
        }),
    }
    .encode_to_vec();
    let exporter = traced::export::otlp::OtlpConfig {
        endpoint: collector_answering(2, body),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
    .build_exporter()
    .unwrap();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(traced::BatchConfig {
            scheduled_delay: Duration::from_hours(1),
            ..Default::default()
        })
        .install();
    for round in 0..2 {
        for i in 0..5 {
            traced::span!("work", { std::hint::black_box(i + round) });
        }
        assert!(
            !guard.flush(),
            "spans the collector refused were not delivered: flush says so"
        );
    }
    let stats = guard.shutdown();
    assert_eq!(
        (stats.created, stats.exported, stats.rejected, stats.failed),
        (10, 6, 4, 0),
        "{stats:?}"
    );
}

/// The batch worker writes OTLP straight from its records while a `SpanExporter` beside it
/// (here the memory exporter) gets `SpanData`: both receive every span, with the same ids,
/// names, parents and attributes.
#[test]
fn otlp_from_records_and_span_data_exporters_share_one_pipeline() {
    let _lock = traced_tests::lock();
    let (port, requests) = receiver(4);
    let exporter = traced::export::otlp::OtlpConfig {
        endpoint: format!("http://127.0.0.1:{port}/v1/traces"),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
    .build_exporter()
    .unwrap();
    let (memory, spans) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_exporter(memory)
        .with_batch_processor(traced::BatchConfig {
            scheduled_delay: Duration::from_hours(1),
            ..Default::default()
        })
        .install();
    traced::span!("outer", user.id = 7, region = "eu", {
        for i in 0..3_i64 {
            traced::span!("inner", index = i, { std::hint::black_box(i) });
        }
    });
    assert!(guard.flush());
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (4, 0), "{stats:?}");
    let request = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(request.path, "/v1/traces");
    let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
    let mut otlp: Vec<(String, Vec<u8>, Vec<u8>, usize)> = (decoded.resource_spans.iter())
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| {
            (
                s.name.clone(),
                s.span_id.clone(),
                s.parent_span_id.clone(),
                s.attributes.len(),
            )
        })
        .collect();
    let mut memory: Vec<(String, Vec<u8>, Vec<u8>, usize)> = (spans.take().iter())
        .map(|s| {
            let parent = if s.parent_span_id == opentelemetry::trace::SpanId::INVALID {
                Vec::new()
            } else {
                s.parent_span_id.to_bytes().to_vec()
            };
            (
                s.name.to_string(),
                s.span_context.span_id().to_bytes().to_vec(),
                parent,
                s.attributes.len(),
            )
        })
        .collect();
    otlp.sort();
    memory.sort();
    assert_eq!(otlp, memory);
    assert_eq!(otlp.len(), 4);
    let outer = otlp.iter().find(|s| s.0 == "outer").unwrap();
    assert_eq!(
        (outer.2.len(), outer.3),
        (0, 2),
        "a root with two attributes"
    );
}

/// A collector on 127.0.0.1 that answers its requests with `replies` in turn (a status line
/// and headers), then with `200 OK`; stops after `max` requests. Each request is sent on as
/// the time it arrived and its span names.
fn collector_scripted(
    replies: &[&str],
    max: usize,
) -> (
    String,
    std::sync::mpsc::Receiver<(std::time::Instant, Vec<String>)>,
) {
    let mut replies: std::collections::VecDeque<String> =
        replies.iter().map(|r| (*r).to_owned()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let port = traced_tests::serve(max, move |request| {
        let arrived = std::time::Instant::now();
        let request = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
        let names = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect();
        let _ = tx.send((arrived, names));
        let head = replies
            .pop_front()
            .unwrap_or_else(|| "HTTP/1.1 200 OK".to_owned());
        traced_tests::reply(&head, b"")
    });
    (format!("http://127.0.0.1:{port}/v1/traces"), rx)
}

fn otlp_pipeline(endpoint: String) -> traced::PipelineGuard {
    traced_tests::otlp_pipeline(traced::export::otlp::OtlpConfig {
        endpoint,
        ..Default::default()
    })
}

/// OTLP/HTTP: "all other 4xx or 5xx response status codes MUST NOT be retried". A batch
/// answered `400 Bad Request` is counted as failed at once and never sent again; the next
/// batch goes out as usual.
#[test]
fn a_batch_the_collector_refuses_is_not_sent_again() {
    let _lock = traced_tests::lock();
    for refusal in ["HTTP/1.1 400 Bad Request", "HTTP/1.1 413 Payload Too Large"] {
        let (endpoint, requests) = collector_scripted(&[refusal], 2);
        let guard = otlp_pipeline(endpoint);
        for _ in 0..5 {
            traced::span!("refused", {});
        }
        assert!(!guard.flush(), "the refused batch was not delivered");
        // Settled as failed, so not waiting for a retry.
        assert_eq!(guard.stats().failed, 5, "{refusal}");
        for _ in 0..3 {
            traced::span!("accepted", {});
        }
        assert!(guard.flush(), "{refusal}");
        let stats = guard.shutdown();
        assert_eq!(
            (stats.created, stats.exported, stats.failed),
            (8, 3, 5),
            "{refusal}: {stats:?}"
        );
        let (_, first) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
        let (_, second) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first, vec!["refused"; 5], "{refusal}");
        assert_eq!(
            second,
            vec!["accepted"; 3],
            "{refusal}: sent once, not again"
        );
    }
}

/// 429, 502, 503 and 504 are retried, not before the wait `Retry-After` asks for.
#[test]
fn a_throttled_batch_is_sent_again_after_retry_after() {
    let _lock = traced_tests::lock();
    let (endpoint, requests) =
        collector_scripted(&["HTTP/1.1 503 Service Unavailable\r\nretry-after: 1"], 2);
    let guard = otlp_pipeline(endpoint);
    for _ in 0..4 {
        traced::span!("throttled", {});
    }
    traced_tests::flush_until_delivered(&guard, Duration::from_secs(10), "503");
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (4, 0), "{stats:?}");
    let (first_at, first) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    let (second_at, second) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(first, vec!["throttled"; 4]);
    assert_eq!(second, first, "the same batch, sent again");
    let waited = second_at - first_at;
    assert!(
        waited >= Duration::from_millis(950),
        "sent again after {waited:?}, before the 1 s Retry-After asked for"
    );
}

/// Without `Retry-After`, a retryable status is sent again after the backoff (100 ms first).
#[test]
fn a_retryable_status_without_retry_after_is_sent_again_after_the_backoff() {
    let _lock = traced_tests::lock();
    for status in [
        "HTTP/1.1 429 Too Many Requests",
        "HTTP/1.1 502 Bad Gateway",
        "HTTP/1.1 504 Gateway Timeout",
    ] {
        let (endpoint, requests) = collector_scripted(&[status], 2);
        let guard = otlp_pipeline(endpoint);
        traced::span!("again", {});
        traced_tests::flush_until_delivered(&guard, Duration::from_secs(10), status);
        let stats = guard.shutdown();
        assert_eq!(
            (stats.exported, stats.failed),
            (1, 0),
            "{status}: {stats:?}"
        );
        let (first_at, first) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
        let (second_at, second) = requests.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            (first, second),
            (vec!["again".to_owned()], vec!["again".to_owned()])
        );
        let waited = second_at - first_at;
        assert!(
            waited >= Duration::from_millis(90),
            "{status}: sent again after {waited:?}"
        );
    }
}

/// Two collectors: one refuses the batch for good, the other is busy once. The retry goes to
/// the busy one only; the one that refused never gets the batch again. One exporter refused
/// it, so it counts as failed.
#[test]
fn a_retry_goes_only_to_the_exporters_that_may_take_it() {
    let _lock = traced_tests::lock();
    let (refusing, refused) = collector_scripted(&["HTTP/1.1 400 Bad Request"; 4], 4);
    let (busy, took) = collector_scripted(&["HTTP/1.1 503 Service Unavailable"], 4);
    let exporter = |endpoint| {
        traced::export::otlp::OtlpConfig {
            endpoint,
            timeout: Duration::from_secs(5),
            ..Default::default()
        }
        .build_exporter()
        .unwrap()
    };
    let guard = traced::builder()
        .with_exporter(exporter(refusing))
        .with_exporter(exporter(busy))
        .with_batch_processor(traced::BatchConfig {
            scheduled_delay: Duration::from_hours(1),
            ..Default::default()
        })
        .install();
    for _ in 0..2 {
        traced::span!("both", {});
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while guard.stats().failed == 0 {
        assert!(std::time::Instant::now() < deadline, "never settled");
        guard.flush();
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (0, 2), "{stats:?}");
    let (_, first) = took.recv_timeout(Duration::from_secs(5)).unwrap();
    let (_, again) = took.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (first.len(), again.len()),
        (2, 2),
        "the busy collector, twice"
    );
    assert_eq!(
        refused
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .1
            .len(),
        2
    );
    assert!(
        refused.recv_timeout(Duration::from_millis(300)).is_err(),
        "the refusing collector got the batch again"
    );
}
