//! Interop with the Python OpenTelemetry SDK from the Python package index, over real HTTP on
//! 127.0.0.1: a reqwest client with traced's `ClientMiddleware` calls a Flask service instrumented with
//! opentelemetry-instrumentation-flask, and a Python client instrumented
//! with opentelemetry-instrumentation-requests calls a traced Rust server.
//! Both sides export OTLP/HTTP to a receiver in this test, which decodes
//! with opentelemetry-proto and checks that each request is one trace with
//! the right parent links across the languages.
//!
//! The Python packages are installed on first use into a virtualenv in
//! cargo's target directory ([`traced_tests::python_venv`]), so `cargo test`
//! needs nothing set up beforehand.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest_middleware::ClientBuilder;
use traced::export::otlp::OtlpConfig;
use traced::http::ClientMiddleware;
use traced::propagation::{self, Propagator};
use traced::span;
use traced_tests::{command_without_otel, python_venv, read_head, receiver, Received};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

fn python_command(otlp_port: u16) -> Command {
    let mut command = command_without_otel(
        python_venv(Path::new(env!("CARGO_TARGET_TMPDIR")))
            .join("bin")
            .join("python"),
    );
    command
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp_port}"),
        )
        .env("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
        .env("PYTHONUNBUFFERED", "1");
    command
}

/// The port from the first line, `listening on PORT`, that `child` prints
/// on its piped stdout within `limit`.
fn listening_port(child: &mut Child, limit: Duration) -> u16 {
    let stdout = child.stdout.take().expect("piped stdout");
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(limit)
        .expect("the Flask server did not start");
    line.trim()
        .strip_prefix("listening on ")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
}

/// Kills the child process when dropped, so a failing test leaves nothing.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Installs traced with the OTLP exporter aimed at the test's receiver.
fn install_rust(otlp_port: u16, service: &str) -> traced::PipelineGuard {
    propagation::set_propagators(&[Propagator::TraceContext, Propagator::Baggage]);
    let exporter = OtlpConfig {
        endpoint: format!("http://127.0.0.1:{otlp_port}/v1/traces"),
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap();
    traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_service_name(service)
        .install()
}

/// A received span with its service's name.
struct Received2 {
    service: String,
    span: Span,
}

fn decode(request: &Received) -> Vec<Received2> {
    let export = ExportTraceServiceRequest::decode(request.body.as_slice()).expect("OTLP protobuf");
    let mut spans = Vec::new();
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                _ => String::new(),
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(Received2 {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    spans
}

/// Collects spans until `done` holds (or 20 s pass).
fn collect(
    requests: &mpsc::Receiver<Received>,
    done: impl Fn(&[Received2]) -> bool,
) -> Vec<Received2> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut spans = Vec::new();
    while !done(&spans) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "spans did not all arrive; got {:?}",
            spans
                .iter()
                .map(|s| (&s.service, &s.span.name))
                .collect::<Vec<_>>()
        );
        if let Ok(request) = requests.recv_timeout(left) {
            spans.extend(decode(&request));
        }
    }
    spans
}

fn find<'a>(spans: &'a [Received2], service: &str, kind: SpanKind) -> &'a Span {
    &spans
        .iter()
        .find(|s| s.service == service && s.span.kind == kind as i32)
        .unwrap_or_else(|| panic!("no {kind:?} span from {service}"))
        .span
}

#[test]
fn a_traced_client_and_a_flask_server_share_one_trace() {
    let _lock = traced_tests::lock();
    let (otlp_port, requests) = receiver(100);
    let mut server = Killed(
        python_command(otlp_port)
            .arg(script("server.py"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Flask server"),
    );
    let port = listening_port(&mut server.0, Duration::from_secs(30));
    let guard = install_rust(otlp_port, "rust-client");
    // The client span and its `traceparent` come from the middleware.
    let client = ClientBuilder::new(
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
    .with(ClientMiddleware::default())
    .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let body = runtime.block_on(async {
        let url = format!("http://127.0.0.1:{port}/hello");
        let response = client.get(url).send().await.unwrap();
        response.text().await.unwrap()
    });
    drop(runtime);
    drop(guard);
    assert_eq!(body, "hello from python");

    let spans = collect(&requests, |spans| {
        spans.iter().any(|s| s.service == "rust-client")
            && spans
                .iter()
                .any(|s| s.service == "python-server" && s.span.name == "python-work")
            && spans
                .iter()
                .any(|s| s.service == "python-server" && s.span.kind == SpanKind::Server as i32)
    });
    let client = find(&spans, "rust-client", SpanKind::Client);
    let server = find(&spans, "python-server", SpanKind::Server);
    assert_eq!(client.name, "GET", "the middleware's client span");
    let work = spans
        .iter()
        .find(|s| s.span.name == "python-work")
        .map(|s| &s.span)
        .unwrap();
    assert_eq!(
        server.trace_id, client.trace_id,
        "one trace across Rust and Python"
    );
    assert_eq!(
        server.parent_span_id, client.span_id,
        "the Flask span's parent is the Rust client span"
    );
    assert_eq!(work.trace_id, client.trace_id);
    assert_eq!(work.parent_span_id, server.span_id);
}

#[test]
fn a_requests_client_and_a_traced_server_share_one_trace() {
    let _lock = traced_tests::lock();
    let (otlp_port, requests) = receiver(100);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let guard = install_rust(otlp_port, "rust-server");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let headers: HashMap<String, String> =
            read_head(&mut reader).unwrap().1.into_iter().collect();
        let body = span!("GET /hello", kind: server, parent: propagation::extract(&headers), {
            span!("rust-work", { "hello from rust" })
        });
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).unwrap();
    });
    let output = python_command(otlp_port)
        .arg(script("client.py"))
        .arg(format!("http://127.0.0.1:{port}/hello"))
        .output()
        .expect("run the Python client");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "hello from rust"
    );
    server.join().unwrap();
    drop(guard);

    let spans = collect(&requests, |spans| {
        spans
            .iter()
            .any(|s| s.service == "rust-server" && s.span.kind == SpanKind::Server as i32)
            && spans
                .iter()
                .any(|s| s.service == "python-client" && s.span.kind == SpanKind::Client as i32)
    });
    let client = find(&spans, "python-client", SpanKind::Client);
    let server = find(&spans, "rust-server", SpanKind::Server);
    assert_eq!(
        server.trace_id, client.trace_id,
        "one trace across Python and Rust"
    );
    assert_eq!(
        server.parent_span_id, client.span_id,
        "the Rust server span's parent is the requests span"
    );
    let work = spans
        .iter()
        .find(|s| s.span.name == "rust-work")
        .map(|s| &s.span)
        .unwrap();
    assert_eq!(work.parent_span_id, server.span_id);
}
