//! The grocery store and the shopper, run as two processes talking HTTP on
//! 127.0.0.1, both exporting OTLP/HTTP protobuf to a receiver in the test.
//! The spans are decoded with the official protobuf definitions
//! (opentelemetry-proto): the store's spans must continue the shopper's
//! trace through the request headers alone.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// The requests the shopper makes, in order: route and expected status.
const VISIT: [(&str, i64); 6] = [
    ("GET /products", 200),
    ("GET /products/{name}", 200),
    ("GET /products/{name}", 404),
    ("POST /checkout", 200),
    ("POST /checkout", 409),
    ("POST /checkout", 500),
];

/// A span as exported, with the `service.name` of the process that sent it.
#[derive(Debug)]
struct Exported {
    service: String,
    span: Span,
}

/// A child process, killed if the test gives up on it before it exits.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Running {
    fn spawn(command: &mut std::process::Command) -> Running {
        Running(Some(command.spawn().unwrap()))
    }

    /// Waits for the process to exit, at most `limit`; returns its output.
    fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        let child = self.0.as_mut().unwrap();
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the process did not exit in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1: every body posted to `/v1/traces`
/// comes out of the channel. It serves until the runtime is dropped.
fn otlp_receiver() -> (tokio::runtime::Runtime, u16, mpsc::Receiver<Bytes>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let _ = tx.send(body);
            async { StatusCode::OK }
        }),
    );
    runtime.spawn(async move { axum::serve(listener, app).await });
    (runtime, port, rx)
}

/// Starts the store on a free port with `args`, exporting to `endpoint`;
/// returns it and the URL it prints on its first line.
fn start_store(args: &[&str], endpoint: &str) -> (Running, String) {
    let mut store = common::example(env!("CARGO_BIN_EXE_grocery_store"));
    store
        .arg("127.0.0.1:0")
        .args(args)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .stdout(Stdio::piped());
    let mut store = Running::spawn(&mut store);
    let stdout = store.0.as_mut().unwrap().stdout.take().unwrap();
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the store prints its address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (store, url)
}

/// Runs the store (port 0, stopping after the visit's requests) and the
/// shopper against it, once for all the tests, and returns every span the
/// two exported.
fn visit() -> &'static [Exported] {
    static SPANS: OnceLock<Vec<Exported>> = OnceLock::new();
    SPANS.get_or_init(|| {
        let (runtime, port, bodies) = otlp_receiver();
        let endpoint = format!("http://127.0.0.1:{port}");
        let proxies = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];

        let (store, url) = start_store(&["--requests", &VISIT.len().to_string()], &endpoint);

        let mut shopper = common::example(env!("CARGO_BIN_EXE_shopper"));
        shopper
            .arg(&url)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for proxy in proxies {
            shopper.env_remove(proxy);
        }
        let output = Running::spawn(&mut shopper).finish(Duration::from_secs(30));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), VISIT.len(), "{stdout}");

        let store = store.finish(Duration::from_secs(20));
        assert!(store.status.success(), "the store stops after the visit");

        // Both processes flushed their spans before exiting.
        let spans: Vec<Exported> = bodies
            .try_iter()
            .flat_map(|body| {
                ExportTraceServiceRequest::decode(body)
                    .expect("valid OTLP protobuf")
                    .resource_spans
            })
            .flat_map(|resource_spans| {
                let service = resource_spans
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value.as_ref()?.value.clone());
                let Some(Value::StringValue(service)) = service else {
                    panic!("a resource without service.name");
                };
                resource_spans
                    .scope_spans
                    .into_iter()
                    .flat_map(|scope| scope.spans)
                    .map(move |span| Exported {
                        service: service.clone(),
                        span,
                    })
            })
            .collect();
        drop(runtime);
        spans
    })
}

/// The spans of `service` named `name`, in start order.
fn named<'a>(spans: &'a [Exported], service: &str, name: &str) -> Vec<&'a Span> {
    let mut found: Vec<&Span> = spans
        .iter()
        .filter(|e| e.service == service && e.span.name == name)
        .map(|e| &e.span)
        .collect();
    found.sort_by_key(|s| s.start_time_unix_nano);
    found
}

/// The direct children of `parent`, in start order.
fn children<'a>(spans: &'a [Exported], parent: &Span) -> Vec<&'a Span> {
    let mut found: Vec<&Span> = spans
        .iter()
        .map(|e| &e.span)
        .filter(|s| s.parent_span_id == parent.span_id)
        .collect();
    found.sort_by_key(|s| s.start_time_unix_nano);
    found
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn status_code(span: &Span) -> i64 {
    match attribute(span, "http.response.status_code") {
        Some(Value::IntValue(code)) => *code,
        other => panic!("{}: http.response.status_code is {other:?}", span.name),
    }
}

fn text<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        Value::StringValue(s) => Some(s),
        other => panic!("{}: {key} is {other:?}", span.name),
    }
}

fn span_status(span: &Span) -> SpanStatus {
    span.status
        .as_ref()
        .map_or(SpanStatus::Unset, |s| SpanStatus::try_from(s.code).unwrap())
}

/// The shopper's client spans, in the order of the visit, each with the
/// store's server span whose parent it is.
fn requests(spans: &[Exported]) -> Vec<(&Span, &Span)> {
    let visit = named(spans, "shopper", "shopper.visit");
    assert_eq!(visit.len(), 1, "one visit");
    let clients = children(spans, visit[0]);
    assert_eq!(clients.len(), VISIT.len(), "a client span per request");
    clients
        .into_iter()
        .map(|client| {
            let servers = children(spans, client);
            assert_eq!(
                servers.len(),
                1,
                "one server span under the client span {}",
                client.name
            );
            (client, servers[0])
        })
        .collect()
}

#[test]
fn each_request_is_a_client_span_whose_child_is_the_stores_server_span() {
    let spans = visit();
    let visit = named(spans, "shopper", "shopper.visit")[0];
    assert!(visit.parent_span_id.is_empty(), "the visit is a root span");
    for (client, server) in requests(spans) {
        assert_eq!(client.kind, SpanKind::Client as i32, "{}", client.name);
        assert_eq!(server.kind, SpanKind::Server as i32, "{}", server.name);
        assert_eq!(client.trace_id, visit.trace_id, "{}", client.name);
        assert_eq!(
            server.trace_id, client.trace_id,
            "{} continues the shopper's trace",
            server.name
        );
        assert_eq!(server.parent_span_id, client.span_id);
        assert_eq!(server.name, client.name, "both are named after the route");
        let route = client.name.split_once(' ').unwrap().1;
        assert_eq!(text(server, "http.route"), Some(route));
        assert_eq!(text(client, "url.template"), Some(route));
        let method = client.name.split_once(' ').unwrap().0;
        assert_eq!(text(client, "http.request.method"), Some(method));
        assert_eq!(text(server, "http.request.method"), Some(method));
        assert_eq!(text(server, "server.address"), Some("127.0.0.1"));
    }
    let who: Vec<&str> = spans
        .iter()
        .filter(|e| e.span.kind == SpanKind::Server as i32)
        .map(|e| e.service.as_str())
        .collect();
    assert!(who.iter().all(|&s| s == "grocery-store"), "{who:?}");
}

#[test]
fn status_codes_and_error_statuses_follow_the_http_conventions() {
    let spans = visit();
    for ((client, server), (route, code)) in requests(spans).into_iter().zip(VISIT) {
        assert_eq!(client.name, route);
        assert_eq!(status_code(client), code, "{route}");
        assert_eq!(status_code(server), code, "{route}");
        // A client span fails on any 4xx or 5xx; a server span only on a
        // 5xx, since a 4xx is the caller's mistake.
        let client_error = code >= 400;
        let server_error = code >= 500;
        assert_eq!(
            span_status(client) == SpanStatus::Error,
            client_error,
            "client {route} {code}"
        );
        assert_eq!(
            span_status(server) == SpanStatus::Error,
            server_error,
            "server {route} {code}"
        );
        let error_type = client_error.then(|| code.to_string());
        assert_eq!(text(client, "error.type"), error_type.as_deref());
        if server_error {
            assert_eq!(text(server, "error.type"), Some(code.to_string().as_str()));
            assert!(
                server.events.iter().any(|e| e.name == "exception"),
                "the 500 records its exception"
            );
        }
    }
}

#[test]
fn the_stores_internal_spans_are_children_of_its_server_spans() {
    let spans = visit();
    let expected: [&[(&str, bool)]; 6] = [
        &[("inventory.list", false)],
        &[("inventory.lookup", false)],
        &[("inventory.lookup", true)],
        &[
            ("inventory.lookup", false),
            ("inventory.lookup", false),
            ("price.compute", false),
            ("inventory.reserve", false),
        ],
        &[
            ("inventory.lookup", false),
            ("price.compute", false),
            ("inventory.reserve", true),
        ],
        &[("inventory.lookup", false), ("price.compute", true)],
    ];
    for ((_, server), expected) in requests(spans).into_iter().zip(expected) {
        let nested: Vec<(&str, bool)> = children(spans, server)
            .into_iter()
            .map(|s| {
                assert_eq!(s.trace_id, server.trace_id);
                assert_eq!(s.kind, SpanKind::Internal as i32);
                assert!(s.start_time_unix_nano >= server.start_time_unix_nano);
                assert!(s.end_time_unix_nano <= server.end_time_unix_nano);
                (s.name.as_str(), span_status(s) == SpanStatus::Error)
            })
            .collect();
        assert_eq!(nested, expected, "under {}", server.name);
    }
}

#[test]
fn each_program_reports_under_its_own_service_name() {
    let spans = visit();
    let mut services: Vec<&str> = spans.iter().map(|e| e.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    assert_eq!(services, ["grocery-store", "shopper"]);
    // 1 visit + 6 client spans; 6 server spans + 12 internal ones.
    let count = |service: &str| spans.iter().filter(|e| e.service == service).count();
    assert_eq!((count("shopper"), count("grocery-store")), (7, 18));
}

/// The store stopped the way docker, Kubernetes and systemd stop a service
/// (SIGTERM) shuts down gracefully: the guard drops, and the span of a
/// request it served is exported before it exits.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_store_gracefully_and_its_spans_are_exported() {
    let (runtime, port, bodies) = otlp_receiver();
    let (store, url) = start_store(&[], &format!("http://127.0.0.1:{port}"));
    let store_port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected address {url:?}"));
    let body = traced_examples::http::get(
        store_port,
        "/products",
        &std::collections::HashMap::<String, String>::new(),
    )
    .unwrap();
    assert!(!body.is_empty());

    let pid = store.0.as_ref().unwrap().id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = store.finish(Duration::from_secs(20));
    assert!(
        output.status.success(),
        "SIGTERM ends the store with success after a graceful shutdown: {:?}",
        output.status
    );
    let names: Vec<String> = bodies
        .try_iter()
        .flat_map(|body| {
            ExportTraceServiceRequest::decode(body)
                .unwrap()
                .resource_spans
        })
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .map(|span| span.name)
        .collect();
    drop(runtime);
    assert!(
        names.iter().any(|name| name == "GET /products"),
        "the request's span was exported at shutdown: {names:?}"
    );
}
