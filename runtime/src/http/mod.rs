//! Server spans for HTTP services built on tower: axum, hyper, tonic's
//! HTTP layer (feature `tower`), and client spans for reqwest (feature
//! `reqwest`, see [HTTP clients](#http-clients)). The counterparts of
//! Python's `FlaskInstrumentor` and `RequestsInstrumentor`.
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
//!   `url.query` (with the values of the signature parameters
//!   `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature` replaced by
//!   `REDACTED`), `url.scheme` (the request URI's, as HTTP/2 requests
//!   carry it, else the original client's from a proxy's `Forwarded` or
//!   `X-Forwarded-Proto` header, else the server's: `http` unless set with
//!   [`TraceLayer::with_scheme`]), `http.route`, `server.address` and
//!   `server.port` (from the URI's authority or the `Host` header),
//!   `user_agent.original`, `network.protocol.version`; and from the
//!   response, `http.response.status_code`;
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
//! With the `axum` feature, [`TraceLayer::with_matched_path`] does the same
//! with no closure: `Router::new().route(..).layer(TraceLayer::new().with_matched_path())`.
//!
//! ## HTTP clients
//! [`ClientMiddleware`] (feature `reqwest`) is a `reqwest_middleware`
//! middleware:
//!
//! ```no_run
//! # #[cfg(feature = "reqwest")]
//! # mod client {
//! use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
//! use traced::http::{ClientMiddleware, UrlTemplate};
//! use traced::traced;
//!
//! #[traced] // the client span of the request nests under this one
//! async fn load(client: &ClientWithMiddleware, id: u64) -> reqwest_middleware::Result<String> {
//!     let response = client
//!         .get(format!("http://127.0.0.1:8080/items/{id}"))
//!         // Optional: names the span `GET /items/{id}` instead of `GET`.
//!         .with_extension(UrlTemplate::new("/items/{id}"))
//!         .send()
//!         .await?;
//!     Ok(response.text().await?)
//! }
//!
//! pub fn client() -> ClientWithMiddleware {
//!     ClientBuilder::new(reqwest::Client::new())
//!         .with(ClientMiddleware::default())
//!         .build()
//! }
//! # }
//! ```
//!
//! For each request it:
//! - opens a **client** span under the current span, named `{method}`
//!   (`GET`; `HTTP` for a method outside the nine standard ones), or
//!   `{method} {template}` when the request carries a [`UrlTemplate`];
//! - writes that span's context into the request's headers with the
//!   configured propagators (W3C Trace Context, B3, baggage:
//!   [`propagation::inject`](crate::propagation::inject), `OTEL_PROPAGATORS`),
//!   so the server continues the trace under the client span;
//! - keeps the span current while the rest of the chain runs, across
//!   `.await` on any runtime thread: middlewares placed after it and
//!   anything traced there nest under it;
//! - records `http.request.method` (`_OTHER` plus
//!   `http.request.method_original` for other methods), `url.full` with a
//!   user name and password replaced by `REDACTED:REDACTED` (and the
//!   values of the signature query parameters `AWSAccessKeyId`,
//!   `Signature`, `sig`, `X-Goog-Signature` by `REDACTED`), `url.template`,
//!   `server.address`,
//!   `server.port`; from the response `http.response.status_code` and
//!   `network.protocol.version`;
//! - marks the span Error for a status of 400 and up, with `error.type`
//!   set to the code (a client span fails on 4xx too, unlike a server
//!   span), and for a request with no response, with `error.type` set to
//!   what failed (`connect`, `timeout`, `redirect`, `body`, `decode`,
//!   `request`, `builder`, `middleware`, else `_OTHER`) and a description
//!   made of the error's causes, never its message, which quotes the URL.
//!   (A `#[traced]` function around the call that returns reqwest's error
//!   records that error as its own, message and URL included, as any
//!   function's `Err` is recorded: return an error of your own there, or
//!   write `#[traced(err = false)]`, when URLs carry secrets.)
//!
//! The span ends when the response head arrives (reading the body is not
//! timed) or the request fails; dropped unfinished, it ends with
//! `traced.cancelled = true`.
//!
//! **Redirects** are followed by reqwest inside one call of the chain: the
//! whole exchange is one span, with the final response's status; `url.full`
//! is the URL asked for.
//!
//! **Retries**: middlewares run in the order they were added. A retry
//! middleware added *before* `ClientMiddleware`
//! (`.with(retry).with(ClientMiddleware::default())`) calls it once per
//! attempt: a span per attempt, each with its own status, all under the
//! caller's span, and each attempt's headers name its own span. Added
//! *after* it, all attempts are inside one span, which records the last
//! response.
//!
//! With no pipeline installed no span is made and nothing is allocated;
//! the headers get what `propagation::inject` writes for the current
//! context: nothing, unless a caller's context is carried through (a
//! `#[traced(parent = headers)]` or [`TraceLayer`] span under an
//! extracted parent), which then goes on unchanged, so a service that
//! installs no pipeline does not break the trace it sits in.
//!
//! ## Cost
//! With no pipeline installed, nothing is recorded or allocated; the
//! request's propagation headers are still read (a few header lookups), so
//! that a service with no pipeline carries its callers' trace on, unchanged,
//! to the calls it makes, as `#[traced(parent = headers)]` does. With a
//! pipeline, the name and attributes are made only for requests that are
//! sampled.

#[cfg(feature = "reqwest")]
mod client;
#[cfg(feature = "reqwest")]
mod client_request;
mod layer;
mod request;
mod response;

#[cfg(feature = "reqwest")]
pub use client::{ClientMiddleware, UrlTemplate};
#[cfg(feature = "axum")]
pub use layer::MatchedPathRoute;
pub use layer::{MatchRoute, NoRoute, Trace, TraceLayer};
pub use response::ResponseFuture;
