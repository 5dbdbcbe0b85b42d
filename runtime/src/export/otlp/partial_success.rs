//! OTLP partial success: a collector that accepts an export but refuses some of its spans says
//! so in the body of a successful response (`ExportTraceServiceResponse.partial_success`).
//! Those spans were not delivered, so the exporter counts them and reports the collector's
//! message, instead of treating the export as a full success.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;

/// What a collector refused in one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartialSuccess {
    /// `rejected_spans` (a negative count, which the protocol does not allow, reads as zero).
    pub(crate) rejected: u64,
    /// `error_message`, possibly empty.
    pub(crate) message: String,
}

/// The partial success in the body of a 2xx response, encoded as `content_type` says (JSON for
/// any `…json` type, else protobuf); `None` for a full success (an empty body, no
/// `partial_success`, or one with nothing rejected and no message) and for a body that cannot
/// be read (a collector that answers garbage to a successful export has still accepted it).
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Option<PartialSuccess> {
    if body.is_empty() {
        return None;
    }
    let found = if content_type.to_ascii_lowercase().contains("json") {
        from_json(body)?
    } else {
        let partial = ExportTraceServiceResponse::decode(body)
            .ok()?
            .partial_success?;
        PartialSuccess {
            rejected: u64::try_from(partial.rejected_spans).unwrap_or(0),
            message: partial.error_message,
        }
    };
    (found.rejected > 0 || !found.message.is_empty()).then_some(found)
}

/// The OTLP/JSON form, `{"partialSuccess":{"rejectedSpans":"3","errorMessage":"…"}}`. As in
/// the protobuf JSON mapping, the 64-bit count may be a string or a number, and field names may
/// be `lowerCamelCase` or the proto's `snake_case`.
fn from_json(body: &[u8]) -> Option<PartialSuccess> {
    let response: serde_json::Value = serde_json::from_slice(body).ok()?;
    let field = |object: &serde_json::Value, camel: &str, snake: &str| {
        object.get(camel).or_else(|| object.get(snake)).cloned()
    };
    let partial = field(&response, "partialSuccess", "partial_success")?;
    let rejected = match field(&partial, "rejectedSpans", "rejected_spans") {
        Some(serde_json::Value::String(count)) => count.parse().unwrap_or(0),
        Some(serde_json::Value::Number(count)) => count.as_u64().unwrap_or(0),
        _ => 0,
    };
    let message = match field(&partial, "errorMessage", "error_message") {
        Some(serde_json::Value::String(message)) => message,
        _ => String::new(),
    };
    Some(PartialSuccess { rejected, message })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    use super::*;

    fn protobuf(rejected_spans: i64, error_message: &str) -> Vec<u8> {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans,
                error_message: error_message.to_owned(),
            }),
        }
        .encode_to_vec()
    }

    #[test]
    fn protobuf_partial_success_is_read() {
        assert_eq!(
            parse("application/x-protobuf", &protobuf(3, "too old")),
            Some(PartialSuccess {
                rejected: 3,
                message: "too old".to_owned()
            })
        );
    }

    #[test]
    fn json_partial_success_is_read_in_either_spelling() {
        let expected = Some(PartialSuccess {
            rejected: 5,
            message: "quota".to_owned(),
        });
        let camel = br#"{"partialSuccess":{"rejectedSpans":"5","errorMessage":"quota"}}"#;
        let snake = br#"{"partial_success":{"rejected_spans":5,"error_message":"quota"}}"#;
        assert_eq!(parse("application/json", camel), expected);
        assert_eq!(parse("application/json; charset=utf-8", snake), expected);
    }

    #[test]
    fn full_success_and_unreadable_bodies_are_no_partial_success() {
        assert_eq!(parse("application/x-protobuf", b""), None);
        assert_eq!(parse("application/x-protobuf", &protobuf(0, "")), None);
        assert_eq!(parse("application/x-protobuf", &[0xff; 4]), None);
        assert_eq!(parse("application/json", b"{}"), None);
        assert_eq!(parse("application/json", b"not json"), None);
        assert_eq!(parse("application/x-protobuf", &protobuf(-2, "")), None);
    }
}
