//! The OTLP protobuf encoding of traces, through opentelemetry-proto's generated messages.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as proto;
use prost::Message;

use super::DecodeError;
use crate::model::{
    Attribute, Batch, Event, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId, Value,
};

/// Decodes a protobuf `ExportTraceServiceRequest` (the body of an OTLP/HTTP protobuf POST).
pub fn decode_request(body: &[u8]) -> Result<Batch, DecodeError> {
    let request = ExportTraceServiceRequest::decode(body)
        .map_err(|error| DecodeError::new(format!("not an ExportTraceServiceRequest: {error}")))?;
    Ok(from_request(request))
}

/// Converts a decoded request into the viewer's model.
pub fn from_request(request: ExportTraceServiceRequest) -> Batch {
    let mut batch = Batch::default();
    for resource_spans in request.resource_spans {
        let resource = Arc::new(Resource {
            attributes: resource_spans
                .resource
                .map(|resource| attributes(resource.attributes))
                .unwrap_or_default(),
        });
        for scope_spans in resource_spans.scope_spans {
            let scope = Arc::new(
                scope_spans
                    .scope
                    .map(|scope| Scope {
                        name: scope.name,
                        version: scope.version,
                        attributes: attributes(scope.attributes),
                    })
                    .unwrap_or_default(),
            );
            for span in scope_spans.spans {
                match convert_span(span, &resource, &scope) {
                    Some(span) => batch.spans.push(span),
                    None => batch.rejected_spans += 1,
                }
            }
        }
    }
    batch
}

/// The protobuf body of a response: empty, or a partial success naming the rejected spans.
pub fn encode_response(rejected_spans: usize) -> Vec<u8> {
    response(rejected_spans).encode_to_vec()
}

fn response(rejected_spans: usize) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected_spans).unwrap_or(i64::MAX),
            error_message: "spans without a valid trace id or span id".to_owned(),
        }),
    }
}

fn convert_span(span: proto::Span, resource: &Arc<Resource>, scope: &Arc<Scope>) -> Option<Span> {
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(SpanId(span.parent_span_id.try_into().ok()?)).filter(|id| id.0 != [0; 8])
    };
    let status = span.status.unwrap_or_default();
    Some(Span {
        trace_id: TraceId(span.trace_id.try_into().ok()?),
        span_id: SpanId(span.span_id.try_into().ok()?),
        parent_span_id,
        name: span.name,
        kind: SpanKind::from_number(span.kind.into()),
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        attributes: attributes(span.attributes),
        events: span
            .events
            .into_iter()
            .map(|event| Event {
                time_unix_nano: event.time_unix_nano,
                name: event.name,
                attributes: attributes(event.attributes),
            })
            .collect(),
        links: span
            .links
            .into_iter()
            .filter_map(|link| {
                Some(Link {
                    trace_id: TraceId(link.trace_id.try_into().ok()?),
                    span_id: SpanId(link.span_id.try_into().ok()?),
                    attributes: attributes(link.attributes),
                })
            })
            .collect(),
        status: Status {
            code: StatusCode::from_number(status.code.into()),
            message: status.message,
        },
        resource: Arc::clone(resource),
        scope: Arc::clone(scope),
    })
}

fn attributes(key_values: Vec<KeyValue>) -> Vec<Attribute> {
    key_values
        .into_iter()
        .map(|key_value| Attribute {
            key: key_value.key,
            value: key_value.value.map_or(Value::Empty, value),
        })
        .collect()
}

fn value(any: AnyValue) -> Value {
    match any.value {
        Some(any_value::Value::StringValue(text)) => Value::String(text),
        Some(any_value::Value::BoolValue(flag)) => Value::Bool(flag),
        Some(any_value::Value::IntValue(number)) => Value::Int(number),
        Some(any_value::Value::DoubleValue(number)) => Value::Double(number),
        Some(any_value::Value::BytesValue(bytes)) => Value::Bytes(bytes),
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.into_iter().map(value).collect())
        }
        Some(any_value::Value::KvlistValue(map)) => Value::Map(attributes(map.values)),
        _ => Value::Empty,
    }
}
