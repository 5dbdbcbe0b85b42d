//! Each recording thread's ring of ended spans, and the registry through
//! which the background worker finds them all.
//!
//! A thread's ring is created at its first recorded span and registered
//! once. The worker drains every registered ring itself, so `flush()` never
//! waits for an idle thread, and a thread that exits leaves its ring (with
//! whatever it still holds) for the worker to drain and then forget.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;

use super::ring::Ring;
use crate::pipeline::SpanRecord;

/// Spans each thread can hold before the worker drains them: the installed
/// batch processor's `max_queue_size`, rounded up to a power of two, within
/// these bounds.
const MIN_RING: usize = 64;
const MAX_RING: usize = 1 << 17;

/// The capacity new rings get (and full rings grow to).
static RING_CAPACITY: AtomicUsize = AtomicUsize::new(2048);

/// Every ring still to be drained.
static RINGS: Mutex<Vec<Arc<Ring<SpanRecord>>>> = Mutex::new(Vec::new());

/// The worker to wake when a ring fills up.
static WORKER: Mutex<Option<Thread>> = Mutex::new(None);

/// Spans dropped because their thread's ring was full.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Sets the capacity of rings from the batch processor's queue size.
pub(crate) fn set_ring_capacity(max_queue_size: usize) {
    RING_CAPACITY.store(
        max_queue_size.clamp(MIN_RING, MAX_RING).next_power_of_two(),
        Ordering::Relaxed,
    );
}

/// The producing side of this thread's ring; closes it when the thread
/// exits.
struct Producer {
    ring: Arc<Ring<SpanRecord>>,
    /// Every this many records (a power of two), the producer wakes the
    /// worker.
    wake_every: usize,
}

impl Producer {
    fn register() -> Producer {
        let capacity = RING_CAPACITY.load(Ordering::Relaxed);
        let ring = Arc::new(Ring::new(capacity));
        RINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&ring));
        Producer {
            ring,
            wake_every: capacity / 4,
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.ring.close();
    }
}

thread_local! {
    static PRODUCER: RefCell<Option<Producer>> = const { RefCell::new(None) };
}

/// Appends the record `write` puts in place to this thread's ring.
/// Returns `false` when it was dropped (ring full, or the thread is being
/// torn down); then `write` is not called.
#[inline]
pub(crate) fn push_with(write: impl FnOnce(&mut MaybeUninit<SpanRecord>)) -> bool {
    let pushed = PRODUCER.try_with(|producer| {
        let mut producer = producer.borrow_mut();
        let producer = producer.get_or_insert_with(Producer::register);
        // SAFETY: this thread is the ring's only producer: the ring is
        // reachable for pushing only through this thread-local.
        match unsafe { producer.ring.push_with(write) } {
            Ok(pushed) => Some(pushed & (producer.wake_every - 1) == 0),
            Err(write) => grow(producer, write),
        }
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

/// A full ring: if the installed pipeline wants bigger rings than this one
/// (it was created under a smaller queue size), move to a new ring; else the
/// record is dropped (`None`).
#[cold]
fn grow(producer: &mut Producer, write: impl FnOnce(&mut MaybeUninit<SpanRecord>)) -> Option<bool> {
    if RING_CAPACITY.load(Ordering::Relaxed) <= producer.ring.capacity() {
        if DROPPED.load(Ordering::Relaxed) % 256 == 0 {
            wake_worker();
        }
        return None;
    }
    *producer = Producer::register();
    // SAFETY: as in `push_with`: this thread owns the new ring's producing
    // side.
    unsafe { producer.ring.push_with(write) }
        .ok()
        .map(|_| false)
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

/// Sets (or clears) the worker that producers wake.
pub(crate) fn set_worker(worker: Option<Thread>) {
    *WORKER.lock().unwrap_or_else(PoisonError::into_inner) = worker;
}

/// Total spans dropped on full rings since the process started.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Hands up to `max` records from the rings to `take`, skipping (and
/// dropping) records of installations other than `generation`; forgets rings
/// whose thread has exited and that are empty. Returns how many records were
/// read.
///
/// Only the pipeline's single worker calls this.
pub(crate) fn drain(max: usize, generation: u32, mut take: impl FnMut(&mut SpanRecord)) -> usize {
    let rings: Vec<Arc<Ring<SpanRecord>>> =
        RINGS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut read = 0;
    for ring in &rings {
        if read >= max {
            break;
        }
        // SAFETY: one worker drains at a time (the pipeline's worker; a new
        // pipeline's worker starts after the previous one has exited).
        read += unsafe {
            ring.drain(max - read, |record| {
                if record.generation == generation {
                    take(record);
                }
            })
        };
    }
    if read < max {
        let mut registered = RINGS.lock().unwrap_or_else(PoisonError::into_inner);
        registered.retain(|ring| !(ring.is_closed() && ring.is_empty()));
    }
    read
}
