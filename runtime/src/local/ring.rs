//! A bounded single-producer, single-consumer ring of ended spans.
//!
//! Each thread that records spans owns the producing side of one ring; the
//! pipeline's background worker is the only consumer of all of them. The
//! producer's push is a slot write and one release store; it never waits
//! and never allocates. When the ring is full the record is handed back and
//! the caller drops and counts it.

use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fixed-capacity SPSC ring.
///
/// The consumer's index and the producer's state sit on separate cache
/// lines, so the worker draining the ring does not slow down the thread
/// filling it.
pub(crate) struct Ring<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
    /// Next slot the consumer reads; written by the consumer only.
    head: CacheLine<AtomicUsize>,
    producer: CacheLine<ProducerSide>,
}

/// What only the producer writes.
struct ProducerSide {
    /// Next slot the producer writes; read by the consumer.
    tail: AtomicUsize,
    /// The producer's last view of `head`.
    cached_head: Cell<usize>,
}

/// Keeps its value on a cache line of its own.
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

// SAFETY: the ring hands `T`s from one thread to another, so it needs
// `T: Send`. Each slot is accessed by one side at a time, as ordered by the
// head/tail protocol: the producer writes slots in [tail, head + capacity)
// and publishes them with a release store of `tail`; the consumer reads
// slots in [head, tail) after an acquire load of `tail` and releases them
// with a release store of `head`. `cached_head` is touched only by the
// producer (see `push`'s contract).
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `capacity` slots (rounded up to a power of two).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        Ring {
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            mask: capacity - 1,
            head: CacheLine(AtomicUsize::new(0)),
            producer: CacheLine(ProducerSide {
                tail: AtomicUsize::new(0),
                cached_head: Cell::new(0),
            }),
        }
    }

    /// How many values the ring can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// How many values were ever pushed (a running count, as `push` returns
    /// it); for the producer.
    pub(crate) fn pushed(&self) -> usize {
        self.producer.tail.load(Ordering::Relaxed)
    }

    /// Appends `value`; returns it back when the ring is full. On success,
    /// returns how many values were ever pushed (a running count).
    ///
    /// # Safety
    /// As for [`Ring::push_with`].
    #[cfg(test)]
    pub(crate) unsafe fn push(&self, value: T) -> Result<usize, T> {
        let mut value = Some(value);
        // SAFETY: the caller's contract is `push_with`'s.
        let pushed = unsafe {
            self.push_with(|slot| {
                slot.write(value.take().expect("written once"));
            })
        };
        match pushed {
            Ok(count) => Ok(count),
            Err(_) => Err(value.take().expect("not written")),
        }
    }

    /// Appends the value `write` puts into the next slot (it is called only
    /// if there is room, and must initialise the slot); returns `write`
    /// back when the ring is full. Writing in place spares moving the value.
    /// On success, returns how many values were ever pushed.
    ///
    /// # Safety
    /// Only one thread (the producer) may ever call `push`, `push_with` or
    /// `reserve`.
    #[allow(clippy::inline_always)] // one call per span: keep it in the caller
    #[inline(always)]
    pub(crate) unsafe fn push_with<F: FnOnce(&mut MaybeUninit<T>)>(
        &self,
        write: F,
    ) -> Result<usize, F> {
        // SAFETY: the caller's contract is `reserve`'s.
        match unsafe { self.reserve() } {
            Some((slot, tail)) => {
                write(slot);
                // SAFETY: `write` initialised slot `tail`.
                Ok(unsafe { self.publish(tail) })
            }
            None => Err(write),
        }
    }

    /// The next slot to write and its position, or `None` when the ring is
    /// full. Nothing is published: the producer writes the slot, then hands
    /// the position to [`Ring::publish`]. The caller builds its value only
    /// once it knows there is room, without moving it through a closure.
    ///
    /// # Safety
    /// Only one thread (the producer) may ever call `push`, `push_with` or
    /// `reserve`, and it publishes (or abandons) the slot before it
    /// reserves again.
    #[allow(clippy::inline_always)] // one call per span: keep it in the caller
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // the slot is the producer's alone until published
    pub(crate) unsafe fn reserve(&self) -> Option<(&mut MaybeUninit<T>, usize)> {
        let producer = &self.producer;
        let tail = producer.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(producer.cached_head.get()) > self.mask {
            producer.cached_head.set(self.head.load(Ordering::Acquire));
            if tail.wrapping_sub(producer.cached_head.get()) > self.mask {
                return None;
            }
        }
        // SAFETY: `tail & mask` is below the capacity, the length of
        // `slots`. Slot `tail` is outside [head, tail), so the consumer does
        // not touch it until `publish` moves `tail` past it.
        Some((
            unsafe { &mut *self.slots.get_unchecked(tail & self.mask).get() },
            tail,
        ))
    }

    /// Publishes the slot at `tail` (from [`Ring::reserve`]) to the
    /// consumer; returns how many values were ever pushed.
    ///
    /// # Safety
    /// The producer only, with the position `reserve` gave, the slot
    /// initialised since.
    #[allow(clippy::inline_always)] // one call per span: keep it in the caller
    #[inline(always)]
    pub(crate) unsafe fn publish(&self, tail: usize) -> usize {
        let pushed = tail.wrapping_add(1);
        self.producer.tail.store(pushed, Ordering::Release);
        pushed
    }

    /// Shows up to `max` values, oldest first, to `take`, which may move
    /// parts out of them (leaving valid values); each is then dropped in
    /// place. Returns how many.
    ///
    /// # Safety
    /// Only one thread at a time (the consumer) may call `drain`.
    pub(crate) unsafe fn drain(&self, max: usize, mut take: impl FnMut(&mut T)) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.producer.tail.load(Ordering::Acquire);
        let count = tail.wrapping_sub(head).min(max);
        // Moves `head` once, when done (or past the slot being read if
        // `take` panics: that slot is leaked, never read twice).
        let mut release = Release(&self.head, head);
        for i in 0..count {
            let slot = head.wrapping_add(i) & self.mask;
            release.1 = head.wrapping_add(i + 1);
            // SAFETY: slots in [head, tail) were published by the producer
            // and hold initialized values; the consumer is single, and each
            // slot is dropped exactly once before `head` moves past it.
            let value = unsafe { (*self.slots[slot].get()).assume_init_mut() };
            take(value);
            // SAFETY: as above.
            unsafe { (*self.slots[slot].get()).assume_init_drop() };
        }
        drop(release);
        count
    }

    /// Hands up to `max` values, oldest first, to `take` in at most two
    /// runs of adjacent slots (up to the ring's end, then from its start):
    /// a pointer to the run's first value and how many follow. `take` takes
    /// ownership of each value of the run: it must move each out (read it,
    /// or its parts) and not use the pointer afterwards; the ring never
    /// drops them. Returns how many.
    ///
    /// # Safety
    /// Only one thread at a time (the consumer) may call `drain` or
    /// `take_runs`; `take` must take the values as described.
    pub(crate) unsafe fn take_runs(
        &self,
        max: usize,
        mut take: impl FnMut(*mut T, usize),
    ) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.producer.tail.load(Ordering::Acquire);
        let count = tail.wrapping_sub(head).min(max);
        let first = head & self.mask;
        let run = count.min(self.capacity() - first);
        // Moves `head` once, when done (or past the run being read if
        // `take` panics: the rest of that run is leaked, never read twice).
        let mut release = Release(&self.head, head);
        // Slots in [head, tail) were published by the producer and hold
        // initialized values; `take` owns each from here (the caller's
        // contract), and `head` moves past them before the producer can
        // write the slots again. The pointers come from the whole slice
        // (a slot is its value: `UnsafeCell` and `MaybeUninit` are
        // transparent), so a run may be read past its first slot.
        let slots = self.slots.as_ptr();
        if run != 0 {
            release.1 = head.wrapping_add(run);
            // SAFETY: `first` is within the slots (masked).
            take(
                UnsafeCell::raw_get(unsafe { slots.add(first) }).cast::<T>(),
                run,
            );
        }
        if count > run {
            release.1 = head.wrapping_add(count);
            take(UnsafeCell::raw_get(slots).cast::<T>(), count - run);
        }
        drop(release);
        count
    }

    /// Moves every value present into `out`.
    ///
    /// # Safety
    /// As for [`Ring::drain`].
    #[cfg(test)]
    pub(crate) unsafe fn drain_into(&self, out: &mut Vec<T>) -> usize
    where
        T: Clone,
    {
        // SAFETY: the caller's contract is `drain`'s. The value is read out
        // and the slot replaced by a copy that is never dropped twice:
        // `T: Clone` keeps this test helper safe.
        unsafe { self.drain(usize::MAX, |value| out.push(value.clone())) }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.producer.tail.load(Ordering::Acquire) == self.head.load(Ordering::Acquire)
    }
}

/// Moves a ring's `head` when dropped.
struct Release<'a>(&'a AtomicUsize, usize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(self.1, Ordering::Release);
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        let head = self.head.0.load(Ordering::Relaxed);
        let tail = self.producer.0.tail.load(Ordering::Relaxed);
        for i in 0..tail.wrapping_sub(head) {
            let slot = head.wrapping_add(i) & self.mask;
            // SAFETY: slots in [head, tail) hold initialized values that
            // nobody else will read: we have `&mut self`.
            unsafe { self.slots[slot].get_mut().assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn push_until_full_then_drain() {
        let ring = Ring::new(4);
        for i in 0..4 {
            assert_eq!(unsafe { ring.push(i) }, Ok(i + 1));
        }
        assert_eq!(unsafe { ring.push(99) }, Err(99));
        let mut out = Vec::new();
        assert_eq!(unsafe { ring.drain_into(&mut out) }, 4);
        assert_eq!(out, [0, 1, 2, 3]);
        assert!(ring.is_empty());
        assert_eq!(unsafe { ring.push(4) }, Ok(5));
    }

    #[test]
    fn take_runs_hands_over_values_of_a_wrapped_ring_in_order() {
        let ring = Ring::new(4);
        let value = Arc::new(());
        let mut out = Vec::new();
        // SAFETY (here and below): each value is read out exactly once.
        let take = |out: &mut Vec<Arc<()>>, ring: &Ring<Arc<()>>, max| unsafe {
            ring.take_runs(max, |first, count| {
                for i in 0..count {
                    out.push(first.add(i).read());
                }
            })
        };
        for _ in 0..3 {
            unsafe { ring.push(Arc::clone(&value)) }.unwrap();
        }
        assert_eq!(take(&mut out, &ring, 2), 2);
        for _ in 0..3 {
            unsafe { ring.push(Arc::clone(&value)) }.unwrap();
        }
        // Slots 2, 3, 0, 1: the values wrap around the end.
        assert_eq!(take(&mut out, &ring, 8), 4);
        assert!(ring.is_empty());
        assert_eq!(
            Arc::strong_count(&value),
            7,
            "moved, neither dropped nor copied"
        );
        drop(out);
        drop(ring);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn values_left_in_the_ring_are_dropped_with_it() {
        let value = Arc::new(());
        let ring = Ring::new(8);
        for _ in 0..5 {
            unsafe { ring.push(Arc::clone(&value)) }.unwrap();
        }
        drop(ring);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn producer_and_consumer_on_two_threads_lose_nothing() {
        let ring = Arc::new(Ring::new(64));
        let closed = Arc::new(AtomicBool::new(false));
        let producer = {
            let ring = Arc::clone(&ring);
            let closed = Arc::clone(&closed);
            std::thread::spawn(move || {
                let mut dropped = 0_u64;
                for i in 0..200_000_u64 {
                    if unsafe { ring.push(i) }.is_err() {
                        dropped += 1;
                    }
                }
                closed.store(true, Ordering::Release);
                dropped
            })
        };
        let mut received = Vec::new();
        loop {
            let closed = closed.load(Ordering::Acquire);
            unsafe { ring.drain_into(&mut received) };
            if closed && ring.is_empty() {
                break;
            }
        }
        let dropped = producer.join().unwrap();
        assert_eq!(received.len() as u64 + dropped, 200_000);
        assert!(received.windows(2).all(|w| w[0] < w[1]), "order kept");
    }
}
