//! Installing a pipeline: a refused install (a second `install()` while the
//! first guard lives) changes nothing about the pipeline in place, neither
//! what it samples, what a span keeps, which headers it writes nor the
//! resource its exporters were given.

use std::collections::HashMap;

use opentelemetry::Value;
use traced::export::MemoryExporter;
use traced::propagation::{self, Propagator};
use traced::{span, Sampler, Span, SpanLimits};
use traced_tests::{lock, names};

#[test]
fn a_refused_install_changes_nothing() {
    let _lock = lock();
    let (first, first_spans) = MemoryExporter::new();
    let first = traced::builder()
        .with_exporter(first)
        .with_simple_processor()
        .with_service_name("first")
        .with_sampler(Sampler::TraceIdRatio(1.0))
        .with_propagators(&[Propagator::TraceContext])
        .install();
    assert!(first.is_active());

    let (second, second_spans) = MemoryExporter::new();
    let second = traced::builder()
        .with_exporter(second)
        .with_simple_processor()
        .with_service_name("second")
        .with_sampler(Sampler::TraceIdRatio(0.0))
        .with_propagators(&[Propagator::B3])
        .with_span_limits(SpanLimits {
            max_attributes_per_span: 1,
            max_events_per_span: 0,
            max_links_per_span: 0,
            ..SpanLimits::default()
        })
        .install();
    assert!(!second.is_active(), "the later install is refused");

    // The first pipeline's sampler: every root is recorded.
    for _ in 0..20 {
        span!("root", {});
    }
    // The first pipeline's limits: ten attributes and an event are kept.
    span!("annotated", {
        for i in 0..10 {
            Span::current().set_attribute(format!("k{i}"), i);
        }
        Span::current().add_event("happened", []);
    });
    // The first pipeline's propagators: traceparent, no b3.
    let mut headers = HashMap::new();
    span!("client", {
        propagation::inject(&mut headers);
    });
    drop(second);

    assert!(traced::flush());
    let spans = first_spans.spans();
    let roots = names(&spans).iter().filter(|n| **n == "root").count();
    assert_eq!(roots, 20, "sampled by the first pipeline's ratio (1.0)");
    let annotated = spans.iter().find(|s| s.name == "annotated").unwrap();
    assert_eq!(
        (
            annotated.attributes.len(),
            annotated.dropped_attributes_count
        ),
        (10, 0),
        "recorded under the first pipeline's span limits"
    );
    assert_eq!(
        (annotated.events.len(), annotated.events.dropped_count),
        (1, 0)
    );
    let mut written: Vec<&str> = headers.keys().map(String::as_str).collect();
    written.sort_unstable();
    assert_eq!(written, ["traceparent"], "the first pipeline's propagators");
    let resource = first_spans.resource().unwrap();
    assert_eq!(
        resource.get(&opentelemetry::Key::new("service.name")),
        Some(Value::from("first"))
    );
    assert!(second_spans.spans().is_empty());
    drop(first);
}
