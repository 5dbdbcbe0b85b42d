//! What traces that came from elsewhere brought along: their W3C
//! `tracestate`, their baggage (with the entries added here by
//! `inject_baggage`) and the B3 debug flag.
//!
//! Spans carry only ids and flags; the vendor data and baggage a remote
//! parent sent along are kept here, per trace, so spans of that trace can
//! inject them again (and export the trace state). Bounded: the oldest
//! traces are forgotten first.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::trace::TraceState;

/// How many traces' trace state is remembered (at most 512 bytes each).
const STATE_CAPACITY: usize = 4096;
/// How many traces' baggage is remembered (at most 8192 bytes each, so at
/// most 8 MiB in all).
const BAGGAGE_CAPACITY: usize = 1024;
/// How many B3 debug traces are remembered.
const DEBUG_CAPACITY: usize = 1024;

/// A bounded map from trace id to `T`, with a lock-free "empty" check.
struct PerTrace<T> {
    entries: Mutex<VecDeque<(u128, T)>>,
    capacity: usize,
    /// Whether anything was ever remembered: spares the lock in the common
    /// case.
    any: AtomicBool,
}

impl<T: Clone> PerTrace<T> {
    const fn new(capacity: usize) -> Self {
        PerTrace {
            entries: Mutex::new(VecDeque::new()),
            capacity,
            any: AtomicBool::new(false),
        }
    }

    fn remember(&self, trace_id: u128, value: &T) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.iter_mut().find(|(id, _)| *id == trace_id) {
            entry.1 = value.clone();
            return;
        }
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back((trace_id, value.clone()));
        self.any.store(true, Ordering::Release);
    }

    /// The value for `trace_id`: one load while nothing was ever remembered
    /// (the common case, asked for every span the worker converts).
    #[inline]
    fn get(&self, trace_id: u128) -> Option<T> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.find(trace_id)
    }

    #[cold]
    #[inline(never)]
    fn find(&self, trace_id: u128) -> Option<T> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(id, _)| *id == trace_id)
            .map(|(_, value)| value.clone())
    }
}

/// Baggage entries (key, value, properties), in order.
pub(crate) type Entries = Arc<[(String, String, String)]>;

static STATES: PerTrace<TraceState> = PerTrace::new(STATE_CAPACITY);
static BAGGAGE: PerTrace<Entries> = PerTrace::new(BAGGAGE_CAPACITY);
static DEBUG: PerTrace<()> = PerTrace::new(DEBUG_CAPACITY);

/// Remembers `state` for `trace_id` (nothing for an empty state).
pub(crate) fn remember(trace_id: u128, state: &TraceState) {
    if !state.header().is_empty() {
        STATES.remember(trace_id, state);
    }
}

/// The state remembered for `trace_id`, or an empty one.
#[inline]
pub(crate) fn of(trace_id: u128) -> TraceState {
    STATES.get(trace_id).unwrap_or_default()
}

/// Remembers the baggage a remote parent of `trace_id` brought (nothing for
/// none).
pub(crate) fn remember_baggage(trace_id: u128, entries: &[(String, String, String)]) {
    if !entries.is_empty() {
        BAGGAGE.remember(trace_id, &Entries::from(entries));
    }
}

/// The baggage remembered for `trace_id`.
pub(crate) fn baggage_of(trace_id: u128) -> Option<Entries> {
    BAGGAGE.get(trace_id)
}

/// Remembers that `trace_id` came with the B3 debug flag, which B3
/// requires to be passed on.
pub(crate) fn remember_debug(trace_id: u128) {
    DEBUG.remember(trace_id, &());
}

/// Whether `trace_id` came with the B3 debug flag.
pub(crate) fn is_debug(trace_id: u128) -> bool {
    DEBUG.get(trace_id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_trace_is_forgotten_first() {
        let store: PerTrace<u32> = PerTrace::new(2);
        assert_eq!(store.get(1), None);
        store.remember(1, &10);
        store.remember(2, &20);
        store.remember(1, &11);
        assert_eq!(
            store.get(1),
            Some(11),
            "a trace remembered again is updated"
        );
        store.remember(3, &30);
        assert_eq!(store.get(1), None);
        assert_eq!((store.get(2), store.get(3)), (Some(20), Some(30)));
    }
}
