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
//! The text is written into one `String` straight from what [`SpanView`] gives (a record
//! from the batch worker, or a `SpanData`), without building the protobuf messages first: the
//! resource is encoded once when the exporter learns it, and a batch of records allocates
//! nothing but the growth of the output buffer and, when it names more than one, a small list
//! of its distinct instrumentation scopes.

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceFlags};
use opentelemetry::{Array, InstrumentationScope, StringValue};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use crate::export::json::{push_float, push_hex, push_i64, push_string, push_u64, NonAscii};
use crate::export::record_view::{cut, unix_nanos, ScopeRef, SpanView, ValueRef};

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
                push_key_value(&mut text, key.as_str(), ValueRef::new(value, None));
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
    push_spans(out, resource, &batch.iter());
}

/// [`push_traces_data`] for any spans traced's encoders read: records straight from the
/// batch worker, or `SpanData`.
pub(crate) fn push_spans<'a, S: SpanView<'a>>(
    out: &mut String,
    resource: &EncodedResource,
    spans: &(impl Iterator<Item = S> + Clone),
) {
    let mut first_scope = None;
    let mut more_scopes = Vec::new();
    for span in spans.clone() {
        let scope = span.scope();
        match first_scope {
            None => first_scope = Some(scope),
            Some(first) if first == scope => {}
            Some(_) => {
                if !more_scopes.contains(&scope) {
                    more_scopes.push(scope);
                }
            }
        }
    }
    let Some(first_scope) = first_scope else {
        return;
    };
    out.push_str("{\"resourceSpans\":[{");
    out.push_str(&resource.resource);
    out.push_str(",\"scopeSpans\":[");
    for (i, scope) in std::iter::once(first_scope)
        .chain(more_scopes.iter().copied())
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"scope\":");
        push_scope(out, scope);
        out.push_str(",\"spans\":[");
        let scope_spans = spans.clone().filter(|s| s.scope() == scope);
        for (j, span) in scope_spans.enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_span(out, &span);
        }
        out.push(']');
        if let Some(url) =
            (scope.otel.and_then(InstrumentationScope::schema_url)).filter(|url| !url.is_empty())
        {
            out.push_str(",\"schemaUrl\":");
            push_string(out, url, NonAscii::Keep);
        }
        out.push('}');
    }
    out.push(']');
    out.push_str(&resource.schema_url);
    out.push_str("}]}\n");
}

fn push_scope(out: &mut String, scope: ScopeRef<'_>) {
    out.push('{');
    let mut first = true;
    if !scope.name.is_empty() {
        push_field(out, &mut first, "name");
        push_string(out, scope.name, NonAscii::Keep);
    }
    if let Some(version) = scope.version.filter(|v| !v.is_empty()) {
        push_field(out, &mut first, "version");
        push_string(out, version, NonAscii::Keep);
    }
    if let Some(otel) = scope.otel {
        let mut attributes = otel.attributes().peekable();
        if attributes.peek().is_some() {
            push_field(out, &mut first, "attributes");
            out.push('[');
            for (i, kv) in attributes.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_key_value(out, kv.key.as_str(), ValueRef::new(&kv.value, None));
            }
            out.push(']');
        }
    }
    out.push('}');
}

fn push_span<'a>(out: &mut String, span: &impl SpanView<'a>) {
    out.push_str("{\"traceId\":\"");
    push_hex(out, &span.trace_id().to_bytes());
    out.push_str("\",\"spanId\":\"");
    push_hex(out, &span.span_id().to_bytes());
    out.push('"');
    push_trace_state(out, &span.trace_state());
    let parent = span.parent_span_id();
    if parent != SpanId::INVALID {
        out.push_str(",\"parentSpanId\":\"");
        push_hex(out, &parent.to_bytes());
        out.push('"');
    }
    out.push_str(",\"flags\":");
    push_u64(
        out,
        u64::from(flags(span.trace_flags(), span.parent_is_remote())),
    );
    out.push_str(",\"name\":");
    push_string(out, span.name(), NonAscii::Keep);
    out.push_str(",\"kind\":");
    push_u64(out, u64::from(kind_number(&span.kind())));
    out.push_str(",\"startTimeUnixNano\":\"");
    push_u64(out, span.start_unix_nanos());
    out.push_str("\",\"endTimeUnixNano\":\"");
    push_u64(out, span.end_unix_nanos());
    out.push('"');
    push_attributes(out, |f| {
        span.attributes(f);
        0
    });
    push_count(
        out,
        "droppedAttributesCount",
        span.dropped_attributes_count(),
    );
    let limits = span.limits();
    let events = span.events();
    if !events.is_empty() {
        out.push_str(",\"events\":[");
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"timeUnixNano\":\"");
            push_u64(out, unix_nanos(event.timestamp));
            out.push_str("\",\"name\":");
            push_string(out, &event.name, NonAscii::Keep);
            let dropped = push_attributes(out, |f| limits.event_attributes(event, f));
            push_count(out, "droppedAttributesCount", dropped);
            out.push('}');
        }
        out.push(']');
    }
    push_count(out, "droppedEventsCount", span.dropped_events_count());
    let links = span.links();
    if !links.is_empty() {
        out.push_str(",\"links\":[");
        for (i, link) in links.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let linked = &link.span_context;
            out.push_str("{\"traceId\":\"");
            push_hex(out, &linked.trace_id().to_bytes());
            out.push_str("\",\"spanId\":\"");
            push_hex(out, &linked.span_id().to_bytes());
            out.push('"');
            push_trace_state(out, &linked.trace_state().header());
            let dropped = push_attributes(out, |f| limits.link_attributes(link, f));
            push_count(out, "droppedAttributesCount", dropped);
            out.push_str(",\"flags\":");
            push_u64(
                out,
                u64::from(flags(linked.trace_flags(), linked.is_remote())),
            );
            out.push('}');
        }
        out.push(']');
    }
    push_count(out, "droppedLinksCount", span.dropped_links_count());
    out.push_str(",\"status\":");
    match span.status() {
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

/// Writes `,"attributes":[…]` with the attributes `list` calls its argument with, when there
/// are any; returns what `list` returns (a dropped count).
fn push_attributes(
    out: &mut String,
    list: impl FnOnce(&mut dyn FnMut(&str, ValueRef<'_>)) -> u32,
) -> u32 {
    let mut first = true;
    let dropped = list(&mut |key, value| {
        out.push_str(if std::mem::take(&mut first) {
            ",\"attributes\":["
        } else {
            ","
        });
        push_key_value(out, key, value);
    });
    if !first {
        out.push(']');
    }
    dropped
}

/// The span's W3C trace flags in the low byte, and whether its parent is remote in bits 8
/// and 9, as opentelemetry-proto's own conversion sets them.
fn flags(trace_flags: TraceFlags, is_remote: bool) -> u32 {
    let remote = if is_remote { IS_REMOTE } else { 0 };
    u32::from(trace_flags.to_u8()) | HAS_IS_REMOTE | remote
}

fn push_trace_state(out: &mut String, state: &str) {
    if !state.is_empty() {
        out.push_str(",\"traceState\":");
        push_string(out, state, NonAscii::Keep);
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
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        push_u64(out, u64::from(count));
    }
}

fn push_key_value(out: &mut String, key: &str, value: ValueRef<'_>) {
    out.push_str("{\"key\":");
    push_string(out, key, NonAscii::Keep);
    out.push_str(",\"value\":");
    push_any_value(out, value);
    out.push('}');
}

/// An `AnyValue`: `{"stringValue":…}`, `{"intValue":"…"}`, `{"arrayValue":{"values":[…]}}`.
fn push_any_value(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Bool(v) => push_bool(out, v),
        ValueRef::I64(v) => push_int(out, v),
        ValueRef::F64(v) => push_double(out, v),
        ValueRef::Str(v) => push_string_value(out, v),
        ValueRef::Array(array, max) => {
            out.push_str("{\"arrayValue\":{\"values\":[");
            match array {
                Array::Bool(values) => push_items(out, values, |out, v| push_bool(out, *v)),
                Array::I64(values) => push_items(out, values, |out, v| push_int(out, *v)),
                Array::F64(values) => push_items(out, values, |out, v| push_double(out, *v)),
                Array::String(values) => {
                    push_items(out, values, |out, v: &StringValue| {
                        push_string_value(out, cut(v.as_str(), max));
                    });
                }
                // A kind of array a later opentelemetry adds: its text, as one string.
                other => push_string_value(out, &other.to_string()),
            }
            out.push_str("]}}");
        }
        // A kind of value a later opentelemetry adds: its text.
        ValueRef::Other(other) => push_string_value(out, &other.to_string()),
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
    out.push_str("{\"intValue\":\"");
    push_i64(out, value);
    out.push_str("\"}");
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
