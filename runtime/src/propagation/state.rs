//! Trace state (W3C `tracestate`) of traces that came from elsewhere.
//!
//! Spans carry only ids and flags; the vendor data a remote parent sent
//! along is kept here, per trace, so spans of that trace can inject it
//! again and export it. Bounded: the oldest traces are forgotten first.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::trace::TraceState;

/// How many traces' state is kept.
const CAPACITY: usize = 4096;

static STATES: Mutex<VecDeque<(u128, TraceState)>> = Mutex::new(VecDeque::new());
/// Whether any state was ever remembered: spares the lock in the common case.
static ANY: AtomicBool = AtomicBool::new(false);

/// Remembers `state` for `trace_id` (nothing for an empty state).
pub(crate) fn remember(trace_id: u128, state: &TraceState) {
    if state.header().is_empty() {
        return;
    }
    let mut states = STATES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(entry) = states.iter_mut().find(|(id, _)| *id == trace_id) {
        entry.1 = state.clone();
        return;
    }
    if states.len() == CAPACITY {
        states.pop_front();
    }
    states.push_back((trace_id, state.clone()));
    ANY.store(true, Ordering::Release);
}

/// The state remembered for `trace_id`, or an empty one.
#[inline]
pub(crate) fn of(trace_id: u128) -> TraceState {
    if !ANY.load(Ordering::Acquire) {
        return TraceState::default();
    }
    remembered(trace_id)
}

fn remembered(trace_id: u128) -> TraceState {
    STATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .rev()
        .find(|(id, _)| *id == trace_id)
        .map_or_else(TraceState::default, |(_, state)| state.clone())
}
