//! The batch processor's send thread: takes batches from the buffer in
//! order, converts them to `SpanData` and exports them (see `batch.rs`).
//!
//! A batch whose export fails stays at the front of the buffer and is sent
//! again after a backoff (100 ms, doubling up to 2 s, or as long as the
//! collector asked with `Retry-After`, up to 5 minutes) for up to
//! [`RETRY_FOR`]; then it is given up and counted as failed. An exporter
//! that refused the batch for good (OTLP: a status the OTLP specification
//! calls not retryable), panicked or took it is not given it again; a batch
//! that one of them refused or panicked on counts as failed. Meanwhile the
//! drain thread goes on filling the buffer up to its bound, so a collector
//! that is down for a while loses nothing that fits. The records stay whole
//! until their batch is settled: each attempt converts them afresh (copying
//! their attributes; an exporter takes its `SpanData` by value). With
//! several exporters, a retry sends the batch only to those not done with
//! it (the first 64 of them are tracked).
//!
//! A flush is answered once every record drained for it is settled
//! (exported or counted as failed), or at once with `false` when one of
//! them is waiting for a retry. At shutdown each batch left is tried once,
//! without backoff; after one failure the rest are counted as failed without
//! being tried, so shutdown stays within about one export timeout (a
//! `Retry-After` is not waited for then).

use std::sync::atomic::Ordering;
use std::sync::{MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SpanData;

use super::batch::{Chunk, Control, Exited, Shared};
use super::exporters::{ExporterSet, Outcome};
use crate::diag;
use crate::export::pipeline;
use crate::export::span_data::{write_span_data_copy, Conversion};
use crate::local::{buffer, clock};
use crate::model::SpanRecord;

/// How long a failing batch is retried before it is given up.
pub(super) const RETRY_FOR: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured; a longer one waits this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Emptied batches kept for the drain thread to reuse, whatever the buffer
/// holds. More are kept while they fit `max_buffer_bytes` beside what the
/// buffer and the overflow rings hold (see [`settle`]); the drain thread
/// gives those back when that is no longer so, and when it finds nothing to
/// drain for a scheduled delay (`drain::pool_surplus`).
pub(super) const POOL: usize = 4;

/// What the send thread does next.
enum Step {
    Export(Chunk),
    /// Answer the flush `ticket`: its records are all settled.
    Flush {
        ticket: u64,
        nothing_dropped: bool,
    },
    /// Answer the flush `ticket` with `false`: a batch of it is failing.
    FailFlush(u64),
    /// Everything up to this position is exported: end the round.
    EndRound(u64),
    Exit,
}

#[derive(Default)]
struct Sender {
    round_done: u64,
    /// Whether a batch was given up since the last answered flush.
    failed_since_flush: bool,
    /// Whether an export failed during shutdown (the rest is not tried).
    shutdown_failed: bool,
    /// Spans counted as failed at shutdown without being tried.
    abandoned: u64,
}

pub(super) fn run(shared: &Shared, mut exporters: ExporterSet, conversion: &Conversion) {
    crate::local::suppress::set_suppressed(true);
    exporters.use_rounds();
    let mut sender = Sender::default();
    loop {
        match next_step(shared, &sender) {
            Step::Export(chunk) => export(shared, &mut exporters, conversion, &mut sender, chunk),
            Step::Flush {
                ticket,
                nothing_dropped,
            } => {
                let delivered =
                    exporters.force_flush() && nothing_dropped && !sender.failed_since_flush;
                sender.failed_since_flush = false;
                let mut control = shared.lock();
                Shared::answer_flush(&mut control, ticket, delivered);
                shared.done.notify_all();
            }
            Step::FailFlush(ticket) => {
                let mut control = shared.lock();
                Shared::answer_flush(&mut control, ticket, false);
                shared.done.notify_all();
            }
            Step::EndRound(mark) => {
                exporters.end_round();
                sender.round_done = mark;
            }
            Step::Exit => {
                if sender.abandoned > 0 {
                    diag::report(&format!(
                        "{} spans were not exported at shutdown: an export had failed, so no more were tried",
                        sender.abandoned
                    ));
                }
                exporters.shutdown(shared.config.export_timeout);
                let mut control = shared.lock();
                control.exited = Exited::Both;
                shared.done.notify_all();
                return;
            }
        }
    }
}

/// Waits for something to do.
fn next_step(shared: &Shared, sender: &Sender) -> Step {
    let mut control = shared.lock();
    loop {
        if control.round_mark > sender.round_done && control.settled >= control.round_mark {
            return Step::EndRound(control.round_mark);
        }
        if let Some(mark) = control.flush_marks.front() {
            if mark.upto <= control.settled {
                let step = Step::Flush {
                    ticket: mark.ticket,
                    nothing_dropped: mark.nothing_dropped,
                };
                control.flush_marks.pop_front();
                return step;
            }
        }
        let now = Instant::now();
        let retry_at = match control.chunks.front() {
            Some(chunk) => chunk.retry_at.filter(|&at| at > now && !control.shutdown),
            None if control.exited >= Exited::Drain => return Step::Exit,
            None => {
                control = wait(shared, control, None);
                continue;
            }
        };
        let Some(retry_at) = retry_at else {
            let chunk = control.chunks.pop_front().expect("a chunk is there");
            return Step::Export(chunk);
        };
        // The front batch is waiting for a retry: a flush whose records
        // include it cannot succeed before the collector is back.
        if let Some(mark) = control.flush_marks.pop_front() {
            return Step::FailFlush(mark.ticket);
        }
        control = wait(shared, control, Some(retry_at - now));
    }
}

fn wait<'a>(
    shared: &'a Shared,
    control: MutexGuard<'a, Control>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, Control> {
    match timeout {
        Some(timeout) => {
            (shared.work.wait_timeout(control, timeout))
                .unwrap_or_else(PoisonError::into_inner)
                .0
        }
        None => (shared.work.wait(control)).unwrap_or_else(PoisonError::into_inner),
    }
}

fn export(
    shared: &Shared,
    exporters: &mut ExporterSet,
    conversion: &Conversion,
    sender: &mut Sender,
    mut chunk: Chunk,
) {
    if sender.shutdown_failed {
        sender.abandoned += chunk.records.len() as u64;
        settle(shared, chunk, false);
        return;
    }
    let outcome = exporters.export_records(&chunk.records, conversion, &mut chunk.delivery, || {
        span_data(&chunk.records, conversion)
    });
    if outcome == Outcome::Delivered {
        settle(shared, chunk, true);
        return;
    }
    let now = Instant::now();
    let failing_since = *chunk.failing_since.get_or_insert(now);
    let mut control = shared.lock();
    let give_up = outcome == Outcome::Failed || now.duration_since(failing_since) >= RETRY_FOR;
    if control.shutdown || give_up {
        sender.shutdown_failed = control.shutdown;
        sender.failed_since_flush = true;
        drop(control);
        if matches!(outcome, Outcome::Retry(_)) {
            diag::report(&format!(
                "{} spans were given up after {} failed export attempts over {:?}; they count as failed",
                chunk.records.len(),
                chunk.attempts + 1,
                now.duration_since(failing_since),
            ));
        }
        settle(shared, chunk, false);
    } else {
        let backoff = FIRST_BACKOFF.saturating_mul(1 << chunk.attempts.min(8));
        chunk.attempts += 1;
        chunk.retry_at = Some(now + retry_wait(backoff.min(MAX_BACKOFF), &outcome));
        control.chunks.push_front(chunk);
    }
}

/// The wait before a failed batch is sent again: the backoff, or the wait
/// the receiver asked for (`Retry-After`) when that is longer, up to
/// [`MAX_RETRY_AFTER`]. Nothing else is sent meanwhile (batches go in
/// order), so a collector that asks for a pause gets one.
fn retry_wait(backoff: Duration, outcome: &Outcome) -> Duration {
    match outcome {
        Outcome::Retry(Some(asked)) => backoff.max((*asked).min(MAX_RETRY_AFTER)),
        _ => backoff,
    }
}

/// The batch's records as `SpanData`, each written in place (the records
/// stay whole, for a retry).
fn span_data(records: &[SpanRecord], conversion: &Conversion) -> Vec<SpanData> {
    // One time base per batch: most of its ticks then take the short
    // conversion (a multiply, an add and a shift).
    let times = pipeline::batch_times(clock::converter(), records);
    let mut batch: Vec<SpanData> = Vec::with_capacity(records.len());
    for (record, slot) in records.iter().zip(batch.spare_capacity_mut()) {
        write_span_data_copy(record, slot, times, conversion);
    }
    // SAFETY: the loop initialized one slot per record, and the batch has
    // capacity for every record.
    unsafe { batch.set_len(records.len()) };
    batch
}

/// The batch is done with: exported, or counted as failed.
fn settle(shared: &Shared, mut chunk: Chunk, exported: bool) {
    let count = chunk.records.len() as u64;
    // Dropped outside the lock, which the drain thread takes; most records
    // hold nothing to drop, and most batches only such records.
    debug_assert!(
        chunk.dressed || chunk.records.iter().all(SpanRecord::is_bare),
        "a batch with records to drop was not marked so"
    );
    if chunk.dressed {
        for record in &mut chunk.records {
            if !record.is_bare() {
                // SAFETY: each record is dropped once: the length is set to
                // zero below without dropping again.
                unsafe { std::ptr::drop_in_place(record) };
            }
        }
    }
    // SAFETY: every record was dropped above, or held nothing to drop (the
    // drain thread saw every record of a batch not `dressed`).
    unsafe { chunk.records.set_len(0) };
    let mut control = shared.lock();
    if !control.abandoned {
        let counter = if exported {
            &shared.exported
        } else {
            &shared.failed
        };
        counter.fetch_add(count, Ordering::Relaxed);
    }
    control.settled += count;
    shared
        .buffered_bytes
        .fetch_sub(chunk.bytes, Ordering::Relaxed);
    // A burst fills many batches at once: reusing them spares the drain
    // thread a fresh allocation (and its page faults) per batch. Batches
    // kept, the buffer and the overflow rings stay within
    // `max_buffer_bytes` together.
    let kept = (control.pool.len() + 1) * chunk.records.capacity() * size_of::<SpanRecord>();
    let held = shared.buffered_bytes.load(Ordering::Relaxed) + buffer::overflow_bytes();
    if control.pool.len() < POOL || kept.saturating_add(held) <= shared.config.max_buffer_bytes {
        control.pool.push(chunk.records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_waits_for_the_backoff_or_the_longer_wait_asked_for() {
        let backoff = Duration::from_millis(200);
        let secs = Duration::from_secs;
        assert_eq!(retry_wait(backoff, &Outcome::Retry(None)), backoff);
        assert_eq!(
            retry_wait(backoff, &Outcome::Retry(Some(Duration::from_millis(50)))),
            backoff
        );
        assert_eq!(
            retry_wait(backoff, &Outcome::Retry(Some(secs(60)))),
            secs(60)
        );
        // More than the retry window is waited too: nothing is sent meanwhile.
        assert!(secs(60) > RETRY_FOR);
        assert_eq!(
            retry_wait(backoff, &Outcome::Retry(Some(secs(3600)))),
            MAX_RETRY_AFTER
        );
    }
}
