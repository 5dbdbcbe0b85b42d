//! Benchmarks of traced beside its peers, all ending in the same counting
//! no-op exporter, so what is measured is each pipeline and not a network.
//!
//! Peers ([`Peer`]): traced with `#[traced]` and with `span!`; the
//! OpenTelemetry SDK used directly (`in_span`, batch span processor);
//! `tracing` + `#[instrument]` + `tracing-opentelemetry` + the SDK;
//! `fastrace` + `#[trace]` + `fastrace-opentelemetry`.
//!
//! Scenarios ([`Scenario`]): 1 root + 100 children; 3 attributes per span;
//! nesting depth 10; an async fn polled to completion; 2 threads producing
//! at once; and, measured before any pipeline is installed, the cost per
//! call of instrumentation that is off ([`Peer::off_fn`] against
//! [`plain`]).
//!
//! Three entry points use the same loops (module [`mod@measure`]):
//! - `cargo bench -p traced-benches`: criterion, per-call timings
//!   (`benches/off.rs`, `benches/spans.rs`);
//! - `cargo run -p traced-benches --release --bin table`: runs the loops
//!   itself and prints the markdown table of BENCHMARKS.md;
//! - `cargo test -p traced-benches --all-targets` (the CI smoke test):
//!   `tests/smoke.rs` runs every scenario once for every peer and checks
//!   that every span is delivered; criterion runs each bench once.
//!
//! End to end (issue 15), with real exporters instead of the counting one:
//! `--bin e2e` and `benches/e2e.rs` (every peer exporting OTLP/HTTP
//! protobuf with its own stack's exporter, [`Peer::install_otlp`], to a
//! [`ReceiverProcess`] on 127.0.0.1), and `--bin service` (an axum service
//! with traced's `TraceLayer`, with tower-http's `TraceLayer` +
//! tracing-opentelemetry, and with no tracing, under a bounded load).

mod executor;
mod exporter;
pub mod measure;
mod peers;
pub mod receiver;
mod scenario;

pub use exporter::CountingExporter;
pub use measure::{measure, Measurement};
pub use peers::{plain, OtlpPipeline, Peer, Pipeline, QUEUE_SIZE};
pub use receiver::{Receiver, ReceiverProcess};
pub use scenario::{Scenario, Work, CHILDREN, DEPTH, THREADS};
