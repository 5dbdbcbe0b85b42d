//! A stalled exporter under load: 10 million spans are ended while the
//! exporter blocks. The process's resident memory must stay within the
//! configured bound, the calling thread must never block, and once the
//! exporter recovers every span must be either delivered or counted as
//! dropped (created = delivered + dropped).
//!
//! ```text
//! cargo run -p traced-benches --release --bin stalled
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::{traced, BatchConfig};

const SPANS: u64 = 10_000_000;
const QUEUE: usize = 2048;
/// The bound the worker's buffer shares with the thread's overflow rings.
const BUFFER: usize = 4 << 20;

/// Blocks every export until opened; counts what it receives.
#[derive(Clone, Debug, Default)]
struct Stalled {
    open: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
}

impl SpanExporter for Stalled {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        while !self.open.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.received
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        std::future::ready(Ok(()))
    }
}

#[traced(attrs(i = i))]
fn work(i: u64) -> u64 {
    std::hint::black_box(i)
}

/// Resident set size in bytes, from /proc.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let exporter = Stalled::default();
    let guard = traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig {
            max_queue_size: QUEUE,
            scheduled_delay: Duration::from_millis(10),
            export_timeout: Duration::from_mins(10),
            max_buffer_bytes: BUFFER,
            ..BatchConfig::default()
        })
        .install();
    work(0);
    let before = rss();
    let started = Instant::now();
    for i in 1..SPANS {
        work(i);
    }
    let elapsed = started.elapsed();
    let after = rss();
    let dropped = guard.stats().dropped;
    exporter.open.store(true, Ordering::Release);
    assert!(
        !guard.flush(),
        "the flush after the exporter recovered reports the drops"
    );
    assert!(guard.flush(), "nothing was lost since that flush");
    let delivered = exporter.received.load(Ordering::Relaxed);
    let dropped_total = guard.stats().dropped;
    drop(guard);

    // One ring of QUEUE records; the buffer and the overflow rings within
    // BUFFER bytes, plus a ring being emptied or kept for reuse; one batch of
    // SpanData: under 6 MiB; the bound leaves room for allocator noise.
    let bound = 16 << 20;
    println!("spans created: {SPANS}");
    #[allow(clippy::cast_precision_loss)]
    let per_span = elapsed.as_nanos() as f64 / SPANS as f64;
    println!("calling thread: {per_span:.1} ns per span while the exporter was stalled");
    println!(
        "resident memory growth while stalled: {} KiB (bound {} KiB)",
        after.saturating_sub(before) / 1024,
        bound / 1024
    );
    println!("delivered: {delivered}, dropped: {dropped_total} (dropped while stalled: {dropped})");
    assert!(
        after.saturating_sub(before) < bound,
        "memory grew past the bound"
    );
    assert_eq!(
        delivered + dropped_total,
        SPANS,
        "every span is delivered or counted as dropped"
    );
    assert!(
        // Records are at least 256 bytes: the ring, the overflow rings
        // and the buffer hold fewer than this.
        dropped_total >= SPANS - 2 * QUEUE as u64 - BUFFER as u64 / 256,
        "the stalled pipeline dropped and counted"
    );
    println!("ok");
}
