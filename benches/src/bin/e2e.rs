//! End to end (issue 15): spans exported for real, over OTLP/HTTP
//! protobuf, to a receiver on 127.0.0.1 that reads, decodes
//! (opentelemetry-proto) and acknowledges every request and counts the
//! spans that arrived.
//!
//! Peers, each with the exporter its stack ships: traced (`#[traced]`,
//! traced's own OTLP/HTTP exporter, `traced::builder()`); the
//! OpenTelemetry SDK (`in_span`, batch span processor, opentelemetry-otlp
//! with its blocking reqwest client); fastrace (`#[trace]`,
//! fastrace-opentelemetry, opentelemetry-otlp); `tracing` (`#[instrument]`,
//! tracing-opentelemetry, the SDK's batch processor, opentelemetry-otlp).
//! Work: 1 root + 100 children, in a loop on one thread, `--roots` times,
//! in chunks of 500 roots (50 500 spans) each followed by a flush, so a
//! queue of 65 536 spans has room for a whole chunk: without the flushes
//! a loop of 505 000 spans as fast as it can go outruns every peer's
//! export, and what is measured is mostly how fast each drops.
//!
//! Three kinds of process, all this program: the receiver
//! (`--receiver`), one process per peer and run (`--peer ID`), so each
//! peer's numbers are its own process's, and this one, which starts them
//! and prints the table. Per peer:
//! - calling thread: CPU time of the thread running the loop, per span
//!   made (its wall time would count the time other processes on the same
//!   cores take from it);
//! - whole process: CPU time of the peer's process, every thread (its
//!   batch processor, encoder, HTTP client), from the start of the loop
//!   until its last flush has returned, per span made; and the part of it
//!   spent in the kernel (`getrusage` system time: sending over loopback
//!   TCP, waking threads);
//! - delivered / created: what the receiver decoded against what was made.
//!
//! Each with every peer's default settings, and with a queue of 65 536
//! spans (`OTEL_BSP_MAX_QUEUE_SIZE` or the builder's equivalent; fastrace
//! has no queue setting and runs with its defaults in both).
//!
//! With `--callgrind DIR`, each peer process runs under valgrind's
//! callgrind instead (queue 65 536), for `--roots` and twice as many
//! roots, and the table gives instructions per span: the difference of
//! the two runs over the difference in spans, for the calling thread and
//! for every thread. Counts, so other processes on the machine do not
//! disturb them; the files stay in `DIR` for `callgrind_annotate`.
//!
//! ```text
//! cargo run -p traced-benches --release --bin e2e -- --callgrind target/callgrind --roots 500
//! cargo run -p traced-benches --release --bin e2e                 # 5 000 roots (505 000 spans), 3 runs, medians
//! cargo run -p traced-benches --release --bin e2e -- --quick      # 500 roots, 1 run
//! cargo run -p traced-benches --release --bin e2e -- --roots 10000 --runs 5
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use traced_benches::measure::{callgrind_total, median, process_cpu_time};
use traced_benches::receiver::{count, wait_for};
use traced_benches::{Peer, ReceiverProcess, Work};

/// The queue size of the second configuration.
const BIG_QUEUE: usize = 65_536;

/// Roots made between two flushes: 50 500 spans, less than [`BIG_QUEUE`].
const CHUNK_ROOTS: u64 = 500;

const USAGE: &str = "usage: e2e [--quick] [--roots N] [--runs N] [--callgrind DIR] \
    | e2e --receiver \
    | e2e --peer ID --port PORT --roots N [--queue N]";

/// What one peer process measured; printed by it as one line of
/// `key=value` pairs and parsed by the parent (and the smoke test).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Run {
    created: u64,
    delivered: u64,
    calling_ns: f64,
    cpu_ns: f64,
    /// The part of `cpu_ns` spent in the kernel (system time).
    sys_ns: f64,
}

impl Run {
    fn line(&self) -> String {
        format!(
            "created={} delivered={} calling_ns_per_span={:.1} cpu_ns_per_span={:.1} sys_ns_per_span={:.1}",
            self.created, self.delivered, self.calling_ns, self.cpu_ns, self.sys_ns
        )
    }

    fn parse(line: &str) -> Option<Run> {
        let fields: HashMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|f| f.split_once('='))
            .collect();
        Some(Run {
            created: fields.get("created")?.parse().ok()?,
            delivered: fields.get("delivered")?.parse().ok()?,
            calling_ns: fields.get("calling_ns_per_span")?.parse().ok()?,
            cpu_ns: fields.get("cpu_ns_per_span")?.parse().ok()?,
            sys_ns: fields.get("sys_ns_per_span")?.parse().ok()?,
        })
    }
}

/// System (kernel) CPU time used so far by every thread of this process.
fn system_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the call's duration.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    assert_eq!(status, 0, "getrusage");
    Duration::new(
        u64::try_from(usage.ru_stime.tv_sec).unwrap_or(0),
        u32::try_from(usage.ru_stime.tv_usec).unwrap_or(0) * 1_000,
    )
}

/// CPU time used so far by the calling thread: unlike its wall time, not
/// inflated when other processes share the cores.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut now) };
    assert_eq!(status, 0, "no thread CPU clock");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

#[allow(clippy::cast_precision_loss)] // span counts and nanoseconds stay far below 2^52
fn per_span(time: Duration, spans: u64) -> f64 {
    time.as_nanos() as f64 / spans.max(1) as f64
}

/// The peer process: installs `peer`'s OTLP pipeline, makes `roots` roots
/// of 100 children, flushes, and reads what the receiver on `port` got.
fn peer_process(peer: Peer, port: u16, roots: u64, queue: Option<usize>) -> Result<Run, String> {
    let before = count(port).map_err(|e| format!("the receiver: {e}"))?;
    let pipeline = peer
        .install_otlp(&traced_benches::receiver::endpoint(port), queue)
        .ok_or_else(|| format!("{peer} does not export over OTLP here"))?;
    let work = Work::RootChildren;
    let cpu_start = process_cpu_time().ok_or("no process CPU clock")?;
    let sys_start = system_time();
    let mut calling = Duration::ZERO;
    let mut flushed = true;
    let mut remaining = roots;
    while remaining > 0 {
        let n = remaining.min(CHUNK_ROOTS);
        remaining -= n;
        let thread_start = thread_cpu_time();
        for _ in 0..n {
            black_box(peer.run(work));
        }
        calling += thread_cpu_time().saturating_sub(thread_start);
        flushed &= pipeline.flush();
    }
    let cpu = process_cpu_time()
        .ok_or("no process CPU clock")?
        .saturating_sub(cpu_start);
    let sys = system_time();
    let created = roots * work.spans();
    // The flush has sent what it had; a peer whose flush returns earlier
    // gets a few seconds more (not counted as CPU: the polling is ours).
    let arrived = wait_for(
        port,
        before + created,
        Duration::from_millis(500),
        Duration::from_secs(10),
    )
    .map_err(|e| format!("the receiver: {e}"))?;
    if !flushed {
        eprintln!("{peer}: the flush reported a failure");
    }
    Ok(Run {
        created,
        delivered: arrived - before,
        calling_ns: per_span(calling, created),
        cpu_ns: per_span(cpu, created),
        sys_ns: per_span(sys.saturating_sub(sys_start), created),
    })
}

/// Runs one peer process and parses its line.
fn run_peer(peer: Peer, port: u16, roots: u64, queue: Option<usize>) -> Result<Run, String> {
    run_peer_in(peer, port, roots, queue, None)
}

/// [`run_peer`], under callgrind (one output file per thread, named after
/// `callgrind_out`) if given.
fn run_peer_in(
    peer: Peer,
    port: u16,
    roots: u64,
    queue: Option<usize>,
    callgrind_out: Option<&Path>,
) -> Result<Run, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = match callgrind_out {
        None => Command::new(exe),
        Some(out) => {
            let mut command = Command::new("valgrind");
            command.args(["--tool=callgrind", "--separate-threads=yes"]);
            // Not the static constructors before `main`: fastant's (fastrace's clock,
            // linked into every bench binary) calibrates the TSC by spinning for a
            // while, a count that depends on how fast valgrind runs.
            command.arg("--zero-before=main");
            command.arg(format!("--callgrind-out-file={}", out.display()));
            command.arg(exe);
            command
        }
    };
    command.args(["--peer", peer.id(), "--port", &port.to_string()]);
    command.args(["--roots", &roots.to_string()]);
    if let Some(queue) = queue {
        command.args(["--queue", &queue.to_string()]);
    }
    let output = command.output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{peer}: {}; {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    stdout
        .lines()
        .find_map(Run::parse)
        .ok_or_else(|| format!("{peer}: no result in {stdout:?}"))
}

/// Medians over runs, and the sums of created and delivered.
fn summarize(runs: &[Run]) -> Run {
    Run {
        created: runs.iter().map(|r| r.created).sum(),
        delivered: runs.iter().map(|r| r.delivered).sum(),
        calling_ns: median(runs.iter().map(|r| r.calling_ns).collect()),
        cpu_ns: median(runs.iter().map(|r| r.cpu_ns).collect()),
        sys_ns: median(runs.iter().map(|r| r.sys_ns).collect()),
    }
}

#[allow(clippy::cast_precision_loss)]
fn percent(run: &Run) -> f64 {
    run.delivered as f64 * 100.0 / run.created.max(1) as f64
}

struct Args {
    receiver: bool,
    peer: Option<Peer>,
    port: Option<u16>,
    queue: Option<usize>,
    roots: u64,
    runs: usize,
    callgrind: Option<PathBuf>,
}

fn number<T: std::str::FromStr>(arg: &str, value: Option<String>) -> Result<T, String> {
    value
        .and_then(|v| v.replace('_', "").parse().ok())
        .ok_or_else(|| format!("{arg} needs a number; {USAGE}"))
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        receiver: false,
        peer: None,
        port: None,
        queue: None,
        roots: 5_000,
        runs: 3,
        callgrind: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--receiver" => parsed.receiver = true,
            "--quick" => {
                parsed.roots = 500;
                parsed.runs = 1;
            }
            "--roots" => parsed.roots = number(&arg, args.next())?,
            "--runs" => parsed.runs = number::<usize>(&arg, args.next())?.max(1),
            "--callgrind" => {
                parsed.callgrind = Some(
                    args.next()
                        .ok_or_else(|| format!("--callgrind needs a directory; {USAGE}"))?
                        .into(),
                );
            }
            "--port" => parsed.port = Some(number(&arg, args.next())?),
            "--queue" => parsed.queue = Some(number(&arg, args.next())?),
            "--peer" => {
                let id = args.next().unwrap_or_default();
                parsed.peer = Some(
                    Peer::OTLP
                        .into_iter()
                        .find(|p| p.id() == id)
                        .ok_or_else(|| format!("no OTLP peer {id:?}; {USAGE}"))?,
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
        traced_benches::Receiver::serve_until_stdin_closes();
        return ExitCode::SUCCESS;
    }
    if let Some(peer) = args.peer {
        let Some(port) = args.port else {
            eprintln!("--peer needs --port; {USAGE}");
            return ExitCode::FAILURE;
        };
        return match peer_process(peer, port, args.roots, args.queue) {
            Ok(run) => {
                println!("{}", run.line());
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(dir) = &args.callgrind {
        return match callgrind(args.roots, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        };
    }
    match table(args.roots, args.runs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Every peer, both settings, `runs` processes each; prints the table.
fn table(roots: u64, runs: usize) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let receiver = ReceiverProcess::spawn(&exe, &["--receiver"]).map_err(|e| e.to_string())?;
    let spans = roots * Work::RootChildren.spans();
    println!(
        "{spans} spans per run ({roots} roots of 100 children, one thread), median of {runs} runs; \
         OTLP/HTTP protobuf to a receiver process on 127.0.0.1"
    );
    println!();
    println!("| peer | queue | calling thread ns/span | × traced | whole process CPU ns/span | × traced | of which kernel | whole / calling | delivered / created |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for queue in [None, Some(BIG_QUEUE)] {
        let mut results = Vec::new();
        for peer in Peer::OTLP {
            let mut measured = Vec::new();
            for _ in 0..runs {
                eprintln!("{peer}, queue {queue:?}");
                measured.push(run_peer(peer, receiver.port, roots, queue)?);
            }
            results.push((peer, summarize(&measured)));
        }
        let traced = results[0].1;
        for (peer, run) in results {
            let queue = queue.map_or_else(|| "default".to_owned(), |q| q.to_string());
            println!(
                "| {peer} | {queue} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} % ({} / {}) |",
                run.calling_ns,
                run.calling_ns / traced.calling_ns,
                run.cpu_ns,
                run.cpu_ns / traced.cpu_ns,
                run.sys_ns,
                run.cpu_ns / run.calling_ns,
                percent(&run),
                run.delivered,
                run.created,
            );
        }
    }
    Ok(())
}

/// Instructions (callgrind's `Ir`) of the main thread and of every thread
/// of one peer process under callgrind making `roots` roots.
fn instructions(peer: Peer, port: u16, roots: u64, dir: &Path) -> Result<(u64, u64), String> {
    let name = format!("callgrind.e2e.{}.{roots}.out", peer.id());
    let run = run_peer_in(peer, port, roots, Some(BIG_QUEUE), Some(&dir.join(&name)))?;
    if run.delivered != run.created {
        return Err(format!(
            "{peer}: {} of {} spans arrived",
            run.delivered, run.created
        ));
    }
    let mut main = None;
    let mut all = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let file = entry.file_name().to_string_lossy().into_owned();
        // One file per thread: `<name>-01` (the main thread), `<name>-02`, ...
        let Some(thread) = file.strip_prefix(&name).and_then(|t| t.strip_prefix('-')) else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let total = callgrind_total(&text).ok_or_else(|| format!("{file}: no totals"))?;
        all += total;
        if thread == "01" {
            main = Some(total);
        }
    }
    Ok((
        main.ok_or_else(|| format!("no main thread file for {name}"))?,
        all,
    ))
}

/// The callgrind table: instructions per span of every peer.
#[allow(clippy::cast_precision_loss)] // instruction counts stay far below 2^52
fn callgrind(roots: u64, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let receiver = ReceiverProcess::spawn(&exe, &["--receiver"]).map_err(|e| e.to_string())?;
    let spans = (roots * Work::RootChildren.spans()) as f64;
    let mut rows = Vec::new();
    for peer in Peer::OTLP {
        eprintln!("{peer} under callgrind");
        let once = instructions(peer, receiver.port, roots, dir)?;
        let twice = instructions(peer, receiver.port, 2 * roots, dir)?;
        let calling = twice.0.saturating_sub(once.0) as f64 / spans;
        let whole = twice.1.saturating_sub(once.1) as f64 / spans;
        rows.push((peer, calling, whole));
    }
    println!(
        "instructions per span under callgrind, queue {BIG_QUEUE}: \
         (Ir for {} roots - Ir for {roots}) / {spans} spans",
        2 * roots
    );
    println!();
    println!("| peer | calling thread instructions/span | × traced | whole process instructions/span | × traced | whole / calling |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (_, traced_calling, traced_whole) = rows[0];
    for (peer, calling, whole) in rows {
        println!(
            "| {peer} | {calling:.0} | {:.2} | {whole:.0} | {:.2} | {:.2} |",
            calling / traced_calling,
            whole / traced_whole,
            whole / calling
        );
    }
    Ok(())
}
