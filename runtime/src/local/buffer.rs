//! Each recording thread's rings of ended spans, and the registry through
//! which the background worker finds them all.
//!
//! A thread's first ring is created at its first recorded span and its
//! chain (`chain.rs`) registered once. When the ring is full, the thread
//! goes on in an overflow ring chained after it, which the worker empties
//! after the full one: a burst that outruns the worker (woken late: on a busy
//! machine the scheduler can leave it waiting for milliseconds) is absorbed
//! by memory, and nothing already recorded moves. The overflow rings of all
//! threads and the installed batch processor's buffer share one bound in
//! bytes (`max_buffer_bytes`, see [`Bound`]); past it a span that finds its
//! thread's ring full is dropped and counted. The first ring of each thread
//! is outside that bound.
//!
//! The worker drains every registered chain itself, so `flush()` never
//! waits for an idle thread, and a thread that exits leaves its rings (with
//! whatever they still hold) for the worker to drain and then forget.
//!
//! A push reads the ring through a raw pointer in a `const` thread-local
//! without drop glue (`FAST`), set while the `Producer` in `PRODUCER` holds
//! the ring and cleared when it goes; the `RefCell` in `PRODUCER` is only
//! borrowed for a thread's first record, a full ring and thread teardown.
//! The record is written field by field into its slot: ids, ticks and the
//! call site, plus only the inline attribute slots in use.

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;

use super::chain::Chain;
use super::ring::Ring;
use crate::model::AnnotationsBox;
use crate::model::CarriedRef;
use crate::model::{InlineAttributes, RecordHead, SpanRecord};

/// Spans each ring holds: the installed batch processor's
/// `max_queue_size`, rounded up to a power of two, within these bounds.
const MIN_RING: usize = 64;
const MAX_RING: usize = 1 << 17;

/// The capacity of rings while no batch processor is installed.
const DEFAULT_RING: usize = 2048;

// `RING_CAPACITY`, `BOUND` and `WORKER` are copies of the installed
// pipeline's batch settings, buffer and worker thread, published by the
// pipeline's install and uninstall (see `pipeline::install`) and written
// nowhere else.

/// The capacity new rings get.
static RING_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_RING);

/// The bound overflow rings share with the installed batch processor's
/// buffer; `None` (no overflow) without one.
static BOUND: Mutex<Option<Bound>> = Mutex::new(None);

/// Every thread's chain of rings still to be drained.
static CHAINS: Mutex<Vec<Arc<Chain<SpanRecord>>>> = Mutex::new(Vec::new());

/// Bytes of overflow rings (every ring but one per thread), in all threads.
static OVERFLOW_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The worker to wake when a ring fills up.
static WORKER: Mutex<Option<Thread>> = Mutex::new(None);

/// Spans dropped because their thread's ring was full.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The bytes that overflow rings and a batch processor's buffer may hold
/// together.
#[derive(Clone, Debug)]
pub(crate) struct Bound {
    /// The bound (`max_buffer_bytes`).
    pub(crate) max_bytes: usize,
    /// What the buffer holds now, as its worker counts it.
    pub(crate) buffered: Arc<AtomicUsize>,
}

/// Publishes the installed batch processor's queue size (the capacity of
/// rings, rounded up to a power of two within bounds), the bound its
/// buffer shares with overflow rings and its worker thread, or the
/// defaults, no overflow and no worker when there is none.
pub(crate) fn publish(max_queue_size: Option<usize>, bound: Option<Bound>, worker: Option<Thread>) {
    let capacity = max_queue_size.map_or(DEFAULT_RING, |size| {
        size.clamp(MIN_RING, MAX_RING).next_power_of_two()
    });
    RING_CAPACITY.store(capacity, Ordering::Relaxed);
    *BOUND.lock().unwrap_or_else(PoisonError::into_inner) = bound;
    *WORKER.lock().unwrap_or_else(PoisonError::into_inner) = worker;
}

/// The producing side of this thread's chain; closes it when the thread
/// exits.
struct Producer {
    chain: Arc<Chain<SpanRecord>>,
    /// The ring being written: the chain's last.
    ring: Arc<Ring<SpanRecord>>,
    /// Every this many records (a power of two), the producer wakes the
    /// worker.
    wake_every: usize,
    /// After an overflow ring was refused: the ring's push count then, and
    /// how many more spans that find it still full are dropped before one
    /// is asked for again (asking takes two locks).
    refused: Option<(usize, u32)>,
}

/// While a thread's ring stays full after an overflow ring was refused, one
/// span in this many asks again; the others are dropped at once.
const ASK_EVERY: u32 = 16;

impl Producer {
    fn register() -> Producer {
        let ring = Arc::new(Ring::new(RING_CAPACITY.load(Ordering::Relaxed)));
        let chain = Arc::new(Chain::new(Arc::clone(&ring)));
        CHAINS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&chain));
        Producer {
            chain,
            wake_every: ring.capacity() / 4,
            ring,
            refused: None,
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.chain.close();
        // The ring may go with this producer: the fast path must not reach
        // it any more.
        FAST.with(|fast| fast.ring.set(std::ptr::null()));
    }
}

/// What `push` reads on every span, in cells without drop glue (a direct
/// thread-local access): this thread's ring and when to wake the worker.
struct Fast {
    /// The ring of the `Producer` in `PRODUCER`; null while there is none
    /// (before the first span and once `PRODUCER` has been destroyed).
    ring: Cell<*const Ring<SpanRecord>>,
    /// Wake the worker when the running count of pushes has none of these
    /// bits set.
    wake_mask: Cell<usize>,
}

thread_local! {
    static PRODUCER: RefCell<Option<Producer>> = const { RefCell::new(None) };
    static FAST: Fast = const {
        Fast {
            ring: Cell::new(std::ptr::null()),
            wake_mask: Cell::new(0),
        }
    };
}

/// Appends the record of an ended span to this thread's ring, moving the
/// attributes out of `attributes`. Returns `false` when it was dropped (ring
/// full, or the thread is being torn down).
#[inline]
pub(crate) fn push(
    head: impl FnOnce() -> RecordHead,
    attributes: &mut InlineAttributes,
    extra: AnnotationsBox,
    carried: CarriedRef,
) -> bool {
    let (ring, wake_mask) = FAST.with(|fast| (fast.ring.get(), fast.wake_mask.get()));
    if !ring.is_null() {
        // SAFETY: `ring` is non-null only while the `Producer` in
        // `PRODUCER` holds the `Arc` it points into (set in `push_slow`
        // right after the producer is stored, cleared by `Producer::drop`).
        // This thread is the ring's only producer: the ring is reachable for
        // pushing only through this thread's `FAST` and `PRODUCER`, and
        // writing the record only moves data (it cannot push again before
        // the slot is published).
        let ring = unsafe { &*ring };
        // SAFETY: as above.
        if let Some((slot, tail)) = unsafe { ring.reserve() } {
            // Built straight into the slot: no closure holding the parts
            // on the way, only the slow path below makes one.
            SpanRecord::write(slot, head, attributes, extra, carried);
            // SAFETY: the slot reserved just now is initialised.
            if unsafe { ring.publish(tail) } & wake_mask == 0 {
                wake_worker();
            }
            return true;
        }
    }
    push_slow(move |slot: &mut MaybeUninit<SpanRecord>| {
        SpanRecord::write(slot, head, attributes, extra, carried);
    })
}

/// `push` through `PRODUCER`: the first record of a thread (registers its
/// ring), a full ring, or a thread being torn down.
#[cold]
fn push_slow(write: impl FnOnce(&mut MaybeUninit<SpanRecord>)) -> bool {
    let pushed = PRODUCER.try_with(|producer| {
        let mut producer = producer.borrow_mut();
        let producer = producer.get_or_insert_with(Producer::register);
        // SAFETY: this thread is the ring's only producer: the ring is
        // reachable for pushing only through this thread's `PRODUCER` and
        // `FAST`, and no other push is in progress on this thread.
        let pushed = match unsafe { producer.ring.push_with(write) } {
            Ok(pushed) => Some(pushed & (producer.wake_every - 1) == 0),
            Err(write) => overflow(producer, write),
        };
        FAST.with(|fast| {
            fast.ring.set(Arc::as_ptr(&producer.ring));
            fast.wake_mask.set(producer.wake_every - 1);
        });
        pushed
    });
    match pushed {
        Ok(Some(wake)) => {
            if wake {
                wake_worker();
            }
            true
        }
        Ok(None) | Err(_) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// A full ring: the thread goes on in a ring chained after it (its chain's
/// spare, or a new one if the [`Bound`] has room for it), which the worker
/// drains after the full one; else the record is dropped (`None`).
#[cold]
fn overflow(
    producer: &mut Producer,
    write: impl FnOnce(&mut MaybeUninit<SpanRecord>),
) -> Option<bool> {
    let pushed = producer.ring.pushed();
    if let Some((at, left)) = &mut producer.refused {
        // Nothing pushed since the refusal: the ring is still the full one.
        if *at == pushed && *left > 0 {
            *left -= 1;
            return dropping();
        }
    }
    let Some(ring) = producer.chain.extend(allocate_overflow) else {
        producer.refused = Some((pushed, ASK_EVERY - 1));
        return dropping();
    };
    producer.refused = None;
    producer.wake_every = ring.capacity() / 4;
    producer.ring = ring;
    wake_worker();
    // SAFETY: as in `push_slow`: this thread owns the new ring's producing
    // side, and the ring is empty (new, or a spare read to its end).
    unsafe { producer.ring.push_with(write) }
        .ok()
        .map(|_| false)
}

/// A span found its thread's ring full and no overflow ring: it is dropped
/// (and counted by the caller); the worker is woken now and then, in case
/// it sleeps.
fn dropping() -> Option<bool> {
    if DROPPED.load(Ordering::Relaxed) % 256 == 0 {
        wake_worker();
    }
    None
}

/// A new overflow ring and the bytes it is charged, if the installed batch
/// processor's [`Bound`] has room for it beside what its buffer holds and
/// the other overflow rings.
fn allocate_overflow() -> Option<(Ring<SpanRecord>, usize)> {
    let capacity = RING_CAPACITY.load(Ordering::Relaxed);
    let bytes = capacity * size_of::<SpanRecord>();
    let bound = BOUND.lock().unwrap_or_else(PoisonError::into_inner);
    let bound = bound.as_ref()?;
    let overflow = OVERFLOW_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if overflow + bound.buffered.load(Ordering::Relaxed) > bound.max_bytes {
        OVERFLOW_BYTES.fetch_sub(bytes, Ordering::Relaxed);
        return None;
    }
    Some((Ring::new(capacity), bytes))
}

#[cold]
fn wake_worker() {
    if let Some(worker) = WORKER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        worker.unpark();
    }
}

/// The bytes overflow rings are charged now (see [`Bound`]).
pub(crate) fn overflow_bytes() -> usize {
    OVERFLOW_BYTES.load(Ordering::Relaxed)
}

/// Total spans dropped on full rings since the process started.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Hands up to `max` records from the rings to `take`, skipping (and
/// dropping) records of installations other than `generation`; forgets
/// chains whose thread has exited and that are empty. Returns how many
/// records were read.
///
/// Only the pipeline's single worker calls this (or [`drain_into`]).
pub(crate) fn drain(max: usize, generation: u32, mut take: impl FnMut(&mut SpanRecord)) -> usize {
    let chains = registered();
    let mut read = 0;
    for chain in &chains {
        if read >= max {
            break;
        }
        let (got, freed) = chain.read_each(max - read, |ring, max| {
            // SAFETY: one worker drains at a time (the pipeline's worker; a
            // new pipeline's worker starts after the previous one has
            // exited).
            unsafe {
                ring.drain(max, |record| {
                    if record.head.generation == generation {
                        take(record);
                    }
                })
            }
        });
        read += got;
        release(freed + chain.release_idle(false));
    }
    if read < max {
        forget_exited();
    }
    read
}

/// Moves up to `max` records from the rings to the end of `out` (which
/// must have room for them: the call panics otherwise), dropping those of
/// installations other than `generation`; forgets chains whose thread has
/// exited and that are empty. Returns how many records were read (fewer
/// than `max`: every ring was read to its end), the
/// [`estimated_bytes`](SpanRecord::estimated_bytes) of those kept, and
/// whether any of them holds something to drop (is not
/// [bare](SpanRecord::is_bare); a record dropped here as stale may be
/// counted).
///
/// Only the pipeline's single worker calls this (or [`drain`]).
pub(crate) fn drain_into(
    out: &mut Vec<SpanRecord>,
    max: usize,
    generation: u32,
) -> (usize, usize, bool) {
    let chains = registered();
    let first = out.len();
    let mut read = 0;
    let mut bytes = 0;
    let mut dressed = false;
    for chain in &chains {
        if read >= max {
            break;
        }
        let (got, freed) = chain.read_each(max - read, |ring, max| {
            // SAFETY: as in `drain`; each record of a run is moved out
            // once, into a slot of `out`'s spare capacity (which has room
            // for `max` of them, and the runs hold at most `max`).
            unsafe {
                ring.take_runs(max, |from, count| {
                    let start = out.len();
                    let spare = &mut out.spare_capacity_mut()[..count];
                    // Kept in registers over the run, added up after it.
                    let generation_now = generation;
                    let mut stale_found = false;
                    let mut run_bytes = 0;
                    let mut run_dressed = false;
                    for (i, slot) in spare.iter_mut().enumerate() {
                        let record = SpanRecord::move_out(from.add(i), slot);
                        stale_found |= record.head.generation != generation_now;
                        if !record.is_bare() {
                            run_bytes += record.estimated_bytes() - size_of::<SpanRecord>();
                            run_dressed = true;
                        }
                    }
                    // The first `count` spare slots were initialized above.
                    out.set_len(start + count);
                    bytes += run_bytes;
                    dressed |= run_dressed;
                    if stale_found {
                        stale(out, start, generation);
                    }
                })
            }
        });
        read += got;
        release(freed + chain.release_idle(false));
    }
    if read < max {
        forget_exited();
    }
    let bytes = bytes + (out.len() - first) * size_of::<SpanRecord>();
    (read, bytes, dressed)
}

/// Drops the records from `start` on that belong to another installation
/// (ended after their pipeline's last drain).
#[cold]
fn stale(out: &mut Vec<SpanRecord>, start: usize, generation: u32) {
    let mut index = 0;
    out.retain(|record| {
        index += 1;
        index <= start || record.head.generation == generation
    });
}

fn registered() -> Vec<Arc<Chain<SpanRecord>>> {
    CHAINS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Frees the spare rings of every thread that has nothing unread, however
/// recently they were emptied: the worker's last act, so that overflow rings
/// of this installation are not charged to the next one.
///
/// Only the pipeline's single worker calls this (or [`drain`]).
pub(crate) fn release_spares() {
    for chain in registered() {
        release(chain.release_idle(true));
    }
}

/// Gives back the bytes of overflow rings freed.
fn release(freed: usize) {
    if freed > 0 {
        OVERFLOW_BYTES.fetch_sub(freed, Ordering::Relaxed);
    }
}

fn forget_exited() {
    let mut registered = CHAINS.lock().unwrap_or_else(PoisonError::into_inner);
    registered.retain(|chain| {
        let done = chain.is_done();
        if done {
            release(chain.charges());
        }
        !done
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;
    use crate::model::{Kind, Site};

    // No unit test of this crate installs a pipeline, so this test is the
    // only one to publish settings and push records.
    static SITE: Site = Site::new("burst", Kind::Internal, None, None, "m", "f.rs", 1);
    const GENERATION: u32 = 0x7e57;

    fn head(id: u64) -> RecordHead {
        RecordHead {
            site: &SITE,
            trace_id: 1,
            span_id: id,
            parent_id: 0,
            parent_remote: false,
            random: false,
            generation: GENERATION,
            start: id,
            end: id + 1,
        }
    }

    /// Runs `bursts` on a thread of their own (a chain of its own, closed
    /// when the thread is gone), one at a time, while no worker drains: each
    /// burst ends the spans of its range of ids, then `between` runs on this
    /// thread (after the bursts' thread has exited, for the last).
    fn bursts(bursts: &[std::ops::Range<u64>], mut between: impl FnMut(usize)) {
        let (done, burst_done) = std::sync::mpsc::channel();
        let (go, next_burst) = std::sync::mpsc::channel::<()>();
        let ranges = bursts.to_vec();
        let mut thread = Some(std::thread::spawn(move || {
            for range in ranges {
                for id in range {
                    push(|| head(id), &mut InlineAttributes::new(), None, None);
                }
                done.send(()).unwrap();
                next_burst.recv().unwrap();
            }
        }));
        for n in 0..bursts.len() {
            burst_done.recv().unwrap();
            if n + 1 == bursts.len() {
                // The last: the thread goes first.
                go.send(()).unwrap();
                thread.take().unwrap().join().unwrap();
                between(n);
            } else {
                between(n);
                go.send(()).unwrap();
            }
        }
    }

    #[test]
    fn bursts_overflow_within_the_bound_and_are_read_in_order() {
        let ring = 64 * size_of::<SpanRecord>();
        // The buffer holds a ring's worth; the bound is four rings' worth.
        let bound = Bound {
            max_bytes: 4 * ring,
            buffered: Arc::new(AtomicUsize::new(ring)),
        };
        publish(Some(64), Some(bound), None);
        let mut dropped_before = dropped();
        bursts(&[1..301, 301..601], |n| {
            // The first ring (outside the bound) and three overflow rings: a
            // fourth would pass the bound beside what the buffer holds. The
            // second burst finds the ring it ended in emptied, then the
            // first ring as the spare, then room for two more.
            assert_eq!(dropped() - dropped_before, 300 - 4 * 64, "burst {n}");
            dropped_before = dropped();
            assert_eq!(OVERFLOW_BYTES.load(Ordering::Relaxed), 3 * ring);

            let mut out = Vec::with_capacity(300);
            let (read, bytes, dressed) = drain_into(&mut out, 300, GENERATION);
            assert_eq!((read, bytes), (256, 256 * size_of::<SpanRecord>()));
            assert!(!dressed, "the burst's spans hold nothing to drop");
            let first = 1 + 300 * n as u64;
            assert!(
                (out.iter().map(|record| record.head.span_id)).eq(first..first + 256),
                "oldest ring first, each in order"
            );
            if n == 1 {
                assert_eq!(
                    OVERFLOW_BYTES.load(Ordering::Relaxed),
                    0,
                    "overflow rings read to their end, of a thread gone, are given back"
                );
            }
        });
        publish(None, None, None);
    }
}
