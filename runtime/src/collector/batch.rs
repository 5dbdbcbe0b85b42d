//! The batch processor: two background threads between the recording
//! threads' rings and the exporters.
//!
//! - The **drain** thread (`drain.rs`) moves records out of every thread's
//!   ring into batches held in one bounded buffer, and never calls an
//!   exporter: while an export is slow, retrying or hung, the rings keep
//!   being emptied. It wakes every `scheduled_delay`, when a ring is a
//!   quarter full, and on flush or shutdown.
//! - The **send** thread (`send.rs`) takes the batches in order, converts
//!   their records to `SpanData` and exports them. A batch whose export
//!   fails stays at the front of the buffer and is sent again with backoff
//!   (see `send.rs`), so a collector down for a while loses nothing that fits
//!   the buffer.
//!
//! Two threads rather than one state machine: an exporter's `export` is a
//! future that may block the thread polling it (traced's own OTLP client
//! does blocking I/O, and user exporters may do anything), so the only way
//! to keep draining while an export runs is to run it elsewhere. The drain
//! thread's work per span is a copy out of the ring; the conversion, which
//! the retry needs to redo from the record, is the send thread's.
//!
//! The buffer and the threads' overflow rings (a thread whose ring is full
//! goes on in another, see `local/buffer.rs`) are bounded together by
//! [`BatchConfig::max_buffer_bytes`]; records drained while the buffer is
//! full are dropped and counted, as are records that find their thread's
//! ring full when no overflow ring fits. Drops are reported on stderr at the
//! first one, then at most every ten seconds, and at shutdown.
//!
//! A round ends when the drain thread has read every ring to its end and the
//! send thread has exported all of it: every span that ended before one it
//! delivered has been delivered too. The tree exporters wait for that to
//! print a trace, since a root and its children from other threads can land
//! in different batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::exporters::{Delivery, ExporterSet};
use crate::diag;
use crate::export::span_data::Conversion;
use crate::local::buffer::Bound;
use crate::model::SpanRecord;

/// Settings of the batch processor (OpenTelemetry's `OTEL_BSP_*`, and the
/// bound of the worker's buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Spans each recording thread's ring holds (`OTEL_BSP_MAX_QUEUE_SIZE`,
    /// 2048; rounded up to a power of two between 64 and 131072). A thread
    /// whose ring fills up before the worker came to it goes on in an
    /// overflow ring of the same size, chained after the full one and
    /// drained after it; overflow rings count against
    /// [`max_buffer_bytes`](Self::max_buffer_bytes). Past that bound, a span
    /// that finds its thread's ring full is dropped and counted.
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
    /// Bytes of span records held between the recording threads and the
    /// exporters, beyond one ring per thread (`TRACED_BSP_MAX_BUFFER_BYTES`,
    /// 64 MiB: about 200 000 spans of up to four attributes, a record being
    /// 336 bytes on 64-bit targets). The worker's buffer and the threads'
    /// overflow rings share it: a burst, or the spans ended while an
    /// exporter is slow or its collector down, wait there. Counted are the
    /// records (a whole ring for an overflow ring), the attribute lists and
    /// annotations of buffered records, not the text of owned strings. A
    /// span that finds no room is dropped and counted. With a stalled
    /// exporter, memory stays within this, plus `threads * max_queue_size`
    /// records (each thread's first ring), one ring per thread being
    /// emptied or kept for reuse, and up to four emptied batches of
    /// `max_export_batch_size` records kept for the worker to reuse (672
    /// KiB with the defaults).
    pub max_buffer_bytes: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 2048,
            scheduled_delay: Duration::from_secs(5),
            max_export_batch_size: 512,
            export_timeout: Duration::from_secs(30),
            max_buffer_bytes: DEFAULT_BUFFER_BYTES,
        }
    }
}

/// [`BatchConfig::max_buffer_bytes`] by default.
pub(crate) const DEFAULT_BUFFER_BYTES: usize = 64 << 20;

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

/// A batch of records in the buffer, in the order drained.
pub(super) struct Chunk {
    pub(super) records: Vec<SpanRecord>,
    /// Their [`SpanRecord::estimated_bytes`].
    pub(super) bytes: usize,
    /// Whether any of them holds something to drop (most batches hold
    /// only bare records, which settling them skips one by one).
    pub(super) dressed: bool,
    /// Which exporters are done with it, across its attempts.
    pub(super) delivery: Delivery,
    /// When its first export failed, and when to try it again.
    pub(super) failing_since: Option<Instant>,
    pub(super) retry_at: Option<Instant>,
    pub(super) attempts: u32,
}

/// A flush whose records are all in the buffer: answered when the send
/// thread has settled every record before `upto`.
pub(super) struct FlushMark {
    pub(super) ticket: u64,
    pub(super) upto: u64,
    /// Whether no span was dropped since the previous flush.
    pub(super) nothing_dropped: bool,
}

/// How far the worker's threads have gone in exiting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Exited {
    #[default]
    None,
    /// The drain thread has made its last drain and left.
    Drain,
    /// Both threads have exited (or never started).
    Both,
}

#[derive(Default)]
pub(super) struct Control {
    /// Flush requests made / answered; a flush waits until its number is done.
    pub(super) flush_requested: u64,
    pub(super) flush_done: u64,
    /// Whether the last answered flush delivered everything.
    pub(super) last_flush_ok: bool,
    /// The last flush the drain thread has drained the rings for.
    pub(super) flush_drained: u64,
    pub(super) flush_marks: VecDeque<FlushMark>,
    pub(super) shutdown: bool,
    /// Which of the worker's threads have exited.
    pub(super) exited: Exited,
    /// Shutdown stopped waiting for the send thread and counted what the
    /// buffer still held as failed: what the thread settles later is not
    /// counted again.
    pub(super) abandoned: bool,

    /// Batches waiting for export, oldest first.
    pub(super) chunks: VecDeque<Chunk>,
    /// Emptied batches, for the drain thread to fill again.
    pub(super) pool: Vec<Vec<SpanRecord>>,
    /// Records put into `chunks` / exported or counted failed, since start:
    /// positions in the one order records go through the buffer.
    pub(super) enqueued: u64,
    pub(super) settled: u64,
    /// Everything before this was in the buffer when the drain thread had
    /// read every ring to its end (see the module's rounds).
    pub(super) round_mark: u64,
}

pub(super) struct Shared {
    pub(super) control: Mutex<Control>,
    /// Wakes callers of flush and shutdown.
    pub(super) done: Condvar,
    /// Wakes the send thread.
    pub(super) work: Condvar,
    pub(super) exported: AtomicU64,
    /// Spans an exporter reported it could not deliver.
    pub(super) failed: AtomicU64,
    /// Spans dropped because the buffer was full.
    pub(super) dropped_full: AtomicU64,
    /// Bytes of records in the buffer, the drain thread's batch included
    /// (shared with the rings' [`Bound`]).
    pub(super) buffered_bytes: Arc<AtomicUsize>,
    /// The most `buffered_bytes` has been since the start.
    pub(super) buffered_high: AtomicUsize,
    /// Records the drain thread has moved out of the rings into the buffer.
    pub(super) drained: AtomicU64,

    pub(super) config: BatchConfig,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers flush `ticket`.
    pub(super) fn answer_flush(control: &mut Control, ticket: u64, delivered: bool) {
        if ticket > control.flush_done {
            control.flush_done = ticket;
            control.last_flush_ok = delivered;
        }
    }
}

pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
    /// The exporters, until the worker is started by `activate`.
    pending_start: Mutex<Option<ExporterSet>>,
    /// The drain thread and the send thread.
    worker: Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
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
                work: Condvar::new(),
                exported: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                dropped_full: AtomicU64::new(0),
                buffered_bytes: Arc::new(AtomicUsize::new(0)),
                buffered_high: AtomicUsize::new(0),
                drained: AtomicU64::new(0),
                config,
            }),
            pending_start: Mutex::new(Some(exporters)),
            worker: Mutex::new(None),
        }
    }

    /// Starts the worker's threads for installation `generation`, converting
    /// records with `conversion`; called once, by
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
        let send = thread::Builder::new()
            .name("traced-export".into())
            .spawn(move || super::send::run(&shared, exporters, &conversion));
        let send = match send {
            Ok(handle) => handle,
            Err(e) => {
                diag::report(&format!(
                    "could not start the batch export thread: {e}; spans will be dropped"
                ));
                self.shared.lock().exited = Exited::Both;
                return;
            }
        };
        let shared = Arc::clone(&self.shared);
        let drain = thread::Builder::new()
            .name("traced-batch".into())
            .spawn(move || super::drain::run(&shared, generation));
        match drain {
            Ok(drain) => {
                *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some((drain, send));
            }
            Err(e) => {
                diag::report(&format!(
                    "could not start the batch drain thread: {e}; spans will be dropped"
                ));
                let mut control = self.shared.lock();
                control.exited = Exited::Both;
                self.shared.work.notify_all();
            }
        }
    }

    /// The drain thread, for the rings to wake (see
    /// [`buffer`](crate::local::buffer), which holds a published copy).
    pub(crate) fn worker_thread(&self) -> Option<thread::Thread> {
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        worker.as_ref().map(|(drain, _)| drain.thread().clone())
    }

    /// The queue size the rings are sized by.
    pub(crate) fn max_queue_size(&self) -> usize {
        self.shared.config.max_queue_size
    }

    /// The bound the buffer shares with the threads' overflow rings.
    pub(crate) fn bound(&self) -> Bound {
        Bound {
            max_bytes: self.shared.config.max_buffer_bytes,
            buffered: Arc::clone(&self.shared.buffered_bytes),
        }
    }

    fn wake(&self) {
        if let Some((drain, _)) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            drain.thread().unpark();
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
    /// Returns false at once when an export of those records failed and is
    /// waiting to be retried (the records stay in the buffer).
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let ticket = {
            let mut control = self.shared.lock();
            if control.exited == Exited::Both {
                return false;
            }
            control.flush_requested += 1;
            control.flush_requested
        };
        self.wake();
        let (control, _) = self.wait(Instant::now() + timeout, |c| {
            c.flush_done >= ticket || c.exited == Exited::Both
        });
        control.flush_done >= ticket && control.last_flush_ok
    }

    /// Exports what is buffered, shuts the exporters down and stops the
    /// worker. What it cannot export within `timeout` is counted as failed
    /// and reported.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        // Never activated (its pipeline was not installed): no worker to stop.
        if let Some(mut exporters) = self
            .pending_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            exporters.shutdown(timeout);
            self.shared.lock().exited = Exited::Both;
            return true;
        }
        {
            let mut control = self.shared.lock();
            if std::mem::replace(&mut control.shutdown, true) {
                // Shut down before (by the guard; this is the drop): it has
                // finished, or it gave up waiting and said so.
                return control.exited == Exited::Both;
            }
            self.shared.work.notify_all();
        }
        self.wake();
        let (mut control, exited) =
            self.wait(Instant::now() + timeout, |c| c.exited == Exited::Both);
        if !exited {
            // The send thread is stuck in an exporter. What the buffer holds
            // is counted as failed now; whatever the thread does with it
            // later is not counted again.
            control.abandoned = true;
            let left = control.enqueued - control.settled;
            self.shared.failed.fetch_add(left, Ordering::Relaxed);
            drop(control);
            diag::report(&format!(
                "shutdown did not finish within {timeout:?} (twice the export timeout, plus 1 s): an exporter is still busy; {left} spans not exported are counted as failed"
            ));
            return false;
        }
        drop(control);
        if let Some((drain, send)) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = drain.join();
            let _ = send.join();
        }
        true
    }

    pub(crate) fn exported(&self) -> u64 {
        self.shared.exported.load(Ordering::Relaxed)
    }

    pub(crate) fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Spans dropped because the buffer was full (those dropped at full
    /// rings are counted by the rings).
    pub(crate) fn dropped_full(&self) -> u64 {
        self.shared.dropped_full.load(Ordering::Relaxed)
    }

    /// Records moved from the rings into the buffer so far.
    pub(crate) fn drained(&self) -> u64 {
        self.shared.drained.load(Ordering::Relaxed)
    }

    /// The most bytes the buffer has held at once.
    pub(crate) fn buffered_high_water(&self) -> usize {
        self.shared.buffered_high.load(Ordering::Relaxed)
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        self.shutdown(self.shared.config.export_timeout);
    }
}
