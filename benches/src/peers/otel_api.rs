//! OpenTelemetry-API spans, as a library that depends on `opentelemetry`
//! alone opens them: a `global::BoxedTracer` (what `global::tracer("lib")`
//! returns), `in_span`. Two providers behind it: traced, made the global
//! provider by its `install()`, and the SDK's, with the batch span
//! processor of the `opentelemetry_sdk` peer. Both tracers are taken once,
//! as a library keeps its tracer in a static, so what differs is only the
//! provider's span.

use std::sync::OnceLock;

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::otel_sdk::{batch_provider, run_with};
use super::{traced_peer, Pipeline};
use crate::exporter::CountingExporter;
use crate::scenario::Work;

/// The instrumentation scope of the library's tracer.
const LIBRARY: &str = "traced-benches-library";

static TRACED_TRACER: OnceLock<BoxedTracer> = OnceLock::new();
static SDK_PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static SDK_TRACER: OnceLock<BoxedTracer> = OnceLock::new();

/// traced's pipeline, whose `install()` made traced the global tracer
/// provider, and the library's tracer from it.
pub(super) fn traced_pipeline() -> &'static Pipeline {
    let pipeline = traced_peer::pipeline();
    TRACED_TRACER.get_or_init(|| global::tracer(LIBRARY));
    pipeline
}

pub(super) fn traced_run(work: Work) -> i64 {
    run_with(
        TRACED_TRACER
            .get()
            .expect("install the traced pipeline (Peer::pipeline) before running its work"),
        work,
    )
}

/// The SDK's provider, and the tracer `global::tracer` would return if it
/// were the global provider (traced holds that place in this process).
pub(super) fn sdk_pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = CountingExporter::new();
        let provider = SDK_PROVIDER.get_or_init(|| batch_provider(exporter.clone()));
        SDK_TRACER.get_or_init(|| BoxedTracer::new(Box::new(provider.tracer(LIBRARY))));
        Pipeline {
            exporter,
            flush: || SDK_PROVIDER.get().is_none_or(|p| p.force_flush().is_ok()),
            dropped: || None,
        }
    })
}

pub(super) fn sdk_run(work: Work) -> i64 {
    run_with(
        SDK_TRACER
            .get()
            .expect("install the SDK pipeline (Peer::pipeline) before running its work"),
        work,
    )
}
