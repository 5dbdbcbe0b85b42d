//! A thread's rings in the order it filled them.
//!
//! When a thread's ring is full, its producer does not drop the record and
//! does not move what the ring holds: it goes on in another ring, chained
//! after the full one (an overflow ring). The consumer empties the rings
//! oldest first, so a thread's records leave in the order they were written,
//! and retires each ring the producer has left once it is empty. The last
//! ring retired is kept as a spare for the producer's next overflow (its
//! memory is already touched, so a burst does not pay page faults twice);
//! the others are freed, and so is the spare once the chain has been idle
//! for [`SPARE_KEPT_FOR`].
//!
//! Every ring but one per chain carries a charge, the bytes it counts
//! against a bound kept by the caller (see `buffer.rs`): the chain reports
//! what it frees so the caller can give it back. The producer's fast path is
//! the ring's own (a slot write and one release store); the chain's lock is
//! taken only when a ring is full and by the consumer once per ring it reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::ring::Ring;

/// How long an idle chain keeps a spare ring.
const SPARE_KEPT_FOR: Duration = Duration::from_millis(100);

/// One producer's rings, oldest first; the producer writes into the last.
pub(crate) struct Chain<T> {
    state: Mutex<State<T>>,
    /// Set when the producing thread has exited.
    closed: AtomicBool,
}

struct State<T> {
    /// Never empty: the last is the ring the producer writes into.
    links: VecDeque<Link<T>>,
    /// A ring emptied and retired, with when it was retired.
    spare: Option<(Link<T>, Instant)>,
}

struct Link<T> {
    ring: Arc<Ring<T>>,
    /// What the ring counts against the caller's bound (0 for one ring of
    /// the chain).
    charge: usize,
}

impl<T> Chain<T> {
    /// A chain of one ring, free of charge.
    pub(crate) fn new(ring: Arc<Ring<T>>) -> Self {
        Chain {
            state: Mutex::new(State {
                links: VecDeque::from([Link { ring, charge: 0 }]),
                spare: None,
            }),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The producer's current ring is full: chains another after it and
    /// returns it, the spare if there is one, else a ring made by
    /// `allocate` (with its charge); `None` when `allocate` makes none.
    ///
    /// Only the chain's producer may call this, and it must write nothing
    /// more into its previous ring.
    pub(crate) fn extend(
        &self,
        allocate: impl FnOnce() -> Option<(Ring<T>, usize)>,
    ) -> Option<Arc<Ring<T>>> {
        let mut state = self.lock();
        let link = match state.spare.take() {
            Some((link, _)) => link,
            None => {
                let (ring, charge) = allocate()?;
                Link {
                    ring: Arc::new(ring),
                    charge,
                }
            }
        };
        let ring = Arc::clone(&link.ring);
        state.links.push_back(link);
        Some(ring)
    }

    /// Reads the rings oldest first: `read(ring, max)` reads up to `max`
    /// values from `ring` and returns how many. A ring the producer has
    /// left is retired once read to its end, and the next one is read;
    /// the ring the producer writes into ends the walk. Returns how many
    /// values were read (fewer than `max`: every ring was read to its end)
    /// and the charges of the rings freed.
    ///
    /// Only one thread at a time (the consumer) may call `read_each`,
    /// `release_idle` or `charges`.
    pub(crate) fn read_each(
        &self,
        max: usize,
        mut read: impl FnMut(&Ring<T>, usize) -> usize,
    ) -> (usize, usize) {
        let mut total = 0;
        let mut freed = 0;
        loop {
            let (ring, left) = {
                let state = self.lock();
                let ring = Arc::clone(&state.links[0].ring);
                (ring, state.links.len() > 1)
            };
            let want = max - total;
            let got = read(&ring, want);
            total += got;
            if !left || got == want {
                return (total, freed);
            }
            // Read to its end, and the producer has moved on (it chained
            // the next ring after its last write here): it stays empty.
            freed += self.retire_oldest();
        }
    }

    /// Retires the oldest ring (empty, left by the producer): keeps it as
    /// the spare, or frees it; returns the charge freed.
    fn retire_oldest(&self) -> usize {
        let mut state = self.lock();
        let link = state.links.pop_front().expect("a later ring exists");
        let now = Instant::now();
        match state.spare.take() {
            None => {
                state.spare = Some((link, now));
                0
            }
            // The uncharged ring is never freed while the chain lives.
            Some((spare, _)) if spare.charge == 0 => {
                state.spare = Some((spare, now));
                link.charge
            }
            Some((spare, _)) => {
                state.spare = Some((link, now));
                spare.charge
            }
        }
    }

    /// Frees the spare of a chain whose producer has written nothing that
    /// is still unread and that has kept the spare for longer than
    /// [`SPARE_KEPT_FOR`] (or at all, when `now`); returns the charge freed.
    /// Called by the consumer after reading the chain.
    pub(crate) fn release_idle(&self, now: bool) -> usize {
        let mut state = self.lock();
        let idle = state.links.len() == 1 && state.links[0].ring.is_empty();
        if !idle
            || state
                .spare
                .as_ref()
                .is_none_or(|(_, since)| !now && since.elapsed() < SPARE_KEPT_FOR)
        {
            return 0;
        }
        let (spare, _) = state.spare.take().expect("checked above");
        if spare.charge == 0 {
            // The free ring goes: the one left becomes free of charge.
            std::mem::take(&mut state.links[0].charge)
        } else {
            spare.charge
        }
    }

    /// The charges of every ring the chain holds (what forgetting it frees).
    pub(crate) fn charges(&self) -> usize {
        let state = self.lock();
        let spare = state.spare.as_ref().map_or(0, |(link, _)| link.charge);
        state.links.iter().map(|link| link.charge).sum::<usize>() + spare
    }

    /// How many rings the chain holds, its spare included.
    #[cfg(test)]
    fn rings(&self) -> usize {
        let state = self.lock();
        state.links.len() + usize::from(state.spare.is_some())
    }

    /// Marks the producer as gone.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the producer is gone and every ring read to its end.
    pub(crate) fn is_done(&self) -> bool {
        self.closed.load(Ordering::Acquire) && {
            let state = self.lock();
            state.links.iter().all(|link| link.ring.is_empty())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves every value the chain holds into `out`, oldest first; returns
    /// how many and the charges freed.
    fn read_all(chain: &Chain<u32>, out: &mut Vec<u32>) -> (usize, usize) {
        // SAFETY: this test is the chain's only consumer.
        chain.read_each(usize::MAX, |ring, max| unsafe {
            ring.drain(max, |value| out.push(*value))
        })
    }

    /// Pushes `value` as the producer does: into `ring`, else into a ring
    /// chained after it (made by `allocate`, charged 100).
    fn push(chain: &Chain<u32>, ring: &mut Arc<Ring<u32>>, value: u32, allocated: &mut usize) {
        // SAFETY (both pushes): this test is the only producer.
        if unsafe { ring.push(value) }.is_ok() {
            return;
        }
        *ring = chain
            .extend(|| {
                *allocated += 1;
                Some((Ring::new(4), 100))
            })
            .expect("allocated");
        unsafe { ring.push(value) }.expect("a new ring has room");
    }

    #[test]
    fn a_full_ring_chains_another_and_order_is_kept() {
        let mut ring = Arc::new(Ring::new(4));
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        for value in 0..10 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        assert_eq!((allocated, chain.rings()), (2, 3), "4 + 4 + 2 values");
        assert_eq!(chain.charges(), 200);

        let mut out = Vec::new();
        let (read, freed) = read_all(&chain, &mut out);
        assert_eq!(read, 10);
        assert_eq!(out, (0..10).collect::<Vec<_>>(), "oldest ring first");
        // The first ring (free of charge) is kept as the spare, the second
        // freed; the one being written stays.
        assert_eq!(freed, 100);
        assert_eq!((chain.rings(), chain.charges()), (2, 100));
    }

    #[test]
    fn reading_stops_at_max_and_goes_on_where_it_stopped() {
        let mut ring = Arc::new(Ring::new(4));
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        for value in 0..12 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        let mut out = Vec::new();
        // SAFETY: this test is the chain's only consumer.
        let (read, _) = chain.read_each(6, |ring, max| unsafe {
            ring.drain(max, |value| out.push(*value))
        });
        assert_eq!((read, out.len()), (6, 6));
        assert_eq!(read_all(&chain, &mut out).0, 6);
        assert_eq!(out, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn a_retired_ring_is_reopened_for_the_next_overflow() {
        let mut ring = Arc::new(Ring::new(4));
        let first = Arc::as_ptr(&ring);
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        let mut out = Vec::new();
        for value in 0..6 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        read_all(&chain, &mut out);
        // Fill the second ring, then overflow again: the first ring, emptied
        // and retired, takes the values, and nothing is allocated.
        for value in 6..12 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        assert_eq!(allocated, 1);
        assert_eq!(Arc::as_ptr(&ring), first, "the spare was reopened");
        read_all(&chain, &mut out);
        assert_eq!(out, (0..12).collect::<Vec<_>>());
        assert_eq!(chain.charges(), 100, "one ring charged, kept as spare");
    }

    #[test]
    fn an_idle_chain_frees_its_spare_and_keeps_one_ring_free_of_charge() {
        let mut ring = Arc::new(Ring::new(4));
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        for value in 0..6 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        let mut out = Vec::new();
        read_all(&chain, &mut out);
        assert_eq!(chain.release_idle(false), 0, "the spare is kept a while");
        std::thread::sleep(SPARE_KEPT_FOR);
        // The spare is the first ring (free of charge); the ring being
        // written (charged) is kept and becomes the free one.
        assert_eq!(chain.release_idle(false), 100);
        assert_eq!((chain.rings(), chain.charges()), (1, 0));
        push(&chain, &mut ring, 6, &mut allocated);
        assert_eq!(chain.release_idle(true), 0, "not idle: a value is unread");
    }

    #[test]
    fn a_spare_goes_at_once_when_asked() {
        let mut ring = Arc::new(Ring::new(4));
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        for value in 0..6 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        read_all(&chain, &mut Vec::new());
        assert_eq!(chain.release_idle(true), 100);
        assert_eq!((chain.rings(), chain.charges()), (1, 0));
    }

    #[test]
    fn a_chain_is_done_when_closed_and_read_to_its_end() {
        let mut ring = Arc::new(Ring::new(4));
        let chain = Chain::new(Arc::clone(&ring));
        let mut allocated = 0;
        for value in 0..6 {
            push(&chain, &mut ring, value, &mut allocated);
        }
        chain.close();
        assert!(!chain.is_done(), "values left");
        read_all(&chain, &mut Vec::new());
        assert!(chain.is_done());
    }
}
