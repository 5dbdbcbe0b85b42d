//! Shared helpers of the integration tests.
//!
//! The pipeline is process-wide, and the tests of one binary run on several
//! threads at once, so every test that records spans goes through
//! [`capture`], which holds a lock for the duration of the test.

use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;
use traced::export::{MemoryExporter, MemorySpans};

static PIPELINE_LOCK: Mutex<()> = Mutex::new(());

/// Holds the process-wide pipeline for one test.
pub fn lock() -> MutexGuard<'static, ()> {
    PIPELINE_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` with an in-memory pipeline (simple processor) installed and
/// returns its result and the spans it recorded, in end order.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let _lock = lock();
    let (exporter, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_service_name("traced-tests")
        .install();
    let result = f();
    drop(guard);
    (result, spans.spans())
}

/// An in-memory pipeline with the batch processor, for tests that look at
/// flushing and queueing. The caller holds [`lock`].
pub fn batch_pipeline(config: traced::BatchConfig) -> (traced::PipelineGuard, MemorySpans) {
    let (exporter, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(config)
        .install();
    (guard, spans)
}

/// The span named `name`; panics with the names present if there is none
/// or several.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, found {} among {:?}",
        found.len(),
        names(spans)
    );
    found[0]
}

/// Names of the spans, in order.
pub fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_ref()).collect()
}

/// Asserts `child` is a direct child of `parent`: same trace, parent link,
/// and lying within the parent's interval.
pub fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} and {} are in different traces",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
    assert!(
        child.start_time >= parent.start_time,
        "{} starts before its parent",
        child.name
    );
    assert!(
        child.end_time <= parent.end_time,
        "{} ends after its parent",
        child.name
    );
}

/// Asserts `span` is a root span.
pub fn assert_root(span: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{} has a parent",
        span.name
    );
}

/// The attribute `key` of a span.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}
