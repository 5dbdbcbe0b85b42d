//! Per-request cost of tracing an HTTP service (issue 15): one axum
//! service, `GET /items/{id}` answered through three nested async
//! functions, in three variants, each in a server process of its own:
//!
//! - `none`: no tracing at all;
//! - `traced`: `Router::layer(traced::http::TraceLayer::new().with_matched_path())`
//!   and `#[traced]` on the three functions, traced's OTLP/HTTP exporter
//!   (`traced::builder()`, default settings);
//! - `tower-http`: `Router::layer(tower_http::trace::TraceLayer::new_for_http())`
//!   and `#[tracing::instrument]` on the three functions, recorded by
//!   tracing-opentelemetry into the SDK's batch span processor and
//!   opentelemetry-otlp (blocking reqwest client), default settings;
//! - `tower-http-spans`: the same with tower-http's request and response
//!   events turned off (`on_request(())`, `on_response(())`), spans only
//!   like traced's.
//!
//! Both traced variants export to the same kind of receiver process on
//! 127.0.0.1 as `--bin e2e` (decodes every request and counts its spans).
//! This process drives each server with a bounded load: `--connections`
//! keep-alive HTTP/1.1 connections (hyper), `--requests` requests in all,
//! after a warm-up of 1 000 (untimed). It reports requests/s, p50 and
//! p99 latency, and the server process's CPU time per request (every
//! thread, read by the server itself with `CLOCK_PROCESS_CPUTIME_ID` on
//! demand, so the load generator's CPU is not in it), the overhead over
//! `none` and the ratio of traced's overhead to tower-http's. At the end
//! each server flushes and exits, and the receiver's count is shown
//! against 4 spans per request (`OTEL_BSP_MAX_QUEUE_SIZE` sets both
//! pipelines' queue). The program fails if traced's spans did not all
//! arrive.
//!
//! With `--callgrind DIR`, each server runs under valgrind's callgrind
//! instead, twice, for `--requests` and twice as many requests, and the
//! table gives the instructions per request (the difference of the two
//! runs' totals, every thread, over the difference in requests): counts
//! that other processes on the machine do not disturb. The output files
//! stay in `DIR` for `callgrind_annotate`.
//!
//! ```text
//! cargo run -p traced-benches --release --bin service -- --callgrind target/callgrind --requests 2000
//! cargo run -p traced-benches --release --bin service                # 20 000 requests, 16 connections, 3 runs
//! cargo run -p traced-benches --release --bin service -- --quick     # 2 000 requests, 1 run
//! cargo run -p traced-benches --release --bin service -- --requests 50000 --runs 5
//! ```

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use traced_benches::measure::{callgrind_total, median, process_cpu_time};
use traced_benches::receiver::{count, endpoint, wait_for};
use traced_benches::{Receiver, ReceiverProcess};

/// Spans per request in the traced variants: the server span and the three
/// nested functions.
const SPANS_PER_REQUEST: u64 = 4;

const USAGE: &str =
    "usage: service [--quick] [--requests N] [--warm-up N] [--connections N] [--runs N] \
    | service --receiver | service --serve none|traced|tower-http|tower-http-spans --port RECEIVER_PORT";

/// A variant of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    None,
    Traced,
    TowerHttp,
    /// The same without tower-http's two events per request (`DEBUG`
    /// "started processing request" and "finished processing request",
    /// which tracing-opentelemetry records as span events): spans only,
    /// like traced's.
    TowerHttpSpansOnly,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::None,
        Variant::Traced,
        Variant::TowerHttp,
        Variant::TowerHttpSpansOnly,
    ];

    fn id(self) -> &'static str {
        match self {
            Variant::None => "none",
            Variant::Traced => "traced",
            Variant::TowerHttp => "tower-http",
            Variant::TowerHttpSpansOnly => "tower-http-spans",
        }
    }

    fn spans_per_request(self) -> u64 {
        match self {
            Variant::None => 0,
            Variant::Traced | Variant::TowerHttp | Variant::TowerHttpSpansOnly => SPANS_PER_REQUEST,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::None => "no tracing",
            Variant::Traced => "traced `TraceLayer` + `#[traced]`",
            Variant::TowerHttp => {
                "tower-http `TraceLayer` + `#[instrument]` + tracing-opentelemetry"
            }
            Variant::TowerHttpSpansOnly => "the same, tower-http's request and response events off",
        })
    }
}

/// The three nested functions of each variant: the handler calls `load`,
/// which calls `fetch`, which calls `render`.
mod plain {
    pub async fn load(id: u64) -> String {
        fetch(id).await
    }

    async fn fetch(id: u64) -> String {
        render(std::hint::black_box(id)).await
    }

    #[allow(clippy::unused_async)] // async like its instrumented twins
    async fn render(id: u64) -> String {
        format!("item {id}")
    }
}

mod with_traced {
    use traced::traced;

    #[traced]
    pub async fn load(id: u64) -> String {
        fetch(id).await
    }

    #[traced]
    async fn fetch(id: u64) -> String {
        render(std::hint::black_box(id)).await
    }

    #[traced]
    async fn render(id: u64) -> String {
        format!("item {id}")
    }
}

mod with_tracing {
    use tracing::instrument;

    #[instrument(skip_all)]
    pub async fn load(id: u64) -> String {
        fetch(id).await
    }

    #[instrument(skip_all)]
    async fn fetch(id: u64) -> String {
        render(std::hint::black_box(id)).await
    }

    #[instrument(skip_all)]
    async fn render(id: u64) -> String {
        format!("item {id}")
    }
}

fn app(variant: Variant) -> Router {
    match variant {
        Variant::None => {
            Router::new().route("/items/{id}", get(|Path(id): Path<u64>| plain::load(id)))
        }
        Variant::Traced => Router::new()
            .route(
                "/items/{id}",
                get(|Path(id): Path<u64>| with_traced::load(id)),
            )
            .layer(traced::http::TraceLayer::new().with_matched_path()),
        Variant::TowerHttp => Router::new()
            .route(
                "/items/{id}",
                get(|Path(id): Path<u64>| with_tracing::load(id)),
            )
            .layer(tower_http::trace::TraceLayer::new_for_http()),
        Variant::TowerHttpSpansOnly => Router::new()
            .route(
                "/items/{id}",
                get(|Path(id): Path<u64>| with_tracing::load(id)),
            )
            .layer(
                tower_http::trace::TraceLayer::new_for_http()
                    .on_request(())
                    .on_response(()),
            ),
    }
}

/// Installs the variant's pipeline, exporting to the receiver on
/// `receiver_port`; returns what flushes and shuts it down.
fn install(variant: Variant, receiver_port: u16) -> Box<dyn FnOnce() + Send> {
    match variant {
        Variant::None => Box::new(|| {}),
        Variant::Traced => {
            let exporter = traced::export::otlp::OtlpConfig {
                endpoint: endpoint(receiver_port),
                ..traced::export::otlp::OtlpConfig::default()
            }
            .build_exporter()
            .expect("traced's OTLP/HTTP exporter");
            let guard = traced::builder().with_exporter(exporter).install();
            assert!(guard.is_active(), "unset OTEL_SDK_DISABLED");
            Box::new(move || {
                let stats = guard.shutdown();
                eprintln!("traced: {stats:?}");
            })
        }
        Variant::TowerHttp | Variant::TowerHttpSpansOnly => {
            use opentelemetry::trace::TracerProvider as _;
            use opentelemetry_otlp::{Protocol, WithExportConfig as _};
            use tracing_subscriber::layer::SubscriberExt as _;

            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint(receiver_port))
                .build()
                .expect("an opentelemetry-otlp exporter");
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .build();
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("service"));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("the only subscriber");
            Box::new(move || {
                let flushed = provider.force_flush();
                let shut = provider.shutdown();
                eprintln!("opentelemetry_sdk: flush {flushed:?}, shutdown {shut:?}");
            })
        }
    }
}

/// The server process: prints its port, then serves; on each `cpu` line
/// on stdin prints its CPU time so far in nanoseconds; when stdin closes,
/// flushes its pipeline, prints `done` and exits.
fn serve(variant: Variant, receiver_port: u16) -> ! {
    let shutdown = install(variant, receiver_port);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    println!("{}", listener.local_addr().expect("its address").port());
    std::io::stdout().flush().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            if line.is_ok_and(|l| l.trim() == "cpu") {
                let cpu = process_cpu_time().expect("a process CPU clock");
                println!("{}", cpu.as_nanos());
                std::io::stdout().flush().expect("stdout");
            }
        }
        shutdown();
        println!("done");
        std::io::stdout().flush().expect("stdout");
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        axum::serve(listener, app(variant)).await.expect("serving");
    });
    unreachable!("axum::serve returned");
}

/// A server process, seen from the load generator.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Server {
    /// Starts a server process; under callgrind, writing its counts to
    /// `callgrind_out`, if given.
    fn start(
        variant: Variant,
        receiver_port: u16,
        callgrind_out: Option<&std::path::Path>,
    ) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = match callgrind_out {
            None => Command::new(exe),
            Some(out) => {
                let mut command = Command::new("valgrind");
                command.arg("--tool=callgrind");
                // Not the static constructors before `main`: fastant's (fastrace's clock,
                // linked into every bench binary) calibrates the TSC by spinning for a
                // while, a count that depends on how fast valgrind runs.
                command.arg("--zero-before=main");
                command.arg(format!("--callgrind-out-file={}", out.display()));
                command.arg(exe);
                command
            }
        };
        let mut child = command
            .args([
                "--serve",
                variant.id(),
                "--port",
                &receiver_port.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("a piped stdout"));
        let mut server = Server {
            child,
            stdin,
            stdout,
            port: 0,
        };
        server.port = server.line()?.parse().map_err(|e| format!("port: {e}"))?;
        Ok(server)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim().to_owned())
    }

    /// The server process's CPU time so far.
    fn cpu(&mut self) -> Result<Duration, String> {
        let stdin = self.stdin.as_mut().ok_or("the server was stopped")?;
        stdin
            .write_all(b"cpu\n")
            .and_then(|()| stdin.flush())
            .map_err(|e| e.to_string())?;
        let nanos: u64 = self.line()?.parse().map_err(|e| format!("cpu: {e}"))?;
        Ok(Duration::from_nanos(nanos))
    }

    /// Closes its stdin: it flushes its pipeline and exits.
    fn stop(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let done = self.line()?;
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if done == "done" && status.success() {
            Ok(())
        } else {
            Err(format!("the server ended with {status}, saying {done:?}"))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `requests` requests to 127.0.0.1:`port` over `connections` keep-alive
/// connections; the latency of each, and the time they all took.
fn load(port: u16, requests: u64, connections: u64) -> Result<(Vec<Duration>, Duration), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|c| {
                let share = requests / connections + u64::from(c < requests % connections);
                tokio::spawn(connection(port, c, share))
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.map_err(|e| e.to_string())??);
        }
        Ok((latencies, start.elapsed()))
    })
}

/// One keep-alive connection sending `requests` requests one after the
/// other, each checked for a 200 and the right body.
async fn connection(port: u16, c: u64, requests: u64) -> Result<Vec<Duration>, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(usize::try_from(requests).unwrap_or(0));
    for i in 0..requests {
        let id = c * 1_000_000 + i;
        let request = hyper::Request::get(format!("/items/{id}"))
            .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        latencies.push(start.elapsed());
        if status != hyper::StatusCode::OK || body != format!("item {id}").as_bytes() {
            return Err(format!("GET /items/{id}: {status}, {body:?}"));
        }
    }
    Ok(latencies)
}

/// One variant's run.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    requests_per_s: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_request: Duration,
    /// Spans the receiver got against those made (requests × 4).
    delivered: u64,
    created: u64,
}

#[allow(clippy::cast_precision_loss)] // request counts stay far below 2^52
fn run_variant(
    variant: Variant,
    receiver: &ReceiverProcess,
    load_settings: &Args,
) -> Result<Run, String> {
    let Args {
        requests,
        warm_up,
        connections,
        ..
    } = *load_settings;
    let before = receiver.spans().map_err(|e| e.to_string())?;
    let mut server = Server::start(variant, receiver.port, None)?;
    load(server.port, warm_up, connections)?;
    let cpu_start = server.cpu()?;
    let (mut latencies, elapsed) = load(server.port, requests, connections)?;
    let cpu = server.cpu()?.saturating_sub(cpu_start);
    server.stop()?;
    let created = (warm_up + requests) * variant.spans_per_request();
    let arrived = wait_for(
        receiver.port,
        before + created,
        Duration::from_millis(500),
        Duration::from_secs(10),
    )
    .map_err(|e| e.to_string())?;
    latencies.sort();
    let at = |percent: usize| latencies[(latencies.len() - 1) * percent / 100];
    Ok(Run {
        requests_per_s: requests as f64 / elapsed.as_secs_f64(),
        p50: at(50),
        p99: at(99),
        cpu_per_request: cpu / u32::try_from(requests).map_err(|e| e.to_string())?,
        delivered: arrived - before,
        created,
    })
}

struct Args {
    receiver: bool,
    serve: Option<Variant>,
    port: Option<u16>,
    requests: u64,
    warm_up: u64,
    connections: u64,
    runs: usize,
    callgrind: Option<std::path::PathBuf>,
}

fn number<T: std::str::FromStr>(arg: &str, value: Option<String>) -> Result<T, String> {
    value
        .and_then(|v| v.replace('_', "").parse().ok())
        .ok_or_else(|| format!("{arg} needs a number; {USAGE}"))
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        receiver: false,
        serve: None,
        port: None,
        requests: 20_000,
        warm_up: 1_000,
        connections: 16,
        runs: 3,
        callgrind: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--receiver" => parsed.receiver = true,
            "--quick" => {
                parsed.requests = 2_000;
                parsed.runs = 1;
            }
            "--requests" => parsed.requests = number::<u64>(&arg, args.next())?.max(1),
            "--warm-up" => parsed.warm_up = number(&arg, args.next())?,
            "--connections" => parsed.connections = number::<u64>(&arg, args.next())?.max(1),
            "--runs" => parsed.runs = number::<usize>(&arg, args.next())?.max(1),
            "--callgrind" => {
                parsed.callgrind = Some(
                    args.next()
                        .ok_or_else(|| format!("--callgrind needs a directory; {USAGE}"))?
                        .into(),
                );
            }
            "--port" => parsed.port = Some(number(&arg, args.next())?),
            "--serve" => {
                let id = args.next().unwrap_or_default();
                parsed.serve = Some(
                    Variant::ALL
                        .into_iter()
                        .find(|v| v.id() == id)
                        .ok_or_else(|| format!("no variant {id:?}; {USAGE}"))?,
                );
            }
            _ => return Err(format!("unknown argument {arg}; {USAGE}")),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if args.receiver {
        Receiver::serve_until_stdin_closes();
        return ExitCode::SUCCESS;
    }
    if let Some(variant) = args.serve {
        let Some(port) = args.port else {
            eprintln!("--serve needs --port; {USAGE}");
            return ExitCode::FAILURE;
        };
        serve(variant, port);
    }
    if let Some(dir) = &args.callgrind {
        return match callgrind(&args, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        };
    }
    match table(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("some of traced's spans did not arrive");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Every variant `runs` times, interleaved; prints the table; whether
/// every span of traced's arrived.
fn table(args: &Args) -> Result<bool, String> {
    let Args {
        requests,
        warm_up,
        connections,
        runs,
        ..
    } = *args;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let receiver = ReceiverProcess::spawn(&exe, &["--receiver"]).map_err(|e| e.to_string())?;
    let _ = count(receiver.port).map_err(|e| e.to_string())?;
    let mut measured: Vec<Vec<Run>> = vec![Vec::new(); Variant::ALL.len()];
    for _ in 0..runs {
        for (i, variant) in Variant::ALL.into_iter().enumerate() {
            eprintln!("{variant}");
            measured[i].push(run_variant(variant, &receiver, args)?);
        }
    }
    let cpu: Vec<f64> = (measured.iter())
        .map(|runs| median(runs.iter().map(|r| micros(r.cpu_per_request)).collect()))
        .collect();
    let overhead = |i: usize| cpu[i] - cpu[0];
    println!(
        "{requests} requests over {connections} connections after {warm_up} untimed, \
         median of {runs} runs; the server's CPU per request is its whole process's; \
         OTEL_BSP_MAX_QUEUE_SIZE={}",
        std::env::var("OTEL_BSP_MAX_QUEUE_SIZE").unwrap_or_else(|_| "(unset)".to_owned())
    );
    println!();
    println!("| variant | requests/s | p50 µs | p99 µs | server CPU µs/request | overhead over none µs/request | overhead × tower-http's (× spans-only's) | spans delivered / created |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut all = true;
    for (i, variant) in Variant::ALL.into_iter().enumerate() {
        let runs = &measured[i];
        let delivered: u64 = runs.iter().map(|r| r.delivered).sum();
        let created: u64 = runs.iter().map(|r| r.created).sum();
        if variant == Variant::Traced {
            all &= delivered == created;
        }
        let (overhead, ratio) = if variant == Variant::None {
            ("–".to_owned(), "–".to_owned())
        } else {
            (
                format!("{:.2}", overhead(i)),
                format!(
                    "{:.2} (spans only: {:.2})",
                    overhead(i) / overhead(2),
                    overhead(i) / overhead(3)
                ),
            )
        };
        println!(
            "| {variant} | {:.0} | {:.0} | {:.0} | {:.2} | {overhead} | {ratio} | {delivered} / {created} |",
            median(runs.iter().map(|r| r.requests_per_s).collect()),
            median(runs.iter().map(|r| micros(r.p50)).collect()),
            median(runs.iter().map(|r| micros(r.p99)).collect()),
            cpu[i],
        );
    }
    Ok(all)
}

/// Instructions (callgrind's `Ir`, every thread) of one server process
/// that answered `warm_up + requests` requests, then flushed and exited.
fn instructions(
    variant: Variant,
    args: &Args,
    requests: u64,
    dir: &std::path::Path,
) -> Result<u64, String> {
    let receiver = ReceiverProcess::spawn(
        &std::env::current_exe().map_err(|e| e.to_string())?,
        &["--receiver"],
    )
    .map_err(|e| e.to_string())?;
    let out = dir.join(format!("callgrind.service.{}.{requests}.out", variant.id()));
    let server = Server::start(variant, receiver.port, Some(&out))?;
    load(server.port, args.warm_up + requests, args.connections)?;
    server.stop()?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    callgrind_total(&text).ok_or_else(|| format!("{}: no totals", out.display()))
}

/// The callgrind table: instructions per request of every variant.
#[allow(clippy::cast_precision_loss)] // instruction counts stay far below 2^52
fn callgrind(args: &Args, dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let n = args.requests;
    let mut per_request = Vec::new();
    for variant in Variant::ALL {
        eprintln!("{variant} under callgrind");
        let once = instructions(variant, args, n, dir)?;
        let twice = instructions(variant, args, 2 * n, dir)?;
        per_request.push(twice.saturating_sub(once) as f64 / n as f64);
    }
    let overhead = |i: usize| per_request[i] - per_request[0];
    println!(
        "instructions per request under callgrind, whole server process: \
         (Ir after {} requests - Ir after {n}) / {n}, {} connections",
        2 * n,
        args.connections
    );
    println!();
    println!("| variant | instructions/request | overhead over none | overhead × tower-http's (× spans-only's) |");
    println!("|---|---:|---:|---:|");
    for (i, variant) in Variant::ALL.into_iter().enumerate() {
        let (overhead, ratio) = if variant == Variant::None {
            ("–".to_owned(), "–".to_owned())
        } else {
            (
                format!("{:.0}", overhead(i)),
                format!(
                    "{:.2} ({:.2})",
                    overhead(i) / overhead(2),
                    overhead(i) / overhead(3)
                ),
            )
        };
        println!(
            "| {variant} | {:.0} | {overhead} | {ratio} |",
            per_request[i]
        );
    }
    Ok(())
}
