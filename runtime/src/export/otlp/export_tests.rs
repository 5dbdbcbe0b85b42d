//! End to end: a span goes through the exporter built from the environment, over loopback HTTP,
//! into a receiver that decodes it with the official OTLP protobuf definitions.

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::trace::v1::{span, status};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::partial_success::PartialSuccess;
use super::test_server::{OneShotServer, Received, Reply};
use super::{OtlpConfig, OtlpProtocol};
use crate::export::test_support::block_on;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID: &str = "b7ad6b7169203331";
const PARENT_ID: &str = "00f067aa0ba902b7";
const LINKED_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const LINKED_SPAN_ID: &str = "00f067aa0ba902b8";
const START_NANOS: u64 = 1_700_000_000_123_456_789;
const END_NANOS: u64 = START_NANOS + 2_500_000;
const EVENT_NANOS: u64 = START_NANOS + 1_000_000;

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// A span with something in every field the OTLP encoding carries.
fn rich_span() -> SpanData {
    let linked = SpanContext::new(
        TraceId::from_hex(LINKED_TRACE_ID).unwrap(),
        SpanId::from_hex(LINKED_SPAN_ID).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    // Both are non-exhaustive: filled in place.
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "exception",
        at(EVENT_NANOS),
        vec![KeyValue::new("exception.message", "boom")],
        0,
    ));
    let mut links = SpanLinks::default();
    let why = vec![KeyValue::new("why", "retry of")];
    links.links.push(Link::new(linked, why, 0));
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_hex(TRACE_ID).unwrap(),
            SpanId::from_hex(SPAN_ID).unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::from_key_value([("vendor", "v1")]).unwrap(),
        ),
        parent_span_id: SpanId::from_hex(PARENT_ID).unwrap(),
        parent_span_is_remote: true,
        span_kind: SpanKind::Client,
        name: "GET /cart".into(),
        start_time: at(START_NANOS),
        end_time: at(END_NANOS),
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 503_i64),
            KeyValue::new("retry", true),
            KeyValue::new("ratio", 0.25),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ),
        ],
        dropped_attributes_count: 1,
        events,
        links,
        status: Status::error("upstream unavailable"),
        instrumentation_scope: InstrumentationScope::builder("shop-lib")
            .with_version("1.2.3")
            .build(),
    }
}

/// Exports `rich_span` with the config read from `vars` (the receiver's URL replaces `{url}`),
/// and returns what the receiver got.
fn export_through(vars: &[(&str, &str)]) -> Received {
    let server = OneShotServer::start(Reply::ok());
    let base = server.url("");
    let config = OtlpConfig::from_lookup(|name| {
        let found = vars.iter().find(|(var, _)| *var == name);
        found.map(|(_, value)| value.replace("{url}", &base))
    });
    let mut exporter = config.build_exporter().unwrap();
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("shop")
            .with_attributes([KeyValue::new("deployment.environment.name", "test")])
            .build(),
    );
    block_on(exporter.export(vec![rich_span()])).unwrap();
    server.received()
}

/// Attributes as (key, value) pairs sorted by key.
fn attributes(attributes: &[ProtoKeyValue]) -> Vec<(&str, AnyValue)> {
    let mut found: Vec<_> = attributes
        .iter()
        .map(|kv| {
            let value = kv.value.clone().and_then(|v| v.value).unwrap();
            (kv.key.as_str(), value)
        })
        .collect();
    found.sort_by_key(|(key, _)| *key);
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Checks every field of the decoded request against `rich_span` and the resource.
fn assert_rich_span(request: &ExportTraceServiceRequest) {
    let [resource_spans] = &request.resource_spans[..] else {
        panic!("expected one ResourceSpans: {request:?}");
    };
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(
        attributes(&resource.attributes),
        [
            (
                "deployment.environment.name",
                AnyValue::StringValue("test".into())
            ),
            ("service.name", AnyValue::StringValue("shop".into())),
        ]
    );
    let [scope_spans] = &resource_spans.scope_spans[..] else {
        panic!("expected one ScopeSpans");
    };
    let scope = scope_spans.scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("shop-lib", "1.2.3")
    );
    let [span] = &scope_spans.spans[..] else {
        panic!("expected one span");
    };
    assert_eq!(hex(&span.trace_id), TRACE_ID);
    assert_eq!(hex(&span.span_id), SPAN_ID);
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert_eq!(span.trace_state, "vendor=v1");
    // Sampled (0x01), "has is-remote" (0x100) and "parent is remote" (0x200).
    assert_eq!(span.flags, 0x301);
    assert_eq!(span.name, "GET /cart");
    assert_eq!(span.kind, span::SpanKind::Client as i32);
    assert_eq!(span.start_time_unix_nano, START_NANOS);
    assert_eq!(span.end_time_unix_nano, END_NANOS);
    let mut span_attributes = attributes(&span.attributes);
    let Some(("tags", AnyValue::ArrayValue(tags))) = span_attributes.pop() else {
        panic!("expected the array `tags` last: {:?}", span.attributes);
    };
    let tags: Vec<_> = tags.values.into_iter().map(|v| v.value.unwrap()).collect();
    assert_eq!(
        tags,
        [
            AnyValue::StringValue("a".into()),
            AnyValue::StringValue("b".into())
        ]
    );
    assert_eq!(
        span_attributes,
        [
            ("http.request.method", AnyValue::StringValue("GET".into())),
            ("http.response.status_code", AnyValue::IntValue(503)),
            ("ratio", AnyValue::DoubleValue(0.25)),
            ("retry", AnyValue::BoolValue(true)),
        ]
    );
    assert_eq!(span.dropped_attributes_count, 1);
    let [event] = &span.events[..] else {
        panic!("expected one event");
    };
    assert_eq!(
        (event.name.as_str(), event.time_unix_nano),
        ("exception", EVENT_NANOS)
    );
    assert_eq!(
        attributes(&event.attributes),
        [("exception.message", AnyValue::StringValue("boom".into()))]
    );
    let [link] = &span.links[..] else {
        panic!("expected one link");
    };
    assert_eq!(
        (hex(&link.trace_id), hex(&link.span_id)),
        (LINKED_TRACE_ID.into(), LINKED_SPAN_ID.into())
    );
    assert_eq!(link.flags, 0x301);
    assert_eq!(
        attributes(&link.attributes),
        [("why", AnyValue::StringValue("retry of".into()))]
    );
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, status::StatusCode::Error as i32);
    assert_eq!(status.message, "upstream unavailable");
}

#[test]
fn protobuf_export_carries_every_field() {
    let received = export_through(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "{url}"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-tenant=acme%20corp,x-literal=100%2525",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
    ]);
    assert_eq!(
        (received.method.as_str(), received.path.as_str()),
        ("POST", "/v1/traces")
    );
    assert_eq!(received.header("content-type"), "application/x-protobuf");
    assert_eq!(received.header("x-tenant"), "acme corp");
    assert_eq!(received.header("x-literal"), "100%25");
    assert!(
        !received
            .headers
            .iter()
            .any(|(name, _)| name == "connection"),
        "the connection is kept: {:?}",
        received.headers
    );
    assert!(received
        .header("user-agent")
        .starts_with("OTel-OTLP-Exporter-Rust/"));
    assert!(received
        .headers
        .iter()
        .all(|(name, _)| name != "content-encoding"));
    let request = ExportTraceServiceRequest::decode(received.body.as_slice()).unwrap();
    assert_rich_span(&request);
}

#[test]
fn gzip_export_decompresses_to_the_same_request() {
    let received = export_through(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "{url}/custom/path"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
    ]);
    assert_eq!(received.path, "/custom/path");
    assert_eq!(received.header("content-encoding"), "gzip");
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(received.body.as_slice())
        .read_to_end(&mut body)
        .unwrap();
    assert_rich_span(&ExportTraceServiceRequest::decode(body.as_slice()).unwrap());
}

#[test]
fn json_export_follows_the_otlp_json_mapping() {
    let received = export_through(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "{url}/"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ]);
    assert_eq!(received.path, "/v1/traces");
    assert_eq!(received.header("content-type"), "application/json");
    let json: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
    let resource_spans = &json["resourceSpans"][0];
    let service = &resource_spans["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "service.name")
        .unwrap()["value"];
    assert_eq!(service, &serde_json::json!({ "stringValue": "shop" }));
    let scope_spans = &resource_spans["scopeSpans"][0];
    assert_eq!(scope_spans["scope"]["name"], "shop-lib");
    assert_eq!(scope_spans["scope"]["version"], "1.2.3");
    let span = &scope_spans["spans"][0];
    // The OTLP/JSON mapping writes ids as hex strings, not base64.
    assert_eq!(span["traceId"], TRACE_ID);
    assert_eq!(span["spanId"], SPAN_ID);
    assert_eq!(span["parentSpanId"], PARENT_ID);
    assert_eq!(span["kind"], span::SpanKind::Client as i32);
    assert_eq!(span["startTimeUnixNano"], START_NANOS.to_string());
    assert_eq!(span["endTimeUnixNano"], END_NANOS.to_string());
    assert_eq!(span["status"]["code"], status::StatusCode::Error as i32);
    assert_eq!(span["status"]["message"], "upstream unavailable");
    assert_eq!(span["events"][0]["name"], "exception");
    assert_eq!(span["events"][0]["timeUnixNano"], EVENT_NANOS.to_string());
    assert_eq!(span["links"][0]["traceId"], LINKED_TRACE_ID);
    let method = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "http.request.method")
        .unwrap();
    assert_eq!(method["value"], serde_json::json!({ "stringValue": "GET" }));
}

/// Exports to a receiver that answers with `reply`; returns the export's result.
fn export_answered_with(reply: Reply) -> Result<(), String> {
    let server = OneShotServer::start(reply);
    let config = OtlpConfig {
        endpoint: server.url("/v1/traces"),
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    };
    let exporter = config.build_exporter().unwrap();
    let result = block_on(exporter.export(vec![rich_span()]));
    server.received();
    result.map_err(|error| error.to_string())
}

#[test]
fn error_statuses_fail_the_export() {
    for status in [400, 401, 500] {
        let error = export_answered_with(Reply::status(status, &[], b"no")).unwrap_err();
        assert!(error.contains(&format!("status code: {status}")), "{error}");
    }
    export_answered_with(Reply::status(202, &[], b"")).unwrap();
}

#[test]
fn an_early_close_fails_the_export() {
    let error = export_answered_with(Reply::Close).unwrap_err();
    assert!(error.contains("HTTP export failed"), "{error}");
}

#[test]
fn an_unreachable_collector_fails_within_the_timeout() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = OtlpConfig {
        endpoint: format!("http://{addr}/v1/traces"),
        timeout: Duration::from_millis(300),
        ..OtlpConfig::default()
    };
    let exporter = config.build_exporter().unwrap();
    let start = Instant::now();
    let result = block_on(exporter.export(vec![rich_span()]));
    assert!(result.is_err());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// A protobuf `ExportTraceServiceResponse` refusing `rejected` spans with `message`.
fn partial_success_body(rejected: i64, message: &str) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.to_owned(),
        }),
    }
    .encode_to_vec()
}

/// Exports three spans to a receiver answering `reply`, with `protocol`; returns the result,
/// the spans the exporter says were refused, and the warnings printed.
fn export_three(protocol: OtlpProtocol, reply: Reply) -> (Result<(), String>, usize, Vec<String>) {
    let server = OneShotServer::start(reply);
    let config = OtlpConfig {
        endpoint: server.url("/v1/traces"),
        protocol,
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    };
    let exporter = config.build_exporter().unwrap();
    let (result, warnings) = crate::diag::capture(|| {
        block_on(exporter.export(vec![rich_span(), rich_span(), rich_span()]))
    });
    server.received();
    let rejected = exporter.take_rejected();
    (result.map_err(|e| e.to_string()), rejected, warnings)
}

#[test]
fn partial_success_is_counted_as_rejected_and_its_message_shown() {
    let body = partial_success_body(2, "spans too old");
    let reply = Reply::status(200, &["Content-Type: application/x-protobuf"], &body);
    let (result, rejected, warnings) = export_three(OtlpProtocol::HttpProtobuf, reply);
    assert_eq!((result, rejected), (Ok(()), 2));
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("traced: warning: OTLP/HTTP to http://127.0.0.1:"));
    assert!(
        warnings[0].ends_with(
            "/v1/traces: the collector refused 2 of 3 spans (counted in stats().rejected); its \
             message: spans too old"
        ),
        "{warnings:?}"
    );

    let body = br#"{"partialSuccess":{"rejectedSpans":"1","errorMessage":"quota"}}"#;
    let reply = Reply::status(200, &["Content-Type: application/json"], body);
    let (result, rejected, warnings) = export_three(OtlpProtocol::HttpJson, reply);
    assert_eq!((result, rejected), (Ok(()), 1));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].ends_with(
            "the collector refused 1 of 3 spans (counted in stats().rejected); its message: quota"
        ),
        "{warnings:?}"
    );

    let (result, rejected, warnings) = export_three(OtlpProtocol::HttpProtobuf, Reply::ok());
    assert_eq!((result, rejected, warnings), (Ok(()), 0, vec![]));
}

#[test]
fn partial_success_messages_are_shown_once_each_and_at_most_eight() {
    let exporter = OtlpConfig::default().build_exporter().unwrap();
    let ((), warnings) = crate::diag::capture(|| {
        // m0 to m9, then m0 again.
        for i in (0..10).chain([0]) {
            let message = format!("m{i}");
            exporter.refused(
                &PartialSuccess {
                    rejected: 1,
                    message,
                },
                3,
            );
        }
    });
    assert_eq!(warnings.len(), 9, "{warnings:#?}");
    for (i, warning) in warnings[..8].iter().enumerate() {
        assert!(
            warning.ends_with(&format!("its message: m{i}")),
            "{warning}"
        );
    }
    assert_eq!(
        warnings[8],
        "traced: warning: OTLP/HTTP to http://localhost:4318/v1/traces: the collector sent more \
         than 8 distinct partial-success messages; later ones are not shown (refused spans are \
         still counted in stats().rejected)"
    );
    assert_eq!(exporter.take_rejected(), 1);
}

#[test]
fn credentials_are_sent_as_basic_authorization_and_never_shown() {
    let server = OneShotServer::start(Reply::status(400, &[], b"bad"));
    let url = server.url("/v1/traces?token=SECRET2");
    let endpoint = url.replacen("http://", "http://user:SECRET1@", 1);
    let exporter = OtlpConfig {
        endpoint,
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap();
    let error = block_on(exporter.export(vec![rich_span()])).unwrap_err();
    let received = server.received();
    assert_eq!(received.path, "/v1/traces?token=SECRET2");
    // base64("user:SECRET1")
    assert_eq!(received.header("authorization"), "Basic dXNlcjpTRUNSRVQx");
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    assert_eq!(
        format!("{exporter:?}"),
        format!("OtlpExporter(OTLP/HTTP to http://***@{host}/v1/traces)")
    );
    assert_eq!(
        error.to_string(),
        "Operation failed: HTTP export failed with status code: 400"
    );
}

#[test]
fn an_explicit_authorization_header_wins_over_userinfo() {
    let server = OneShotServer::start(Reply::ok());
    let endpoint = server
        .url("/v1/traces")
        .replacen("http://", "http://user:SECRET@", 1);
    let (exporter, warnings) = crate::diag::capture(|| {
        OtlpConfig {
            endpoint,
            headers: vec![("Authorization".to_owned(), "Bearer t".to_owned())],
            timeout: Duration::from_secs(5),
            ..OtlpConfig::default()
        }
        .build_exporter()
        .unwrap()
    });
    block_on(exporter.export(vec![rich_span()])).unwrap();
    assert_eq!(server.received().header("authorization"), "Bearer t");
    assert_eq!(
        warnings,
        [
            "traced: warning: the OTLP endpoint's userinfo (user:password@) is not used: an \
          Authorization header is set, and it wins"
        ]
    );
}

#[test]
fn the_generic_endpoint_keeps_its_query_after_the_signal_path() {
    let received = export_through(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "{url}/?token=x")]);
    assert_eq!(received.path, "/v1/traces?token=x");
}
