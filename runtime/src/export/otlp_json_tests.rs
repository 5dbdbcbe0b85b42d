//! Tests of the OTLP JSON encoding.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use serde_json::{json, Value as Json};

use super::*;
use crate::export::test_support::internal_span;

const TRACE: u128 = 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c;

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(1_581_452_772_000_000_000 + nanos)
}

fn encode(resource: &EncodedResource, batch: &[SpanData]) -> String {
    let mut out = String::new();
    push_traces_data(&mut out, resource, batch);
    out
}

#[test]
fn a_span_is_one_line_in_the_otlp_json_encoding() {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("host.name", "box"))
        .build();
    let mut span = internal_span(
        TRACE,
        0xeee1_9b7e_c3c1_b174,
        0xeee1_9b7e_c3c1_b173,
        "operationA",
        at(321),
        at(1_000_000_789),
    );
    span.span_kind = SpanKind::Server;
    span.attributes = vec![
        KeyValue::new("s", "é\"\n"),
        KeyValue::new("i", i64::MAX),
        KeyValue::new("f", 0.5),
        KeyValue::new("b", true),
        KeyValue::new("xs", Value::Array(Array::I64(vec![1, -2]))),
    ];
    span.dropped_attributes_count = 1;
    span.events
        .events
        .push(Event::new("retry", at(123), vec![KeyValue::new("n", 2)], 0));
    span.status = Status::error("boom");
    let line = encode(&EncodedResource::new(&resource), &[span]);
    assert!(line.ends_with("}]}]}]}\n"), "{line}");
    assert_eq!(line.matches('\n').count(), 1);
    let expected = concat!(
        r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"box"}},"#,
        r#"{"key":"service.name","value":{"stringValue":"checkout"}}]},"#,
        r#""scopeSpans":[{"scope":{"name":"test"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","#,
        r#""spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","flags":257,"name":"operationA","#,
        r#""kind":2,"startTimeUnixNano":"1581452772000000321","endTimeUnixNano":"1581452773000000789","#,
        r#""attributes":[{"key":"s","value":{"stringValue":"é\"\n"}},"#,
        r#"{"key":"i","value":{"intValue":"9223372036854775807"}},{"key":"f","value":{"doubleValue":0.5}},"#,
        r#"{"key":"b","value":{"boolValue":true}},"#,
        r#"{"key":"xs","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}}],"#,
        r#""droppedAttributesCount":1,"#,
        r#""events":[{"timeUnixNano":"1581452772000000123","name":"retry","attributes":[{"key":"n","value":{"intValue":"2"}}]}],"#,
        r#""status":{"message":"boom","code":2}}]}]}]}"#,
        "\n"
    );
    assert_eq!(line, expected);
}

#[test]
fn links_trace_state_remote_parents_and_special_doubles() {
    let state = TraceState::from_key_value([("vendor", "v1")]).unwrap();
    let mut span = internal_span(TRACE, 2, 1, "handler", at(0), at(5));
    span.span_context = SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(2),
        TraceFlags::SAMPLED,
        false,
        state.clone(),
    );
    span.parent_span_is_remote = true;
    span.attributes = vec![
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("ninf", f64::NEG_INFINITY),
        KeyValue::new("big", 1e300),
    ];
    let linked = SpanContext::new(
        TraceId::from(7),
        SpanId::from(8),
        TraceFlags::default(),
        true,
        TraceState::NONE,
    );
    span.links
        .links
        .push(Link::new(linked, vec![KeyValue::new("why", "retry")], 0));
    span.links.dropped_count = 3;
    span.events.dropped_count = 4;
    span.status = Status::Ok;
    let line = encode(&EncodedResource::default(), &[span]);
    let json: Json = serde_json::from_str(&line).unwrap();
    let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(json["resourceSpans"][0]["resource"], json!({}));
    assert_eq!(span["traceState"], "vendor=v1");
    assert_eq!(span["flags"], 0x301);
    assert_eq!(span["parentSpanId"], "0000000000000001");
    let doubles: Vec<&Json> = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| &kv["value"]["doubleValue"])
        .collect();
    assert_eq!(
        doubles,
        [
            &json!("NaN"),
            &json!("Infinity"),
            &json!("-Infinity"),
            &json!(1e300)
        ]
    );
    assert_eq!(
        span["links"],
        json!([{"traceId": "00000000000000000000000000000007", "spanId": "0000000000000008",
                "attributes": [{"key": "why", "value": {"stringValue": "retry"}}], "flags": 0x300}])
    );
    assert_eq!(span["droppedLinksCount"], 3);
    assert_eq!(span["droppedEventsCount"], 4);
    assert_eq!(span["status"], json!({"code": 1}));
}

#[test]
fn roots_omit_the_parent_and_spans_group_by_scope_in_order() {
    let mut a = internal_span(TRACE, 1, 0, "a", at(0), at(1));
    a.instrumentation_scope = InstrumentationScope::builder("db")
        .with_version("1.2")
        .with_schema_url("https://s/1")
        .build();
    let b = internal_span(TRACE, 2, 1, "b", at(0), at(1));
    let mut c = internal_span(TRACE, 3, 1, "c", at(0), at(1));
    c.instrumentation_scope = a.instrumentation_scope.clone();
    c.name = Cow::Owned("c".repeat(3));
    let line = encode(&EncodedResource::default(), &[a, b, c]);
    let json: Json = serde_json::from_str(&line).unwrap();
    let scopes = json["resourceSpans"][0]["scopeSpans"].as_array().unwrap();
    assert_eq!(scopes.len(), 2);
    assert_eq!(scopes[0]["scope"], json!({"name": "db", "version": "1.2"}));
    assert_eq!(scopes[0]["schemaUrl"], "https://s/1");
    let names = |i: usize| -> Vec<&str> {
        scopes[i]["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect()
    };
    assert_eq!((names(0), names(1)), (vec!["a", "ccc"], vec!["b"]));
    let root = &scopes[0]["spans"][0];
    assert!(root.get("parentSpanId").is_none(), "{root}");
    assert_eq!(root["status"], json!({}));
    assert_eq!(root["flags"], 0x101);
}

#[test]
fn an_empty_batch_writes_nothing() {
    assert_eq!(encode(&EncodedResource::default(), &[]), "");
}
