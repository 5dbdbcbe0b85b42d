//! Annotations made through a [`Span`](crate::Span) handle where its span is
//! not current: kept here until the span ends.
//!
//! The annotations of the current span live in the thread's cell (see
//! [`current`](super::current)); those of an enclosing span travel inside
//! the guard of its child. Neither is reachable from another thread, from
//! another task, or below a child span on the same thread, yet a handle may
//! be used from all of these until the span ends (as in OpenTelemetry). So
//! annotations made there go to this process-wide table, keyed by span id,
//! and the span takes them when it ends, wherever that is
//! (`span::Opened::finish`). Annotations made while
//! a captured context is attached ([`Context::attach`](crate::Context),
//! [`FutureExt::in_current_span`](crate::FutureExt)) are collected in the
//! thread's cell like any others and handed over here when the attachment
//! ends.
//!
//! Cost: the table is [`SHARDS`] shards, each a mutex over a short list,
//! with a 64-bit filter word per shard that has one bit set per span id the
//! shard holds. A sampled span that ends loads one filter word (relaxed)
//! and tests its bit: about eight instructions. Only when the bit is set
//! (the span, or another whose id shares the bit, has annotations here)
//! does it lock the shard. Annotating the current span never comes here,
//! nor does any span that is not recorded.
//!
//! Ordering: the bit is set under the shard's lock after the annotation is
//! stored, so an annotation that happens before the span ends (on the same
//! thread, or on a thread or task that the ending code joined or awaited)
//! is always found. One that races with the end may be missed, as if it had
//! been made after.
//!
//! Bounds: annotations made after a span ended are ignored. A span that
//! took annotations from here when it ended is remembered (the last
//! [`ENDED_PER_SHARD`] per shard), so a handle that keeps being used after
//! its span ended is ignored at once. Annotations through a handle that is
//! only used after its span ended cannot be told from early ones: they stay
//! until evicted. The table therefore holds at most [`SPANS_PER_SHARD`]
//! spans per shard (1024 in all), each within the installed span limits
//! (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` and the others, 128 attributes,
//! events and links by default); beyond that the span annotated least
//! recently is dropped, with a warning (once per process), and further
//! attributes, events or links of a full span are dropped and counted in
//! the span's dropped counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::current::SpanCtx;
use crate::diag;
use crate::model::{Annotations, AnnotationsBox};

/// Shards of the table (a power of two); a span's shard is chosen by the
/// low bits of its id, its filter bit by the next six.
pub(crate) const SHARDS: usize = 32;
/// Spans with annotations waiting, per shard.
pub(crate) const SPANS_PER_SHARD: usize = 32;
/// Ended spans remembered per shard, to ignore their handles at once.
pub(crate) const ENDED_PER_SHARD: usize = 32;

/// Bit `(span_id >> 5) & 63` of word `span_id & 31` is set while a span
/// with that id may have an entry in `TABLES[span_id & 31]`. The words are
/// packed (four cache lines in all) because every sampled span reads one,
/// while they are written only when annotations come and go here.
static FILTER: [AtomicU64; SHARDS] = [const { AtomicU64::new(0) }; SHARDS];

static TABLES: [Mutex<Table>; SHARDS] = [const {
    Mutex::new(Table {
        waiting: Vec::new(),
        ended: [0; ENDED_PER_SHARD],
        next_ended: 0,
    })
}; SHARDS];

struct Table {
    /// Least recently annotated first.
    waiting: Vec<(u64, Annotations)>,
    /// Ids of spans that took their entry when they ended; zero is free
    /// (no span has id zero).
    ended: [u64; ENDED_PER_SHARD],
    next_ended: usize,
}

/// A span's shard: its filter word and its table.
#[derive(Clone, Copy)]
struct Shard {
    filter: &'static AtomicU64,
    table: &'static Mutex<Table>,
}

#[inline]
fn index(span_id: u64) -> usize {
    #[allow(clippy::cast_possible_truncation)] // only the low bits are kept
    let index = span_id as usize & (SHARDS - 1);
    index
}

fn shard(span_id: u64) -> Shard {
    Shard {
        filter: &FILTER[index(span_id)],
        table: &TABLES[index(span_id)],
    }
}

#[inline]
fn bit(span_id: u64) -> u64 {
    1 << ((span_id >> SHARDS.trailing_zeros()) & 63)
}

impl Shard {
    fn lock(self) -> MutexGuard<'static, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    /// The filter word for what `waiting` holds now.
    fn filter(&self) -> u64 {
        self.waiting.iter().fold(0, |word, (id, _)| word | bit(*id))
    }
}

/// Applies `f` to the waiting annotations of span `ctx`, which is not
/// current here; ignored if the span is known to have ended.
#[cold]
pub(crate) fn annotate(ctx: SpanCtx, f: impl FnOnce(&mut Annotations)) {
    // `f` may run user code (`ToValue`, event attribute iterators): not
    // under the lock, so that code can annotate spans too.
    let mut annotations = crate::collector::annotations();
    f(&mut annotations);
    merge(ctx.span_id, annotations);
}

fn merge(span_id: u64, annotations: Annotations) {
    let shard = shard(span_id);
    let mut evicted = false;
    {
        let mut table = shard.lock();
        if table.ended.contains(&span_id) {
            return;
        }
        let position = table.waiting.iter().position(|(id, _)| *id == span_id);
        let mut entry = match position {
            Some(i) => table.waiting.remove(i),
            None => {
                if table.waiting.len() == SPANS_PER_SHARD {
                    table.waiting.remove(0);
                    shard.filter.store(table.filter(), Ordering::Relaxed);
                    evicted = true;
                }
                (span_id, crate::collector::annotations())
            }
        };
        // `merge` keeps the entry within the installed span limits and
        // counts what it refuses, as the span's own lists do.
        entry.1.merge(annotations);
        table.waiting.push(entry);
        shard.filter.fetch_or(bit(span_id), Ordering::Relaxed);
    }
    if evicted {
        warn_evicted();
    }
}

/// Hands `pending`, collected while `ctx` was attached somewhere other than
/// under its own span, to that span.
#[cold]
pub(crate) fn hand_over(ctx: Option<SpanCtx>, pending: AnnotationsBox) {
    if let (Some(ctx), Some(pending)) = (ctx, pending) {
        if ctx.is_recording() {
            merge(ctx.span_id, *pending);
        }
    }
}

/// Adds the annotations waiting for span `ctx`, which is ending, to
/// `extra`. One relaxed load when there are none.
#[inline]
pub(crate) fn take(ctx: SpanCtx, extra: &mut AnnotationsBox) {
    if FILTER[index(ctx.span_id)].load(Ordering::Relaxed) & bit(ctx.span_id) != 0 {
        take_waiting(ctx.span_id, extra);
    }
}

#[cold]
#[inline(never)]
fn take_waiting(span_id: u64, extra: &mut AnnotationsBox) {
    let shard = shard(span_id);
    let waiting = {
        let mut table = shard.lock();
        let Some(i) = table.waiting.iter().position(|(id, _)| *id == span_id) else {
            return;
        };
        let (_, waiting) = table.waiting.remove(i);
        shard.filter.store(table.filter(), Ordering::Relaxed);
        let slot = table.next_ended;
        table.ended[slot] = span_id;
        table.next_ended = (slot + 1) % ENDED_PER_SHARD;
        waiting
    };
    let extra = extra.get_or_insert_with(|| Box::new(crate::collector::annotations()));
    let sort = !waiting.events.is_empty();
    extra.merge(waiting);
    if sort {
        // Events came from several places (this thread's cell, attachments
        // handed over, other threads): put them back in time order.
        extra.events.sort_by_key(|event| event.timestamp);
    }
}

#[cold]
fn warn_evicted() {
    diag::warn_once(
        "deferred-annotations-evicted",
        &format!(
            "more than {SPANS_PER_SHARD} spans of a shard ({} in all) had annotations waiting \
             that were made through a handle where the span was not current; those of the span \
             annotated least recently were dropped (annotations made after a span ended wait \
             here too until dropped this way, so this can also mean handles used after their \
             spans ended)",
            SPANS_PER_SHARD * SHARDS
        ),
    );
}

/// How many spans have annotations waiting (for tests of the bound).
pub(crate) fn waiting() -> usize {
    TABLES
        .iter()
        .map(|table| {
            table
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .waiting
                .len()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    fn ctx(span_id: u64) -> SpanCtx {
        SpanCtx {
            trace_id: 7,
            span_id,
            sampled: true,
            remote: false,
            random: true,
        }
    }

    /// A span id in shard `shard`, one per test so that tests running at
    /// once do not evict each other's entries.
    fn id(shard: u64, n: u64) -> u64 {
        (n << 32) | shard
    }

    fn set(ctx: SpanCtx, key: &'static str) {
        annotate(ctx, |p| p.set_attribute(KeyValue::new(key, true)));
    }

    #[test]
    fn a_span_takes_its_annotations_once_and_ignores_later_ones() {
        let span = ctx(id(3, 1));
        set(span, "before");
        let mut extra = None;
        take(span, &mut extra);
        assert_eq!(
            extra.unwrap().attributes,
            vec![KeyValue::new("before", true)]
        );
        set(span, "after");
        let mut again = None;
        take(span, &mut again);
        assert!(again.is_none(), "annotations after the end are ignored");
    }

    #[test]
    fn the_table_stays_bounded() {
        for n in 100..100 + 3 * SPANS_PER_SHARD as u64 {
            set(ctx(id(5, n)), "orphan");
        }
        let shard = shard(id(5, 100)).lock();
        assert!(shard.waiting.len() <= SPANS_PER_SHARD);
        drop(shard);
        assert!(waiting() <= SHARDS * SPANS_PER_SHARD);
        // Each span's annotations are bounded too.
        let span = ctx(id(7, 1000));
        let max_events = crate::collector::recording_limits().events;
        for _ in 0..2 * max_events {
            annotate(span, |p| {
                p.add_event(opentelemetry::trace::Event::with_name("e"));
            });
        }
        let mut extra = None;
        take(span, &mut extra);
        let extra = extra.unwrap();
        assert_eq!(extra.events.len(), max_events);
        assert_eq!(extra.dropped_events as usize, max_events, "and counted");
    }
}
