//! The Zipkin seed: a `demo` client calls `service1` with B3 headers, and
//! `service1` does its work in a nested span; the spans go to Zipkin.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=zipkin cargo run -p traced-examples --bin zipkin_demo
//! ```
//! sends Zipkin v2 JSON to `OTEL_EXPORTER_ZIPKIN_ENDPOINT` (default
//! `http://localhost:9411/api/v2/spans`, a local Zipkin). Without it, the
//! spans print as a tree. Look for one trace: `demo` → `call service1`
//! (client) → `index` (server, parent taken from the `b3` header) →
//! `do_stuff`.

use std::collections::HashMap;
use std::net::TcpListener;

use traced::propagation::{self, Propagator};
use traced::{span, traced};
use traced_examples::http;

#[traced]
fn do_stuff(n: u32) -> u32 {
    n * 2
}

/// `service1`: serves one request, continuing the caller's B3 context.
fn service1(listener: &TcpListener) -> std::io::Result<()> {
    let (mut stream, _) = listener.accept()?;
    let (_, headers) = http::read_request(&stream)?;
    let body = span!("index", kind: server, parent: propagation::extract(&headers), {
        format!("result {}", do_stuff(21))
    });
    http::respond(&mut stream, &body)
}

/// `demo`: calls service1 with the current span in B3 headers.
fn call_service1(port: u16) -> std::io::Result<String> {
    span!("call service1", kind: client, {
        let mut headers: HashMap<String, String> = HashMap::new();
        propagation::inject(&mut headers);
        http::get(port, "/index", &headers)
    })
}

fn main() -> std::io::Result<()> {
    let _traced = traced::builder()
        .with_service_name("demo")
        .with_propagators(&[Propagator::B3])
        .install();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || service1(&listener));
    let body = span!("demo", { call_service1(port) })?;
    server.join().expect("service1 thread")?;
    println!("{body}");
    Ok(())
}
