//! Does what traced records leave the process? The end-to-end delivery
//! measurements of issue 15, each with traced's default settings unless
//! said otherwise:
//!
//! - one thread in a tight loop (1 root + 100 children, repeated for a
//!   second) into a counting `SpanExporter`, and into traced's OTLP/HTTP
//!   exporter to the receiver below: delivered / created;
//! - the same with a CPU-bound process running beside it, and two threads
//!   at once;
//! - bursts of 10 000, 100 000 and 200 000 spans from one thread into traced's
//!   OTLP/HTTP exporter, sent to a receiver on 127.0.0.1 that reads,
//!   decodes (opentelemetry-proto) and acknowledges every request;
//! - 4 threads producing 50 000 spans at once into the same receiver.
//!
//! Every line also checks the accounting: created = delivered + dropped +
//! failed, from `PipelineGuard::shutdown()`'s final counts and what the
//! receiver decoded. The program exits non-zero if that does not hold.
//!
//! ```text
//! cargo run -p traced-benches --release --bin delivery            # 3 runs each, medians
//! cargo run -p traced-benches --release --bin delivery -- --quick # 1 run each
//! cargo run -p traced-benches --release --bin delivery -- --only "tight loop"  # the rows naming it
//! ```

use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use traced::export::otlp::OtlpConfig;
use traced::{traced, BatchConfig, PipelineStats};
use traced_benches::measure::median;
use traced_benches::{CountingExporter, Receiver};

#[traced]
#[inline(never)]
fn child(i: u64) -> u64 {
    std::hint::black_box(i.wrapping_mul(3))
}

/// 1 root + 100 children: 101 spans.
#[traced]
#[inline(never)]
fn root() -> u64 {
    (0..100).map(child).fold(0, u64::wrapping_add)
}

/// `roots` roots of 100 children each; returns the spans made.
fn produce(roots: u64) -> u64 {
    for _ in 0..roots {
        std::hint::black_box(root());
    }
    roots * 101
}

/// One measurement: spans made, what arrived, the pipeline's counts, and
/// the calling thread's time per span.
struct Outcome {
    created: u64,
    delivered: u64,
    stats: PipelineStats,
    ns_per_span: f64,
}

impl Outcome {
    fn percent(&self) -> f64 {
        ratio(self.delivered, self.created) * 100.0
    }

    /// created = delivered + dropped + failed, and the exporter's count is
    /// the pipeline's.
    fn accounted(&self) -> bool {
        self.created == self.delivered + self.stats.dropped + self.stats.failed
            && self.delivered == self.stats.exported
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

#[allow(clippy::cast_precision_loss)]
fn per_span(elapsed: Duration, spans: u64) -> f64 {
    elapsed.as_nanos() as f64 / spans.max(1) as f64
}

/// Where the spans go: a counting `SpanExporter`, or traced's OTLP/HTTP
/// exporter to a receiver on 127.0.0.1 (which decodes and counts them).
#[derive(Clone, Copy)]
enum Sink<'a> {
    Counting,
    Otlp(&'a Receiver),
}

/// `threads` threads produce at once for `run_for` into `sink`.
fn hot_loop(threads: usize, run_for: Duration, config: BatchConfig, sink: Sink<'_>) -> Outcome {
    let exporter = CountingExporter::new();
    let builder = traced::builder().with_batch_processor(config);
    let (builder, before) = match sink {
        Sink::Counting => (builder.with_exporter(exporter.clone()), 0),
        Sink::Otlp(receiver) => (
            builder.with_exporter(otlp_exporter(receiver)),
            receiver.spans.load(Ordering::SeqCst),
        ),
    };
    let guard = builder.install();
    let producers: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                let started = Instant::now();
                let mut created = 0;
                while started.elapsed() < run_for {
                    created += produce(10);
                }
                (created, started.elapsed())
            })
        })
        .collect();
    let (created, elapsed) = producers
        .into_iter()
        .map(|p| p.join().unwrap())
        .fold((0, Duration::ZERO), |(c, e), (created, elapsed)| {
            (c + created, e + elapsed)
        });
    // Each thread's time over its own spans.
    let ns_per_span = per_span(elapsed, created);
    let stats = guard.shutdown();
    let delivered = match sink {
        Sink::Counting => exporter.delivered(),
        Sink::Otlp(receiver) => receiver.spans.load(Ordering::SeqCst) - before,
    };
    Outcome {
        created,
        delivered,
        stats,
        ns_per_span,
    }
}

/// traced's OTLP/HTTP exporter (protobuf, the default), to `receiver`.
fn otlp_exporter(receiver: &Receiver) -> traced::export::otlp::OtlpExporter {
    OtlpConfig {
        endpoint: format!("http://127.0.0.1:{}/v1/traces", receiver.port),
        ..OtlpConfig::default()
    }
    .build_exporter()
    .expect("an OTLP/HTTP exporter")
}

/// Spans produced by `threads` threads at once (`roots` roots each) into
/// traced's OTLP/HTTP exporter, sent to `receiver`.
fn to_otlp(receiver: &Receiver, threads: u64, roots: u64, config: BatchConfig) -> Outcome {
    let before = receiver.spans.load(Ordering::SeqCst);
    let guard = traced::builder()
        .with_exporter(otlp_exporter(receiver))
        .with_batch_processor(config)
        .install();
    let started = Instant::now();
    let producers: Vec<_> = (0..threads)
        .map(|_| thread::spawn(move || produce(roots)))
        .collect();
    let created: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let ns_per_span = per_span(started.elapsed(), created / threads);
    let stats = guard.shutdown();
    Outcome {
        created,
        delivered: receiver.spans.load(Ordering::SeqCst) - before,
        stats,
        ns_per_span,
    }
}

/// A CPU-bound process beside the measurement: this program, busy looping.
struct Hog(Child);

impl Hog {
    fn start() -> Hog {
        let exe = std::env::current_exe().expect("this program's path");
        Hog(Command::new(exe)
            .arg("--hog")
            .spawn()
            .expect("the hog process"))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `measure` `runs` times; prints one table row of medians and the
/// spread; returns whether every run accounted for every span.
fn row(name: &str, runs: usize, mut measure: impl FnMut() -> Outcome) -> bool {
    if only().is_some_and(|only| !name.contains(only.as_str())) {
        return true;
    }
    let outcomes: Vec<Outcome> = (0..runs).map(|_| measure()).collect();
    let percents: Vec<f64> = outcomes.iter().map(Outcome::percent).collect();
    let low = percents.iter().copied().fold(f64::INFINITY, f64::min);
    let ns = median(outcomes.iter().map(|o| o.ns_per_span).collect());
    let created: u64 = outcomes.iter().map(|o| o.created).sum();
    let delivered: u64 = outcomes.iter().map(|o| o.delivered).sum();
    let dropped: u64 = outcomes.iter().map(|o| o.stats.dropped).sum();
    let failed: u64 = outcomes.iter().map(|o| o.stats.failed).sum();
    let accounted = outcomes.iter().all(Outcome::accounted);
    println!(
        "| {name} | {:.2} % (lowest {low:.2} %) | {delivered} / {created} | {dropped} | {failed} | {ns:.0} | {} |",
        median(percents),
        if accounted { "yes" } else { "**no**" },
    );
    accounted
}

/// `--only TEXT`: run only the rows whose name contains TEXT.
fn only() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--only");
    args.next()?;
    Some(
        args.next()
            .expect("--only takes the text a row's name contains"),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--hog") {
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 3 };
    let second = Duration::from_secs(1);
    let defaults = BatchConfig::default();
    let queue_65536 = BatchConfig {
        max_queue_size: 65_536,
        ..BatchConfig::default()
    };
    let receiver = Receiver::start();

    println!("| measurement (traced, default settings unless said) | delivered, median of {runs} | delivered / created (all runs) | dropped | failed | calling thread ns/span | counted exactly |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut ok = true;
    ok &= row(
        "1 thread, tight loop for 1 s, counting exporter",
        runs,
        || hot_loop(1, second, defaults, Sink::Counting),
    );
    ok &= row("the same, OTEL_BSP_MAX_QUEUE_SIZE=65536", runs, || {
        hot_loop(1, second, queue_65536, Sink::Counting)
    });
    ok &= row(
        "1 thread, tight loop for 1 s, OTLP/HTTP to 127.0.0.1",
        runs,
        || hot_loop(1, second, defaults, Sink::Otlp(&receiver)),
    );
    ok &= row(
        "2 threads at once, tight loop for 1 s, counting exporter",
        runs,
        || hot_loop(2, second, defaults, Sink::Counting),
    );
    ok &= row("the same, OTEL_BSP_MAX_QUEUE_SIZE=65536", runs, || {
        hot_loop(2, second, queue_65536, Sink::Counting)
    });
    {
        let _hog = Hog::start();
        ok &= row(
            "1 thread, tight loop for 1 s, a CPU-bound process beside it",
            runs,
            || hot_loop(1, second, defaults, Sink::Counting),
        );
    }
    ok &= row(
        "burst of 10 100 spans (100 roots) to OTLP/HTTP on 127.0.0.1",
        runs,
        || to_otlp(&receiver, 1, 100, defaults),
    );
    ok &= row(
        "burst of 101 000 spans (1 000 roots) to OTLP/HTTP on 127.0.0.1",
        runs,
        || to_otlp(&receiver, 1, 1_000, defaults),
    );
    ok &= row(
        "burst of 202 000 spans (2 000 roots) to OTLP/HTTP on 127.0.0.1",
        runs,
        || to_otlp(&receiver, 1, 2_000, defaults),
    );
    ok &= row(
        "4 threads at once, 50 500 spans in all, to OTLP/HTTP on 127.0.0.1",
        runs,
        || to_otlp(&receiver, 4, 125, defaults),
    );
    if !ok {
        eprintln!("some spans were neither delivered nor counted");
        std::process::exit(1);
    }
}
