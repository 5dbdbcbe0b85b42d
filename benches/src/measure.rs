//! The measurement loops, shared by the criterion benches, the table and
//! the smoke test, so all three measure the same thing.
//!
//! One measurement runs a scenario's work `iterations` times on each of its
//! threads, in chunks of about [`CHUNK_SPANS`] spans. Each chunk is timed
//! twice: the calling threads' time (the work alone), and the whole
//! process's time up to a flush that has delivered every span of the chunk
//! to the counting exporter, so the background work (conversion to
//! `SpanData`, batching, export) is included. Flushing after every chunk
//! keeps the spans in flight well below every peer's queue capacity.

use std::hint::black_box;
use std::sync::{mpsc, Arc, Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::peers::{Peer, Pipeline};
use crate::scenario::{Scenario, Work};

/// Spans produced between two flushes, at most (at least one iteration).
pub const CHUNK_SPANS: u64 = 50_000;

/// The outcome of one measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measurement {
    /// Spans made in the timed part (every thread, every iteration).
    pub timed_spans: u64,
    /// Spans made in all (timed ones and the threads' warm-up iterations).
    pub created: u64,
    /// Spans the exporter received during the measurement.
    pub delivered: u64,
    /// Spans the pipeline reported dropping during the measurement, for
    /// peers that count them.
    pub dropped: Option<u64>,
    /// Whether every flush reported success.
    pub flushed: bool,
    /// Threads producing spans at once.
    pub threads: usize,
    /// Time spent in the work on a calling thread (the mean over threads).
    pub calling: Duration,
    /// Wall time from the start of the work until a flush had delivered it.
    pub process: Duration,
    /// CPU time of the whole process (every thread) over the same span of
    /// time as `process`, where the platform can tell.
    pub cpu: Option<Duration>,
}

impl Measurement {
    /// Calling-thread time per span the thread made.
    pub fn calling_ns_per_span(&self) -> f64 {
        per_span(self.calling, self.timed_spans / self.threads as u64)
    }

    /// Whole-process wall time per span, until delivered.
    pub fn process_ns_per_span(&self) -> f64 {
        per_span(self.process, self.timed_spans)
    }

    /// Whole-process CPU time per span.
    pub fn cpu_ns_per_span(&self) -> Option<f64> {
        self.cpu.map(|cpu| per_span(cpu, self.timed_spans))
    }

    /// Whether the exporter received every span made, and nothing was
    /// reported dropped.
    pub fn all_delivered(&self) -> bool {
        self.delivered == self.created && self.dropped.unwrap_or(0) == 0
    }

    fn add(&mut self, chunk: &Measurement) {
        self.timed_spans += chunk.timed_spans;
        self.created += chunk.created;
        self.calling += chunk.calling;
        self.process += chunk.process;
        self.cpu = self.cpu.zip(chunk.cpu).map(|(a, b)| a + b);
        self.flushed &= chunk.flushed;
    }
}

#[allow(clippy::cast_precision_loss)] // span counts and nanoseconds stay far below 2^52
fn per_span(time: Duration, spans: u64) -> f64 {
    time.as_nanos() as f64 / spans.max(1) as f64
}

/// Runs `scenario` for `peer` `iterations` times per thread, installing the
/// peer's pipeline first if needed.
pub fn measure(peer: Peer, scenario: Scenario, iterations: u64) -> Measurement {
    let pipeline = peer.pipeline();
    let work = scenario.work();
    let threads = scenario.threads();
    // Whatever an earlier measurement left is delivered before this one.
    let mut total = Measurement {
        flushed: pipeline.flush(),
        threads,
        cpu: process_cpu_time().map(|_| Duration::ZERO),
        ..Measurement::default()
    };
    let delivered_before = pipeline.delivered();
    let dropped_before = pipeline.dropped();
    let chunk = (CHUNK_SPANS / (work.spans() * threads as u64)).max(1);
    let mut remaining = iterations;
    while remaining > 0 {
        let n = remaining.min(chunk);
        remaining -= n;
        let measured = if threads == 1 {
            on_this_thread(peer, pipeline, work, n)
        } else {
            on_threads(peer, pipeline, work, n, threads)
        };
        total.add(&measured);
    }
    total.delivered = pipeline.delivered() - delivered_before;
    total.dropped = pipeline
        .dropped()
        .zip(dropped_before)
        .map(|(after, before)| after - before);
    total
}

fn on_this_thread(peer: Peer, pipeline: &Pipeline, work: Work, iterations: u64) -> Measurement {
    let cpu_start = process_cpu_time();
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(peer.run(work));
    }
    let calling = start.elapsed();
    let flushed = pipeline.flush();
    let process = start.elapsed();
    let spans = iterations * work.spans();
    Measurement {
        timed_spans: spans,
        created: spans,
        flushed,
        threads: 1,
        calling,
        process,
        cpu: cpu_since(cpu_start),
        ..Measurement::default()
    }
}

fn on_threads(
    peer: Peer,
    pipeline: &Pipeline,
    work: Work,
    iterations: u64,
    threads: usize,
) -> Measurement {
    // Two rendezvous: after every thread's warm-up iteration (untimed), and
    // at the start.
    let barrier = Arc::new(Barrier::new(threads + 1));
    let (done, finished) = mpsc::channel();
    producers(threads, |producer| {
        let barrier = Arc::clone(&barrier);
        let done = done.clone();
        producer
            .send(Box::new(move || {
                black_box(peer.run(work));
                barrier.wait();
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iterations {
                    black_box(peer.run(work));
                }
                // The receiver waits for every producer.
                let _ = done.send(start.elapsed());
            }))
            .expect("the producer threads live as long as the process");
    });
    drop(done);
    barrier.wait();
    let mut flushed = pipeline.flush();
    let cpu_start = process_cpu_time();
    let start = Instant::now();
    barrier.wait();
    let calling: Duration = (0..threads)
        .map(|_| finished.recv().expect("a bench thread panicked"))
        .sum();
    flushed &= pipeline.flush();
    let process = start.elapsed();
    let per_thread = work.spans();
    Measurement {
        timed_spans: iterations * per_thread * threads as u64,
        created: (iterations + 1) * per_thread * threads as u64,
        flushed,
        threads,
        calling: calling / u32::try_from(threads).expect("a few threads"),
        process,
        cpu: cpu_since(cpu_start),
        ..Measurement::default()
    }
}

/// Work for a producer thread.
type Job = Box<dyn FnOnce() + Send>;

/// Hands a job to each of the first `threads` producer threads, started at
/// the first use and then kept for the whole process, as a server keeps its
/// worker threads. A thread started per measurement would make every peer
/// set up its per-thread state again each time: for traced that is a new
/// ring whose memory (44 MiB at a 131 072 queue) is touched for the first
/// time by the measured spans, a page fault every 12 records (see
/// BENCHMARKS.md, "Two producing threads").
fn producers(threads: usize, mut give: impl FnMut(&mpsc::Sender<Job>)) {
    static PRODUCERS: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());
    let mut producers = PRODUCERS.lock().unwrap_or_else(PoisonError::into_inner);
    while producers.len() < threads {
        let (jobs, next) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name(format!("producer-{}", producers.len()))
            .spawn(move || {
                for job in next {
                    job();
                }
            })
            .expect("a producer thread");
        producers.push(jobs);
    }
    producers[..threads].iter().for_each(&mut give);
}

/// Time of `calls` calls of `call` with distinct arguments. The pointer
/// is hidden from the optimizer, so every function measured this way is
/// called the same way (indirectly, not inlined).
pub fn per_call(call: fn(i64) -> i64, calls: i64) -> Duration {
    let call = black_box(call);
    let start = Instant::now();
    for i in 0..calls {
        black_box(call(black_box(i)));
    }
    start.elapsed()
}

/// CPU time used so far by every thread of this process.
#[cfg(unix)]
pub fn process_cpu_time() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut now) };
    if status != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(now.tv_sec).ok()?,
        u32::try_from(now.tv_nsec).ok()?,
    ))
}

/// CPU time used so far by every thread of this process.
#[cfg(not(unix))]
pub fn process_cpu_time() -> Option<Duration> {
    None
}

fn cpu_since(start: Option<Duration>) -> Option<Duration> {
    Some(process_cpu_time()?.saturating_sub(start?))
}

/// The middle value of `values` (the upper one of the two middles for an
/// even count), for the bins that report medians over runs.
///
/// # Panics
/// If `values` is empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The total instruction count (`Ir`) in the text of one callgrind output
/// file: its `totals:` line, or `summary:` where the run ended without one.
pub fn callgrind_total(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let total = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))?;
        total.split_whitespace().next()?.parse().ok()
    })
}
