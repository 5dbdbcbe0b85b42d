//! Server spans for HTTP services built on tower: axum, hyper, tonic's
//! HTTP layer. The counterpart of Python's `FlaskInstrumentor` and
//! `OpenTelemetryMiddleware` (feature `tower`).
//!
//! ```no_run
//! use axum::extract::{MatchedPath, Path, Request};
//! use axum::routing::get;
//! use axum::Router;
//! use traced::http::TraceLayer;
//! use traced::traced;
//!
//! #[traced] // nests under the request's span
//! async fn load(id: u64) -> String {
//!     format!("item {id}")
//! }
//!
//! async fn item(Path(id): Path<u64>) -> String {
//!     load(id).await
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let _traced = traced::init();
//! let app = Router::new()
//!     .route("/items/{id}", get(item))
//!     // Inside the router, so axum's matched route is known:
//!     // spans are named `GET /items/{id}`.
//!     .layer(TraceLayer::new().with_route(|request: &Request| {
//!         let route = request.extensions().get::<MatchedPath>()?;
//!         Some(route.as_str().to_owned())
//!     }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! For each request, [`TraceLayer`]:
//! - reads the caller's context from the request headers with the
//!   configured propagators ([`propagation`](crate::propagation),
//!   `OTEL_PROPAGATORS`) and opens a **server** span under it, or a new
//!   trace when there is none;
//! - keeps that span current while the inner service makes its future and
//!   for the whole life of that future, on whichever thread polls it, so
//!   `#[traced]` functions and `span!`s in handlers nest under it across
//!   `.await`, and [`propagation::inject`](crate::propagation::inject) in a
//!   handler passes the trace on;
//! - names it `{method} {route}` when the route is known (`GET
//!   /items/{id}`), else `{method}`, as the HTTP semantic conventions ask
//!   (never the raw path; a method outside the nine standard ones is
//!   `HTTP`, recorded as `_OTHER`);
//! - records the stable HTTP semantic conventions: `http.request.method`
//!   (and `http.request.method_original` for `_OTHER`), `url.path`,
//!   `url.query`, `url.scheme` (when the request URI has one, as HTTP/2
//!   requests do), `http.route`, `server.address` and `server.port` (from
//!   the URI's authority or the `Host` header), `user_agent.original`,
//!   `network.protocol.version`; and from the response,
//!   `http.response.status_code`;
//! - marks the span Error for a 5xx response, with `error.type` set to the
//!   status code (a 4xx is the client's error and leaves a server span's
//!   status unset), and for an `Err` from the inner service, with
//!   `error.type` set to the error's type; the error is passed on
//!   unchanged. A status the handler set itself (say with
//!   [`Span::record_error`](crate::Span::record_error)) is kept.
//!
//! The span ends when the inner service's future gives the response (its
//! head: streaming the body is not timed), or when the future is dropped
//! unfinished, with `traced.cancelled = true`, like every traced future. A
//! panic in the handler marks it Error and goes on unwinding. Nothing is
//! added to the response headers. The response future is `Send` when the
//! inner service's is.
//!
//! ## Routes
//! The route is what the router matched, which only the router knows: give
//! it with [`TraceLayer::with_route`], a closure from the request to
//! `Option<String>` (or `&'static str`, `Cow<'static, str>`), called only
//! for requests that are recorded. With axum, read `MatchedPath` from the
//! request's extensions as above (axum's `matched-path` feature, on by
//! default; traced itself does not depend on axum). axum inserts it when
//! it routes the request, so:
//! - `Router::layer` (and `route_layer`) wrap each route after routing:
//!   `MatchedPath` is there, spans are named `GET /items/{id}`. A request
//!   no route matches still goes through `Router::layer` (around the
//!   fallback), without a `MatchedPath`: its span is named `GET` and its
//!   404 is not an error. `route_layer` skips such requests entirely.
//! - A layer around the whole router (`ServiceBuilder` around the
//!   `Router`, or `TraceLayer::new().layer(router)` with
//!   `tower_layer::Layer` in scope) runs before routing: no `MatchedPath`,
//!   every span is named after its method alone. Such a wrapped router is
//!   no longer a `Router`: serve it with
//!   `axum::serve(listener, tower::make::Shared::new(traced_router))`.
//!
//! ## Cost
//! With no pipeline installed, nothing is recorded or allocated; the
//! request's propagation headers are still read (a few header lookups), so
//! that a service with no pipeline carries its callers' trace on, unchanged,
//! to the calls it makes, as `#[traced(parent = headers)]` does. With a
//! pipeline, the name and attributes are made only for requests that are
//! sampled.

mod layer;
mod request;
mod response;

pub use layer::{MatchRoute, NoRoute, Trace, TraceLayer};
pub use response::ResponseFuture;
