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

mod fields;
mod sites;
mod tracing_layer;

pub use tracing_layer::{tracing_layer, TracingLayer};
