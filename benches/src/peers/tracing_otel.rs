//! `tracing`: `#[instrument]` functions, a `Registry` with the
//! `tracing-opentelemetry` layer, on the SDK's batch span processor. The
//! same functions, recorded by traced's layer instead, are the
//! `tracing_bridge` peer.

use std::hint::black_box;
use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::instrument;
use tracing_subscriber::layer::SubscriberExt as _;

use super::dispatch::Subscriber;
use super::otel_sdk::{batch_provider, queued_provider};
use super::{is_even, Pipeline};
use crate::executor::{block_on, YieldOnce};
use crate::exporter::CountingExporter;
use crate::scenario::{Work, CHILDREN, DEPTH};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static SUBSCRIBER: OnceLock<Subscriber> = OnceLock::new();

pub(super) fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = CountingExporter::new();
        let provider = PROVIDER.get_or_init(|| batch_provider(exporter.clone()));
        subscribe(provider);
        Pipeline {
            exporter,
            flush: || PROVIDER.get().is_none_or(|p| p.force_flush().is_ok()),
            dropped: || None,
        }
    })
}

/// Installs the subscriber: a registry with the tracing-opentelemetry layer
/// on `provider`.
fn subscribe(provider: &SdkTracerProvider) {
    // Without the attributes the layer adds by default (code location,
    // thread, target, busy/idle time), so its spans carry what every
    // other peer's carry.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("traced-benches"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false);
    let subscriber = Subscriber::install(tracing_subscriber::registry().with(layer).into());
    assert!(SUBSCRIBER.set(subscriber).is_ok(), "installed twice");
}

/// The same subscriber on the SDK's batch processor in front of
/// `exporter`; returns its flush.
pub(super) fn install_otlp(
    exporter: opentelemetry_otlp::SpanExporter,
    queue_size: Option<usize>,
) -> fn() -> bool {
    let provider = queued_provider(exporter, queue_size);
    subscribe(&provider);
    assert!(PROVIDER.set(provider).is_ok(), "installed twice");
    || PROVIDER.get().is_none_or(|p| p.force_flush().is_ok())
}

pub(super) fn run(work: Work) -> i64 {
    SUBSCRIBER
        .get()
        .expect("install the tracing pipeline (Peer::pipeline) before running its work")
        .run(|| instrumented(work))
}

/// The `#[instrument]`ed code of both `tracing` peers, recorded by
/// whichever subscriber is current.
pub(super) fn instrumented(work: Work) -> i64 {
    match work {
        Work::RootChildren => root(),
        Work::Attributes => root_attributes(),
        Work::Depth => nest(DEPTH),
        Work::Async => block_on(async_root()),
    }
}

#[instrument(skip_all)]
#[inline(never)]
pub(super) fn work(i: i64) -> i64 {
    i.wrapping_mul(3)
}

#[instrument(name = "root")]
#[inline(never)]
fn root() -> i64 {
    (0..CHILDREN).map(|i| child(black_box(i))).sum()
}

#[instrument(name = "child", skip_all)]
#[inline(never)]
fn child(i: i64) -> i64 {
    i
}

#[instrument(name = "root", fields(index = CHILDREN, kind = "root", even = true))]
#[inline(never)]
fn root_attributes() -> i64 {
    (0..CHILDREN).map(|i| child_attributes(black_box(i))).sum()
}

#[instrument(name = "child", skip_all, fields(index = i, kind = "child", even = is_even(i)))]
#[inline(never)]
fn child_attributes(i: i64) -> i64 {
    i
}

#[instrument(name = "nest", skip_all)]
#[inline(never)]
fn nest(depth: u32) -> i64 {
    if depth > 1 {
        nest(depth - 1) + 1
    } else {
        1
    }
}

#[instrument(name = "root")]
async fn async_root() -> i64 {
    let mut sum = 0;
    for i in 0..CHILDREN {
        sum += async_child(black_box(i)).await;
    }
    sum
}

#[instrument(name = "child", skip_all)]
async fn async_child(i: i64) -> i64 {
    YieldOnce::default().await;
    i
}
