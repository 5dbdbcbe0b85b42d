//! Context that belongs to a task: the future wrapper that carries it.
//!
//! An [`Instrumented`] future keeps its task's current context (ids and the
//! annotations of the innermost open span) inside itself. On every poll it
//! swaps that value into the thread's cell, polls the inner future, and
//! swaps it back out. Spans opened during a poll (guards held across
//! `.await` included) save and restore against the task's value, so they
//! stay correct across suspensions, and another task polled on the same
//! thread in between never sees them.
//!
//! A wrapper with no span of its own (a captured context carried into a
//! task) collects the annotations made to that context's span while it is
//! polled, and hands them to the span through
//! [`deferred`](super::deferred) when it completes or is dropped.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use opentelemetry::KeyValue;

use super::Opened;
use crate::context::current::{self, Saved, SpanCtx};
use crate::context::deferred;
use crate::model::CarriedRef;
use crate::model::{InlineAttributes, Site};

/// A future that runs with its own current span: made by `#[traced]` on
/// async code and by [`FutureExt`](crate::FutureExt).
///
/// When it owns a span, the span starts when the wrapper is created and
/// ends when the inner future completes. If the wrapper is dropped before
/// that, the span still ends and is exported, with the attribute
/// `traced.cancelled = true`.
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F> {
    inner: ManuallyDrop<F>,
    /// The span this wrapper times, if any.
    span: Option<Opened>,
    /// The task's context while it is not being polled.
    task: Saved,
    /// Whether the task's context is to be installed at all (false when no
    /// pipeline was installed at creation: then this is a plain wrapper).
    active: bool,
    done: bool,
}

impl<F: Future> Instrumented<F> {
    /// Runs `inner` in a new child span of the current span.
    pub(crate) fn with_span(site: &'static Site, inner: F) -> Self {
        let span = Opened::start(site);
        // Only a span that records reads what the context carries: the off
        // path stays one load.
        let carried = match span {
            Some(_) => current::carried(),
            None => None,
        };
        Self::with_opened(span, carried, inner)
    }

    /// Runs `inner` in a new span under an explicit parent.
    pub(crate) fn with_span_under(
        site: &'static Site,
        parent: Option<SpanCtx>,
        carried: CarriedRef,
        inner: F,
    ) -> Self {
        Self::with_opened(Opened::start_with_parent(site, parent), carried, inner)
    }

    fn with_opened(span: Option<Opened>, carried: CarriedRef, inner: F) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            active: span.is_some(),
            task: match &span {
                Some(span) => Saved::new(Some(span.ctx), carried),
                None => Saved::new(None, None),
            },
            span,
            done: false,
        }
    }

    /// Runs `inner` in `span` (if any), with `task` as the task's context:
    /// for a span made current before its future existed (see [`run_in`]).
    /// With no span this is a plain wrapper.
    #[cfg(feature = "tower")]
    pub(crate) fn with_task(span: Option<Opened>, task: Saved, inner: F) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            active: span.is_some(),
            task,
            span,
            done: false,
        }
    }

    /// Runs `inner` with `ctx` current (no new span). Even with no span to
    /// carry the wrapper is active: it gives the future a context of its
    /// own, so spans it opens never leak to other tasks.
    pub(crate) fn with_context(ctx: Option<SpanCtx>, carried: CarriedRef, inner: F) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            active: true,
            span: None,
            task: Saved::new(ctx, carried),
            done: false,
        }
    }
}

/// Runs `f` with `task` as the current context, then takes it back with
/// what `f` annotated: the context of a task that does not exist yet (a
/// service's `call`, which makes the future).
#[cfg(feature = "tower")]
pub(crate) fn run_in<R>(task: &mut Saved, f: impl FnOnce() -> R) -> R {
    current::swap(task);
    let _restore = Swapped(task);
    f()
}

/// Swaps the task's context back out even if the inner poll panics.
struct Swapped<'a>(&'a mut Saved);

impl Drop for Swapped<'_> {
    fn drop(&mut self) {
        current::swap(self.0);
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and no other field is
        // pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this` came from a pinned reference.
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        if !this.active {
            return inner.poll(cx);
        }
        assert!(!this.done, "`Instrumented` polled after completion");
        let output = {
            current::swap(&mut this.task);
            let _restore = Swapped(&mut this.task);
            inner.poll(cx)
        };
        if output.is_ready() {
            this.done = true;
            let pending = this.task.pending.take();
            match this.span.take() {
                Some(span) => {
                    span.finish(
                        &mut InlineAttributes::new(),
                        pending,
                        this.task.carried.take(),
                    );
                }
                None if pending.is_some() => deferred::hand_over(this.task.ctx, pending),
                None => {}
            }
        }
        output
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        if !self.active || self.done {
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
            return;
        }
        // Spans the inner future still holds end now, under the task's
        // context, so they restore the task's values, not the thread's.
        current::swap(&mut self.task);
        {
            let _restore = Swapped(&mut self.task);
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
        }
        let pending = self.task.pending.take();
        match self.span.take() {
            Some(span) => {
                let mut attributes = InlineAttributes::new();
                if !std::thread::panicking() {
                    let _ = attributes.set(KeyValue::new("traced.cancelled", true), || 1);
                }
                span.finish(&mut attributes, pending, self.task.carried.take());
            }
            None if pending.is_some() => deferred::hand_over(self.task.ctx, pending),
            None => {}
        }
    }
}

impl<F> fmt::Debug for Instrumented<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumented")
            .field("span", &self.span.as_ref().map(|s| s.site.name))
            .field("context", &self.task.ctx)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
