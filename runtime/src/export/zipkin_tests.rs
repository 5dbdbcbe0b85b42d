use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Event, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _};
use opentelemetry_sdk::Resource;
use serde_json::{json, Value as Json};

use super::*;
use crate::export::record_view::ListLimits;
use crate::export::test_support::{block_on, internal_span};

const TRACE: u128 = 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c;
const SPAN: u64 = 0x00f0_67aa_0ba9_02b7;
const PARENT: u64 = 0x0123_4567_89ab_cdef;

/// 2021-01-01T00:00:00Z plus `nanos`.
fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_609_459_200) + Duration::from_nanos(nanos)
}

/// A client span with a parent, attributes of every type, two events, an error status and a
/// versioned scope.
fn rich_span() -> SpanData {
    let mut span = internal_span(TRACE, SPAN, PARENT, "GET /users", at(1_500), at(2_501_999));
    span.span_kind = SpanKind::Client;
    span.attributes = vec![
        KeyValue::new("http.method", "GET"),
        KeyValue::new("retry", true),
        KeyValue::new("http.status_code", 503_i64),
        KeyValue::new("ratio", 0.25),
        KeyValue::new(
            "tags",
            Value::Array(Array::String(vec!["a".into(), "b\"c".into()])),
        ),
        KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ports", Value::Array(Array::I64(vec![80, 443]))),
        KeyValue::new("weights", Value::Array(Array::F64(vec![1.5, -2.0]))),
        KeyValue::new("peer.service", "users-db"),
    ];
    let mut events = SpanEvents::default();
    events.events = vec![
        Event::new("retrying", at(1_000_000), Vec::new(), 0),
        Event::new(
            "exception",
            at(2_000_999),
            vec![
                KeyValue::new("exception.type", "Timeout"),
                KeyValue::new("attempt", 2_i64),
                KeyValue::new("fatal", false),
            ],
            0,
        ),
    ];
    span.events = events;
    span.status = Status::error("upstream timed out");
    span.instrumentation_scope = InstrumentationScope::builder("my-lib")
        .with_version("1.2.3")
        .build();
    span
}

fn encode_one(span: SpanData) -> Json {
    let json: Json = serde_json::from_str(&encode_spans(&[span], "checkout")).unwrap();
    let Json::Array(mut spans) = json else {
        panic!("expected a JSON array, got {json}");
    };
    assert_eq!(spans.len(), 1);
    spans.remove(0)
}

#[test]
fn rich_span_maps_every_field() {
    let span = encode_one(rich_span());
    assert_eq!(span["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span["id"], "00f067aa0ba902b7");
    assert_eq!(span["parentId"], "0123456789abcdef");
    assert_eq!(span["name"], "GET /users");
    assert_eq!(span["kind"], "CLIENT");
    assert_eq!(span["timestamp"], 1_609_459_200_000_001_u64);
    // 2_500_499 ns, truncated.
    assert_eq!(span["duration"], 2_500);
    assert_eq!(span["localEndpoint"], json!({ "serviceName": "checkout" }));
    assert_eq!(span["remoteEndpoint"], json!({ "serviceName": "users-db" }));
    assert_eq!(
        span["annotations"],
        json!([
            { "timestamp": 1_609_459_200_001_000_u64, "value": "retrying" },
            {
                "timestamp": 1_609_459_200_002_000_u64,
                "value": r#""exception":{"exception.type":"Timeout","attempt":2,"fatal":false}"#
            },
        ])
    );
    assert_eq!(
        span["tags"],
        json!({
            "http.method": "GET",
            "retry": "true",
            "http.status_code": "503",
            "ratio": "0.25",
            "tags": r#"["a","b\"c"]"#,
            "flags": "[true,false]",
            "ports": "[80,443]",
            "weights": "[1.5,-2.0]",
            "peer.service": "users-db",
            "otel.scope.name": "my-lib",
            "otel.scope.version": "1.2.3",
            "otel.status_code": "ERROR",
            "error": "upstream timed out",
        })
    );
    let fields: Vec<&str> = span
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields.len(), 11, "unexpected fields: {fields:?}");
}

#[test]
fn event_attributes_form_json_after_the_name() {
    let event = &rich_span().events[1];
    let mut value = String::new();
    push_annotation_value(&mut value, "exception", |f| {
        ListLimits::NONE.event_attributes(event, f);
    });
    let parsed: Json = serde_json::from_str(&format!("{{{value}}}")).unwrap();
    assert_eq!(
        parsed,
        json!({ "exception": { "exception.type": "Timeout", "attempt": 2, "fatal": false } })
    );
}

#[test]
fn root_span_has_no_parent_id() {
    let span = encode_one(internal_span(TRACE, SPAN, 0, "root", at(0), at(1_000)));
    assert!(span.get("parentId").is_none(), "{span}");
}

#[test]
fn internal_span_has_no_kind_and_empty_fields_are_omitted() {
    let span = encode_one(internal_span(TRACE, SPAN, PARENT, "work", at(0), at(1_000)));
    assert!(span.get("kind").is_none(), "{span}");
    assert!(span.get("annotations").is_none(), "{span}");
    assert!(span.get("remoteEndpoint").is_none(), "{span}");
    // The test scope has a name, and nothing else sets a tag.
    assert_eq!(span["tags"], json!({ "otel.scope.name": "test" }));
}

#[test]
fn other_kinds_map_by_name() {
    for (kind, name) in [
        (SpanKind::Server, "SERVER"),
        (SpanKind::Producer, "PRODUCER"),
        (SpanKind::Consumer, "CONSUMER"),
    ] {
        let mut span = internal_span(TRACE, SPAN, 0, "s", at(0), at(1_000));
        span.span_kind = kind;
        assert_eq!(encode_one(span)["kind"], name);
    }
}

#[test]
fn times_are_whole_microseconds() {
    let start = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    let end = start + Duration::from_nanos(1_234);
    let span = encode_one(internal_span(TRACE, SPAN, 0, "s", start, end));
    assert_eq!(span["timestamp"], 1_700_000_000_123_456_u64);
    assert_eq!(span["duration"], 1);

    let before_epoch = internal_span(
        TRACE,
        SPAN,
        0,
        "s",
        UNIX_EPOCH - Duration::from_secs(1),
        end,
    );
    assert_eq!(encode_one(before_epoch)["timestamp"], 0);
    let first_micro = UNIX_EPOCH + Duration::from_nanos(999);
    assert_eq!(
        encode_one(internal_span(TRACE, SPAN, 0, "s", first_micro, end))["timestamp"],
        0
    );
    assert_eq!(duration_micros(5_000, 5_001), 1);
    assert_eq!(duration_micros(5_000, 6_999), 1);
    assert_eq!(duration_micros(5_000, 7_000), 2);
    assert_eq!(duration_micros(5_000, 5_000), 0);
    assert_eq!(duration_micros(6_234, 5_000), 0);
}

#[test]
fn empty_or_negative_duration_is_left_out() {
    let start = at(5_000);
    let span = encode_one(internal_span(TRACE, SPAN, 0, "s", start, at(1_000)));
    assert!(span.get("duration").is_none(), "{span}");
    assert_eq!(span["timestamp"], 1_609_459_200_000_005_u64);
}

#[test]
fn status_ok_and_unset_and_boolean_error_attributes() {
    let mut span = internal_span(TRACE, SPAN, 0, "s", at(0), at(1_000));
    span.attributes = vec![KeyValue::new("error", false)];
    span.status = Status::Ok;
    let tags = &encode_one(span.clone())["tags"];
    assert_eq!(tags["otel.status_code"], "OK");
    assert!(tags.get("error").is_none(), "{tags}");

    span.status = Status::Unset;
    let tags = &encode_one(span.clone())["tags"];
    assert!(tags.get("otel.status_code").is_none(), "{tags}");

    span.status = Status::error("");
    let tags = &encode_one(span)["tags"];
    assert_eq!(tags["otel.status_code"], "ERROR");
    assert_eq!(tags["error"], "");
}

#[test]
fn dropped_counts_become_tags() {
    let mut span = internal_span(TRACE, SPAN, 0, "s", at(0), at(1_000));
    span.dropped_attributes_count = 3;
    span.events.dropped_count = 1;
    let tags = &encode_one(span)["tags"];
    assert_eq!(tags["otel.dropped_attributes_count"], "3");
    assert_eq!(tags["otel.dropped_events_count"], "1");
    assert!(tags.get("otel.dropped_links_count").is_none(), "{tags}");
}

#[test]
fn odd_values_stay_valid_json() {
    let mut span = internal_span(TRACE, SPAN, 0, "naïve \"quote\"\n", at(0), at(1_000));
    span.attributes = vec![
        KeyValue::new("nan", f64::NAN),
        KeyValue::new(
            "floats",
            Value::Array(Array::F64(vec![f64::INFINITY, 1e16])),
        ),
        KeyValue::new("text", Value::String(StringValue::from("line\u{1}\u{e9}"))),
        KeyValue::new("empty", Value::Array(Array::I64(Vec::new()))),
    ];
    let span = encode_one(span);
    assert_eq!(span["name"], "naïve \"quote\"\n");
    assert_eq!(span["tags"]["nan"], "NaN");
    assert_eq!(span["tags"]["floats"], r#"["Infinity",1e+16]"#);
    assert_eq!(span["tags"]["text"], "line\u{1}\u{e9}");
    assert_eq!(span["tags"]["empty"], "[]");
}

#[test]
fn several_spans_form_one_array() {
    let spans = [
        internal_span(TRACE, 1, 0, "a", at(0), at(1_000)),
        internal_span(TRACE, 2, 1, "b", at(0), at(1_000)),
    ];
    let json: Json = serde_json::from_str(&encode_spans(&spans, "svc")).unwrap();
    assert_eq!(json[0]["name"], "a");
    assert_eq!(json[1]["parentId"], "0000000000000001");
    assert_eq!(encode_spans(&[], "svc"), "[]");
}

#[test]
fn service_name_comes_from_the_resource() {
    let mut exporter = ZipkinExporter::new(DEFAULT_ENDPOINT, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(exporter.service_name(), "unknown_service");
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("checkout")
            .build(),
    );
    assert_eq!(exporter.service_name(), "checkout");
    exporter.set_resource(&Resource::builder_empty().build());
    assert_eq!(exporter.service_name(), "unknown_service");
}

#[test]
fn endpoints_must_be_http_urls() {
    let exporter = ZipkinExporter::new("http://zipkin:9411/api/v2/spans", DEFAULT_TIMEOUT).unwrap();
    assert_eq!(
        exporter.endpoint().to_string(),
        "http://zipkin:9411/api/v2/spans"
    );
    for (endpoint, problem) in [
        ("https://zipkin:9411/api/v2/spans", "no TLS"),
        ("ftp://zipkin/x", "expected an http:// URL"),
        ("/api/v2/spans", "expected an http:// URL"),
        ("not a url", "expected an absolute URL"),
    ] {
        let error = ZipkinExporter::new(endpoint, DEFAULT_TIMEOUT).unwrap_err();
        assert!(error.to_string().contains(problem), "{endpoint}: {error}");
    }
}

#[test]
fn environment_sets_endpoint_and_timeout() {
    let exporter = ZipkinExporter::from_lookup(|_| None).unwrap();
    assert_eq!(exporter.endpoint().to_string(), DEFAULT_ENDPOINT);
    assert_eq!(exporter.timeout(), Duration::from_secs(10));

    let exporter = ZipkinExporter::from_lookup(|name| match name {
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT" => Some(" http://z:1/spans ".into()),
        "OTEL_EXPORTER_ZIPKIN_TIMEOUT" => Some("2500".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(exporter.endpoint().to_string(), "http://z:1/spans");
    assert_eq!(exporter.timeout(), Duration::from_millis(2_500));

    let (exporter, warnings) = crate::diag::capture(|| {
        ZipkinExporter::from_lookup(|name| {
            (name == "OTEL_EXPORTER_ZIPKIN_TIMEOUT").then(|| "-5".into())
        })
    });
    assert_eq!(exporter.unwrap().timeout(), DEFAULT_TIMEOUT);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("OTEL_EXPORTER_ZIPKIN_TIMEOUT"),
        "{warnings:?}"
    );

    let error = ZipkinExporter::from_lookup(|name| {
        (name == "OTEL_EXPORTER_ZIPKIN_ENDPOINT").then(|| "https://z/spans".into())
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("OTEL_EXPORTER_ZIPKIN_ENDPOINT: "),
        "{error}"
    );
}

/// A request as the one-shot server read it.
struct Received {
    head: String,
    body: Vec<u8>,
}

/// Accepts one connection on 127.0.0.1, reads one request and answers `response`. Every wait is
/// bounded, so a broken client fails the test instead of hanging it.
fn serve_once(response: &'static str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v2/spans", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Err(error) => panic!("no client connected: {error}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let received = read_request(&mut stream);
        stream.write_all(response.as_bytes()).unwrap();
        received
    });
    (url, server)
}

fn read_request(stream: &mut TcpStream) -> Received {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed before the end of the head");
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("a Content-Length header");
    while data.len() < head_end + length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed before the end of the body");
        data.extend_from_slice(&chunk[..n]);
    }
    Received {
        head,
        body: data[head_end..head_end + length].to_vec(),
    }
}

#[test]
fn export_posts_json_to_the_collector() {
    let (url, server) = serve_once("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    let mut exporter = ZipkinExporter::new(&url, Duration::from_secs(5)).unwrap();
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("checkout")
            .build(),
    );
    block_on(exporter.export(vec![rich_span()])).unwrap();
    let received = server.join().unwrap();

    let request_line = received.head.lines().next().unwrap();
    assert_eq!(request_line, "POST /api/v2/spans HTTP/1.1");
    let content_type = received.head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    });
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body: Json = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(
        body,
        serde_json::from_str::<Json>(&encode_spans(&[rich_span()], "checkout")).unwrap()
    );
    assert_eq!(body[0]["localEndpoint"]["serviceName"], "checkout");
}

#[test]
fn error_status_fails_the_export() {
    let (url, server) =
        serve_once("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 9\r\n\r\nno space!");
    let exporter = ZipkinExporter::new(&url, Duration::from_secs(5)).unwrap();
    let error = block_on(exporter.export(vec![rich_span()])).unwrap_err();
    server.join().unwrap();
    let OTelSdkError::InternalFailure(message) = error else {
        panic!("expected an internal failure, got {error:?}");
    };
    assert!(message.contains("500"), "{message}");
    assert!(message.contains("no space!"), "{message}");
}

#[test]
fn unreachable_collector_is_an_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v2/spans");
    let exporter = ZipkinExporter::new(&url, Duration::from_secs(2)).unwrap();
    let error = block_on(exporter.export(vec![rich_span()])).unwrap_err();
    assert!(error.to_string().contains("cannot post"), "{error}");
}

#[test]
fn empty_batches_send_nothing_and_shutdown_stops_export() {
    // Nothing listens on port 9 of this endpoint: an empty batch must not try.
    let exporter = ZipkinExporter::new("http://127.0.0.1:9/api/v2/spans", DEFAULT_TIMEOUT).unwrap();
    block_on(exporter.export(Vec::new())).unwrap();
    exporter.shutdown().unwrap();
    let error = block_on(exporter.export(vec![rich_span()])).unwrap_err();
    assert!(matches!(error, OTelSdkError::AlreadyShutdown), "{error:?}");
    assert!(exporter.shutdown().is_err());
}
