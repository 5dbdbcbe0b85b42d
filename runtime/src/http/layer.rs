//! The tower layer and the service it wraps around an HTTP server.

use std::borrow::Cow;
use std::fmt;
use std::task::{Context, Poll};

use ::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::request;
use super::response::{Outcome, ResponseFuture};
use crate::context::Saved;
use crate::model::{Kind, Site};
use crate::span::task::run_in;
use crate::span::Instrumented;
use crate::span::{AsSpanRef, Opened};

/// The call site of every request span: the instrumentation scope is
/// traced itself, as OpenTelemetry's instrumentation libraries name
/// theirs. The name here is replaced by the request's (`GET /items/{id}`)
/// whenever the span is recorded.
static SITE: Site = Site::new(
    "HTTP",
    Kind::Server,
    option_env!("CARGO_PKG_NAME"),
    option_env!("CARGO_PKG_VERSION"),
    module_path!(),
    file!(),
    line!(),
);

/// How a request's route (`http.route`, the path template such as
/// `/items/{id}`) is found.
///
/// Implemented by every `Fn(&Request<B>) -> Option<R>` where `R` is a
/// `String`, a `&'static str` or a `Cow<'static, str>` (see
/// [`TraceLayer::with_route`]), and by [`NoRoute`].
pub trait MatchRoute<B> {
    /// The route of `request`, if known.
    fn route(&self, request: &Request<B>) -> Option<Cow<'static, str>>;
}

/// No route: spans are named after the method alone (`GET`), the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRoute;

impl<B> MatchRoute<B> for NoRoute {
    #[inline]
    fn route(&self, _: &Request<B>) -> Option<Cow<'static, str>> {
        None
    }
}

impl<B, F, R> MatchRoute<B> for F
where
    F: Fn(&Request<B>) -> Option<R>,
    R: Into<Cow<'static, str>>,
{
    #[inline]
    fn route(&self, request: &Request<B>) -> Option<Cow<'static, str>> {
        self(request).map(Into::into)
    }
}

/// axum's matched route: the path template of the route the router chose
/// (`/items/{id}`), read from the request's `axum::extract::MatchedPath`
/// extension (feature `axum`); see [`TraceLayer::with_matched_path`].
#[cfg(feature = "axum")]
#[derive(Clone, Copy, Debug, Default)]
pub struct MatchedPathRoute;

#[cfg(feature = "axum")]
impl<B> MatchRoute<B> for MatchedPathRoute {
    #[inline]
    fn route(&self, request: &Request<B>) -> Option<Cow<'static, str>> {
        let route = request.extensions().get::<axum::extract::MatchedPath>()?;
        Some(Cow::Owned(route.as_str().to_owned()))
    }
}

/// A tower [`Layer`] that traces every HTTP request a server handles; see
/// the [module docs](super).
#[derive(Clone, Copy)]
pub struct TraceLayer<R = NoRoute> {
    route: R,
    scheme: &'static str,
}

impl TraceLayer {
    /// A layer whose spans are named after the method alone, unless a
    /// route is given with [`with_route`](TraceLayer::with_route).
    pub fn new() -> Self {
        TraceLayer {
            route: NoRoute,
            scheme: "http",
        }
    }
}

impl Default for TraceLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> TraceLayer<R> {
    /// Finds each request's route (`http.route`) with `route`; the span is
    /// then named `{method} {route}`. It is called only for requests whose
    /// span is recorded.
    ///
    /// With axum, inside a router (`Router::layer`; axum's `matched-path`
    /// feature, on by default, provides `MatchedPath`):
    ///
    /// ```
    /// use axum::extract::{MatchedPath, Request};
    /// use traced::http::TraceLayer;
    ///
    /// let layer = TraceLayer::new().with_route(|request: &Request| {
    ///     let route = request.extensions().get::<MatchedPath>()?;
    ///     Some(route.as_str().to_owned())
    /// });
    /// # let _: axum::Router = axum::Router::new().layer(layer);
    /// ```
    ///
    /// Or any function of the request, returning a `String`, a
    /// `&'static str` or a `Cow<'static, str>`:
    ///
    /// ```
    /// use traced::http::TraceLayer;
    ///
    /// let layer = TraceLayer::new().with_route(|request: &http::Request<String>| {
    ///     request.uri().path().starts_with("/static/").then_some("/static/*")
    /// });
    /// # drop(layer);
    /// ```
    pub fn with_route<R2>(self, route: R2) -> TraceLayer<R2> {
        TraceLayer {
            route,
            scheme: self.scheme,
        }
    }

    /// The scheme the server listens with, recorded as `url.scheme` when
    /// neither the request URI nor a proxy's `Forwarded` or
    /// `X-Forwarded-Proto` header says it: `"http"` unless set. A server
    /// that terminates TLS itself over HTTP/1.1 sets `"https"` (the layer
    /// cannot see the connection; HTTP/2 requests carry their scheme).
    ///
    /// ```
    /// use traced::http::TraceLayer;
    ///
    /// let layer = TraceLayer::new().with_scheme("https");
    /// # drop(layer);
    /// ```
    #[must_use]
    pub fn with_scheme(self, scheme: &'static str) -> Self {
        TraceLayer { scheme, ..self }
    }

    /// Names spans after axum's matched route (`GET /items/{id}`) with no
    /// closure to write: the same as [`with_route`](TraceLayer::with_route)
    /// reading `MatchedPath` (feature `axum`). Apply it with
    /// `Router::layer` (or `route_layer`), which runs after routing, when
    /// the router has inserted `MatchedPath`; a request no route matches,
    /// and any request through a layer around the whole router, has none
    /// and is named after its method alone.
    ///
    /// ```
    /// use axum::routing::get;
    /// use axum::Router;
    /// use traced::http::TraceLayer;
    ///
    /// let app: Router = Router::new()
    ///     .route("/items/{id}", get(|| async { "item" }))
    ///     .layer(TraceLayer::new().with_matched_path());
    /// # drop(app);
    /// ```
    #[cfg(feature = "axum")]
    pub fn with_matched_path(self) -> TraceLayer<MatchedPathRoute> {
        TraceLayer {
            route: MatchedPathRoute,
            scheme: self.scheme,
        }
    }
}

impl<S, R: Clone> Layer<S> for TraceLayer<R> {
    type Service = Trace<S, R>;

    fn layer(&self, inner: S) -> Trace<S, R> {
        Trace {
            inner,
            route: self.route.clone(),
            scheme: self.scheme,
        }
    }
}

impl<R> fmt::Debug for TraceLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("route", &std::any::type_name::<R>())
            .field("scheme", &self.scheme)
            .finish()
    }
}

/// The service [`TraceLayer`] makes: `inner`, with a server span around
/// each request.
#[derive(Clone, Copy)]
pub struct Trace<S, R = NoRoute> {
    inner: S,
    route: R,
    scheme: &'static str,
}

impl<S> Trace<S> {
    /// Traces `inner`'s requests (the same as `TraceLayer::new().layer(inner)`).
    pub fn new(inner: S) -> Self {
        TraceLayer::new().layer(inner)
    }
}

impl<S, R> Trace<S, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug, R> fmt::Debug for Trace<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("inner", &self.inner)
            .field("route", &std::any::type_name::<R>())
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl<S, R, B, ResB> Service<Request<B>> for Trace<S, R>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    R: MatchRoute<B>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // With no pipeline nothing is recorded, but the caller's context is
        // still read: the handler's `inject` then passes the trace on
        // unchanged, as the `#[traced(parent = headers)]` pattern does.
        let parent = crate::propagation::extract(request.headers()).as_span_ref();
        let span = Opened::start_with_parent(&SITE, parent.ctx);
        let mut task = match &span {
            Some(span) => Saved::new(Some(span.ctx()), parent.carried),
            None => Saved::new(None, None),
        };
        let recording = span.as_ref().is_some_and(Opened::is_recording);
        if recording {
            let route = self.route.route(&request);
            task.pending = Some(Box::new(request::annotations(&request, route, self.scheme)));
        }
        // The span is current while the inner service makes its future too:
        // axum's router, for one, does work there.
        let future = if span.is_some() {
            run_in(&mut task, || self.inner.call(request))
        } else {
            self.inner.call(request)
        };
        ResponseFuture::new(Instrumented::with_task(
            span,
            task,
            Outcome::new(future, recording),
        ))
    }
}
