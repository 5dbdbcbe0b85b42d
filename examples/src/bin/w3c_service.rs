//! The service the W3C Trace Context test suite drives: an axum server that
//! continues the caller's trace and calls back with it.
//!
//! ```text
//! cargo run -p traced-examples --bin w3c_service                  # port 0
//! cargo run -p traced-examples --bin w3c_service -- 127.0.0.1:5000
//! cd examples/tests/w3c/trace-context
//! STRICT_LEVEL=2 SPEC_LEVEL=2 python test.py http://127.0.0.1:5000/test
//! ```
//! listens on the address given (default 127.0.0.1 on a free port) and
//! prints `listening on http://ADDR` once bound. The suite POSTs to `/test`
//! a JSON array of `{"url": .., "arguments": [..]}`; for each element, in
//! order, the service POSTs `arguments` as JSON to `url` and returns the
//! status of each call (or why it failed) as a JSON array. Each request is
//! a server span (`traced::http::TraceLayer`), whose parent is read from
//! the request's `traceparent` and `tracestate`; each callback is a client
//! span under it, whose context `traced::propagation::inject` writes into
//! the callback's headers. That is what the suite checks: what came in is
//! passed on, what is malformed is dropped. Spans print as a tree on stderr
//! (`OTEL_TRACES_EXPORTER` chooses otherwise); the service is `w3c-service`
//! unless `OTEL_SERVICE_NAME` says otherwise. It serves until Ctrl-C or
//! SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::routing::post;
use axum::{Json, Router};
use reqwest::header::HeaderMap;
use reqwest::{Client, Url};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use traced::http::TraceLayer;
use traced::{propagation, traced, Span, Status};

/// How long one callback may take. The suite gives the whole request 5 s
/// (`HARNESS_TIMEOUT`), so a stuck callback fails here, visibly, first.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// One instruction from the suite: POST `arguments` to `url`.
#[derive(Debug, Deserialize, Serialize)]
struct Action {
    url: String,
    /// Passed on as the body; the suite nests further actions here.
    #[serde(default)]
    arguments: Vec<Action>,
}

/// What became of one callback.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Outcome {
    Status(u16),
    Failed(String),
}

/// POSTs `arguments` to `url` in a client span (named `POST`, as the HTTP
/// conventions name a client span without a URL template), with that
/// span's context in the headers. Answers of 400 and up mark the span
/// Error, as the HTTP conventions ask of client spans.
#[traced(
    "POST",
    kind = client,
    attrs(
        http.request.method = "POST",
        url.full = %url,
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default().unwrap_or_default(),
    )
)]
async fn call(client: &Client, url: Url, arguments: &[Action]) -> Result<u16, reqwest::Error> {
    let span = Span::current();
    let mut headers = HeaderMap::new();
    propagation::inject(&mut headers);
    let response = client
        .post(url)
        .headers(headers)
        .json(arguments)
        .send()
        .await?;
    let status = response.status();
    span.set_attribute("http.response.status_code", status.as_u16());
    if status.is_client_error() || status.is_server_error() {
        span.set_attribute("error.type", status.as_str());
        span.set_status(Status::error(status.to_string()));
    }
    Ok(status.as_u16())
}

/// `POST /test`: performs the actions one after the other, under the
/// request's server span, and reports each one's outcome.
async fn test(
    State(client): State<Client>,
    Json(actions): Json<Vec<Action>>,
) -> Json<Vec<Outcome>> {
    let mut outcomes = Vec::with_capacity(actions.len());
    for action in actions {
        let outcome = match action.url.parse::<Url>() {
            Ok(url) => match call(&client, url, &action.arguments).await {
                Ok(status) => Outcome::Status(status),
                Err(error) => Outcome::Failed(error.to_string()),
            },
            Err(error) => Outcome::Failed(format!("{}: {error}", action.url)),
        };
        outcomes.push(outcome);
    }
    Json(outcomes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| format!("{arg}: {e}"))?,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let _traced = traced::builder()
        .with_default_service_name("w3c-service")
        .install();

    let client = Client::builder().timeout(CALLBACK_TIMEOUT).build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(address, client))?;
    // The runtime, then the pipeline guard, drop here: the last spans are
    // exported before the process exits.
    Ok(())
}

async fn serve(address: SocketAddr, client: Client) -> std::io::Result<()> {
    let app = Router::new()
        .route("/test", post(test))
        .with_state(client)
        // One server span per request, `POST /test`, under the caller's
        // span from the `traceparent` and `tracestate` headers.
        .layer(TraceLayer::new().with_route(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>()?;
            Some(route.as_str().to_owned())
        }));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await
}

/// Resolves on Ctrl-C, or on SIGTERM (what docker, Kubernetes and systemd
/// send), so that the guard drops and flushes.
async fn stopped() {
    let stop = Arc::new(Notify::new());
    tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.notify_one();
            }
        }
    });
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            if terminate.recv().await.is_some() {
                stop.notify_one();
            }
        });
    }
    stop.notified().await;
}
