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
pub use context::{spawn, Context, ContextGuard, FutureExt, Instrumented};
pub use opentelemetry::trace::Status;
pub use opentelemetry::{Key, KeyValue, Value};
pub use pipeline::{flush, BatchConfig, PipelineGuard, PipelineStats, Sampler};
pub use span::{AsSpanRef, Kind, Span, SpanGuard, SpanRef, ToValue};

/// Opens a span around a block, or for the rest of a scope: the counterpart
/// of Python's `with tracer.start_as_current_span("name"):`.
///
/// Three forms:
///
/// ```
/// use traced::span;
///
/// # let user_id = 7_u64; let cart = vec![1, 2];
/// // Around a block: the span ends when the block does; the macro's value is
/// // the block's value. `return`, `?`, `break` and `continue` inside keep
/// // their meaning and end the span on the way out.
/// let total = span!("checkout", user.id = user_id, items = cart.len(), {
///     cart.iter().sum::<i32>()
/// });
///
/// // For the rest of a scope: the span ends when the guard drops.
/// let _span = span!("render", template = "index.html");
///
/// // A name alone.
/// let _span = span!("render");
/// ```
///
/// - The name is a string literal.
/// - `key = value` pairs are attributes. Keys are identifiers, dotted paths
///   (`http.method`) or string literals (`"any key"`). Values are integers,
///   floats, `bool` or strings ([`ToValue`]); they are taken by reference
///   and evaluated only when the span is recorded.
/// - The block, if any, comes last.
///
/// The new span is a child of the current span and becomes the current span
/// itself until it ends. When no pipeline is installed, `span!` costs one
/// atomic load and evaluates none of its attribute expressions.
pub use traced_macros::span;

/// Traces every call of a function: the counterpart of Python's
/// `@tracer.start_as_current_span("name")`.
///
/// ```
/// use traced::{traced, Span};
///
/// #[traced] // span named "load_user"
/// fn load_user(id: u64) -> Result<String, std::io::Error> {
///     Span::current().set_attribute("user.id", id as i64);
///     Ok(format!("user {id}"))
/// }
///
/// #[traced("db.query")] // or #[traced(name = "db.query")]
/// fn query(sql: &str) -> usize {
///     sql.len()
/// }
///
/// struct Repo {
///     rows: Vec<String>,
/// }
///
/// impl Repo {
///     #[traced]
///     fn first_mut(&mut self) -> Option<&mut String> {
///         self.rows.first_mut()
///     }
/// }
/// # let mut repo = Repo { rows: vec![String::new()] };
/// # let _ = (load_user(1), query("select 1"), repo.first_mut().is_some());
/// ```
///
/// - Works on free functions, inherent and trait-impl methods with any
///   receiver, generic functions, `unsafe` and `extern` functions. The
///   signature, the return value, `return` and `?` behave exactly as they do
///   without the attribute.
/// - The span is a child of the current span, and is the current span while
///   the function runs, so spans opened inside nest under it.
/// - No argument is recorded: add attributes explicitly with
///   [`Span::current()`].
/// - A function whose return type is a `Result` (spelled any way: an alias,
///   `io::Result<T>`, `Box<dyn Error>` errors) that returns `Err` gets status
///   Error and an `exception` event with `exception.type` and
///   `exception.message`, as Python's decorator does for an exception. The
///   `Result` is recognised by its type, not by its spelling.
/// - A panic unwinding through the function marks the span Error too, and
///   the panic continues unchanged.
/// - `const fn` is refused (a span needs the clock at run time). `async fn`
///   is refused by this version, with a message saying so.
///
/// Arguments: `#[traced]` (named after the function), `#[traced("name")]`,
/// `#[traced(name = "name")]`. Anything else is a compile error that lists
/// what is accepted.
pub use traced_macros::traced;
