//! Shared helpers of the integration tests.
//!
//! The pipeline is process-wide, and the tests of one binary run on several
//! threads at once, so every test that records spans goes through
//! [`capture`], which holds a lock for the duration of the test.

use std::io::{BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;
use traced::export::{MemoryExporter, MemorySpans};

static PIPELINE_LOCK: Mutex<()> = Mutex::new(());

/// Holds the process-wide pipeline for one test.
pub fn lock() -> MutexGuard<'static, ()> {
    PIPELINE_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` with an in-memory pipeline (simple processor) installed and
/// returns its result and the spans it recorded, in end order.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let _lock = lock();
    let (exporter, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_service_name("traced-tests")
        .install();
    let result = f();
    drop(guard);
    (result, spans.spans())
}

/// An in-memory pipeline with the batch processor, for tests that look at
/// flushing and queueing. The caller holds [`lock`].
pub fn batch_pipeline(config: traced::BatchConfig) -> (traced::PipelineGuard, MemorySpans) {
    let (exporter, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(config)
        .install();
    (guard, spans)
}

/// The span named `name`; panics with the names present if there is none
/// or several.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, found {} among {:?}",
        found.len(),
        names(spans)
    );
    found[0]
}

/// Names of the spans, in order.
pub fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_ref()).collect()
}

/// Asserts `child` is a direct child of `parent`: same trace, parent link,
/// and lying within the parent's interval.
pub fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} and {} are in different traces",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
    assert!(
        child.start_time >= parent.start_time,
        "{} starts before its parent",
        child.name
    );
    assert!(
        child.end_time <= parent.end_time,
        "{} ends after its parent",
        child.name
    );
}

/// Asserts `span` is a root span.
pub fn assert_root(span: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{} has a parent",
        span.name
    );
}

/// The attribute `key` of a span.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The string attribute `key` of a span; panics if it has another type.
pub fn text_attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        opentelemetry::Value::String(s) => Some(s.as_str()),
        other => panic!("{}: {key} is {other:?}", span.name),
    }
}

/// The integer attribute `key` of a span; panics if it has another type.
pub fn int_attribute(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        opentelemetry::Value::I64(n) => Some(*n),
        other => panic!("{}: {key} is {other:?}", span.name),
    }
}

/// One received request: path, headers (lowercase names), body.
#[derive(Debug)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Accepts up to `max` requests on 127.0.0.1, answering 200 to each.
pub fn receiver(max: usize) -> (u16, mpsc::Receiver<Received>) {
    let (tx, rx) = mpsc::channel();
    let port = serve(max, move |request| {
        let _ = tx.send(request);
        reply(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf",
            b"",
        )
    });
    (port, rx)
}

/// Serves up to `max` requests on 127.0.0.1, one per connection, each answered with the
/// bytes `answer` gives for it (see [`reply`]); returns the port.
pub fn serve(max: usize, mut answer: impl FnMut(Received) -> Vec<u8> + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let Ok((line, headers)) = read_head(&mut reader) else {
                continue;
            };
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let response = answer(Received {
                path,
                headers,
                body,
            });
            let _ = stream.write_all(&response);
        }
    });
    port
}

/// A response: `head` (the status line and any header lines, without the blank line), then
/// `body`, and the connection closed after it.
pub fn reply(head: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "{head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// A batch pipeline exporting to the collector `config` names (with a 5 s timeout), which
/// exports only when flushed.
pub fn otlp_pipeline(config: traced::export::otlp::OtlpConfig) -> traced::PipelineGuard {
    let exporter = traced::export::otlp::OtlpConfig {
        timeout: Duration::from_secs(5),
        ..config
    }
    .build_exporter()
    .unwrap();
    traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(traced::BatchConfig {
            scheduled_delay: Duration::from_hours(1),
            ..Default::default()
        })
        .install()
}

/// Flushes `guard` until a flush says everything was delivered (a failed batch waiting for
/// its retry makes a flush say no), every 20 ms; panics after `within`, naming `what`.
pub fn flush_until_delivered(guard: &traced::PipelineGuard, within: Duration, what: &str) {
    let deadline = std::time::Instant::now() + within;
    while !guard.flush() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: never delivered"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A loopback port that was free a moment ago, for a server started by
/// another process.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct loopback ports that were free a moment ago (all are held
/// at once while they are picked, so no two are the same).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|listener| listener.local_addr().unwrap().port())
}

/// A loopback port nothing listens on, held so that no other test (or
/// process) can start listening on it while this value lives: the local
/// end of a connection kept open. A connection to it is refused.
///
/// A port taken from a listener that is then closed can be handed to the
/// next `bind("127.0.0.1:0")` of a test running at the same time, whose
/// server would then answer in place of the "down" collector.
#[derive(Debug)]
pub struct ClosedPort {
    pub port: u16,
    _listener: TcpListener,
    _held: std::net::TcpStream,
}

impl ClosedPort {
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let held = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let port = held.local_addr().unwrap().port();
        ClosedPort {
            port,
            _listener: listener,
            _held: held,
        }
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads an HTTP/1.1 request head (the examples' helper, shared).
pub use traced_examples::http::read_head;

/// A command for `program` that inherits no `OTEL_*` (or rotel `ROTEL_*`)
/// variable from the test environment, so each test sets exactly the
/// configuration it checks, and that reaches 127.0.0.1 without a proxy.
pub fn command_without_otel(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") || key.starts_with("ROTEL_") {
            command.env_remove(key);
        }
    }
    // The tests talk to 127.0.0.1 only: never through a proxy of the shell.
    let no_proxy = match std::env::var("NO_PROXY") {
        Ok(more) if !more.is_empty() => format!("127.0.0.1,localhost,{more}"),
        _ => "127.0.0.1,localhost".to_owned(),
    };
    command
        .env("NO_PROXY", &no_proxy)
        .env("no_proxy", &no_proxy);
    command
}

/// The packages of the interop tests' virtualenv: the Python OpenTelemetry
/// SDK, its OTLP/HTTP exporter and instrumentations, and the rotel collector
/// (pinned: it is an alpha, and its command line changes between releases), and the
/// generated OTLP messages (`opentelemetry-proto`, also a dependency of the exporter) that
/// parse OTLP JSON lines with protobuf's own JSON mapping.
pub const PYTHON_PACKAGES: [&str; 8] = [
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-proto",
    "opentelemetry-instrumentation-flask",
    "opentelemetry-instrumentation-requests",
    "flask",
    "requests",
    "rotel==0.0.1a15",
];

static VENV: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The interop tests' virtualenv, made on first use in `tmp` (the test's
/// `CARGO_TARGET_TMPDIR`: `python3 -m venv`, then `pip install` of [`PYTHON_PACKAGES`]
/// from the Python package index) and made again when that list changes.
pub fn python_venv(tmp: &Path) -> PathBuf {
    let mut venv = VENV.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(dir) = venv.as_ref() {
        return dir.clone();
    }
    let dir = tmp.join("interop-venv");
    let python = dir.join("bin").join("python");
    let ready = dir.join("ready");
    let wanted = PYTHON_PACKAGES.join("\n");
    // Test binaries may run at once (nextest): one makes the venv, the others wait.
    std::fs::create_dir_all(tmp).unwrap();
    let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .expect("python3 to create a venv");
        assert!(status.success(), "python3 -m venv failed");
        let output = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--retries",
                "10",
                "--timeout",
                "60",
            ])
            .args(PYTHON_PACKAGES)
            .output()
            .expect("pip to run");
        assert!(
            output.status.success(),
            "pip install failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&ready, wanted).unwrap();
    }
    *venv = Some(dir.clone());
    dir
}
