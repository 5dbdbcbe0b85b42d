//! The batch processor: delivery on flush and shutdown, bounded queue with
//! exact drop counts, exporters that fail or hang.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::{span, traced, BatchConfig};
use traced_tests::{batch_pipeline, lock, names};

#[traced]
fn step(i: u32) -> u32 {
    i
}

fn slow_config() -> BatchConfig {
    BatchConfig {
        scheduled_delay: Duration::from_hours(1),
        ..BatchConfig::default()
    }
}

#[test]
fn dropping_the_guard_flushes_everything() {
    let _lock = lock();
    let (guard, spans) = batch_pipeline(slow_config());
    for i in 0..10 {
        step(i);
    }
    assert!(
        spans.spans().is_empty(),
        "nothing exported before the delay or a flush"
    );
    drop(guard);
    assert_eq!(spans.spans().len(), 10);
    assert!(spans.is_shutdown());
}

#[test]
fn flush_delivers_every_span_ended_before_it() {
    let _lock = lock();
    let (guard, spans) = batch_pipeline(slow_config());
    span!("root", {
        for i in 0..3 {
            step(i);
        }
    });
    assert!(traced::flush());
    assert_eq!(names(&spans.spans()), ["step", "step", "step", "root"]);
    step(9);
    assert!(guard.flush());
    assert_eq!(spans.spans().len(), 5);
    assert_eq!(guard.stats().exported, 5);
    assert_eq!(guard.stats().dropped, 0);
}

#[test]
fn spans_from_many_threads_all_arrive() {
    let _lock = lock();
    let (guard, spans) = batch_pipeline(BatchConfig {
        max_queue_size: 100_000,
        max_export_batch_size: 64,
        scheduled_delay: Duration::from_millis(5),
        ..BatchConfig::default()
    });
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| (0..2_000).map(step).sum::<u32>()))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(guard);
    assert_eq!(spans.spans().len(), 8_000);
}

/// An exporter that blocks until released, counting what it receives.
#[derive(Debug, Clone, Default)]
struct Gate {
    open: Arc<Mutex<bool>>,
    received: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

impl SpanExporter for Gate {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        while !*self.open.lock().unwrap() {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.received.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_and_counts_exactly() {
    let _lock = lock();
    let gate = Gate::default();
    let guard = traced::builder()
        .with_exporter(gate.clone())
        .with_batch_processor(BatchConfig {
            max_queue_size: 100,
            max_export_batch_size: 10,
            scheduled_delay: Duration::from_millis(1),
            export_timeout: Duration::from_secs(30),
            // A few hundred records.
            max_buffer_bytes: 64 << 10,
        })
        .install();
    // Let the worker take a first batch and block in the exporter.
    step(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while gate.calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "worker never exported");
        std::thread::sleep(Duration::from_millis(1));
    }
    let started = Instant::now();
    for i in 0..10_000 {
        step(i);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "span end never blocks on the exporter"
    );
    // While the exporter is stuck this thread's ring holds at most 128 spans
    // (100 rounded up to a power of two), and the worker's buffer and the
    // thread's overflow rings 64 KiB of records together; the rest are
    // dropped and counted. The counters are read once the worker has
    // drained what the rings hold.
    std::thread::sleep(Duration::from_millis(50));
    let dropped = guard.stats().dropped;
    assert!(dropped >= 9_000, "dropped {dropped}");
    *gate.open.lock().unwrap() = true;
    assert!(
        !guard.flush(),
        "the flush reports that spans since the last one were dropped"
    );
    step(1);
    assert!(guard.flush(), "nothing lost since the previous flush");
    let stats = guard.stats();
    let received = gate.received.load(Ordering::SeqCst) as u64;
    assert_eq!(received, stats.exported);
    assert_eq!(
        received + stats.dropped,
        10_002,
        "every span is delivered or counted as dropped"
    );
    drop(guard);
}

#[derive(Debug)]
struct Failing;

impl SpanExporter for Failing {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure(
            "collector unreachable".into(),
        ))
    }
}

#[derive(Debug)]
struct Hanging;

impl SpanExporter for Hanging {
    fn export(
        &self,
        _batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::pending()
    }
}

#[test]
fn failing_and_hanging_exporters_do_not_block_the_application() {
    let _lock = lock();
    let guard = traced::builder()
        .with_exporter(Failing)
        .with_exporter(Hanging)
        .with_batch_processor(BatchConfig {
            export_timeout: Duration::from_millis(100),
            // Only the flush exports, so it is the flush that sees the failure.
            scheduled_delay: Duration::from_hours(1),
            ..BatchConfig::default()
        })
        .install();
    let started = Instant::now();
    for i in 0..100 {
        step(i);
    }
    assert!(!traced::flush(), "flush reports that export failed");
    assert_eq!(guard.stats().exported, 0);
    // The batch is kept for a retry until shutdown, which tries it once more.
    let stats = guard.shutdown();
    assert_eq!(stats.exported, 0);
    assert_eq!(stats.failed, 100, "every span counted as failed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn every_exporter_receives_every_span() {
    let _lock = lock();
    let (a, spans_a) = traced::export::MemoryExporter::new();
    let (b, spans_b) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(a)
        .with_exporter(b)
        .install();
    step(1);
    step(2);
    drop(guard);
    assert_eq!(spans_a.spans().len(), 2);
    assert_eq!(spans_a.spans(), spans_b.spans());
}

/// An exporter that itself runs traced code, as an instrumented HTTP client
/// would.
#[derive(Debug, Clone, Default)]
struct Reentrant {
    received: Arc<AtomicUsize>,
}

impl SpanExporter for Reentrant {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        step(99);
        span!("exporter work", {});
        self.received.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn an_exporter_running_traced_code_neither_deadlocks_nor_feeds_itself() {
    let _lock = lock();
    for simple in [true, false] {
        let exporter = Reentrant::default();
        let received = Arc::clone(&exporter.received);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let builder = traced::builder().with_exporter(exporter);
            let guard = if simple {
                builder.with_simple_processor().install()
            } else {
                builder.install()
            };
            for i in 0..5 {
                step(i);
            }
            drop(guard);
            done_tx.send(()).unwrap();
        });
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("deadlock with simple = {simple}"));
        assert_eq!(
            received.load(Ordering::SeqCst),
            5,
            "only the application's spans (simple = {simple})"
        );
    }
}

#[test]
fn a_second_install_leaves_the_first_pipeline_in_place() {
    let _lock = lock();
    let (first, first_spans) = traced::export::MemoryExporter::new();
    let (second, second_spans) = traced::export::MemoryExporter::new();
    let first = traced::builder().with_exporter(first).install();
    let second = traced::builder().with_exporter(second).install();
    assert!(first.is_active());
    assert!(!second.is_active(), "the later install is refused");
    span!("while both guards live", {});
    drop(second);
    span!("after the second guard is dropped", {});
    assert!(traced::flush());
    drop(first);
    assert_eq!(
        names(&first_spans.spans()),
        [
            "while both guards live",
            "after the second guard is dropped"
        ]
    );
    assert!(second_spans.spans().is_empty());
    // With the first guard gone, a new install works again.
    let (third, third_spans) = traced::export::MemoryExporter::new();
    let third = traced::builder().with_exporter(third).install();
    assert!(third.is_active());
    span!("third", {});
    drop(third);
    assert_eq!(names(&third_spans.spans()), ["third"]);
}

/// Never answers, and counts the exports it was given.
#[derive(Clone, Debug, Default)]
struct CountedHang(Arc<AtomicUsize>);

impl SpanExporter for CountedHang {
    fn export(
        &self,
        _batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::pending()
    }
}

#[test]
fn shutdown_with_a_hanging_collector_tries_one_export_and_counts_the_rest() {
    let _lock = lock();
    let exporter = CountedHang::default();
    let guard = traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig {
            max_export_batch_size: 10,
            export_timeout: Duration::from_millis(300),
            scheduled_delay: Duration::from_hours(1),
            ..BatchConfig::default()
        })
        .install();
    for i in 0..200 {
        step(i);
    }
    // The worker may already be exporting full batches (each hangs until
    // the timeout); shutdown lets at most the export in flight and one more
    // time out, and counts the rest as failed without trying them.
    let before = exporter.0.load(Ordering::SeqCst);
    let started = Instant::now();
    let stats = guard.shutdown();
    let took = started.elapsed();
    assert_eq!(
        (stats.created, stats.exported, stats.dropped, stats.failed),
        (200, 0, 0, 200),
        "every span is counted"
    );
    let tried = exporter.0.load(Ordering::SeqCst) - before;
    assert!(
        tried <= 1,
        "{tried} exports started after shutdown was asked for ({stats:?})"
    );
    // At most two export timeouts (2 × 300 ms) and the exporter's shutdown;
    // trying each of the 20 batches would take 20 × 300 ms.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// Fails its first `failures` exports, then delivers; counts calls and
/// spans received.
#[derive(Clone, Debug, Default)]
struct Flaky {
    failures: usize,
    calls: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
}

impl SpanExporter for Flaky {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(OTelSdkError::InternalFailure("collector down".into()));
        }
        self.received.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_flush_reports_failures_of_earlier_scheduled_exports() {
    let _lock = lock();
    let exporter = Flaky {
        failures: usize::MAX,
        ..Flaky::default()
    };
    let guard = traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig {
            scheduled_delay: Duration::from_millis(1),
            ..BatchConfig::default()
        })
        .install();
    step(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while exporter.calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the scheduled export never ran");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        !guard.flush(),
        "the span failed before the flush: it was not delivered"
    );
    assert!(!guard.flush(), "it still waits for a retry");
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (0, 1));
}

#[test]
fn batches_that_failed_are_delivered_when_the_collector_is_back() {
    let _lock = lock();
    let exporter = Flaky {
        failures: 3,
        ..Flaky::default()
    };
    let guard = traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig {
            max_export_batch_size: 50,
            scheduled_delay: Duration::from_millis(1),
            ..BatchConfig::default()
        })
        .install();
    for i in 0..200 {
        step(i);
    }
    // Three failed exports, retried after 100, 200 and 400 ms.
    traced_tests::flush_until_delivered(&guard, Duration::from_secs(10), "a flaky exporter");
    assert_eq!(exporter.received.load(Ordering::SeqCst), 200);
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.dropped, stats.failed), (200, 0, 0));
}

#[test]
fn the_rings_are_emptied_while_an_export_hangs() {
    let _lock = lock();
    let gate = Gate::default();
    let guard = traced::builder()
        .with_exporter(gate.clone())
        .with_batch_processor(BatchConfig {
            max_queue_size: 4096,
            scheduled_delay: Duration::from_millis(1),
            ..BatchConfig::default()
        })
        .install();
    step(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while gate.calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "worker never exported");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Five times what the thread's ring holds, while the exporter is stuck;
    // a pause now and then lets the worker run on a busy machine.
    for i in 0..20_480 {
        step(i);
        if i % 1024 == 1023 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    *gate.open.lock().unwrap() = true;
    assert!(guard.flush(), "nothing was dropped");
    assert_eq!(gate.received.load(Ordering::SeqCst), 20_481);
    let stats = guard.shutdown();
    assert_eq!(
        (stats.exported, stats.dropped, stats.failed),
        (20_481, 0, 0)
    );
}

/// Panics in its first `n` exports, then counts the spans it receives.
#[derive(Debug, Clone)]
struct PanicsFirst {
    panics_left: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
}

impl PanicsFirst {
    fn new(n: usize) -> Self {
        PanicsFirst {
            panics_left: Arc::new(AtomicUsize::new(n)),
            received: Arc::default(),
        }
    }

    fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

impl SpanExporter for PanicsFirst {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let left = &self.panics_left;
        let panics = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        assert!(panics.is_err(), "a bug in the exporter");
        self.received.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_panicking_exporter_fails_its_batches_and_the_pipeline_goes_on() {
    let _lock = lock();
    let panicking = PanicsFirst::new(2);
    let (memory, spans) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(panicking.clone())
        .with_exporter(memory)
        .with_batch_processor(BatchConfig {
            // A dead worker would make the flush wait this long and more.
            export_timeout: Duration::from_mins(1),
            scheduled_delay: Duration::from_hours(1),
            ..BatchConfig::default()
        })
        .install();
    let started = Instant::now();
    step(1);
    step(2);
    assert!(!guard.flush(), "a panic is a failed export");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "{took:?}");
    step(3);
    assert!(!guard.flush());
    step(4);
    step(5);
    assert!(guard.flush(), "the exporter is used again after panicking");
    let stats = guard.stats();
    assert_eq!((stats.exported, stats.failed), (2, 3), "{stats:?}");
    assert_eq!(panicking.received(), 2);
    assert_eq!(spans.spans().len(), 5, "the other exporter got every span");
}

#[test]
fn a_panicking_exporter_never_panics_the_application_with_the_simple_processor() {
    let _lock = lock();
    let panicking = PanicsFirst::new(1);
    let guard = traced::builder()
        .with_exporter(panicking.clone())
        .with_simple_processor()
        .install();
    let ended = std::panic::catch_unwind(|| step(0));
    assert!(ended.is_ok(), "the panic came out of the span guard");
    for i in 0..40 {
        step(i);
    }
    assert_eq!(panicking.received(), 40, "the thread was left suppressed");
    let stats = guard.stats();
    assert_eq!((stats.exported, stats.failed), (40, 1), "{stats:?}");
}

#[traced(attrs(i = i))]
fn numbered(i: i64) -> i64 {
    i
}

/// A counting exporter that takes a millisecond per batch, and keeps the
/// `i` attribute of every span in the order received.
#[derive(Debug, Clone, Default)]
struct SlowCounting {
    seen: Arc<Mutex<Vec<i64>>>,
}

impl SpanExporter for SlowCounting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(Duration::from_millis(1));
        let mut seen = self.seen.lock().unwrap();
        seen.extend(
            batch
                .iter()
                .map(|span| traced_tests::int_attribute(span, "i").expect("numbered")),
        );
        Ok(())
    }
}

#[test]
fn a_burst_of_100_000_spans_is_delivered_whole_by_default() {
    const SPANS: i64 = 101_000;
    let _lock = lock();
    let exporter = SlowCounting::default();
    let guard = traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig::default())
        .install();
    for i in 0..SPANS {
        numbered(i);
    }
    let stats = guard.shutdown();
    assert_eq!(
        (stats.created, stats.exported, stats.dropped, stats.failed),
        (101_000, 101_000, 0, 0)
    );
    let seen = exporter.seen.lock().unwrap();
    assert!(
        seen.iter().copied().eq(0..SPANS),
        "every span once, in the order its thread ended them"
    );
}

#[test]
fn past_a_small_byte_bound_a_burst_is_dropped_and_counted_exactly() {
    const QUEUE: usize = 256;
    const BOUND: usize = 256 << 10;
    let _lock = lock();
    let gate = Gate::default();
    let guard = traced::builder()
        .with_exporter(gate.clone())
        .with_batch_processor(BatchConfig {
            max_queue_size: QUEUE,
            max_export_batch_size: 64,
            scheduled_delay: Duration::from_millis(1),
            max_buffer_bytes: BOUND,
            ..BatchConfig::default()
        })
        .install();
    // The first span's export blocks until the gate opens.
    step(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while gate.calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "worker never exported");
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 0..20_000 {
        step(i);
    }
    *gate.open.lock().unwrap() = true;
    let stats = guard.shutdown();
    let received = gate.received.load(Ordering::SeqCst) as u64;
    assert_eq!(stats.created, 20_001);
    assert_eq!(received, stats.exported);
    assert_eq!(
        stats.exported + stats.dropped,
        stats.created,
        "every span is delivered or counted as dropped"
    );
    assert_eq!(stats.failed, 0);
    // While the exporter was stuck, the thread's first ring and what the
    // bound holds (records in the buffer and in overflow rings: 336 bytes
    // each on 64-bit targets, at least 256) were all the room there was;
    // the rest was dropped.
    let record = 256;
    let held = (QUEUE + 2 * BOUND / record) as u64;
    assert!(
        stats.dropped >= 20_001 - held,
        "dropped {} of 20 001",
        stats.dropped
    );
    assert!(
        stats.exported > QUEUE as u64,
        "more than one ring's worth was kept: exported {}",
        stats.exported
    );
}
