//! `traced::http::TraceLayer` in a real axum server on 127.0.0.1: the
//! server span continues the caller's trace, is named after the matched
//! route, carries the HTTP semantic conventions, and parents the handlers'
//! spans across `.await` on the runtime's worker threads.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Path, Request};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tower_layer::Layer;
use tower_service::Service;
use traced::http::{Trace, TraceLayer};
use traced::{traced, Span};
use traced_tests::{
    assert_child_of, assert_root, attribute, capture, int_attribute as int, lock, names, one,
    text_attribute as text,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[traced]
async fn load(id: u64) -> String {
    tokio::task::yield_now().await;
    format!("item {id}")
}

async fn item(Path(id): Path<u64>) -> String {
    tokio::task::yield_now().await;
    load(id).await
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// Whether the handler sees a current span: the layer made one.
async fn current() -> String {
    format!("span: {}", !Span::current().is_none())
}

/// What the handler would send downstream.
async fn forward() -> String {
    let mut headers = std::collections::HashMap::new();
    traced::propagation::inject(&mut headers);
    format!(
        "{} recording: {}",
        headers.get("traceparent").map_or("none", String::as_str),
        Span::current().is_recording()
    )
}

fn routes() -> Router {
    Router::new()
        .route("/items/{id}", get(item))
        .route("/fail", get(fail))
        .route("/current", get(current))
        .route("/forward", get(forward))
}

fn layer() -> TraceLayer<impl Fn(&Request) -> Option<String> + Clone> {
    TraceLayer::new().with_route(|request: &Request| {
        let route = request.extensions().get::<MatchedPath>()?;
        Some(route.as_str().to_owned())
    })
}

/// Serves `app` on 127.0.0.1 on a two-worker runtime, runs `f` with the
/// port, then stops the server.
fn with_server<R>(app: Router, f: impl FnOnce(u16) -> R) -> R {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move { axum::serve(listener, app).await });
    let result = f(port);
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

/// Sends `GET path` with `headers`; returns the status code and the body.
fn get_raw(port: u16, path: &str, headers: &[(&str, &str)]) -> io::Result<(u16, String)> {
    traced_examples::http::get_response(port, path, headers.iter().copied())
}

fn server_spans(spans: &[SpanData]) -> Vec<&SpanData> {
    spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect()
}

#[test]
fn a_request_span_continues_the_callers_trace_under_its_route() {
    let ((port, response), spans) = capture(|| {
        with_server(routes().layer(layer()), |port| {
            let headers = [
                ("traceparent", TRACEPARENT),
                ("user-agent", "traced-test/1"),
            ];
            (
                port,
                get_raw(port, "/items/42?fields=name", &headers).unwrap(),
            )
        })
    });
    assert_eq!(response, (200, "item 42".to_owned()));
    let server = one(&spans, "GET /items/{id}");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(server.parent_span_id.to_string(), PARENT_ID);
    assert!(server.parent_span_is_remote);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.instrumentation_scope.name(), "traced");

    assert_eq!(text(server, "http.request.method"), Some("GET"));
    assert_eq!(text(server, "url.path"), Some("/items/42"));
    assert_eq!(text(server, "url.query"), Some("fields=name"));
    assert_eq!(
        text(server, "url.scheme"),
        Some("http"),
        "an HTTP/1.1 request has none: the server's"
    );
    assert_eq!(text(server, "http.route"), Some("/items/{id}"));
    assert_eq!(text(server, "user_agent.original"), Some("traced-test/1"));
    assert_eq!(text(server, "server.address"), Some("127.0.0.1"));
    assert_eq!(int(server, "server.port"), Some(i64::from(port)));
    assert_eq!(text(server, "network.protocol.version"), Some("1.1"));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(text(server, "error.type"), None);

    // The handler's #[traced] span, after two `.await`s on the workers.
    let load = one(&spans, "load");
    assert_child_of(load, server);
    assert_eq!(names(&spans), ["load", "GET /items/{id}"]);
}

#[test]
fn a_5xx_is_an_error_and_a_4xx_is_not() {
    let (responses, spans) = capture(|| {
        with_server(routes().layer(layer()), |port| {
            [
                get_raw(port, "/fail", &[]).unwrap().0,
                get_raw(port, "/nothing/here", &[]).unwrap().0,
            ]
        })
    });
    assert_eq!(responses, [500, 404]);

    let failed = one(&spans, "GET /fail");
    assert_eq!(int(failed, "http.response.status_code"), Some(500));
    assert!(
        matches!(failed.status, Status::Error { .. }),
        "{:?}",
        failed.status
    );
    assert_eq!(text(failed, "error.type"), Some("500"));

    // No route matched: `Router::layer` still wraps the fallback, without a
    // MatchedPath, so the span is named after the method alone.
    let missing = one(&spans, "GET");
    assert_eq!(text(missing, "http.route"), None);
    assert_eq!(text(missing, "url.path"), Some("/nothing/here"));
    assert_eq!(int(missing, "http.response.status_code"), Some(404));
    assert_eq!(missing.status, Status::Unset);
    assert_eq!(text(missing, "error.type"), None);

    // Without a traceparent each request starts a trace.
    for span in server_spans(&spans) {
        assert_root(span);
        assert!(!span.parent_span_is_remote);
    }
}

#[test]
fn route_layer_skips_unmatched_requests() {
    let (responses, spans) = capture(|| {
        with_server(routes().route_layer(layer()), |port| {
            [
                get_raw(port, "/items/1", &[]).unwrap().0,
                get_raw(port, "/nothing/here", &[]).unwrap().0,
            ]
        })
    });
    assert_eq!(responses, [200, 404]);
    let servers: Vec<&str> = server_spans(&spans)
        .iter()
        .map(|s| s.name.as_ref())
        .collect();
    assert_eq!(servers, ["GET /items/{id}"]);
}

#[test]
fn around_the_router_no_route_is_known() {
    let (response, spans) = capture(|| {
        with_server(
            Router::new().fallback_service(layer().layer(routes())),
            |port| get_raw(port, "/items/5", &[("traceparent", TRACEPARENT)]).unwrap(),
        )
    });
    assert_eq!(response, (200, "item 5".to_owned()));
    let server = one(&spans, "GET");
    assert_eq!(text(server, "http.route"), None);
    assert_eq!(server.parent_span_id.to_string(), PARENT_ID);
    assert_child_of(one(&spans, "load"), server);
}

#[test]
fn with_no_pipeline_requests_pass_through_untraced() {
    let held = lock();
    traced::propagation::set_propagators(&[
        traced::propagation::Propagator::TraceContext,
        traced::propagation::Propagator::Baggage,
    ]);
    let (plain, forwarded) = with_server(routes().layer(layer()), |port| {
        (
            get_raw(port, "/current", &[]).unwrap(),
            get_raw(port, "/forward", &[("traceparent", TRACEPARENT)]).unwrap(),
        )
    });
    assert_eq!(plain, (200, "span: false".to_owned()));
    assert_eq!(
        forwarded,
        (200, format!("{TRACEPARENT} recording: false")),
        "the caller's trace goes on unchanged through a service that records nothing"
    );

    // The same handler, with a pipeline, sees the request's span.
    drop(held);
    let (response, spans) = capture(|| {
        with_server(routes().layer(layer()), |port| {
            get_raw(port, "/current", &[]).unwrap()
        })
    });
    assert_eq!(response, (200, "span: true".to_owned()));
    one(&spans, "GET /current");
}

/// A service that fails, or never answers.
#[derive(Clone, Copy)]
struct Broken {
    answers: bool,
}

impl Service<Request<()>> for Broken {
    type Response = axum::http::Response<()>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        if self.answers {
            Box::pin(async { Err(io::Error::other("backend down")) })
        } else {
            Box::pin(std::future::pending())
        }
    }
}

fn request(method: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri("/jobs")
        .body(())
        .unwrap()
}

#[test]
fn an_error_from_the_inner_service_is_recorded_and_passed_on() {
    let (result, spans) = capture(|| {
        let mut service = Trace::new(Broken { answers: true });
        futures::executor::block_on(service.call(request("DELETE")))
    });
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), "backend down");
    let server = one(&spans, "DELETE");
    assert!(
        matches!(server.status, Status::Error { .. }),
        "{:?}",
        server.status
    );
    assert_eq!(text(server, "error.type"), Some("io::Error"));
    assert_eq!(int(server, "http.response.status_code"), None);
}

#[test]
fn a_dropped_request_ends_its_span_as_cancelled() {
    let ((), spans) = capture(|| {
        let mut service = Trace::new(Broken { answers: false });
        let mut future = Box::pin(service.call(request("PURGE")));
        let waker = std::task::Waker::noop();
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_pending());
    });
    let server = one(&spans, "HTTP");
    assert_eq!(text(server, "http.request.method"), Some("_OTHER"));
    assert_eq!(text(server, "http.request.method_original"), Some("PURGE"));
    assert_eq!(
        attribute(server, "traced.cancelled"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn the_response_future_is_send_when_the_inner_one_is() {
    fn send<T: Send>(_: &T) {}
    let _lock = lock();
    let mut service = layer().layer(routes());
    let future = Service::<Request>::call(&mut service, Request::default());
    send(&future);
}
