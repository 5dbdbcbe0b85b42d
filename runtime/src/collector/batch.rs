//! The batch processor: a background worker that drains every thread's
//! ring, converts records to `SpanData` and exports them in batches.
//!
//! Calling threads only append to their own ring (see
//! [`buffer`](crate::local::buffer)). The worker wakes every
//! `scheduled_delay`, when a ring is a quarter full, and on flush or
//! shutdown. It holds at most one batch of its own; while an export is slow
//! the records wait in the rings, and a full ring drops new records and
//! counts them. Drops are reported on stderr at the first one, then at most
//! every ten seconds, and at shutdown.
//!
//! A round ends when the worker has read every ring to its end and exported
//! all it read: every span that ended before one it delivered has been
//! delivered too. The tree exporters wait for that to print a trace, since a
//! root and its children from other threads can land in different batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SpanData;

use super::exporters::ExporterSet;
use crate::diag;
use crate::export::span_data::Conversion;
use crate::local::{buffer, clock};

/// Settings of the batch processor (OpenTelemetry's `OTEL_BSP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Spans each recording thread buffers before the worker collects them
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048; rounded up to a power of two
    /// between 64 and 131072). With a stalled exporter, memory stays within
    /// `threads * max_queue_size` records plus one batch; what does not fit
    /// is dropped and counted.
    pub max_queue_size: usize,
    /// Longest wait between two exports (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
    pub scheduled_delay: Duration,
    /// Spans per export call at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512).
    pub max_export_batch_size: usize,
    /// Longest an export call may take (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s; at
    /// most 10 minutes, a longer one is clamped with a warning). An exporter
    /// whose `export` blocks inside its future (as a blocking HTTP client
    /// does) can only be bounded by its own timeout; the OTLP exporter that
    /// `init()` builds is given the smaller of its timeout and this one.
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
    /// A zero delay becomes 1 ms, so the worker never spins.
    pub(crate) fn validated(self) -> Self {
        let max_queue_size = self.max_queue_size.max(1);
        BatchConfig {
            max_queue_size,
            max_export_batch_size: self.max_export_batch_size.clamp(1, max_queue_size),
            scheduled_delay: self.scheduled_delay.max(Duration::from_millis(1)),
            ..self
        }
    }
}

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Control {
    /// Flush requests made / completed; a flush waits until its number is done.
    flush_requested: u64,
    flush_done: u64,
    /// Whether every export of the last completed flush succeeded.
    last_flush_ok: bool,
    shutdown: bool,
    worker_exited: bool,
}

struct Shared {
    control: Mutex<Control>,
    /// Wakes callers of flush and shutdown.
    done: Condvar,
    exported: AtomicU64,
    /// Spans an exporter reported it could not deliver.
    failed: AtomicU64,

    config: BatchConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
    /// The worker, until it is started by `activate`.
    pending_start: Mutex<Option<ExporterSet>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl BatchProcessor {
    pub(crate) fn new(config: BatchConfig, exporters: ExporterSet) -> Self {
        BatchProcessor {
            shared: Arc::new(Shared {
                control: Mutex::new(Control {
                    last_flush_ok: true,
                    ..Control::default()
                }),
                done: Condvar::new(),
                exported: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                config,
            }),
            pending_start: Mutex::new(Some(exporters)),
            worker: Mutex::new(None),
        }
    }

    /// Starts the worker for installation `generation`, converting records
    /// under the installed pipeline's `limits`; called once, by
    /// [`install`](super::install), when the pipeline is accepted.
    pub(crate) fn activate(&self, generation: u32, conversion: Conversion) {
        let Some(exporters) = self
            .pending_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("traced-batch".into())
            .spawn(move || run(&shared, exporters, generation, &conversion));
        match spawned {
            Ok(handle) => {
                *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
            }
            Err(e) => {
                diag::report(&format!(
                    "could not start the batch export thread: {e}; spans will be dropped"
                ));
                self.shared.lock().worker_exited = true;
            }
        }
    }

    /// The worker's thread, for the rings to wake (see
    /// [`buffer`](crate::local::buffer), which holds a published copy).
    pub(crate) fn worker_thread(&self) -> Option<thread::Thread> {
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        worker.as_ref().map(|handle| handle.thread().clone())
    }

    /// The queue size the rings are sized by.
    pub(crate) fn max_queue_size(&self) -> usize {
        self.shared.config.max_queue_size
    }

    fn wake(&self) {
        if let Some(worker) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            worker.thread().unpark();
        }
    }

    /// Waits on `done` until `finished` holds or `deadline` passes; returns
    /// the control state and whether `finished` held.
    fn wait(
        &self,
        deadline: Instant,
        finished: impl Fn(&Control) -> bool,
    ) -> (MutexGuard<'_, Control>, bool) {
        let shared = &*self.shared;
        let mut control = shared.lock();
        while !finished(&control) {
            let now = Instant::now();
            if now >= deadline {
                return (control, false);
            }
            control = shared
                .done
                .wait_timeout(control, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        (control, true)
    }

    /// Waits until every record ended before the call has been exported.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let ticket = {
            let mut control = self.shared.lock();
            if control.worker_exited {
                return false;
            }
            control.flush_requested += 1;
            control.flush_requested
        };
        self.wake();
        let (control, _) = self.wait(Instant::now() + timeout, |c| {
            c.flush_done >= ticket || c.worker_exited
        });
        control.flush_done >= ticket && control.last_flush_ok
    }

    /// Exports what is buffered, shuts the exporters down and stops the
    /// worker.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        // Never activated (its pipeline was not installed): no worker to stop.
        if let Some(mut exporters) = self
            .pending_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            exporters.shutdown(timeout);
            self.shared.lock().worker_exited = true;
            return true;
        }
        {
            let mut control = self.shared.lock();
            if std::mem::replace(&mut control.shutdown, true) {
                // Shut down before (by the guard; this is the drop): it has
                // finished, or it gave up waiting and said so.
                return control.worker_exited;
            }
        }
        self.wake();
        let (control, exited) = self.wait(Instant::now() + timeout, |c| c.worker_exited);
        drop(control);
        if !exited {
            diag::report(&format!(
                "shutdown did not finish within {timeout:?} (twice the export timeout, plus 1 s): an exporter is still busy; spans it holds may be lost"
            ));
            return false;
        }
        if let Some(handle) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = handle.join();
        }
        true
    }

    pub(crate) fn exported(&self) -> u64 {
        self.shared.exported.load(Ordering::Relaxed)
    }

    pub(crate) fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        self.shutdown(self.shared.config.export_timeout);
    }
}

/// The worker's account of dropped spans: reported on stderr at the first,
/// then at most every [`DROP_REPORT_EVERY`] and at shutdown; and whether any
/// was dropped since the last flush.
struct DropReport {
    reported: u64,
    last_report: Option<Instant>,
    /// The count when the last flush was answered, and at the last check.
    at_flush: u64,
    seen: u64,
}

impl DropReport {
    fn new() -> Self {
        let dropped = buffer::dropped();
        DropReport {
            reported: dropped,
            last_report: None,
            at_flush: dropped,
            seen: dropped,
        }
    }

    /// Reports new drops when it is time; returns whether spans were
    /// dropped since the last flush.
    fn check(&mut self, shutdown: bool, max_queue_size: usize) -> bool {
        let dropped = buffer::dropped();
        self.seen = dropped;
        if dropped > self.reported
            && (shutdown
                || self
                    .last_report
                    .is_none_or(|t| t.elapsed() >= DROP_REPORT_EVERY))
        {
            diag::report(&format!(
                "{} spans dropped because the buffers were full (max_queue_size = {max_queue_size}): spans ended faster than they were exported; for bursts, raise OTEL_BSP_MAX_QUEUE_SIZE (BatchConfig::max_queue_size)",
                dropped - self.reported,
            ));
            self.reported = dropped;
            self.last_report = Some(Instant::now());
        }
        dropped != self.at_flush
    }

    /// A flush was answered with the last check: drops after that check
    /// count toward the next one.
    fn flushed(&mut self) {
        self.at_flush = self.seen;
    }
}

/// The worker: collect, convert, export, report, until shutdown.
///
/// Records are converted to `SpanData` as they leave the rings, written in
/// place into the batch being built (neither the record nor the `SpanData`
/// is copied on the way); a batch goes out as soon as it is full, and a
/// partial one on schedule, on flush and on shutdown.
fn run(shared: &Shared, mut exporters: ExporterSet, generation: u32, conversion: &Conversion) {
    crate::local::suppress::set_suppressed(true);
    let config = shared.config;
    let batch_size = config.max_export_batch_size;
    let mut batch: Vec<SpanData> = Vec::with_capacity(batch_size);
    let mut drops = DropReport::new();
    let mut next_export = Instant::now() + config.scheduled_delay;
    exporters.use_rounds();
    // Whether spans were exported since the last end of a round.
    let mut round_open = false;
    // Whether every span since the last answered flush was delivered (no
    // failed export, no drop): what the next flush reports.
    let mut delivered_since_flush = true;
    // Whether an export failed during shutdown, and the spans then left
    // unexported.
    let mut shutdown_failed = false;
    let mut abandoned = 0u64;
    loop {
        let (flush_ticket, shutdown) = {
            let control = shared.lock();
            let ticket =
                (control.flush_requested > control.flush_done).then_some(control.flush_requested);
            (ticket, control.shutdown)
        };
        let drain_all = shutdown || flush_ticket.is_some();
        let due = Instant::now() >= next_export;

        let mut all_ok = true;
        let mut send = |batch: &mut Vec<SpanData>, exporters: &mut ExporterSet| {
            let full = std::mem::replace(batch, Vec::with_capacity(batch_size));
            let count = full.len() as u64;
            round_open = true;
            // At shutdown, after one failed export (a collector down or
            // hanging), the rest is not tried: shutdown stays within about
            // one export timeout instead of one per batch.
            if shutdown_failed {
                abandoned += count;
                shared.failed.fetch_add(count, Ordering::Relaxed);
                return false;
            }
            if exporters.export(full) {
                shared.exported.fetch_add(count, Ordering::Relaxed);
                true
            } else {
                shared.failed.fetch_add(count, Ordering::Relaxed);
                delivered_since_flush = false;
                // Shutdown may have been asked for while this export hung:
                // read it now, not as it was when this pass began.
                shutdown_failed = shutdown || shared.lock().shutdown;
                false
            }
        };
        loop {
            let room = batch_size - batch.len();
            let clock = clock::converter();
            let read = buffer::drain(room, generation, |record| {
                // Built in place in the batch (`room` keeps a free slot).
                let len = batch.len();
                if let Some(slot) = batch.spare_capacity_mut().first_mut() {
                    crate::export::span_data::write_span_data(record, slot, clock, conversion);
                    // SAFETY: slot `len` was just initialized.
                    unsafe { batch.set_len(len + 1) };
                } else {
                    batch.push(crate::export::span_data::take_span_data(record, conversion));
                }
            });
            if batch.len() >= batch_size {
                all_ok &= send(&mut batch, &mut exporters);
            } else if read < room {
                break;
            }
        }
        if !batch.is_empty() && (drain_all || due) {
            all_ok &= send(&mut batch, &mut exporters);
        }
        // The last pass read every buffer to its end: whatever ended before a span it
        // read (the children of a root) was read too, by this pass or an earlier one. Once
        // all of it is exported, the round is complete.
        if round_open && batch.is_empty() {
            exporters.end_round();
            round_open = false;
        }
        if due {
            next_export = Instant::now() + config.scheduled_delay;
        }
        if drain_all {
            all_ok &= exporters.force_flush();
        }

        let dropped_since_flush = drops.check(shutdown, config.max_queue_size);
        if let Some(ticket) = flush_ticket {
            let delivered = all_ok && delivered_since_flush && !dropped_since_flush;
            let mut control = shared.lock();
            control.flush_done = control.flush_done.max(ticket);
            control.last_flush_ok = delivered;
            shared.done.notify_all();
            drop(control);
            delivered_since_flush = true;
            drops.flushed();
        }
        if shutdown {
            if abandoned > 0 {
                diag::report(&format!(
                    "{abandoned} spans were not exported at shutdown: an export had failed, so no more were tried"
                ));
            }
            exporters.shutdown(config.export_timeout);
            let mut control = shared.lock();
            control.worker_exited = true;
            shared.done.notify_all();
            return;
        }
        if flush_ticket.is_none() {
            thread::park_timeout(next_export.saturating_duration_since(Instant::now()));
        }
    }
}
