//! Spans made through the OpenTelemetry API (the bridge's tracer) that are
//! current in OpenTelemetry's own context, which traced does not own.
//!
//! `Tracer::in_span`, `Context::attach` and `FutureExt::with_context` make
//! a span current in OpenTelemetry's thread-local context, without telling
//! traced. So that a traced span opened inside one is its child, a span
//! about to open looks there too, but only while spans of the bridge are
//! alive: otherwise it costs one relaxed atomic load.
//!
//! Of the two candidates, traced's current span `T` and OpenTelemetry's
//! current span `O`, the innermost is the parent. `O` is innermost when it
//! was opened under `T` (or nothing is current in traced); otherwise `T`
//! was opened inside `O` (or has nothing to do with it) and is the
//! innermost. Each live bridge span's parent is kept here for that test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::trace::TraceContextExt;

use super::SpanCtx;
use crate::model;

/// How many bridge spans are alive.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// `(span id, parent span id)` of each live bridge span.
static PARENTS: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// A bridge span `span_id` opened under `parent_id` (zero: none).
pub(crate) fn opened(span_id: u64, parent_id: u64) {
    let mut parents = PARENTS.lock().unwrap_or_else(PoisonError::into_inner);
    parents.push((span_id, parent_id));
    LIVE.store(parents.len(), Ordering::Relaxed);
}

/// Bridge span `span_id` ended.
pub(crate) fn ended(span_id: u64) {
    let mut parents = PARENTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(at) = parents.iter().rposition(|(id, _)| *id == span_id) {
        parents.swap_remove(at);
    }
    LIVE.store(parents.len(), Ordering::Relaxed);
}

/// Whether `span_id` is a live bridge span.
pub(crate) fn is_live(span_id: u64) -> bool {
    LIVE.load(Ordering::Relaxed) > 0
        && PARENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(id, _)| *id == span_id)
}

/// The parent of a span about to open, given traced's current span.
#[inline]
pub(crate) fn parent(traced: Option<SpanCtx>) -> Option<SpanCtx> {
    if LIVE.load(Ordering::Relaxed) == 0 {
        return traced;
    }
    innermost(traced)
}

/// The innermost of `traced` and OpenTelemetry's current bridge span.
#[cold]
pub(crate) fn innermost(traced: Option<SpanCtx>) -> Option<SpanCtx> {
    let Some(otel) = opentelemetry::Context::map_current(|cx| {
        cx.has_active_span()
            .then(|| cx.span().span_context().clone())
    }) else {
        return traced;
    };
    let (Some(ctx), _) = model::from_otel(&otel, []) else {
        return traced;
    };
    let parent_of_otel = PARENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .rev()
        .find(|(id, _)| *id == ctx.span_id)
        .map(|(_, parent)| *parent);
    match (parent_of_otel, traced) {
        // Not a live bridge span: OpenTelemetry's business.
        (None, _) => traced,
        (Some(_), None) => Some(ctx),
        (Some(parent), Some(traced)) if parent == traced.span_id => Some(ctx),
        (Some(_), Some(traced)) => Some(traced),
    }
}
