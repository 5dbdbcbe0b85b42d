//! The peers: one module per tracing stack, each with the same workloads
//! and a pipeline that ends in a [`CountingExporter`].

mod dispatch;
mod fastrace_otel;
mod otel_api;
mod otel_sdk;
mod traced_peer;
mod tracing_bridge;
mod tracing_otel;

use std::fmt;

use crate::exporter::CountingExporter;
use crate::scenario::{Scenario, Work};

/// Queue capacity given to every peer that has one: comfortably more than
/// the spans a measurement leaves in flight between two flushes
/// ([`crate::measure::CHUNK_SPANS`]), so nothing is dropped for lack of room.
pub const QUEUE_SIZE: usize = 1 << 17;

/// A tracing stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// traced, functions annotated with `#[traced]`.
    TracedAttribute,
    /// traced, blocks wrapped in `span!`.
    TracedMacro,
    /// The OpenTelemetry SDK used directly: `Tracer::in_span`, batch span
    /// processor.
    OtelSdk,
    /// `tracing` with `#[instrument]`, `tracing-opentelemetry` and the SDK's
    /// batch span processor.
    Tracing,
    /// `fastrace` with `#[trace]` and `fastrace-opentelemetry`.
    Fastrace,
    /// The `#[instrument]` functions of [`Peer::Tracing`], recorded by
    /// `traced::bridge::tracing_layer()` into traced's pipeline.
    TracingBridge,
    /// OpenTelemetry-API spans (`global::tracer(..)`, `in_span`) with
    /// traced as the global tracer provider.
    OtelApiTraced,
    /// The same OpenTelemetry-API code with the SDK's tracer provider and
    /// batch span processor.
    OtelApiSdk,
}

impl Peer {
    /// Every peer, in the order of the report.
    pub const ALL: [Peer; 5] = [
        Peer::TracedAttribute,
        Peer::TracedMacro,
        Peer::OtelSdk,
        Peer::Tracing,
        Peer::Fastrace,
    ];

    /// The bridges beside what they are compared with: `tracing` code
    /// through tracing-opentelemetry and through traced's layer, and
    /// OpenTelemetry-API code on the SDK's provider and on traced's.
    pub const BRIDGES: [Peer; 4] = [
        Peer::Tracing,
        Peer::TracingBridge,
        Peer::OtelApiSdk,
        Peer::OtelApiTraced,
    ];

    /// The scenarios the bridges are measured in.
    pub const BRIDGE_SCENARIOS: [Scenario; 2] = [Scenario::RootChildren, Scenario::Attributes];

    /// Every peer: [`Peer::ALL`] and the bridges not in it.
    pub const EVERY: [Peer; 8] = [
        Peer::TracedAttribute,
        Peer::TracedMacro,
        Peer::OtelSdk,
        Peer::Tracing,
        Peer::Fastrace,
        Peer::TracingBridge,
        Peer::OtelApiTraced,
        Peer::OtelApiSdk,
    ];

    /// A short identifier, for benchmark ids.
    pub const fn id(self) -> &'static str {
        match self {
            Peer::TracedAttribute => "traced_attribute",
            Peer::TracedMacro => "traced_span_macro",
            Peer::OtelSdk => "opentelemetry_sdk",
            Peer::Tracing => "tracing",
            Peer::Fastrace => "fastrace",
            Peer::TracingBridge => "tracing_bridge",
            Peer::OtelApiTraced => "otel_api_traced",
            Peer::OtelApiSdk => "otel_api_sdk",
        }
    }

    /// One iteration of `work` on this thread. The pipeline must have been
    /// installed with [`Peer::pipeline`] first (without it, traced, tracing
    /// and fastrace record nothing and the SDK peer panics).
    pub fn run(self, work: Work) -> i64 {
        match self {
            Peer::TracedAttribute => traced_peer::attribute::run(work),
            Peer::TracedMacro => traced_peer::scoped::run(work),
            Peer::OtelSdk => otel_sdk::run(work),
            Peer::Tracing => tracing_otel::run(work),
            Peer::Fastrace => fastrace_otel::run(work),
            Peer::TracingBridge => tracing_bridge::run(work),
            Peer::OtelApiTraced => otel_api::traced_run(work),
            Peer::OtelApiSdk => otel_api::sdk_run(work),
        }
    }

    /// The instrumented twin of [`plain`], as library code writes it: call
    /// it before any pipeline is installed to measure the cost of
    /// instrumentation that is switched off. A function pointer, so the
    /// off measurements call every peer, and the baseline, the same way.
    pub fn off_fn(self) -> fn(i64) -> i64 {
        match self {
            Peer::TracedAttribute => traced_peer::attribute::work,
            Peer::TracedMacro => traced_peer::scoped::work,
            Peer::OtelSdk | Peer::OtelApiTraced | Peer::OtelApiSdk => otel_sdk::work,
            Peer::Tracing | Peer::TracingBridge => tracing_otel::work,
            Peer::Fastrace => fastrace_otel::work,
        }
    }

    /// This peer's pipeline, installed process-wide on first use and kept
    /// for the life of the process.
    pub fn pipeline(self) -> &'static Pipeline {
        match self {
            Peer::TracedAttribute | Peer::TracedMacro => traced_peer::pipeline(),
            Peer::OtelSdk => otel_sdk::pipeline(),
            Peer::Tracing => tracing_otel::pipeline(),
            Peer::Fastrace => fastrace_otel::pipeline(),
            Peer::TracingBridge => tracing_bridge::pipeline(),
            Peer::OtelApiTraced => otel_api::traced_pipeline(),
            Peer::OtelApiSdk => otel_api::sdk_pipeline(),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Peer::TracedAttribute => "traced `#[traced]`",
            Peer::TracedMacro => "traced `span!`",
            Peer::OtelSdk => "opentelemetry_sdk",
            Peer::Tracing => "tracing",
            Peer::Fastrace => "fastrace",
            Peer::TracingBridge => "tracing → traced `tracing_layer()`",
            Peer::OtelApiTraced => "OpenTelemetry API → traced",
            Peer::OtelApiSdk => "OpenTelemetry API → opentelemetry_sdk",
        })
    }
}

/// The un-annotated twin of every peer's `work`: the baseline of the off
/// scenario. Not inlined, like the annotated versions, so both are a real
/// call.
#[inline(never)]
pub fn plain(i: i64) -> i64 {
    i.wrapping_mul(3)
}

/// An installed pipeline: how to flush it and what reached its exporter.
pub struct Pipeline {
    exporter: CountingExporter,
    flush: fn() -> bool,
    dropped: fn() -> Option<u64>,
}

impl Pipeline {
    /// Spans the counting exporter has received so far.
    pub fn delivered(&self) -> u64 {
        self.exporter.delivered()
    }

    /// Waits until every span ended so far has reached the exporter;
    /// `false` if the peer reported a failure.
    pub fn flush(&self) -> bool {
        (self.flush)()
    }

    /// Spans the pipeline says it dropped, for peers that count them.
    pub fn dropped(&self) -> Option<u64> {
        (self.dropped)()
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("delivered", &self.delivered())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// A peer's pipeline exporting over OTLP/HTTP protobuf with the exporter
/// each stack ships: traced's own for traced, `opentelemetry-otlp`'s (with
/// its blocking reqwest client) behind the SDK's batch span processor, and
/// behind fastrace-opentelemetry. Made by [`Peer::install_otlp`].
#[derive(Debug)]
pub struct OtlpPipeline {
    flush: fn() -> bool,
}

impl OtlpPipeline {
    /// Waits until every span ended so far has been handed to the
    /// exporter and sent; `false` if the peer reported a failure.
    pub fn flush(&self) -> bool {
        (self.flush)()
    }
}

impl Peer {
    /// The peers that export over OTLP in `--bin e2e`: one per stack.
    pub const OTLP: [Peer; 4] = [
        Peer::TracedAttribute,
        Peer::OtelSdk,
        Peer::Fastrace,
        Peer::Tracing,
    ];

    /// Installs this peer's pipeline, process-wide, exporting OTLP/HTTP
    /// protobuf to `endpoint` (a full URL, `http://host:port/v1/traces`),
    /// in place of the counting exporter of [`Peer::pipeline`]; one of the
    /// two per process. `queue_size`: the batch processor's queue capacity
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`), `None` for the peer's default; fastrace
    /// has no such setting. `None` for the peers not in [`Peer::OTLP`] (and
    /// [`Peer::TracedMacro`], which shares traced's pipeline).
    pub fn install_otlp(self, endpoint: &str, queue_size: Option<usize>) -> Option<OtlpPipeline> {
        let flush = match self {
            Peer::TracedAttribute | Peer::TracedMacro => {
                traced_peer::install_otlp(endpoint, queue_size)
            }
            Peer::OtelSdk => otel_sdk::install_otlp(otlp_exporter(endpoint), queue_size),
            Peer::Tracing => tracing_otel::install_otlp(otlp_exporter(endpoint), queue_size),
            Peer::Fastrace => fastrace_otel::install_otlp(otlp_exporter(endpoint)),
            Peer::TracingBridge | Peer::OtelApiTraced | Peer::OtelApiSdk => return None,
        };
        Some(OtlpPipeline { flush })
    }
}

/// `opentelemetry-otlp`'s OTLP/HTTP protobuf exporter to `endpoint`.
fn otlp_exporter(endpoint: &str) -> opentelemetry_otlp::SpanExporter {
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .expect("an opentelemetry-otlp exporter")
}

/// The `even` attribute of span `i` in the attributes scenario (beside
/// `index = i` and `kind = "child"`), the same for every peer.
fn is_even(i: i64) -> bool {
    i % 2 == 0
}
