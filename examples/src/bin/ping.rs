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
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use traced::{propagation, span, traced, Span};

/// Reads one request: the request line and the headers (names lowercased).
fn read_request(stream: &TcpStream) -> std::io::Result<(String, HashMap<String, String>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Ok((line.trim_end().to_owned(), headers))
}

/// Serves `requests` requests, each in a server span continuing the
/// caller's trace.
fn serve(listener: &TcpListener, requests: usize) {
    for stream in listener.incoming().take(requests) {
        let Ok(mut stream) = stream else { continue };
        let Ok((request_line, headers)) = read_request(&stream) else {
            continue;
        };
        let body = span!("GET /ping", kind: server, parent: propagation::extract(&headers), http.request.method = "GET", {
            Span::current().set_attribute("http.route", "/ping");
            format!("pong: {request_line}")
        });
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes());
    }
}

/// Sends one request, with the current span in its headers.
#[traced(kind = client, attrs(server.port = port))]
fn ping(port: u16, n: u32) -> std::io::Result<String> {
    let mut headers: HashMap<String, String> = HashMap::new();
    propagation::inject(&mut headers);
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("GET /ping?n={n} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n");
    for (name, value) in &headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
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
