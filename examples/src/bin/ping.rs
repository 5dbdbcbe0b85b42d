//! Manual propagation over real HTTP, the way the OpenTelemetry "manual
//! instrumentation" example does it: a client injects its span into the
//! request headers, a server extracts it and continues the trace.
//!
//! ```text
//! cargo run -p traced-examples --bin ping
//! ```
//! starts a small HTTP server on 127.0.0.1 (a free port) and sends it three
//! requests. Everything is one trace: `ping-session` with three `ping`
//! client spans, and a `GET /ping` server span under each, although the
//! server only knew its caller through the `traceparent` header. The tree
//! prints each server span on its own (its parent is remote, as it would be
//! in another process) with the same trace id as the session. Add
//! `OTEL_PROPAGATORS=b3multi` to send B3 headers instead, or
//! `OTEL_TRACES_EXPORTER=console` to see the spans as JSON with their
//! `parent_id`s.

use std::collections::HashMap;
use std::net::TcpListener;

use traced::{propagation, span, traced, Span};
use traced_examples::http;

/// Serves `requests` requests, each in a server span continuing the
/// caller's trace.
fn serve(listener: &TcpListener, requests: usize) {
    for stream in listener.incoming().take(requests) {
        let Ok(mut stream) = stream else { continue };
        let Ok((request_line, headers)) = http::read_request(&stream) else {
            continue;
        };
        let body = span!("GET /ping", kind: server, parent: propagation::extract(&headers), http.request.method = "GET", {
            Span::current().set_attribute("http.route", "/ping");
            format!("pong: {request_line}")
        });
        let _ = http::respond(&mut stream, &body);
    }
}

/// Sends one request, with the current span in its headers.
#[traced(kind = client, attrs(server.port = port))]
fn ping(port: u16, n: u32) -> std::io::Result<String> {
    let mut headers: HashMap<String, String> = HashMap::new();
    propagation::inject(&mut headers);
    let body = http::get(port, &format!("/ping?n={n}"), &headers)?;
    Span::current().set_attribute("http.response.status_code", 200);
    Ok(body)
}

fn main() -> std::io::Result<()> {
    let _traced = traced::init();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || serve(&listener, 3));
    span!("ping-session", {
        for n in 1..=3 {
            println!("{}", ping(port, n)?);
        }
        Ok::<(), std::io::Error>(())
    })?;
    server.join().expect("server thread");
    Ok(())
}
