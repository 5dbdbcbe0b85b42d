//! An OTLP/HTTP receiver on 127.0.0.1 for the benchmarks that export for
//! real (`delivery`, `profile --otlp`, `e2e`, `service`), in this process
//! ([`Receiver::start`]) or in a child process of its own
//! ([`ReceiverProcess`]), so its CPU time is not counted as the tracer's. It
//! also takes JSON bodies (OTLP/HTTP JSON, Zipkin) without decoding them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

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

    /// The child-process side of [`ReceiverProcess`]: starts a receiver,
    /// prints its port on stdout, and serves until stdin is closed (the
    /// parent exited or dropped its [`ReceiverProcess`]).
    pub fn serve_until_stdin_closes() {
        let receiver = Receiver::start();
        println!("{}", receiver.port);
        std::io::stdout().flush().expect("stdout");
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    }
}

/// A [`Receiver`] in a child process: `program` run with `args`, which must
/// call [`Receiver::serve_until_stdin_closes`]. Its count is read over
/// HTTP (`GET /count`). Dropping it ends the child.
#[derive(Debug)]
pub struct ReceiverProcess {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ReceiverProcess {
    /// Starts the child and reads its port.
    pub fn spawn(program: &Path, args: &[&str]) -> std::io::Result<ReceiverProcess> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("a piped stdout")).read_line(&mut line)?;
        let port = line.trim().parse().map_err(|_| {
            std::io::Error::other(format!("the receiver printed {line:?}, not a port"))
        })?;
        Ok(ReceiverProcess { port, child, stdin })
    }

    /// The OTLP/HTTP traces endpoint, `http://127.0.0.1:port/v1/traces`.
    pub fn endpoint(&self) -> String {
        endpoint(self.port)
    }

    /// Spans the receiver has decoded so far.
    pub fn spans(&self) -> std::io::Result<u64> {
        count(self.port)
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The OTLP/HTTP traces endpoint of a receiver on 127.0.0.1:`port`.
pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v1/traces")
}

/// Spans the receiver on 127.0.0.1:`port` has decoded so far
/// (`GET /count`, one connection per call).
pub fn count(port: u16) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /count HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| body.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not a count: {answer:?}")))
}

/// Polls the receiver on `port` until it has decoded `expected` spans, or
/// its count has not moved for `quiet`, or `timeout` has passed; returns
/// the last count (which may exceed `expected` if more arrived).
pub fn wait_for(
    port: u16,
    expected: u64,
    quiet: Duration,
    timeout: Duration,
) -> std::io::Result<u64> {
    let start = Instant::now();
    let mut last = count(port)?;
    let mut moved = Instant::now();
    while last < expected && moved.elapsed() < quiet && start.elapsed() < timeout {
        thread::sleep(Duration::from_millis(2));
        let now = count(port)?;
        if now != last {
            last = now;
            moved = Instant::now();
        }
    }
    Ok(last)
}

fn serve(stream: TcpStream, spans: &AtomicU64) {
    let mut writer = stream.try_clone().expect("a second handle");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut close = false;
        let mut json = false;
        let mut line = String::new();
        let mut get = false;
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
            if first {
                get = trimmed.starts_with("GET ");
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
        if get {
            // `GET /count`: the spans decoded so far.
            let count = spans.load(Ordering::SeqCst).to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{count}",
                count.len()
            );
            if writer.write_all(answer.as_bytes()).is_err() || close {
                return;
            }
            continue;
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
