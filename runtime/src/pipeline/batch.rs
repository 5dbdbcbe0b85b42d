//! The batch processor: a bounded queue drained by a background thread.
//!
//! Calling threads push records under a short lock and return; the worker
//! converts them to `SpanData` and exports in batches. A full queue drops the
//! new record and counts it; the count is reported on stderr at the first
//! drop, then at most every ten seconds, and at shutdown.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::exporters::ExporterSet;
use super::SpanRecord;
use crate::config::warn;

/// Settings of the batch processor (OpenTelemetry's `OTEL_BSP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Spans held at most; more are dropped and counted (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048).
    pub max_queue_size: usize,
    /// Longest wait between two exports (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
    pub scheduled_delay: Duration,
    /// Spans per export call at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512).
    pub max_export_batch_size: usize,
    /// Longest an export call may take (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s).
    pub export_timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 2048,
            scheduled_delay: Duration::from_secs(5),
            max_export_batch_size: 512,
            export_timeout: Duration::from_secs(30),
        }
    }
}

impl BatchConfig {
    /// The config with sizes made usable: a zero size becomes 1 and the
    /// batch size is at most the queue size, as the specification requires.
    pub(crate) fn validated(self) -> Self {
        let max_queue_size = self.max_queue_size.max(1);
        BatchConfig {
            max_queue_size,
            max_export_batch_size: self.max_export_batch_size.clamp(1, max_queue_size),
            ..self
        }
    }
}

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

struct Queue {
    records: VecDeque<SpanRecord>,
    /// Flush requests made / completed; a flush waits until its number is done.
    flush_requested: u64,
    flush_done: u64,
    /// Whether every export of the last completed flush succeeded.
    last_flush_ok: bool,
    shutdown: bool,
    worker_exited: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the worker.
    work: Condvar,
    /// Wakes callers of flush and shutdown.
    done: Condvar,
    dropped: AtomicU64,
    exported: AtomicU64,
    config: BatchConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
}

impl BatchProcessor {
    pub(crate) fn start(config: BatchConfig, exporters: ExporterSet) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                records: VecDeque::with_capacity(config.max_queue_size.min(4096)),
                flush_requested: 0,
                flush_done: 0,
                last_flush_ok: true,
                shutdown: false,
                worker_exited: false,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            dropped: AtomicU64::new(0),
            exported: AtomicU64::new(0),
            config,
        });
        let worker = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("traced-batch".into())
            .spawn(move || run(&worker, exporters));
        if let Err(e) = spawned {
            warn::report(&format!(
                "could not start the batch export thread: {e}; spans will be dropped"
            ));
            shared.lock().worker_exited = true;
        }
        BatchProcessor { shared }
    }

    pub(crate) fn submit(&self, record: SpanRecord) {
        let shared = &*self.shared;
        let mut queue = shared.lock();
        if queue.records.len() >= shared.config.max_queue_size || queue.shutdown {
            drop(queue);
            if shared.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                warn::report(&format!(
                    "the span queue is full (max_queue_size = {}); spans are being dropped",
                    shared.config.max_queue_size
                ));
            }
            return;
        }
        queue.records.push_back(record);
        let wake = queue.records.len() == shared.config.max_export_batch_size;
        drop(queue);
        if wake {
            shared.work.notify_one();
        }
    }

    /// Waits until every record queued before the call has been exported.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        let mut queue = shared.lock();
        if queue.worker_exited {
            return queue.records.is_empty();
        }
        queue.flush_requested += 1;
        let ticket = queue.flush_requested;
        shared.work.notify_one();
        let deadline = Instant::now() + timeout;
        while queue.flush_done < ticket && !queue.worker_exited {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            queue = shared
                .done
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.flush_done >= ticket && queue.last_flush_ok
    }

    /// Exports what is queued, shuts the exporters down and stops the worker.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        let mut queue = shared.lock();
        queue.shutdown = true;
        shared.work.notify_one();
        let deadline = Instant::now() + timeout;
        while !queue.worker_exited {
            let now = Instant::now();
            if now >= deadline {
                warn::report(&format!("shutdown did not finish within {timeout:?}"));
                return false;
            }
            queue = shared
                .done
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn exported(&self) -> u64 {
        self.shared.exported.load(Ordering::Relaxed)
    }
}

fn run(shared: &Shared, mut exporters: ExporterSet) {
    let config = shared.config;
    let mut reported_dropped = 0;
    let mut last_drop_report = Instant::now();
    let mut next_export = Instant::now() + config.scheduled_delay;
    loop {
        let mut queue = shared.lock();
        loop {
            let flush = queue.flush_requested > queue.flush_done;
            if queue.shutdown
                || flush
                || queue.records.len() >= config.max_export_batch_size
                || Instant::now() >= next_export
            {
                break;
            }
            let wait = next_export.saturating_duration_since(Instant::now());
            queue = shared
                .work
                .wait_timeout(queue, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let shutdown = queue.shutdown;
        let flush_ticket = queue.flush_requested;
        let drain_all = shutdown || flush_ticket > queue.flush_done;
        let take = if drain_all {
            queue.records.len()
        } else {
            queue.records.len().min(config.max_export_batch_size)
        };
        let mut records: Vec<SpanRecord> = queue.records.drain(..take).collect();
        drop(queue);

        let mut all_ok = true;
        while !records.is_empty() {
            let rest = records.split_off(records.len().min(config.max_export_batch_size));
            let count = records.len() as u64;
            let batch = records
                .into_iter()
                .map(SpanRecord::into_span_data)
                .collect();
            if exporters.export(batch) {
                shared.exported.fetch_add(count, Ordering::Relaxed);
            } else {
                all_ok = false;
            }
            records = rest;
        }
        if drain_all {
            all_ok &= exporters.force_flush();
        }
        next_export = Instant::now() + config.scheduled_delay;

        let dropped = shared.dropped.load(Ordering::Relaxed);
        if dropped > reported_dropped
            && (shutdown || last_drop_report.elapsed() >= DROP_REPORT_EVERY)
        {
            warn::report(&format!(
                "{dropped} spans dropped so far because the span queue was full (max_queue_size = {})",
                config.max_queue_size
            ));
            reported_dropped = dropped;
            last_drop_report = Instant::now();
        }

        let mut queue = shared.lock();
        if drain_all {
            queue.flush_done = queue.flush_done.max(flush_ticket);
            queue.last_flush_ok = all_ok;
            shared.done.notify_all();
        }
        if shutdown {
            drop(queue);
            exporters.shutdown(config.export_timeout);
            let mut queue = shared.lock();
            queue.worker_exited = true;
            // Records that raced in after the final drain are counted as dropped.
            let late = queue.records.len() as u64;
            queue.records.clear();
            shared.dropped.fetch_add(late, Ordering::Relaxed);
            shared.done.notify_all();
            return;
        }
    }
}
