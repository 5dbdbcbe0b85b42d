//! # traced
//!
//! Trace Rust code the way Python's OpenTelemetry decorators do, and send
//! the spans to any OpenTelemetry backend.
//!
//! ```
//! use traced::{span, traced};
//!
//! #[traced]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! #[traced("subtract")]
//! fn sub(a: i64, b: i64) -> i64 {
//!     a - b
//! }
//!
//! let _traced = traced::init(); // OTEL_* environment; a tree on stderr by default
//! let total = span!("addsubtract", {
//!     let s = add(1, 2);
//!     sub(s, 4)
//! });
//! assert_eq!(total, -1);
//! ```
//!
//! | Python | traced |
//! | --- | --- |
//! | `@tracer.start_as_current_span("add")` | `#[traced("add")]` |
//! | `with tracer.start_as_current_span("upload"):` | `span!("upload", { ... })` or `let _s = span!("upload");` |
//! | `trace.get_current_span().set_attribute(k, v)` | `Span::current().set_attribute(k, v)` |
//! | `TracerProvider` + `BatchSpanProcessor(exporter)` | `traced::init()` or `traced::builder()...install()` |
//!
//! ## Cost
//! Until a pipeline is installed, an instrumented call costs one relaxed
//! atomic load and records nothing, so libraries can be annotated freely.
//! With a pipeline, a span is timed on the monotonic clock, its ids come
//! from a per-thread generator, and the ended span is handed to a
//! background thread that converts it to OpenTelemetry's `SpanData` and
//! exports it.
//!
//! ## Context
//! The current span is a small per-thread value. A span's guard swaps its
//! own ids in when it starts and the previous ones back when it ends, so
//! nested spans are parented without any shared stack, and guards are
//! `Send`.

#[doc(hidden)]
pub mod __private;
mod config;
mod context;
pub mod export;
mod local;
mod pipeline;
mod span;

pub use config::{builder, init, Builder};
pub use opentelemetry::trace::Status;
pub use opentelemetry::{Key, KeyValue, Value};
pub use pipeline::{flush, BatchConfig, PipelineGuard, PipelineStats, Sampler};
pub use span::{Kind, Span, SpanGuard, ToValue};
pub use traced_macros::{span, traced};
