//! An OTLP/HTTP receiver on 127.0.0.1 for the benchmarks that export for
//! real (`delivery`, `profile --otlp`), which also takes JSON bodies (OTLP/HTTP
//! JSON, Zipkin) without decoding them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// An OTLP/HTTP receiver on 127.0.0.1: reads each request (keep-alive or
/// not), decodes it, counts its spans and answers 200.
#[derive(Debug)]
pub struct Receiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Spans decoded so far.
    pub spans: Arc<AtomicU64>,
}

impl Receiver {
    /// Listens on an ephemeral port; serves each connection on a thread of its own.
    #[must_use]
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        let spans = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&spans);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = Arc::clone(&counted);
                thread::spawn(move || serve(stream, &counted));
            }
        });
        Receiver { port, spans }
    }
}

fn serve(stream: TcpStream, spans: &AtomicU64) {
    let mut writer = stream.try_clone().expect("a second handle");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut close = false;
        let mut json = false;
        let mut line = String::new();
        // The request line, then headers up to the empty line.
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = trimmed.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("content-type") {
                    json = value.starts_with("application/json");
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // JSON (OTLP/HTTP JSON, Zipkin) is read, not decoded: `profile` counts its spans
        // from the pipeline's stats.
        if !json {
            let request =
                ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
            let count: usize = (request.resource_spans.iter())
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            spans.fetch_add(count as u64, Ordering::SeqCst);
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(answer.as_bytes()).is_err() || close {
            return;
        }
    }
}
