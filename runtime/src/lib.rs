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
//! background thread that exports it: traced's own exporters encode the
//! record as it is, and OpenTelemetry's `SpanData` is built only for an
//! exporter that takes it.
//!
//! ## Context
//! The current span is a small per-thread value. A span's guard swaps its
//! own ids in when it starts and the previous ones back when it ends, so
//! nested spans are parented without any shared stack, and guards are
//! `Send`. An instrumented future ([`Instrumented`]: every traced async
//! body, or any future wrapped with [`FutureExt::in_current_span`]) keeps
//! its task's value inside itself and swaps it in only while it is polled,
//! so context follows the task across `.await` and across threads.
//! [`Context::current`] captures the current span to re-enter it elsewhere;
//! [`spawn`] starts a thread that inherits it.
//!
//! ## Annotating a span from elsewhere
//! A [`Span`] handle ([`Span::current`], [`SpanGuard::span`]) can be kept
//! and used from any thread, task or nesting depth until its span ends;
//! annotations made after the end are ignored, as in OpenTelemetry.
//! Annotating the span that is current where the call is made stays a
//! thread-local operation. Annotations made anywhere else wait in a
//! process-wide side table, sharded by span id, that the span empties when
//! it ends; a sampled span pays one relaxed atomic load at its end to learn
//! that nothing waits for it, and an unsampled one pays nothing. The table
//! is bounded: 1024 spans with annotations waiting, each with at most 128
//! attributes, 128 events and 128 links; past that the least recently
//! annotated span's are dropped, with a warning. A handle used only after
//! its span ended leaves an entry there until it is evicted this way; one
//! used before and after the end is ignored at once.
//!
//! ## Layout
//! The runtime's folders are layers, each using only those below it; the
//! crate's `ARCHITECTURE.md` draws them and follows one span from start to
//! export.
//!
//! ## Features
//! - `otlp` (default): the OTLP/HTTP and Zipkin exporters, with a blocking
//!   HTTP/1.1 client of traced's own; no async runtime, no TLS.
//! - `otlp-grpc`: OTLP over gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`),
//!   through tonic on a one-thread tokio runtime the exporter owns.
//! - `otlp-tls`: `https://` endpoints for both, with rustls and the ring
//!   crypto provider, trusting the `webpki-roots` CAs and the PEM file of
//!   `OTEL_EXPORTER_OTLP_CERTIFICATE`; see [`export::otlp`].
//! - `tower`: `traced::http::TraceLayer`, a tower middleware that opens a server
//!   span per request for axum, hyper and tonic services, with the HTTP
//!   semantic conventions (`GET /items/{id}`, `http.response.status_code`).
//! - `axum` (with `tower`): `TraceLayer::with_matched_path()`, server spans
//!   named after axum's matched route with no closure to write.
//! - `reqwest` (with `tower`): `traced::http::ClientMiddleware`, a
//!   `reqwest_middleware` middleware that opens a client span per request
//!   and puts its context in the request's headers.
//! - `tracing`: `traced::bridge::tracing_layer()`, a `tracing_subscriber` layer that
//!   records the spans and events of libraries instrumented with `tracing`
//!   as traced spans, nested with traced's own both ways.

#[doc(hidden)]
pub mod __private;
pub mod baggage;
pub mod bridge;
mod collector;
mod config;
mod context;
mod diag;
pub mod export;
#[cfg(feature = "tower")]
pub mod http;
mod local;
mod model;
pub mod propagation;
mod span;
mod vars;

pub use collector::{flush, stats, BatchConfig, PipelineGuard, PipelineStats, Sampler};
pub use config::{builder, init, Builder};
pub use model::{ArrayItem, Kind, SpanLimits, ToValue};
pub use opentelemetry::trace::Status;
pub use opentelemetry::{Key, KeyValue, Value};
pub use span::{
    spawn, AsSpanRef, Context, ContextGuard, FutureExt, Instrumented, Span, SpanGuard, SpanRef,
};

/// Opens a span around a block, or for the rest of a scope: the counterpart
/// of Python's `with tracer.start_as_current_span("name"):`.
///
/// ```
/// use traced::span;
///
/// # let user_id = 7_u64; let cart = vec![1, 2]; let method = "GET";
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
/// // Options are written `option: value`, before the attributes.
/// let _call = span!("GET /users", kind: client, http.method = %method, cart = ?cart);
///
/// // Around an async block: a future whose span covers the block until it
/// // completes, across every `.await`, whichever thread polls it.
/// let fetch = span!("fetch", attempt = 1, async move { 42 });
/// # drop(fetch);
///
/// // A name made at run time, like Python's f-strings.
/// # let route = "/users/{id}";
/// let _request = span!(format!("GET {route}"), kind: server);
/// ```
///
/// - The name is a string literal, or an expression giving a `String`, a
///   `&'static str`, a `Box<str>` or a `Cow<'static, str>`; an expression is
///   evaluated only when the span is recorded (a literal costs nothing).
/// - `key = value` pairs are attributes. Keys are identifiers, dotted paths
///   (`http.method`) or string literals (`"any key"`). Values are integers,
///   floats, `bool` or strings ([`ToValue`]), `%value` for the `Display` form
///   or `?value` for the `Debug` form. They are taken by reference and
///   evaluated only when the span is recorded.
/// - Options:
///   - `kind: server | client | producer | consumer | internal` (default
///     `internal`);
///   - `parent: expr`: an explicit parent instead of the current span: a
///     [`Span`], a [`Context`], an OpenTelemetry `SpanContext` (a remote
///     span, e.g. extracted from headers) or `opentelemetry::Context`;
///     [`Span::none()`] starts a new trace ([`AsSpanRef`]);
///   - `links: [expr, ...]`: links to other spans, named the same way;
///   - `crate: path`: where `traced` is, for crates that re-export it.
/// - The block, if any, comes last. With `async` / `async move` it becomes
///   a future (an [`Instrumented`]) that carries the span.
///
/// The new span is a child of the current span (or of `parent:`) and is the
/// current span until it ends. A guard held across `.await` inside a
/// `#[traced] async fn` (or a future wrapped with
/// [`FutureExt::in_current_span`]) stays correct: the context belongs to the
/// task. A guard held across `.await` in a plain async block that is *not*
/// instrumented cannot know which task is running: wrap such futures with
/// `.in_current_span()` or use the `async` form above. When no pipeline is
/// installed, `span!` costs one atomic load and evaluates none of its
/// attribute or name expressions.
pub use traced_macros::span;

/// Traces every call of a function: the counterpart of Python's
/// `@tracer.start_as_current_span("name")`.
///
/// ```
/// use traced::{traced, Span};
///
/// #[traced] // span named "load_user"
/// fn load_user(id: u64) -> Result<String, std::io::Error> {
///     Span::current().set_attribute("user.id", id);
///     Ok(format!("user {id}"))
/// }
///
/// #[traced("db.query")] // or #[traced(name = "db.query")]
/// fn query(sql: &str) -> usize {
///     sql.len()
/// }
///
/// #[traced(kind = server, attrs(http.route = route, peer = %peer), ret)]
/// async fn handle(route: &str, peer: std::net::Ipv4Addr) -> u16 {
///     200
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
/// # let _ = futures_lite_block_on(handle("/", std::net::Ipv4Addr::LOCALHOST));
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let waker = std::task::Waker::noop();
/// #     loop {
/// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut std::task::Context::from_waker(&waker)) { return v; }
/// #     }
/// # }
/// ```
///
/// **Shapes.** Free functions, inherent and trait-impl methods with any
/// receiver, generic functions (`where` clauses, lifetimes, `impl Trait`
/// arguments and returns), `unsafe` and `extern` functions, functions that
/// never return. The signature, the return value, `return` and `?` behave
/// exactly as they do without the attribute, and type errors in the body
/// are reported at the body's own tokens.
///
/// **Async.** `async fn` (free, methods, native `async fn` in traits, and
/// `#[async_trait]` impls), `fn ... -> impl Future` and
/// `fn ... -> Pin<Box<dyn Future>>` (any last expression), and functions
/// whose last expression is `Box::pin(async move { .. })`. A future-returning
/// function whose return type is an alias (`BoxFuture<'_, T>`) is only
/// recognised in that last form; otherwise its span covers the call alone.
/// The span covers the whole life of the future, suspended time included;
/// spans opened inside nest under it across `.await`; the context belongs to
/// the task, so futures interleaved on one thread never see each other's
/// spans; the future stays `Send` when the body's future is. An `async fn`
/// span starts when the future is first polled (when its body starts); a
/// `fn -> impl Future` span starts at the call. A future dropped before it
/// completes still ends and exports its span, with the attribute
/// `traced.cancelled = true`; one dropped before its first poll records
/// nothing (its body never ran).
///
/// **What an `async fn` becomes.** `#[traced] async fn f(x: u64) -> u64`
/// is expanded as `fn f(x: u64) -> impl Future<Output = u64>` returning the
/// instrumented body, so the future is the body's plus 64 bytes, whatever
/// the arguments weigh. Callers see no difference: the future captures
/// every lifetime an `async fn`'s does (in any edition), the arguments are
/// moved into it at the call and dropped when and in the order the
/// `async fn` drops them, and a trait's `async fn` is implemented by it.
/// Rustdoc shows the function as `fn f(..) -> impl Future<Output = T>`; an
/// argument written as a pattern (`(a, b): (u8, u8)`) shows under a
/// generated name. `parent = expr` is evaluated at the call (the span still
/// starts at the first poll). A function keeps the `async fn` form (and 16
/// more bytes of future) when another attribute macro follows `#[traced]`
/// (`#[tokio::main]`, which needs an `async fn`), when it returns `!`, or
/// when its `parent = expr` awaits or names a binding of a pattern
/// argument; its `parent` is then evaluated at the first poll.
///
/// **Outcome.** A `Result` return (spelled any way: an alias, `io::Result<T>`,
/// `Box<dyn Error>` errors) that is `Err` sets status Error and adds an
/// `exception` event with `exception.type` and `exception.message`, as
/// Python's decorator does for an exception; the `Result` is recognised by
/// its type, not by its spelling. A panic unwinding through the function
/// does the same (with the panic message), and the panic continues
/// unchanged. (`Err` is not inspected on `#[track_caller]` functions, whose
/// body must not be moved into a closure, nor when a future's output type is
/// hidden behind an alias.)
///
/// **Options** (all optional, in any order):
///
/// | option | meaning |
/// | --- | --- |
/// | `"name"` or `name = "name"` | the span name (default: the function's name) |
/// | `name = expr` | a name made at run time from the arguments, e.g. `name = format!("load {id}")` (a `String` or `&'static str`), evaluated only when the span is recorded |
/// | `kind = server \| client \| producer \| consumer \| internal` | the span kind (default `internal`) |
/// | `attrs(key = expr, key2 = %expr, key3 = ?expr)` | attributes evaluated when the span starts; keys may be dotted; `%` records `Display`, `?` records `Debug` |
/// | `ret` | records the return value as the `return` attribute (typed when it is a [`ToValue`], else its `Debug` form) |
/// | `err = false` | does not mark the span Error when the function returns `Err` |
/// | `parent = expr` | an explicit parent (see [`AsSpanRef`]); [`Span::none()`] starts a new trace |
/// | `links(expr, ...)` | links to other spans |
/// | `crate = path` | where `traced` is, for crates that re-export it |
///
/// Nothing about the arguments is recorded unless listed in `attrs(..)`.
/// `const fn` is refused (a span needs the clock at run time). Anything
/// else is a compile error at the offending tokens that lists what is
/// accepted.
pub use traced_macros::traced;
