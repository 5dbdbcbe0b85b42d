//! What the probe's seed program (`addsubtract`) must look like once decoded from OTLP.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

/// The value of the attribute `key`.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// Asserts the export holds exactly the seed trace of service `service`: four spans named
/// `add`, `subtract`, `add`, `addsubtract`, the last the root and parent of the others, all
/// internal, in one trace, with their attributes and the root's event.
pub fn assert_seed_trace(export: &ExportTraceServiceRequest, service: &str) {
    assert_eq!(export.resource_spans.len(), 1, "{export:?}");
    let resource_spans = &export.resource_spans[0];
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "service.name"),
        Some(&Value::StringValue(service.into()))
    );
    assert_eq!(
        attribute(&resource.attributes, "telemetry.sdk.name"),
        Some(&Value::StringValue("traced".into()))
    );
    let scope_spans = &resource_spans.scope_spans[0];
    assert_eq!(scope_spans.scope.as_ref().unwrap().name, "traced-tests");
    let spans = &scope_spans.spans;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["add", "subtract", "add", "addsubtract"]);
    let root = &spans[3];
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.trace_id.len(), 16);
    assert_ne!(root.trace_id, [0; 16]);
    assert_eq!(root.span_id.len(), 8);
    assert_eq!(root.kind, SpanKind::Internal as i32);
    for child in &spans[..3] {
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(child.parent_span_id, root.span_id);
        assert_ne!(child.span_id, root.span_id);
        assert_eq!(child.kind, SpanKind::Internal as i32);
        assert!(child.start_time_unix_nano >= root.start_time_unix_nano);
        assert!(child.end_time_unix_nano <= root.end_time_unix_nano);
    }
    assert_ne!(spans[0].span_id, spans[2].span_id);
    assert_eq!(
        attribute(&spans[0].attributes, "a"),
        Some(&Value::IntValue(1))
    );
    assert_eq!(
        attribute(&spans[2].attributes, "a"),
        Some(&Value::IntValue(-1))
    );
    assert_eq!(root.events[0].name, "halfway");
    assert_eq!(
        attribute(&root.events[0].attributes, "s"),
        Some(&Value::IntValue(-1))
    );
    assert_eq!(root.flags & 0x1, 0x1, "the sampled flag survives export");
}
