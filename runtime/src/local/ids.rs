//! Trace and span ids from a per-thread generator.
//!
//! Each thread seeds a wyrand generator from the standard library's random
//! hasher keys (OS randomness), so ids differ between threads and processes
//! without a lock or an atomic per id. Ids are never zero: zero is the
//! invalid id in W3C Trace Context.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    // Different threads get different RandomState keys; mix in the
    // thread-local's address for good measure.
    STATE.with(|s| hasher.write_usize(std::ptr::from_ref(s) as usize));
    hasher.finish() | 1
}

#[inline]
fn next_u64() -> u64 {
    STATE.with(|state| {
        let s = state.get();
        step(state, if s == 0 { seed() } else { s })
    })
}

/// One wyrand step from state `s`, stored back in `state`.
#[inline]
fn step(state: &Cell<u64>, s: u64) -> u64 {
    let s = s.wrapping_add(0xa076_1d64_78bd_642f);
    state.set(s);
    let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
    #[allow(clippy::cast_possible_truncation)]
    let mixed = (t >> 64) as u64 ^ t as u64;
    mixed
}

/// A new, non-zero 64-bit span id.
#[inline]
pub(crate) fn span_id() -> u64 {
    loop {
        let id = next_u64();
        if id != 0 {
            return id;
        }
    }
}

/// Seeds this thread's generator unless it is already: called when a
/// thread gets its id (`context::current`), so that a span's opening, which
/// reads that id first, can use [`span_id_seeded`].
#[cold]
pub(crate) fn seed_thread() {
    STATE.with(|state| {
        if state.get() == 0 {
            state.set(seed());
        }
    });
}

/// [`span_id`] on a thread whose generator [`seed_thread`] has seeded: one
/// check fewer per span. (Unseeded, the ids are still valid and non-zero,
/// only the same on every such thread.)
#[inline]
pub(crate) fn span_id_seeded() -> u64 {
    STATE.with(|state| loop {
        let id = step(state, state.get());
        if id != 0 {
            return id;
        }
    })
}

/// A new, non-zero 128-bit trace id.
pub(crate) fn trace_id() -> u128 {
    loop {
        let id = (u128::from(next_u64()) << 64) | u128::from(next_u64());
        if id != 0 {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_distinct_and_non_zero() {
        let spans: HashSet<u64> = (0..10_000).map(|_| span_id()).collect();
        assert_eq!(spans.len(), 10_000);
        assert!(!spans.contains(&0));
        let traces: HashSet<u128> = (0..1_000).map(|_| trace_id()).collect();
        assert_eq!(traces.len(), 1_000);
    }

    #[test]
    fn a_seeded_thread_gets_its_own_sequence_from_span_id_seeded() {
        let ids = || {
            std::thread::spawn(|| {
                seed_thread();
                [span_id_seeded(), span_id_seeded()]
            })
            .join()
            .unwrap()
        };
        let (a, b) = (ids(), ids());
        assert_ne!(a, b);
        assert!(!a.contains(&0) && !b.contains(&0));
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(span_id).join().unwrap();
        let b = std::thread::spawn(span_id).join().unwrap();
        assert_ne!(a, b);
    }
}
