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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use traced::propagation::{self, Propagator};
use traced::{span, traced};

#[traced]
fn do_stuff(n: u32) -> u32 {
    n * 2
}

/// `service1`: serves one request, continuing the caller's B3 context.
fn service1(listener: &TcpListener) -> std::io::Result<()> {
    let (mut stream, _) = listener.accept()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
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
    let body = span!("index", kind: server, parent: propagation::extract(&headers), {
        format!("result {}", do_stuff(21))
    });
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `demo`: calls service1 with the current span in B3 headers.
fn call_service1(port: u16) -> std::io::Result<String> {
    span!("call service1", kind: client, {
        let mut headers: HashMap<String, String> = HashMap::new();
        propagation::inject(&mut headers);
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("GET /index HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
        for (name, value) in &headers {
            request.push_str(name);
            request.push_str(": ");
            request.push_str(value);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
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
