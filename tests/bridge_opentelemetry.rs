//! traced as the `opentelemetry::global` tracer provider: spans started
//! through the OpenTelemetry API land in traced's pipeline, nested with
//! traced's spans both ways, with their scope, kind, attributes, events,
//! links, status and times.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    FutureExt as _, Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::{global, Context, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use traced::export::MemoryExporter;
use traced::{span, traced};
use traced_tests::{assert_child_of, assert_root, attribute, capture, lock, one};

#[traced]
fn traced_leaf() {}

#[traced]
fn handler() {
    global::tracer("storage-lib").in_span("lib_op", |cx| {
        cx.span().set_attribute(KeyValue::new("rows", 3));
        traced_leaf();
    });
}

#[test]
fn an_api_span_nests_under_the_traced_span_and_traced_spans_under_it() {
    let ((), spans) = capture(handler);
    let (handler, lib_op, leaf) = (
        one(&spans, "handler"),
        one(&spans, "lib_op"),
        one(&spans, "traced_leaf"),
    );
    assert_root(handler);
    assert_child_of(lib_op, handler);
    assert_child_of(leaf, lib_op);
    assert_eq!(lib_op.instrumentation_scope.name(), "storage-lib");
    assert_eq!(attribute(lib_op, "rows"), Some(&Value::I64(3)));
    assert_eq!(lib_op.span_kind, SpanKind::Internal);
}

#[test]
fn the_innermost_of_both_contexts_is_the_parent_at_every_depth() {
    let ((), spans) = capture(|| {
        let tracer = global::tracer("lib");
        tracer.in_span("outer", |_| {
            span!("mid", {
                span!("deeper", {
                    tracer.in_span("inner", |_| span!("innermost", {}));
                });
                tracer.in_span("beside", |_| {});
            });
        });
    });
    let outer = one(&spans, "outer");
    assert_root(outer);
    assert_child_of(one(&spans, "mid"), outer);
    assert_child_of(one(&spans, "deeper"), one(&spans, "mid"));
    assert_child_of(one(&spans, "inner"), one(&spans, "deeper"));
    assert_child_of(one(&spans, "innermost"), one(&spans, "inner"));
    assert_child_of(one(&spans, "beside"), one(&spans, "mid"));
}

#[test]
fn an_explicit_remote_parent_is_continued() {
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let remote = SpanContext::new(
        trace_id,
        opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "v1")]).unwrap(),
    );
    let ((), spans) = capture(|| {
        span!("unrelated_current", {
            let parent = Context::new().with_remote_span_context(remote.clone());
            let mut span = global::tracer("lib").start_with_context("continued", &parent);
            span.end();
        });
    });
    let continued = one(&spans, "continued");
    assert_eq!(continued.span_context.trace_id(), trace_id);
    assert_eq!(continued.parent_span_id, remote.span_id());
    assert!(continued.parent_span_is_remote);
    assert_eq!(
        continued.span_context.trace_state().get("vendor"),
        Some("v1")
    );
}

#[test]
fn kind_events_links_status_and_times_survive() {
    let mut times = (SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH);
    let ((), spans) = capture(|| {
        // Given times, after the pipeline's clock was anchored.
        let start = SystemTime::now() + Duration::from_secs(1);
        let end = start + Duration::from_secs(2);
        times = (start, end);
        let tracer = global::tracer_provider().tracer("client-lib");
        let linked = span!("linked", { traced::Span::current().span_context() });
        let mut span = tracer
            .span_builder("GET")
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes([KeyValue::new("http.request.method", "GET")])
            .start(&tracer);
        assert!(span.is_recording());
        span.add_event("retry", vec![KeyValue::new("attempt", 2)]);
        span.add_link(linked, vec![KeyValue::new("why", "batch")]);
        span.set_status(Status::error("503"));
        span.update_name("GET /items");
        span.end_with_timestamp(end);
    });
    let (start, end) = times;
    let span = one(&spans, "GET /items");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(
        attribute(span, "http.request.method"),
        Some(&Value::from("GET"))
    );
    assert_eq!(span.events.events.len(), 1);
    assert_eq!(span.events.events[0].name, "retry");
    assert_eq!(span.links.links.len(), 1);
    assert_eq!(
        span.links.links[0].span_context.span_id(),
        one(&spans, "linked").span_context.span_id()
    );
    assert_eq!(span.status, Status::error("503"));
    let close = |a: SystemTime, b: SystemTime| {
        let gap = a.duration_since(b).unwrap_or_else(|e| e.duration());
        gap < Duration::from_millis(5)
    };
    assert!(
        close(span.start_time, start),
        "{:?} vs {start:?}",
        span.start_time
    );
    assert!(close(span.end_time, end), "{:?} vs {end:?}", span.end_time);
}

#[test]
fn a_span_dropped_without_end_is_recorded() {
    let ((), spans) = capture(|| {
        span!("root", {
            drop(global::tracer("lib").start("dropped"));
            span!("after", {});
        });
    });
    let root = one(&spans, "root");
    assert_child_of(one(&spans, "dropped"), root);
    assert_child_of(one(&spans, "after"), root);
}

#[traced]
async fn traced_async_leaf() {}

#[test]
fn a_context_attached_to_a_future_parents_traced_spans_inside() {
    let ((), spans) = capture(|| {
        let span = global::tracer("lib").start("api_task");
        let cx = Context::current_with_span(span);
        futures::executor::block_on(traced_async_leaf().with_context(cx));
    });
    assert_child_of(one(&spans, "traced_async_leaf"), one(&spans, "api_task"));
}

#[test]
fn opentelemetry_context_sees_a_traced_span_once_attached() {
    let ((), spans) = capture(|| {
        span!("traced_span", {
            // OpenTelemetry's own context is not kept in step on every span.
            assert!(!Context::current().span().span_context().is_valid());
            let _attached = traced::Context::current().to_opentelemetry().attach();
            let seen = Context::current().span().span_context().clone();
            assert_eq!(seen.span_id(), traced::Span::current().span_id());
        });
    });
    let _: &SpanData = one(&spans, "traced_span");
}

#[test]
fn annotations_through_the_opentelemetry_context_reach_the_traced_span() {
    let other = SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        opentelemetry::trace::SpanId::from(0x00f0_67aa_0ba9_02b7),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let ((), spans) = capture(|| {
        span!("traced_span", {
            let _attached = traced::Context::current().to_opentelemetry().attach();
            let cx = Context::current();
            let otel_span = cx.span();
            assert!(otel_span.is_recording());
            otel_span.set_attribute(KeyValue::new("rows", 3));
            otel_span.add_event("cache.miss", vec![KeyValue::new("key", "k1")]);
            otel_span.add_link(other.clone(), vec![]);
            otel_span.set_status(Status::error("backend down"));
            otel_span.update_name("renamed");
            // Ending through OpenTelemetry does not end the traced span.
            otel_span.end();
            traced_leaf();
        });
    });
    let span = one(&spans, "renamed");
    assert_eq!(attribute(span, "rows"), Some(&Value::I64(3)));
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "cache.miss");
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.links[0].span_context.span_id(), other.span_id());
    assert_eq!(span.status, Status::error("backend down"));
    assert_child_of(one(&spans, "traced_leaf"), span);
}

#[test]
fn annotations_through_a_kept_opentelemetry_context_after_the_span_ended_are_ignored() {
    let ((), spans) = capture(|| {
        let kept = span!("short", { traced::Context::current().to_opentelemetry() });
        kept.span().set_attribute(KeyValue::new("late", true));
        span!("next", {});
    });
    let short = one(&spans, "short");
    assert_eq!(attribute(short, "late"), None);
    assert_root(one(&spans, "next"));
}

#[test]
fn without_global_tracer_provider_leaves_the_global_provider_alone() {
    let _lock = lock();
    global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
    let (exporter, memory) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .without_global_tracer_provider()
        .install();
    global::tracer("lib").in_span("not_ours", |_| span!("ours", {}));
    drop(guard);
    let spans = memory.spans();
    assert_eq!(traced_tests::names(&spans), ["ours"]);
}

#[test]
fn with_no_pipeline_api_spans_record_nothing_and_pass_the_parent_through() {
    let _lock = lock();
    let tracer = traced::bridge::TracerProvider::default().tracer("lib");
    let span = tracer.start("nothing");
    assert!(!span.is_recording());
    assert!(!span.span_context().is_valid());
    let remote = SpanContext::new(
        TraceId::from(7_u128),
        opentelemetry::trace::SpanId::from(9_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let parent = Context::new().with_remote_span_context(remote.clone());
    let child = tracer.start_with_context("child", &parent);
    assert_eq!(child.span_context().trace_id(), remote.trace_id());
}
