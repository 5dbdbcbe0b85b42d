//! Spans from libraries that speak another tracing API, recorded into
//! traced's pipeline and nested with traced's own spans both ways.
//!
//! # `tracing`
//!
//! With the feature `tracing`, `traced::bridge::tracing_layer()` records
//! `tracing` spans and events as traced spans.
//!
#![cfg_attr(feature = "tracing", doc = include_str!("tracing.md"))]
//!
//! # The OpenTelemetry API
//!
//! [`install`](crate::Builder::install) and [`init`](crate::init) make
//! traced the `opentelemetry::global` tracer provider ([`TracerProvider`];
//! [`Builder::without_global_tracer_provider`](crate::Builder::without_global_tracer_provider)
//! turns that off), so a library that starts spans with
//! `global::tracer("lib")` records into traced's pipeline under its own
//! instrumentation scope:
//!
//! ```
//! use opentelemetry::trace::{TraceContextExt, Tracer};
//! use opentelemetry::KeyValue;
//!
//! let _traced = traced::init();
//!
//! #[traced::traced]
//! fn handler() {
//!     // A child of `handler`; traced spans opened inside are its children.
//!     opentelemetry::global::tracer("storage").in_span("upload", |cx| {
//!         cx.span().set_attribute(KeyValue::new("bytes", 512));
//!     });
//! }
//! handler();
//! ```
//!
//! - A span started under the current context (`start`, `in_span`) is a
//!   child of the innermost of traced's current span and OpenTelemetry's
//!   current span; one started with an explicit context (an extracted
//!   remote parent) is a child of that context.
//! - A traced span opened while an API span is current in OpenTelemetry's
//!   context (`in_span`, `Context::attach`, `FutureExt::with_context`) is
//!   its child. While no API span is alive this costs a span one relaxed
//!   atomic load; while some are, opening a traced span also reads
//!   OpenTelemetry's context and takes a lock.
//! - Attributes, events, links, status, kind, name updates and start and
//!   end times given through the API are kept (a time before the pipeline
//!   was installed counts as the installation time). A span dropped without
//!   `end` ends when it is dropped.
//! - Sampling is traced's sampler, as for every span; `SpanBuilder`'s
//!   explicit ids and sampling result are not used.
//!
//! **Limitation**: OpenTelemetry's current context is its own thread-local,
//! which traced does not write on every span (that would put an allocation
//! on every span's path). So `opentelemetry::Context::current()` inside a
//! `#[traced]` function does not see its span. Code that needs it (an
//! OpenTelemetry propagator injecting headers, or a library annotating
//! "the current span") attaches traced's context first; annotations made
//! through it then reach the traced span:
//!
//! ```
//! use opentelemetry::trace::TraceContextExt;
//!
//! # let _traced = traced::init();
//! traced::span!("call", {
//!     let _attached = traced::Context::current().to_opentelemetry().attach();
//!     let cx = opentelemetry::Context::current();
//!     assert_eq!(cx.span().span_context().span_id(), traced::Span::current().span_id());
//!     cx.span().set_attribute(opentelemetry::KeyValue::new("rows", 3)); // on "call"
//! });
//! ```

#[cfg(feature = "tracing")]
mod fields;
mod otel;
#[cfg(feature = "tracing")]
mod sites;
#[cfg(feature = "tracing")]
mod tracing_layer;

pub(crate) use otel::set_global_tracer_provider;
pub use otel::{ApiSpan, Tracer, TracerProvider};
#[cfg(feature = "tracing")]
pub use tracing_layer::{tracing_layer, TracingLayer};
