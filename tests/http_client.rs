//! `traced::http::ClientMiddleware` end to end on 127.0.0.1: a reqwest
//! client with the middleware, called from a `#[traced]` fn on a
//! multi-thread runtime, and an axum server behind `TraceLayer` whose
//! `#[traced]` handler calls code instrumented with `tracing` (through the
//! bridge) and with the OpenTelemetry API. One trace, every parent link,
//! the client conventions, and the statuses of 4xx and transport errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use traced::http::{ClientMiddleware, TraceLayer, UrlTemplate};
use traced::propagation::Propagator;
use traced::traced;
use traced_tests::{
    assert_child_of, assert_root, capture, free_port, int_attribute as int, lock, one,
    text_attribute as text,
};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Code instrumented with `tracing`, recorded through the bridge.
#[tracing::instrument]
fn lookup(id: u64) -> u64 {
    tracing::info!(stock = 3_u64, "found");
    3
}

/// Code instrumented with the OpenTelemetry API, recorded through traced
/// as the global tracer provider.
fn price(id: u64) -> u64 {
    opentelemetry::global::tracer("pricing").in_span("price", |cx| {
        cx.span()
            .set_attribute(opentelemetry::KeyValue::new("item.id", id.cast_signed()));
        id * 100
    })
}

#[traced]
async fn item(Path(id): Path<u64>) -> String {
    tokio::task::yield_now().await;
    let stock = lookup(id);
    tokio::task::yield_now().await;
    format!("item {id}: {stock} at {}", price(id))
}

/// What the request's propagation headers were.
async fn headers(request: Request) -> String {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned()
    };
    format!("{} {}", header("traceparent"), header("b3"))
}

/// 503 on every other request, starting with the first.
fn flaky(calls: &AtomicUsize) -> StatusCode {
    if calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

fn app() -> Router {
    let calls = Arc::new(AtomicUsize::new(0));
    Router::new()
        .route("/items/{id}", get(item))
        .route("/headers", get(headers))
        .route(
            "/old/{id}",
            get(|Path(id): Path<u64>| async move {
                axum::response::Redirect::to(&format!("/items/{id}"))
            }),
        )
        .route("/flaky", get(move || std::future::ready(flaky(&calls))))
        .layer(TraceLayer::new().with_matched_path())
}

/// The `tracing` bridge as the global subscriber, so spans and events of
/// every runtime thread reach it.
fn bridge_tracing() {
    static SET: OnceLock<()> = OnceLock::new();
    SET.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(traced::bridge::tracing_layer());
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// Serves `app()` on 127.0.0.1, runs `f` with the port on a second
/// two-worker runtime (the client's), then stops both.
fn with_server<R>(f: impl FnOnce(&tokio::runtime::Runtime, u16) -> R) -> R {
    bridge_tracing();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    server.spawn(async move { axum::serve(listener, app()).await });
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = f(&client, port);
    client.shutdown_timeout(Duration::from_secs(5));
    server.shutdown_timeout(Duration::from_secs(5));
    result
}

fn client() -> ClientWithMiddleware {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    ClientBuilder::new(client)
        .with(ClientMiddleware::default())
        .build()
}

/// The client code: a `#[traced]` fn around the request.
#[traced]
async fn fetch(
    client: &ClientWithMiddleware,
    url: String,
) -> Result<(u16, String), reqwest_middleware::Error> {
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    Ok((
        status,
        response
            .text()
            .await
            .map_err(reqwest_middleware::Error::from)?,
    ))
}

fn of_kind(spans: &[SpanData], kind: &SpanKind) -> Vec<SpanData> {
    spans
        .iter()
        .filter(|s| &s.span_kind == kind)
        .cloned()
        .collect()
}

#[test]
fn one_trace_from_the_client_fn_through_the_server_to_tracing_and_otel_spans() {
    let (body, spans) = capture(|| {
        with_server(|runtime, port| {
            let url = format!("http://shopper:secret@127.0.0.1:{port}/items/7?fields=all");
            runtime.block_on(fetch(&client(), url)).unwrap()
        })
    });
    assert_eq!(body, (200, "item 7: 3 at 700".to_owned()));

    let fetch = one(&spans, "fetch");
    let client = one(&spans, "GET");
    let server = one(&spans, "GET /items/{id}");
    let handler = one(&spans, "item");
    let lookup = one(&spans, "lookup");
    let price = one(&spans, "price");
    assert_eq!(spans.len(), 6, "{:?}", traced_tests::names(&spans));
    assert_root(fetch);
    assert_child_of(client, fetch);
    assert_child_of(server, client);
    assert_child_of(handler, server);
    assert_child_of(lookup, handler);
    assert_child_of(price, handler);
    let trace = fetch.span_context.trace_id();
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace));
    assert!(
        server.parent_span_is_remote,
        "the server got it from headers"
    );

    assert_eq!(fetch.span_kind, SpanKind::Internal);
    assert_eq!(client.span_kind, SpanKind::Client);
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(handler.span_kind, SpanKind::Internal);
    assert_eq!(lookup.span_kind, SpanKind::Internal);
    assert_eq!(price.span_kind, SpanKind::Internal);

    assert_eq!(text(client, "http.request.method"), Some("GET"));
    assert_eq!(text(client, "http.request.method_original"), None);
    assert_eq!(
        text(client, "url.full"),
        Some(
            format!(
                "http://127.0.0.1:{}/items/7?fields=all",
                int(client, "server.port").unwrap()
            )
            .as_str()
        ),
        "no user name or password"
    );
    assert_eq!(text(client, "server.address"), Some("127.0.0.1"));
    assert_eq!(int(client, "server.port"), int(server, "server.port"));
    assert_eq!(int(client, "http.response.status_code"), Some(200));
    assert_eq!(text(client, "network.protocol.version"), Some("1.1"));
    assert_eq!(text(client, "error.type"), None);
    assert_eq!(client.status, Status::Unset);
    assert_eq!(text(client, "url.template"), None);
    let everything = format!("{client:?}");
    assert!(!everything.contains("secret"), "{everything}");

    assert_eq!(text(server, "http.route"), Some("/items/{id}"));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(int(price, "item.id"), Some(7));
    let found: Vec<_> = lookup.events.iter().filter(|e| e.name == "found").collect();
    assert_eq!(found.len(), 1, "{:?}", lookup.events);
    assert!(found[0]
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "stock" && kv.value == Value::I64(3)));
    for span in [client, server, handler] {
        assert!(
            span.start_time <= lookup.start_time && lookup.end_time <= span.end_time,
            "{} encloses lookup",
            span.name
        );
    }
}

#[test]
fn a_404_is_an_error_of_the_client_span_only() {
    let (status, spans) = capture(|| {
        with_server(|runtime, port| {
            let url = format!("http://127.0.0.1:{port}/nowhere");
            runtime.block_on(fetch(&client(), url)).unwrap().0
        })
    });
    assert_eq!(status, 404);
    let clients = of_kind(&spans, &SpanKind::Client);
    let servers = of_kind(&spans, &SpanKind::Server);
    assert_eq!((clients.len(), servers.len()), (1, 1));
    let (client, server) = (&clients[0], &servers[0]);
    assert_child_of(server, client);
    assert_eq!(int(client, "http.response.status_code"), Some(404));
    assert_eq!(text(client, "error.type"), Some("404"));
    assert!(matches!(client.status, Status::Error { .. }));
    assert_eq!(int(server, "http.response.status_code"), Some(404));
    assert_eq!(server.name, "GET", "no route matched");
    assert_eq!(text(server, "error.type"), None);
    assert!(!matches!(server.status, Status::Error { .. }));
}

#[test]
fn a_refused_connection_is_an_error_with_its_kind() {
    let closed = free_port();
    let (result, spans) = capture(|| {
        with_server(|runtime, _| {
            let url = format!("http://127.0.0.1:{closed}/items/1");
            runtime.block_on(fetch(&client(), url))
        })
    });
    assert!(result.unwrap_err().is_connect());
    assert!(of_kind(&spans, &SpanKind::Server).is_empty());
    let client = one(&spans, "GET");
    assert_child_of(client, one(&spans, "fetch"));
    assert_eq!(text(client, "error.type"), Some("connect"));
    assert_eq!(int(client, "http.response.status_code"), None);
    assert_eq!(int(client, "server.port"), Some(i64::from(closed)));
    let Status::Error { description } = &client.status else {
        panic!("{:?}", client.status);
    };
    assert!(description.starts_with("connect: "), "{description}");
    assert!(!description.contains("127.0.0.1"), "no URL: {description}");
    assert!(matches!(one(&spans, "fetch").status, Status::Error { .. }));
}

#[test]
fn a_url_template_names_the_span() {
    let ((), spans) = capture(|| {
        with_server(|runtime, port| {
            runtime.block_on(async {
                let response = client()
                    .get(format!("http://127.0.0.1:{port}/items/3"))
                    .with_extension(UrlTemplate::new("/items/{id}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            });
        });
    });
    let client = &of_kind(&spans, &SpanKind::Client)[0];
    assert_eq!(client.name, "GET /items/{id}");
    assert_eq!(text(client, "url.template"), Some("/items/{id}"));
    assert_root(client);
    assert_child_of(&of_kind(&spans, &SpanKind::Server)[0], client);
}

/// Sends `GET /headers` inside `parent`'s context, when given, and returns
/// what the server saw: `{traceparent} {b3}`.
fn seen_headers(runtime: &tokio::runtime::Runtime, port: u16, parent: Option<&str>) -> String {
    #[traced(parent = incoming)]
    async fn under(
        incoming: &std::collections::HashMap<String, String>,
        client: &ClientWithMiddleware,
        url: String,
    ) -> String {
        client.get(url).send().await.unwrap().text().await.unwrap()
    }
    let url = format!("http://127.0.0.1:{port}/headers");
    runtime.block_on(async {
        match parent {
            Some(parent) => {
                let incoming = std::collections::HashMap::from([(
                    "traceparent".to_owned(),
                    parent.to_owned(),
                )]);
                under(&incoming, &client(), url).await
            }
            None => client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        }
    })
}

#[test]
fn the_configured_propagators_carry_the_client_span() {
    let _lock = lock();
    let (exporter, memory) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_propagators(&[Propagator::TraceContext, Propagator::B3])
        .install();
    let seen = with_server(|runtime, port| seen_headers(runtime, port, None));
    drop(guard);
    let spans = memory.spans();
    let client = &of_kind(&spans, &SpanKind::Client)[0];
    let (trace, span) = (
        client.span_context.trace_id(),
        client.span_context.span_id(),
    );
    let (traceparent, b3) = seen.split_once(' ').unwrap();
    // The flags byte is 01 or 03 (sampled, and the level 2 random flag).
    assert!(
        traceparent.starts_with(&format!("00-{trace}-{span}-0")),
        "{traceparent}"
    );
    assert_eq!(
        b3,
        format!("{trace}-{span}-1"),
        "both formats, naming the client span"
    );
}

#[test]
fn with_no_pipeline_nothing_is_added_but_a_callers_context_goes_on() {
    let _lock = lock();
    let seen = with_server(|runtime, port| {
        (
            seen_headers(runtime, port, None),
            seen_headers(runtime, port, Some(TRACEPARENT)),
        )
    });
    assert_eq!(seen.0, "none none", "no context, no headers");
    // The formats are those of the last pipeline installed in this
    // process (W3C alone unless a test chose others): only traceparent is
    // checked.
    assert_eq!(
        seen.1.split_once(' ').unwrap().0,
        TRACEPARENT,
        "the caller's context, carried through unchanged"
    );
}

/// Retries a 503 once: a stand-in for a retry middleware.
struct RetryOnce;

#[async_trait::async_trait]
impl Middleware for RetryOnce {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let again = request.try_clone().unwrap();
        let response = next.clone().run(request, extensions).await?;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            return next.run(again, extensions).await;
        }
        Ok(response)
    }
}

/// Sends `GET /flaky` through `client` inside a `#[traced]` fn; returns the
/// final status and the client spans, in start order.
fn flaky_through(client: &ClientWithMiddleware) -> (u16, Vec<SpanData>) {
    #[traced]
    async fn call(client: &ClientWithMiddleware, url: String) -> u16 {
        client.get(url).send().await.unwrap().status().as_u16()
    }
    let (status, spans) = capture(|| {
        with_server(|runtime, port| {
            runtime.block_on(call(client, format!("http://127.0.0.1:{port}/flaky")))
        })
    });
    let mut clients = of_kind(&spans, &SpanKind::Client);
    clients.sort_by_key(|s| s.start_time);
    for span in &clients {
        assert_child_of(span, one(&spans, "call"));
    }
    (status, clients)
}

fn plain() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[test]
fn a_retry_middleware_before_ours_gives_a_span_per_attempt() {
    let (status, clients) = flaky_through(
        &ClientBuilder::new(plain())
            .with(RetryOnce)
            .with(ClientMiddleware::default())
            .build(),
    );
    assert_eq!(status, 200);
    let codes: Vec<_> = clients
        .iter()
        .map(|s| int(s, "http.response.status_code"))
        .collect();
    assert_eq!(codes, [Some(503), Some(200)]);
    assert!(matches!(clients[0].status, Status::Error { .. }));
    assert_eq!(clients[1].status, Status::Unset);
}

#[test]
fn a_retry_middleware_after_ours_is_inside_one_span() {
    let (status, clients) = flaky_through(
        &ClientBuilder::new(plain())
            .with(ClientMiddleware::default())
            .with(RetryOnce)
            .build(),
    );
    assert_eq!(status, 200);
    assert_eq!(clients.len(), 1);
    assert_eq!(int(&clients[0], "http.response.status_code"), Some(200));
    assert_eq!(clients[0].status, Status::Unset);
}

#[test]
fn a_followed_redirect_is_one_client_span_with_the_final_status() {
    let (body, spans) = capture(|| {
        with_server(|runtime, port| {
            let url = format!("http://127.0.0.1:{port}/old/5");
            runtime.block_on(fetch(&client(), url)).unwrap()
        })
    });
    assert_eq!(body, (200, "item 5: 3 at 500".to_owned()));
    let clients = of_kind(&spans, &SpanKind::Client);
    assert_eq!(clients.len(), 1, "one span for the whole exchange");
    let client = &clients[0];
    assert_eq!(int(client, "http.response.status_code"), Some(200));
    assert!(text(client, "url.full").unwrap().ends_with("/old/5"));
    assert_eq!(client.status, Status::Unset);
    let mut servers = of_kind(&spans, &SpanKind::Server);
    servers.sort_by_key(|s| s.start_time);
    let names: Vec<_> = servers.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["GET /old/{id}", "GET /items/{id}"]);
    assert_eq!(int(&servers[0], "http.response.status_code"), Some(303));
    for server in &servers {
        assert_child_of(server, client);
    }
}

#[test]
fn concurrent_requests_on_a_multi_thread_runtime_keep_their_own_parents() {
    const REQUESTS: u64 = 8;
    let (bodies, spans) = capture(|| {
        with_server(|runtime, port| {
            let client = client();
            runtime.block_on(async {
                let tasks: Vec<_> = (0..REQUESTS)
                    .map(|id| {
                        let client = client.clone();
                        tokio::spawn(async move {
                            let url = format!("http://127.0.0.1:{port}/items/{id}");
                            fetch(&client, url).await.unwrap().1
                        })
                    })
                    .collect();
                let mut bodies = Vec::new();
                for task in tasks {
                    bodies.push(task.await.unwrap());
                }
                bodies
            })
        })
    });
    let expected: Vec<_> = (0..REQUESTS)
        .map(|id| format!("item {id}: 3 at {}", id * 100))
        .collect();
    assert_eq!(bodies, expected);
    let fetches: Vec<_> = spans.iter().filter(|s| s.name == "fetch").collect();
    let clients = of_kind(&spans, &SpanKind::Client);
    let servers = of_kind(&spans, &SpanKind::Server);
    assert_eq!((fetches.len(), clients.len(), servers.len()), (8, 8, 8));
    for fetch in fetches {
        assert_root(fetch);
        let client: Vec<_> = clients
            .iter()
            .filter(|c| c.parent_span_id == fetch.span_context.span_id())
            .collect();
        assert_eq!(client.len(), 1, "one client span under each fetch");
        assert_eq!(
            client[0].span_context.trace_id(),
            fetch.span_context.trace_id()
        );
        let server: Vec<_> = servers
            .iter()
            .filter(|s| s.parent_span_id == client[0].span_context.span_id())
            .collect();
        assert_eq!(server.len(), 1, "one server span under each client span");
        let path = text(server[0], "url.path").unwrap();
        assert!(
            text(client[0], "url.full").unwrap().ends_with(path),
            "the server span under a client span is its request's"
        );
        assert!(
            spans
                .iter()
                .any(|s| s.name == "item" && s.parent_span_id == server[0].span_context.span_id()),
            "the handler under its server span"
        );
    }
}
