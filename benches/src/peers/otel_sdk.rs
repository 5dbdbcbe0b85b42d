//! The OpenTelemetry SDK used directly: `Tracer::in_span` (a `Context`
//! carried with `FutureExt::with_context` for async), batch span processor.

use std::hint::black_box;
use std::sync::OnceLock;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer, TracerProvider as _};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanExporter,
};

use super::{is_even, Pipeline, QUEUE_SIZE};
use crate::executor::{block_on, YieldOnce};
use crate::exporter::CountingExporter;
use crate::scenario::{Work, CHILDREN, DEPTH};

/// A provider whose batch processor ends in `exporter`; shared with the
/// `tracing` peer, which sits on the same SDK.
pub(super) fn batch_provider(exporter: CountingExporter) -> SdkTracerProvider {
    queued_provider(exporter, Some(QUEUE_SIZE))
}

/// A provider whose batch processor, with a queue of `queue_size` spans
/// (`None`: the SDK's default, or `OTEL_BSP_MAX_QUEUE_SIZE`), ends in
/// `exporter`.
pub(super) fn queued_provider(
    exporter: impl SpanExporter + 'static,
    queue_size: Option<usize>,
) -> SdkTracerProvider {
    let mut config = BatchConfigBuilder::default();
    if let Some(queue_size) = queue_size {
        config = config.with_max_queue_size(queue_size);
    }
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config.build())
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build()
}

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

pub(super) fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = CountingExporter::new();
        let provider = PROVIDER.get_or_init(|| batch_provider(exporter.clone()));
        TRACER.get_or_init(|| provider.tracer("traced-benches"));
        Pipeline {
            exporter,
            flush: || PROVIDER.get().is_none_or(|p| p.force_flush().is_ok()),
            dropped: || None,
        }
    })
}

/// The SDK's batch processor in front of `exporter`; returns its flush.
pub(super) fn install_otlp(
    exporter: opentelemetry_otlp::SpanExporter,
    queue_size: Option<usize>,
) -> fn() -> bool {
    let provider = queued_provider(exporter, queue_size);
    assert!(
        TRACER.set(provider.tracer("traced-benches")).is_ok(),
        "opentelemetry_sdk installed twice"
    );
    assert!(PROVIDER.set(provider).is_ok());
    || PROVIDER.get().is_none_or(|p| p.force_flush().is_ok())
}

fn tracer() -> &'static SdkTracer {
    TRACER
        .get()
        .expect("install the opentelemetry_sdk pipeline (Peer::pipeline) before running its work")
}

pub(super) fn run(work: Work) -> i64 {
    run_with(tracer(), work)
}

/// A tracer whose spans `in_span` and `FutureExt::with_context` accept:
/// the SDK's, and the API's `global::BoxedTracer`.
pub(super) trait ApiTracer: Tracer<Span: Send + Sync + 'static> {}

impl<T: Tracer<Span: Send + Sync + 'static>> ApiTracer for T {}

/// One iteration of `work`, every span opened with `tracer`.
pub(super) fn run_with(tracer: &impl ApiTracer, work: Work) -> i64 {
    match work {
        Work::RootChildren => root(tracer),
        Work::Attributes => root_attributes(tracer),
        Work::Depth => nest(tracer, DEPTH),
        Work::Async => block_on(async_root(tracer)),
    }
}

/// What library code instrumented with the OpenTelemetry API does: ask the
/// global provider for a tracer and open a span. With no provider installed
/// both are no-ops.
#[inline(never)]
pub(super) fn work(i: i64) -> i64 {
    global::tracer("traced-benches").in_span("work", |_| i.wrapping_mul(3))
}

#[inline(never)]
fn root(tracer: &impl ApiTracer) -> i64 {
    tracer.in_span("root", |_| {
        (0..CHILDREN).map(|i| child(tracer, black_box(i))).sum()
    })
}

#[inline(never)]
fn child(tracer: &impl ApiTracer, i: i64) -> i64 {
    tracer.in_span("child", |_| i)
}

fn set_attributes(cx: &Context, index: i64, kind: &'static str, even: bool) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("index", index));
    span.set_attribute(KeyValue::new("kind", kind));
    span.set_attribute(KeyValue::new("even", even));
}

#[inline(never)]
fn root_attributes(tracer: &impl ApiTracer) -> i64 {
    tracer.in_span("root", |cx| {
        set_attributes(&cx, CHILDREN, "root", true);
        (0..CHILDREN)
            .map(|i| child_attributes(tracer, black_box(i)))
            .sum()
    })
}

#[inline(never)]
fn child_attributes(tracer: &impl ApiTracer, i: i64) -> i64 {
    tracer.in_span("child", |cx| {
        set_attributes(&cx, i, "child", is_even(i));
        i
    })
}

#[inline(never)]
fn nest(tracer: &impl ApiTracer, depth: u32) -> i64 {
    tracer.in_span("nest", |_| {
        if depth > 1 {
            nest(tracer, depth - 1) + 1
        } else {
            1
        }
    })
}

async fn async_root(tracer: &impl ApiTracer) -> i64 {
    let cx = Context::current_with_span(tracer.start("root"));
    async {
        let mut sum = 0;
        for i in 0..CHILDREN {
            sum += async_child(tracer, black_box(i)).await;
        }
        sum
    }
    .with_context(cx)
    .await
}

async fn async_child(tracer: &impl ApiTracer, i: i64) -> i64 {
    let cx = Context::current_with_span(tracer.start("child"));
    async move {
        YieldOnce::default().await;
        i
    }
    .with_context(cx)
    .await
}
