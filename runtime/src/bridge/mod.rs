//! Spans from libraries that speak another tracing API, recorded into
//! traced's pipeline and nested with traced's own spans both ways.
//!
//! # `tracing` (feature `tracing`)
//!
//! Most of the Rust ecosystem (hyper, tower-http, sqlx, tonic, the AWS SDK)
//! emits [`tracing`](https://docs.rs/tracing) spans. One line makes each of
//! them a traced span:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! let _traced = traced::init();
//! tracing_subscriber::registry()
//!     .with(traced::bridge::tracing_layer())
//!     .init();
//! ```
//!
//! What [`tracing_layer`] records:
//! - **Nesting, both ways.** A `tracing` span is a child of the traced
//!   span (or task context) current where it is created, or of its
//!   explicit `parent:`; while it is entered it is traced's current span,
//!   so `#[traced]` functions and `span!`s inside it are its children.
//!   This holds across `.await` in `#[tracing::instrument]`ed async fns:
//!   tracing enters the span on every poll, and the layer swaps the span's
//!   own context in and out the way an [`Instrumented`](crate::Instrumented)
//!   future does, so a guard held across `.await` stays with its task.
//! - **Fields** as typed attributes: integers (`u64` and 128-bit values
//!   that do not fit an `i64` become strings), floats, bools, strings;
//!   `%value` and `?value` fields as their `Display` / `Debug` strings.
//!   Fields recorded later (`Span::record`) are included; an empty field
//!   never recorded is absent.
//! - **The fields tracing-opentelemetry users know**: `otel.name` renames
//!   the span, `otel.kind` (`server`, `client`, `producer`, `consumer`,
//!   `internal`, at creation) sets its kind, `otel.status_code` (`ok`,
//!   `error`) and `otel.status_description` its status. They are not
//!   attributes.
//! - **Events** inside a span become span events: the message is the
//!   event's name (the call site's name when there is none), the other
//!   fields its attributes, plus `level` and `target`. An event goes to the
//!   span current in traced (the innermost of `tracing` and traced spans),
//!   or to its explicit `parent:`.
//!   An `ERROR` event marks the span Error only with
//!   [`TracingLayer::with_error_events_set_status`]: a logged error is
//!   often handled, and Python's logging integration does not set status
//!   either.
//! - **Code location** (`code.file.path`, `code.line.number`,
//!   `code.function.name`) with [`TracingLayer::with_code_location`].
//! - **Filtering** is `tracing_subscriber`'s: a span a filter disables is
//!   not recorded, and spans inside it nest under the closest recorded
//!   one. `follows_from` becomes a link.
//! - The instrumentation scope of a `tracing` span is its crate: the first
//!   segment of its target.
//!
//! With no traced pipeline installed the layer records nothing and leaves
//! the current context alone. Limitations: a span entered on one thread
//! must be exited on that thread (tracing's guards are `!Send`, so this is
//! what tracing does); a span closed while still entered on another thread
//! leaves that thread's context to its next span end.

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
//! OpenTelemetry propagator injecting headers, say) attaches traced's
//! context first:
//!
//! ```
//! use opentelemetry::trace::TraceContextExt;
//!
//! # let _traced = traced::init();
//! traced::span!("call", {
//!     let _attached = traced::Context::current().to_opentelemetry().attach();
//!     let seen = opentelemetry::Context::current().span().span_context().span_id();
//!     assert_eq!(seen, traced::Span::current().span_id());
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
