//! The OTLP JSON encoding of a batch of spans: one `TracesData` object on one line.
//!
//! The rules are those of the OTLP specification's "JSON Protobuf Encoding" (the proto3 JSON
//! mapping with OTLP's exceptions): lowerCamelCase field names, trace and span ids as lowercase
//! hex (not base64), enums as integers, 64-bit integers (times, `intValue`) as decimal strings,
//! and non-finite doubles as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`. Fields
//! holding their default value (empty strings and lists, zero counts) are left out, as the
//! Collector's file exporter and protobuf's own JSON printer leave them out; readers treat a
//! missing field as its default.
//!
//! The text is written straight from `SpanData` into one `String`, without building the
//! protobuf messages first: the resource is encoded once when the exporter learns it, and a
//! batch allocates nothing but the growth of the output buffer and a small list of its
//! distinct instrumentation scopes.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use crate::export::json::{push_float, push_string, NonAscii};

/// `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`: whether the parent is remote is known.
const HAS_IS_REMOTE: u32 = 0x100;
/// `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`: the parent (or linked span) is remote.
const IS_REMOTE: u32 = 0x200;

/// The members of a `ResourceSpans` that come from the resource, encoded once:
/// `"resource":{...}` and, when there is one, `,"schemaUrl":"..."`.
#[derive(Clone, Debug)]
pub(crate) struct EncodedResource {
    resource: String,
    schema_url: String,
}

impl Default for EncodedResource {
    fn default() -> Self {
        Self {
            resource: "\"resource\":{}".to_owned(),
            schema_url: String::new(),
        }
    }
}

impl EncodedResource {
    /// Encodes `resource`'s attributes, sorted by key so repeated runs write identical lines
    /// (the SDK keeps them unordered).
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut attributes: Vec<_> = resource.iter().collect();
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        let mut text = String::from("\"resource\":{");
        if !attributes.is_empty() {
            text.push_str("\"attributes\":[");
            for (i, (key, value)) in attributes.into_iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                push_key_value(&mut text, key.as_str(), value);
            }
            text.push(']');
        }
        text.push('}');
        let mut schema_url = String::new();
        if let Some(url) = resource.schema_url().filter(|url| !url.is_empty()) {
            schema_url.push_str(",\"schemaUrl\":");
            push_string(&mut schema_url, url, NonAscii::Keep);
        }
        Self {
            resource: text,
            schema_url,
        }
    }
}

/// Appends `batch` as one `TracesData` JSON object and a `\n`: one `ResourceSpans` (an
/// exporter serves one resource), with a `ScopeSpans` per distinct instrumentation scope in
/// the order the scopes first appear. An empty batch appends nothing.
pub(crate) fn push_traces_data(out: &mut String, resource: &EncodedResource, batch: &[SpanData]) {
    if batch.is_empty() {
        return;
    }
    let mut scopes: Vec<&InstrumentationScope> = Vec::new();
    for span in batch {
        if !scopes.contains(&&span.instrumentation_scope) {
            scopes.push(&span.instrumentation_scope);
        }
    }
    out.push_str("{\"resourceSpans\":[{");
    out.push_str(&resource.resource);
    out.push_str(",\"scopeSpans\":[");
    for (i, scope) in scopes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"scope\":");
        push_scope(out, scope);
        out.push_str(",\"spans\":[");
        let spans = batch.iter().filter(|s| s.instrumentation_scope == **scope);
        for (j, span) in spans.enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_span(out, span);
        }
        out.push(']');
        if let Some(url) = scope.schema_url().filter(|url| !url.is_empty()) {
            out.push_str(",\"schemaUrl\":");
            push_string(out, url, NonAscii::Keep);
        }
        out.push('}');
    }
    out.push(']');
    out.push_str(&resource.schema_url);
    out.push_str("}]}\n");
}

fn push_scope(out: &mut String, scope: &InstrumentationScope) {
    out.push('{');
    let mut first = true;
    if !scope.name().is_empty() {
        push_field(out, &mut first, "name");
        push_string(out, scope.name(), NonAscii::Keep);
    }
    if let Some(version) = scope.version().filter(|v| !v.is_empty()) {
        push_field(out, &mut first, "version");
        push_string(out, version, NonAscii::Keep);
    }
    let mut attributes = scope.attributes().peekable();
    if attributes.peek().is_some() {
        push_field(out, &mut first, "attributes");
        push_attribute_list(out, attributes);
    }
    out.push('}');
}

fn push_span(out: &mut String, span: &SpanData) {
    let context = &span.span_context;
    let _ = write!(
        out,
        "{{\"traceId\":\"{}\",\"spanId\":\"{}\"",
        context.trace_id(),
        context.span_id()
    );
    push_trace_state(out, context);
    if span.parent_span_id != SpanId::INVALID {
        let _ = write!(out, ",\"parentSpanId\":\"{}\"", span.parent_span_id);
    }
    let _ = write!(
        out,
        ",\"flags\":{}",
        flags(context, span.parent_span_is_remote)
    );
    out.push_str(",\"name\":");
    push_string(out, &span.name, NonAscii::Keep);
    let _ = write!(
        out,
        ",\"kind\":{},\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\"",
        kind_number(&span.span_kind),
        unix_nanos(span.start_time),
        unix_nanos(span.end_time)
    );
    if !span.attributes.is_empty() {
        out.push_str(",\"attributes\":");
        push_attribute_list(out, span.attributes.iter());
    }
    push_count(out, "droppedAttributesCount", span.dropped_attributes_count);
    if !span.events.is_empty() {
        out.push_str(",\"events\":[");
        for (i, event) in span.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"timeUnixNano\":\"{}\",\"name\":",
                unix_nanos(event.timestamp)
            );
            push_string(out, &event.name, NonAscii::Keep);
            if !event.attributes.is_empty() {
                out.push_str(",\"attributes\":");
                push_attribute_list(out, event.attributes.iter());
            }
            push_count(
                out,
                "droppedAttributesCount",
                event.dropped_attributes_count,
            );
            out.push('}');
        }
        out.push(']');
    }
    push_count(out, "droppedEventsCount", span.events.dropped_count);
    if !span.links.is_empty() {
        out.push_str(",\"links\":[");
        for (i, link) in span.links.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let linked = &link.span_context;
            let _ = write!(
                out,
                "{{\"traceId\":\"{}\",\"spanId\":\"{}\"",
                linked.trace_id(),
                linked.span_id()
            );
            push_trace_state(out, linked);
            if !link.attributes.is_empty() {
                out.push_str(",\"attributes\":");
                push_attribute_list(out, link.attributes.iter());
            }
            push_count(out, "droppedAttributesCount", link.dropped_attributes_count);
            let _ = write!(out, ",\"flags\":{}}}", flags(linked, linked.is_remote()));
        }
        out.push(']');
    }
    push_count(out, "droppedLinksCount", span.links.dropped_count);
    out.push_str(",\"status\":");
    match &span.status {
        Status::Unset => out.push_str("{}"),
        Status::Ok => out.push_str("{\"code\":1}"),
        Status::Error { description } => {
            out.push('{');
            if !description.is_empty() {
                out.push_str("\"message\":");
                push_string(out, description, NonAscii::Keep);
                out.push(',');
            }
            out.push_str("\"code\":2}");
        }
    }
    out.push('}');
}

/// The span's W3C trace flags in the low byte, and whether its parent is remote in bits 8
/// and 9, as opentelemetry-proto's own conversion sets them.
fn flags(context: &SpanContext, is_remote: bool) -> u32 {
    let remote = if is_remote { IS_REMOTE } else { 0 };
    u32::from(context.trace_flags().to_u8()) | HAS_IS_REMOTE | remote
}

fn push_trace_state(out: &mut String, context: &SpanContext) {
    let state = context.trace_state().header();
    if !state.is_empty() {
        out.push_str(",\"traceState\":");
        push_string(out, &state, NonAscii::Keep);
    }
}

/// `Span.SpanKind`: `SPAN_KIND_INTERNAL` is 1, then server, client, producer, consumer.
fn kind_number(kind: &SpanKind) -> u8 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// Nanoseconds since the Unix epoch; 0 for a time before it.
fn unix_nanos(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos())
}

fn push_field(out: &mut String, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(',');
    }
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn push_count(out: &mut String, name: &str, count: u32) {
    if count > 0 {
        let _ = write!(out, ",\"{name}\":{count}");
    }
}

fn push_attribute_list<'a>(out: &mut String, attributes: impl Iterator<Item = &'a KeyValue>) {
    out.push('[');
    for (i, kv) in attributes.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_key_value(out, kv.key.as_str(), &kv.value);
    }
    out.push(']');
}

fn push_key_value(out: &mut String, key: &str, value: &Value) {
    out.push_str("{\"key\":");
    push_string(out, key, NonAscii::Keep);
    out.push_str(",\"value\":");
    push_any_value(out, value);
    out.push('}');
}

/// An `AnyValue`: `{"stringValue":…}`, `{"intValue":"…"}`, `{"arrayValue":{"values":[…]}}`.
fn push_any_value(out: &mut String, value: &Value) {
    match value {
        Value::Bool(v) => push_bool(out, *v),
        Value::I64(v) => push_int(out, *v),
        Value::F64(v) => push_double(out, *v),
        Value::String(v) => push_string_value(out, v.as_str()),
        Value::Array(array) => {
            out.push_str("{\"arrayValue\":{\"values\":[");
            match array {
                Array::Bool(values) => push_items(out, values, |out, v| push_bool(out, *v)),
                Array::I64(values) => push_items(out, values, |out, v| push_int(out, *v)),
                Array::F64(values) => push_items(out, values, |out, v| push_double(out, *v)),
                Array::String(values) => {
                    push_items(out, values, |out, v: &StringValue| {
                        push_string_value(out, v.as_str());
                    });
                }
                // A kind of array a later opentelemetry adds: its text, as one string.
                other => push_string_value(out, &other.to_string()),
            }
            out.push_str("]}}");
        }
        // A kind of value a later opentelemetry adds: its text.
        other => push_string_value(out, &other.to_string()),
    }
}

fn push_items<T>(out: &mut String, values: &[T], mut push: impl FnMut(&mut String, &T)) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push(out, value);
    }
}

fn push_bool(out: &mut String, value: bool) {
    out.push_str(if value {
        "{\"boolValue\":true}"
    } else {
        "{\"boolValue\":false}"
    });
}

fn push_int(out: &mut String, value: i64) {
    let _ = write!(out, "{{\"intValue\":\"{value}\"}}");
}

fn push_string_value(out: &mut String, value: &str) {
    out.push_str("{\"stringValue\":");
    push_string(out, value, NonAscii::Keep);
    out.push('}');
}

/// A finite double as a JSON number (the shortest digits that read back as the same value);
/// the others as the strings proto3 JSON uses for them.
fn push_double(out: &mut String, value: f64) {
    out.push_str("{\"doubleValue\":");
    if value.is_nan() {
        out.push_str("\"NaN\"");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        push_float(out, value);
    }
    out.push('}');
}

#[cfg(test)]
#[path = "otlp_json_tests.rs"]
mod tests;
