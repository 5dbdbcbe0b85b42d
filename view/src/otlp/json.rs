//! The OTLP JSON encoding of traces, read leniently.
//!
//! The OTLP specification's JSON rules: lowerCamelCase keys, trace and span ids as hex strings,
//! enums as integers, 64-bit integers as decimal strings or numbers. Real files stray from them,
//! so this reader also accepts `snake_case` keys, enum names (`SPAN_KIND_SERVER`), base64 ids (the
//! generic protobuf JSON mapping), and the old `instrumentationLibrarySpans` wrapping.
//!
//! It walks a [`serde_json::Value`] rather than deriving a strict serde model: one lookup helper
//! covers both key spellings, and every field may be missing.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::{base64, DecodeError};
use crate::model::{
    Attribute, Batch, Event, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId, Value,
};

type Object = Map<String, Json>;

/// Decodes one line of an OTLP JSON lines file: a `TracesData` or `ExportTraceServiceRequest`.
///
/// ```
/// let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
///     "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
///     "name":"GET /","startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]}"#;
/// let batch = traced_view::otlp::json::decode_line(line).unwrap();
/// assert_eq!(batch.spans[0].name, "GET /");
/// assert_eq!(batch.spans[0].duration_nanos(), 1000);
/// ```
pub fn decode_line(line: &str) -> Result<Batch, DecodeError> {
    let json: Json = serde_json::from_str(line)
        .map_err(|error| DecodeError::new(format!("not JSON: {error}")))?;
    decode_value(&json)
}

/// Decodes a parsed `TracesData` or `ExportTraceServiceRequest` object.
pub fn decode_value(json: &Json) -> Result<Batch, DecodeError> {
    let object = json
        .as_object()
        .ok_or_else(|| DecodeError::new("not a JSON object"))?;
    let mut batch = Batch::default();
    let Some(resource_spans) = field(object, "resourceSpans", "resource_spans") else {
        // An empty message is valid; other signals' lines may share a file with traces.
        let other_signal = ["resourceLogs", "resourceMetrics", "resourceProfiles"]
            .iter()
            .any(|key| object.contains_key(*key));
        if object.is_empty() || other_signal {
            return Ok(batch);
        }
        return Err(DecodeError::new("no resourceSpans"));
    };
    for resource_span in array(resource_spans, "resourceSpans")? {
        let resource_span = as_object(resource_span, "a ResourceSpans")?;
        let resource = Arc::new(Resource {
            attributes: field(resource_span, "resource", "resource")
                .and_then(Json::as_object)
                .map(attributes)
                .unwrap_or_default(),
        });
        let scope_spans = field(resource_span, "scopeSpans", "scope_spans").or_else(|| {
            field(
                resource_span,
                "instrumentationLibrarySpans",
                "instrumentation_library_spans",
            )
        });
        for scope_span in scope_spans.map_or(Ok(&[][..]), |list| array(list, "scopeSpans"))? {
            let scope_span = as_object(scope_span, "a ScopeSpans")?;
            let scope = Arc::new(
                field(scope_span, "scope", "scope")
                    .or_else(|| {
                        field(
                            scope_span,
                            "instrumentationLibrary",
                            "instrumentation_library",
                        )
                    })
                    .and_then(Json::as_object)
                    .map(scope)
                    .unwrap_or_default(),
            );
            let spans = field(scope_span, "spans", "spans");
            for span in spans.map_or(Ok(&[][..]), |list| array(list, "spans"))? {
                match span
                    .as_object()
                    .and_then(|span| decode_span(span, &resource, &scope))
                {
                    Some(span) => batch.spans.push(span),
                    None => batch.rejected_spans += 1,
                }
            }
        }
    }
    Ok(batch)
}

fn decode_span(span: &Object, resource: &Arc<Resource>, scope: &Arc<Scope>) -> Option<Span> {
    let trace_id = TraceId(id_bytes(field(span, "traceId", "trace_id")?)?);
    let span_id = SpanId(id_bytes(field(span, "spanId", "span_id")?)?);
    let parent_span_id = match field(span, "parentSpanId", "parent_span_id") {
        None => None,
        Some(Json::String(text)) if text.is_empty() => None,
        Some(parent) => Some(SpanId(id_bytes(parent)?)).filter(|id| id.0 != [0; 8]),
    };
    let status = field(span, "status", "status").and_then(Json::as_object);
    Some(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: text(span, "name", "name"),
        kind: match field(span, "kind", "kind") {
            Some(Json::String(name)) => SpanKind::from_name(name),
            Some(number) => SpanKind::from_number(signed(number).unwrap_or(0)),
            None => SpanKind::Unspecified,
        },
        start_unix_nano: time(span, "startTimeUnixNano", "start_time_unix_nano"),
        end_unix_nano: time(span, "endTimeUnixNano", "end_time_unix_nano"),
        attributes: attributes(span),
        events: list(span, "events", "events")
            .filter_map(Json::as_object)
            .map(|event| Event {
                time_unix_nano: time(event, "timeUnixNano", "time_unix_nano"),
                name: text(event, "name", "name"),
                attributes: attributes(event),
            })
            .collect(),
        links: list(span, "links", "links")
            .filter_map(Json::as_object)
            .filter_map(|link| {
                Some(Link {
                    trace_id: TraceId(id_bytes(field(link, "traceId", "trace_id")?)?),
                    span_id: SpanId(id_bytes(field(link, "spanId", "span_id")?)?),
                    attributes: attributes(link),
                })
            })
            .collect(),
        status: status.map_or_else(Status::default, |status| Status {
            code: match field(status, "code", "code") {
                Some(Json::String(name)) => StatusCode::from_name(name),
                Some(number) => StatusCode::from_number(signed(number).unwrap_or(0)),
                None => StatusCode::Unset,
            },
            message: text(status, "message", "message"),
        }),
        resource: Arc::clone(resource),
        scope: Arc::clone(scope),
    })
}

fn scope(scope: &Object) -> Scope {
    Scope {
        name: text(scope, "name", "name"),
        version: text(scope, "version", "version"),
        attributes: attributes(scope),
    }
}

/// The value under the lowerCamelCase key, else under the `snake_case` one.
fn field<'a>(object: &'a Object, camel: &str, snake: &str) -> Option<&'a Json> {
    object
        .get(camel)
        .or_else(|| object.get(snake))
        .filter(|value| !value.is_null())
}

fn as_object<'a>(json: &'a Json, what: &str) -> Result<&'a Object, DecodeError> {
    json.as_object()
        .ok_or_else(|| DecodeError::new(format!("{what} is not an object")))
}

fn array<'a>(json: &'a Json, what: &str) -> Result<&'a [Json], DecodeError> {
    json.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| DecodeError::new(format!("{what} is not an array")))
}

fn list<'a>(object: &'a Object, camel: &str, snake: &str) -> impl Iterator<Item = &'a Json> {
    field(object, camel, snake)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
}

fn text(object: &Object, camel: &str, snake: &str) -> String {
    field(object, camel, snake)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn time(object: &Object, camel: &str, snake: &str) -> u64 {
    field(object, camel, snake).and_then(unsigned).unwrap_or(0)
}

/// A 64-bit unsigned integer written as a number or as a decimal string.
fn unsigned(json: &Json) -> Option<u64> {
    match json {
        Json::String(text) => text.trim().parse().ok(),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Json::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
}

/// A 64-bit signed integer written as a number or as a decimal string.
fn signed(json: &Json) -> Option<i64> {
    match json {
        Json::String(text) => text.trim().parse().ok(),
        #[allow(clippy::cast_possible_truncation)]
        Json::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// An id: hex as OTLP JSON writes it, or base64 as the generic protobuf mapping would.
fn id_bytes<const N: usize>(json: &Json) -> Option<[u8; N]> {
    let text = json.as_str()?;
    if text.len() == 2 * N {
        let mut out = [0; N];
        for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        return Some(out);
    }
    base64::decode(text)?.try_into().ok()
}

fn attributes(object: &Object) -> Vec<Attribute> {
    key_values(list(object, "attributes", "attributes"))
}

fn key_values<'a>(entries: impl Iterator<Item = &'a Json>) -> Vec<Attribute> {
    entries
        .filter_map(Json::as_object)
        .map(|entry| Attribute {
            key: text(entry, "key", "key"),
            value: field(entry, "value", "value").map_or(Value::Empty, any_value),
        })
        .collect()
}

/// An `AnyValue`: `{"stringValue": ...}` and its siblings, or a bare JSON scalar.
fn any_value(json: &Json) -> Value {
    let Some(object) = json.as_object() else {
        return match json {
            Json::String(text) => Value::String(text.clone()),
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(number) => number
                .as_i64()
                .map_or_else(|| Value::Double(number.as_f64().unwrap_or(0.0)), Value::Int),
            _ => Value::Empty,
        };
    };
    if let Some(text) = field(object, "stringValue", "string_value") {
        return Value::String(text.as_str().unwrap_or_default().to_owned());
    }
    if let Some(flag) = field(object, "boolValue", "bool_value") {
        return Value::Bool(flag.as_bool().unwrap_or(false));
    }
    if let Some(number) = field(object, "intValue", "int_value") {
        return signed(number).map_or(Value::Empty, Value::Int);
    }
    if let Some(number) = field(object, "doubleValue", "double_value") {
        return match number {
            Json::String(text) => text.parse().map_or(Value::Empty, Value::Double),
            _ => number.as_f64().map_or(Value::Empty, Value::Double),
        };
    }
    if let Some(bytes) = field(object, "bytesValue", "bytes_value") {
        return bytes
            .as_str()
            .and_then(base64::decode)
            .map_or(Value::Empty, Value::Bytes);
    }
    if let Some(array) = field(object, "arrayValue", "array_value").and_then(Json::as_object) {
        return Value::Array(list(array, "values", "values").map(any_value).collect());
    }
    if let Some(map) = field(object, "kvlistValue", "kvlist_value").and_then(Json::as_object) {
        return Value::Map(key_values(list(map, "values", "values")));
    }
    Value::Empty
}

#[cfg(test)]
mod tests {
    use super::decode_line;
    use crate::model::{SpanKind, StatusCode, Value};

    #[test]
    fn reads_snake_case_enum_names_and_numbers() {
        let line = r#"{"resource_spans":[{"resource":{"attributes":[
            {"key":"service.name","value":{"string_value":"api"}}]},
            "scope_spans":[{"scope":{"name":"lib","version":"1.0"},"spans":[{
            "trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
            "parent_span_id":"","name":"x","kind":"SPAN_KIND_CLIENT",
            "start_time_unix_nano":1000,"end_time_unix_nano":"3000",
            "attributes":[{"key":"n","value":{"int_value":7}},{"key":"s","value":{"intValue":"8"}}],
            "status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}"#;
        let batch = decode_line(line).unwrap();
        let span = &batch.spans[0];
        assert_eq!(span.service(), "api");
        assert_eq!(span.scope.version, "1.0");
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.duration_nanos(), 2000);
        assert_eq!(span.attributes[0].value, Value::Int(7));
        assert_eq!(span.attributes[1].value, Value::Int(8));
        assert_eq!(span.status.code, StatusCode::Error);
        assert_eq!(span.status.message, "boom");
    }

    #[test]
    fn base64_ids_and_rejected_spans() {
        let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","name":"ok"},
            {"traceId":"zz","spanId":"eee19b7ec3c1b174","name":"bad"}]}]}]}"#;
        let batch = decode_line(line).unwrap();
        assert_eq!(batch.spans.len(), 1);
        assert_eq!(batch.rejected_spans, 1);
        assert_eq!(
            batch.spans[0].trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(batch.spans[0].span_id.to_string(), "eee19b7ec3c1b174");
    }

    #[test]
    fn other_signals_and_garbage() {
        assert!(decode_line(r#"{"resourceLogs":[]}"#)
            .unwrap()
            .spans
            .is_empty());
        assert!(decode_line("{}").unwrap().spans.is_empty());
        assert!(decode_line(r#"{"resourceSpans":[{"scopeSpans"#).is_err());
        assert!(decode_line(r#"{"hello":1}"#).is_err());
        assert!(decode_line("[1,2]").is_err());
    }
}
