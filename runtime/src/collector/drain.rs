//! The batch processor's drain thread: empties every thread's ring into the
//! bounded buffer, and never waits on an exporter (see `batch.rs`).
//!
//! Records are moved out of the rings in bulk (a copy per contiguous run of
//! slots) into the batch being filled; a batch goes to the buffer as soon as
//! it is full, and a partial one on schedule, on flush and on shutdown. The
//! conversion to `SpanData` is left to the send thread, so draining costs
//! little per span: far less than recording it.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::batch::{BatchConfig, Chunk, Control, Exited, FlushMark, Shared};
use super::exporters::Delivery;
use super::send;
use crate::diag;
use crate::local::buffer;
use crate::model::SpanRecord;

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

/// The batch being filled, the bytes its records were counted for, and
/// whether any of them holds something to drop.
struct Filling {
    records: Vec<SpanRecord>,
    bytes: usize,
    dressed: bool,
}

/// The drain thread: drain, hand batches over, answer the drain half of
/// flushes, until shutdown.
pub(super) fn run(shared: &Shared, generation: u32) {
    crate::local::suppress::set_suppressed(true);
    let config = shared.config;
    let batch_size = config.max_export_batch_size;
    let mut filling = Filling {
        records: Vec::with_capacity(batch_size),
        bytes: 0,
        dressed: false,
    };
    let mut drops = DropReport::new(shared);
    let mut next_export = Instant::now() + config.scheduled_delay;
    // What was enqueued when the last round mark was set.
    let mut marked = 0;
    // What was drained at the last scheduled export.
    let mut drained_when_due = 0;
    loop {
        let (flush_ticket, shutdown, surplus) = {
            let mut control = shared.lock();
            let ticket = (control.flush_requested > control.flush_drained)
                .then_some(control.flush_requested);
            let surplus = shared_pool_surplus(shared, &mut control, false);
            (ticket, control.shutdown, surplus)
        };
        // Freed outside the lock.
        drop(surplus);
        let drain_all = shutdown || flush_ticket.is_some();
        let due = Instant::now() >= next_export;

        drain_rings(shared, &mut filling, generation);
        let mut control = None;
        if !filling.records.is_empty() && (drain_all || due) {
            control = Some(hand_over(shared, &mut filling));
        }
        // Every ring was read to its end and all of it is in the buffer:
        // once the send thread has exported up to here, the round is over.
        if filling.records.is_empty() {
            let mut control = control.take().unwrap_or_else(|| shared.lock());
            if control.enqueued != marked {
                marked = control.enqueued;
                control.round_mark = marked;
                shared.work.notify_one();
            }
        }
        drop(control);
        if due {
            next_export = Instant::now() + config.scheduled_delay;
            let drained = shared.drained.load(Ordering::Relaxed);
            if drained == drained_when_due {
                let surplus = shared_pool_surplus(shared, &mut shared.lock(), true);
                drop(surplus);
            }
            drained_when_due = drained;
        }

        let dropped_since_flush = drops.check(shared, shutdown);
        if let Some(ticket) = flush_ticket {
            let mut control = shared.lock();
            control.flush_drained = ticket;
            let upto = control.enqueued;
            control.flush_marks.push_back(FlushMark {
                ticket,
                upto,
                nothing_dropped: !dropped_since_flush,
            });
            shared.work.notify_one();
            drop(control);
            drops.flushed();
        }
        if shutdown {
            buffer::release_spares();
            let mut control = shared.lock();
            control.exited = control.exited.max(Exited::Drain);
            shared.work.notify_one();
            return;
        }
        if flush_ticket.is_none() {
            thread::park_timeout(next_export.saturating_duration_since(Instant::now()));
        }
    }
}

/// Moves what the rings hold into the buffer, batch by batch, while the
/// buffer has room; drops (and counts) the rest.
fn drain_rings(shared: &Shared, filling: &mut Filling, generation: u32) {
    let config = shared.config;
    let batch_size = config.max_export_batch_size;
    let record_bytes = size_of::<SpanRecord>();
    loop {
        let buffered = shared.buffered_bytes.load(Ordering::Relaxed);
        let room = config.max_buffer_bytes.saturating_sub(buffered) / record_bytes;
        let want = room.min(batch_size - filling.records.len());
        if want == 0 {
            // The buffer is full: what the rings hold now is dropped.
            let mut dropped = 0;
            buffer::drain(usize::MAX, generation, |_| dropped += 1);
            shared.dropped_full.fetch_add(dropped, Ordering::Relaxed);
            return;
        }
        let before = filling.records.len();
        let (read, bytes, dressed) = buffer::drain_into(&mut filling.records, want, generation);
        filling.bytes += bytes;
        filling.dressed |= dressed;
        let kept = filling.records.len() - before;
        shared.drained.fetch_add(kept as u64, Ordering::Relaxed);
        let now = shared.buffered_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        shared.buffered_high.fetch_max(now, Ordering::Relaxed);
        if filling.records.len() >= batch_size {
            drop(hand_over(shared, filling));
        } else if read < want {
            return;
        }
    }
}

/// Puts the batch being filled into the buffer, and takes an empty one to
/// fill next; returns the lock it took.
fn hand_over<'a>(
    shared: &'a Shared,
    filling: &mut Filling,
) -> std::sync::MutexGuard<'a, super::batch::Control> {
    let mut control = shared.lock();
    let next = control
        .pool
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(shared.config.max_export_batch_size));
    let records = std::mem::replace(&mut filling.records, next);
    control.enqueued += records.len() as u64;
    control.chunks.push_back(Chunk {
        records,
        bytes: std::mem::take(&mut filling.bytes),
        dressed: std::mem::take(&mut filling.dressed),
        delivery: Delivery::default(),
        failing_since: None,
        retry_at: None,
        attempts: 0,
    });
    shared.work.notify_one();
    control
}

/// The emptied batches to give back (see [`send::POOL`]): those beyond
/// `POOL` that do not fit `max_buffer_bytes` beside the `held` bytes (the
/// buffer's and the overflow rings'), and after a scheduled delay with
/// nothing drained (`idle`: a burst is over), all those beyond `POOL`.
fn pool_surplus(
    pool: &mut Vec<Vec<SpanRecord>>,
    config: &BatchConfig,
    held: usize,
    idle: bool,
) -> Vec<Vec<SpanRecord>> {
    if pool.len() <= send::POOL {
        return Vec::new();
    }
    let room = config.max_buffer_bytes.saturating_sub(held);
    // Every batch is made with room for `max_export_batch_size` records.
    let batch = config.max_export_batch_size * size_of::<SpanRecord>();
    let fit = if idle { 0 } else { room / batch.max(1) };
    pool.split_off(pool.len().min(send::POOL.max(fit)))
}

/// [`pool_surplus`] of `shared`'s pool, now.
fn shared_pool_surplus(shared: &Shared, control: &mut Control, idle: bool) -> Vec<Vec<SpanRecord>> {
    let held = shared.buffered_bytes.load(Ordering::Relaxed) + buffer::overflow_bytes();
    pool_surplus(&mut control.pool, &shared.config, held, idle)
}

/// The worker's account of dropped spans (at full rings and at the full
/// buffer): reported on stderr at the first, then at most every
/// [`DROP_REPORT_EVERY`] and at shutdown; and whether any was dropped since
/// the last flush.
struct DropReport {
    /// The rings' process-wide count when this pipeline started.
    rings_before: u64,
    reported: u64,
    last_report: Option<Instant>,
    /// The count when the last flush was answered, and at the last check.
    at_flush: u64,
    seen: u64,
}

impl DropReport {
    fn new(shared: &Shared) -> Self {
        let rings_before = buffer::dropped();
        let mut report = DropReport {
            rings_before,
            reported: 0,
            last_report: None,
            at_flush: 0,
            seen: 0,
        };
        let dropped = report.dropped(shared);
        report.reported = dropped;
        report.at_flush = dropped;
        report.seen = dropped;
        report
    }

    fn dropped(&self, shared: &Shared) -> u64 {
        buffer::dropped() - self.rings_before + shared.dropped_full.load(Ordering::Relaxed)
    }

    /// Reports new drops when it is time; returns whether spans were
    /// dropped since the last flush.
    fn check(&mut self, shared: &Shared, shutdown: bool) -> bool {
        let dropped = self.dropped(shared);
        self.seen = dropped;
        if dropped > self.reported
            && (shutdown
                || self
                    .last_report
                    .is_none_or(|t| t.elapsed() >= DROP_REPORT_EVERY))
        {
            let config = shared.config;
            diag::report(&format!(
                "{} spans dropped because the buffers were full (max_queue_size = {} per thread, max_buffer_bytes = {}): spans ended faster than they were exported; for bursts, raise OTEL_BSP_MAX_QUEUE_SIZE or TRACED_BSP_MAX_BUFFER_BYTES (BatchConfig)",
                dropped - self.reported,
                config.max_queue_size,
                config.max_buffer_bytes,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_kept_past_the_pool_fit_the_bound_and_go_once_idle() {
        let batch = 8 * size_of::<SpanRecord>();
        let config = BatchConfig {
            max_export_batch_size: 8,
            max_buffer_bytes: 10 * batch,
            ..BatchConfig::default()
        };
        let mut pool: Vec<Vec<SpanRecord>> = (0..12).map(|_| Vec::with_capacity(8)).collect();
        // Room for 10 batches: 2 of the 12 go.
        assert_eq!(pool_surplus(&mut pool, &config, 0, false).len(), 2);
        assert_eq!(pool.len(), 10);
        // 3 batches' bytes held (and a part of one): room for 6.
        assert_eq!(
            pool_surplus(&mut pool, &config, 3 * batch + 1, false).len(),
            4
        );
        assert_eq!(pool.len(), 6);
        // The bound full: `POOL` stay, whatever is held.
        assert_eq!(
            pool_surplus(&mut pool, &config, 20 * batch, false).len(),
            6 - send::POOL
        );
        assert_eq!(pool.len(), send::POOL);
        assert!(pool_surplus(&mut pool, &config, 20 * batch, false).is_empty());
        // Idle: back to `POOL` even with room for more.
        pool.extend((0..5).map(|_| Vec::with_capacity(8)));
        assert_eq!(pool_surplus(&mut pool, &config, 0, false).len(), 0);
        assert_eq!(pool_surplus(&mut pool, &config, 0, true).len(), 5);
        assert_eq!(pool.len(), send::POOL);
    }
}
