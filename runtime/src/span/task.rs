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

use super::opened::{Opened, Started};
use crate::collector::{self, Mode};
use crate::context::current::{self, Saved, SpanCtx};
use crate::context::deferred;
use crate::model::{AnnotationsBox, CarriedRef, InlineAttributes, Site};

/// A future that runs with its own current span: made by `#[traced]` on
/// async code and by [`FutureExt`](crate::FutureExt).
///
/// When it owns a span, the span starts when the wrapper is created and
/// ends when the inner future completes. If the wrapper is dropped before
/// that, the span still ends and is exported, with the attribute
/// `traced.cancelled = true`.
///
/// At rest it adds 56 bytes to the future it wraps (one more word when the
/// call site is not known statically, as for [`FutureExt`]): the span's
/// ids, parent, start and flags, and one pointer to what the task's context
/// rarely holds besides (carried data, annotations waiting, a context that
/// is not the span's: a guard held across `.await`).
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F, S: SiteSource = DynSite> {
    inner: ManuallyDrop<F>,
    site: S,
    task: Task,
}

/// An instrumented future's state besides its inner future and site: not
/// generic, so the code for it exists once, not once per traced function.
struct Task {
    /// The span, if the wrapper owns one; else the task's context (if
    /// `HAS_CTX`). `holder` holds the wrapper's flags.
    span: Started,
    /// The rest of the task's context, when it holds anything.
    rest: Option<Box<TaskRest>>,
}

/// What a task's context holds besides the ids of its span: rare.
struct TaskRest {
    /// The task's current span when it is not the wrapper's own (a guard
    /// held across `.await`); `None` when it is.
    other: Option<Option<SpanCtx>>,
    pending: AnnotationsBox,
    carried: CarriedRef,
}

/// `Started::holder`: the task's context is installed at all (false when no
/// pipeline was installed at creation: then this is a plain wrapper).
const ACTIVE: u8 = 1;
/// The wrapper times the span in `span` (else `span` is only a context).
const OWNS_SPAN: u8 = 2;
/// The task's own context is `Some` (else `span` holds nothing).
const HAS_CTX: u8 = 4;
/// The inner future completed.
const DONE: u8 = 8;

/// Where an [`Instrumented`] future's span was opened.
#[doc(hidden)]
pub trait SiteSource {
    /// The call site, for a wrapper that owns a span.
    fn site(&self) -> Option<&'static Site>;
}

/// A call site known at run time (or none).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct DynSite(pub(crate) Option<&'static Site>);

impl SiteSource for DynSite {
    #[inline]
    fn site(&self) -> Option<&'static Site> {
        self.0
    }
}

/// A call site known from a type (a closure returning a `static`): it
/// takes no room in the future.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct StaticSite<C>(pub C);

impl<C: Fn() -> &'static Site> SiteSource for StaticSite<C> {
    #[inline]
    fn site(&self) -> Option<&'static Site> {
        Some((self.0)())
    }
}

/// What runs on the output of an instrumented future while its span is
/// still current (`#[traced]`'s `Err` and `ret` recording).
#[doc(hidden)]
pub trait OnOutput<T> {
    fn on_output(&self, output: &T);
}

impl<T> OnOutput<T> for DynSite {
    #[inline]
    fn on_output(&self, _: &T) {}
}

impl<T, C> OnOutput<T> for StaticSite<C> {
    #[inline]
    fn on_output(&self, _: &T) {}
}

/// A static call site and what to record from the output.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Inspected<C, R>(pub C, pub R);

impl<C: Fn() -> &'static Site, R> SiteSource for Inspected<C, R> {
    #[inline]
    fn site(&self) -> Option<&'static Site> {
        Some((self.0)())
    }
}

impl<T, C, R: Fn(&T)> OnOutput<T> for Inspected<C, R> {
    #[inline]
    fn on_output(&self, output: &T) {
        (self.1)(output);
    }
}

impl<F: Future, S: SiteSource> Instrumented<F, S> {
    /// Runs `inner` in a new child span of the current span, opened at
    /// `site`.
    #[inline]
    pub(crate) fn with_span(site: S, inner: F) -> Self {
        Instrumented {
            task: match site.site() {
                Some(at) => Task::start(at),
                None => Task::inert(),
            },
            inner: ManuallyDrop::new(inner),
            site,
        }
    }

    /// Runs `inner` in a new span under an explicit parent.
    pub(crate) fn with_span_under(
        site: S,
        parent: Option<SpanCtx>,
        carried: CarriedRef,
        inner: F,
    ) -> Self {
        Instrumented {
            task: match site.site() {
                Some(at) => Task::start_under(at, parent, carried),
                None => Task::inert(),
            },
            inner: ManuallyDrop::new(inner),
            site,
        }
    }
}

impl<F: Future> Instrumented<F> {
    /// Runs `inner` in `span` (if any), with `task` as the task's context:
    /// for a span made current before its future existed (see [`run_in`]).
    /// With no span this is a plain wrapper.
    #[cfg(feature = "tower")]
    pub(crate) fn with_task(span: Option<Opened>, task: Saved, inner: F) -> Self {
        let site = DynSite(span.as_ref().map(|s| s.site));
        let mut state = Task::inert();
        if let Some(span) = span {
            state = Task::owning(Some(span.started), None);
            state.store(task);
        }
        Instrumented {
            inner: ManuallyDrop::new(inner),
            site,
            task: state,
        }
    }

    /// Runs `inner` with `ctx` current (no new span). Even with no span to
    /// carry the wrapper is active: it gives the future a context of its
    /// own, so spans it opens never leak to other tasks.
    pub(crate) fn with_context(ctx: Option<SpanCtx>, carried: CarriedRef, inner: F) -> Self {
        let mut span = ctx.map_or_else(no_ctx, Started::of_ctx);
        span.holder = ACTIVE | if ctx.is_some() { HAS_CTX } else { 0 };
        Instrumented {
            inner: ManuallyDrop::new(inner),
            site: DynSite(None),
            task: Task {
                span,
                rest: carried.map(|c| rest(None, None, Some(c))),
            },
        }
    }
}

fn no_ctx() -> Started {
    Started::of_ctx(SpanCtx {
        trace_id: 0,
        span_id: 0,
        sampled: false,
        remote: false,
        random: false,
    })
}

#[cold]
fn rest(
    other: Option<Option<SpanCtx>>,
    pending: AnnotationsBox,
    carried: CarriedRef,
) -> Box<TaskRest> {
    Box::new(TaskRest {
        other,
        pending,
        carried,
    })
}

impl Task {
    /// A plain wrapper: nothing installed, nothing timed.
    #[inline]
    fn inert() -> Task {
        Task {
            span: no_ctx(),
            rest: None,
        }
    }

    /// Starts a span at `site` under the current span. The check stays in
    /// the caller; the rest is out of line, once for every traced function.
    #[inline]
    fn start(site: &'static Site) -> Task {
        let mode = collector::mode();
        if mode.is_off() {
            return Task::inert();
        }
        Task::start_on(site, mode)
    }

    #[inline(never)]
    fn start_on(site: &'static Site, mode: Mode) -> Task {
        let span = Opened::start_in(site, mode);
        // Only a span that records reads what the context carries.
        let carried = match span {
            Some(_) => current::carried(),
            None => None,
        };
        Task::owning(span.map(|s| s.started), carried)
    }

    #[inline(never)]
    fn start_under(site: &'static Site, parent: Option<SpanCtx>, carried: CarriedRef) -> Task {
        Task::owning(
            Opened::start_with_parent(site, parent).map(|s| s.started),
            carried,
        )
    }

    /// The state of a wrapper that times `span` (inert without one).
    #[inline]
    fn owning(span: Option<Started>, carried: CarriedRef) -> Task {
        match span {
            Some(mut span) => {
                span.holder = ACTIVE | OWNS_SPAN | HAS_CTX;
                Task {
                    span,
                    rest: carried.map(|c| rest(None, None, Some(c))),
                }
            }
            None => Task::inert(),
        }
    }

    #[inline]
    fn has(&self, flag: u8) -> bool {
        self.span.holder & flag != 0
    }

    /// The task's own context (the span's, for a wrapper that owns one).
    #[inline]
    fn own_ctx(&self) -> Option<SpanCtx> {
        self.has(HAS_CTX).then(|| self.span.ctx())
    }

    /// Makes the task's context current; returns what it replaced, which
    /// [`Task::leave`] takes back.
    #[allow(clippy::inline_always)] // the hot path of every poll
    #[inline(always)]
    fn enter(&mut self) -> Saved {
        assert!(!self.has(DONE), "`Instrumented` polled after completion");
        let own = self.own_ctx();
        let mut task = match self.rest.as_mut() {
            None => Saved::new(own, None),
            Some(rest) => load_rest(own, rest),
        };
        current::swap(&mut task);
        task
    }

    /// Takes the task's context back out of the thread (after a poll,
    /// `done` when it completed): keeps it in `self` or, at the end, ends
    /// the span with it.
    #[allow(clippy::inline_always)] // the hot path of every poll
    #[inline(always)]
    fn leave(&mut self, task: &mut Saved, site: Option<&'static Site>, done: bool) {
        current::swap(task);
        if done {
            self.span.holder |= DONE;
            self.end(site, task, false);
        } else {
            self.store(std::mem::replace(task, Saved::new(None, None)));
        }
    }

    /// Keeps `task` as the task's context between polls.
    #[allow(clippy::inline_always)] // the hot path of every poll
    #[inline(always)]
    fn store(&mut self, task: Saved) {
        let own = match (task.ctx, self.has(HAS_CTX)) {
            (Some(ctx), true) => self.span.is(&ctx),
            (None, false) => true,
            _ => false,
        };
        if own && task.pending.is_none() && task.carried.is_none() && self.rest.is_none() {
            return;
        }
        self.store_rest(task, own);
    }

    #[cold]
    #[inline(never)]
    fn store_rest(&mut self, task: Saved, own: bool) {
        let other = (!own).then_some(task.ctx);
        match self.rest.as_mut() {
            Some(rest) => {
                rest.other = other;
                rest.pending = task.pending;
                rest.carried = task.carried;
            }
            None => self.rest = Some(rest(other, task.pending, task.carried)),
        }
    }

    /// Ends the span (if the wrapper owns one) with what the task's context
    /// holds at the end; a wrapper with no span hands the annotations made
    /// to its context's span over to it.
    #[inline(never)]
    fn end(&mut self, site: Option<&'static Site>, task: &mut Saved, cancelled: bool) {
        self.rest = None;
        let pending = task.pending.take();
        match site.filter(|_| self.has(OWNS_SPAN)) {
            Some(site) => {
                let mut attributes = InlineAttributes::new();
                if cancelled && !std::thread::panicking() {
                    let _ = attributes.set(KeyValue::new("traced.cancelled", true), || 1);
                }
                self.span
                    .finish(site, &mut attributes, pending, task.carried.take());
            }
            None if pending.is_some() => deferred::hand_over(self.own_ctx(), pending),
            None => {}
        }
    }

    /// Makes the task's context current to drop what the inner future
    /// holds (spans it still holds end under it): returns what it replaced.
    #[inline(never)]
    fn enter_to_drop(&mut self) -> Saved {
        let own = self.own_ctx();
        let mut task = match self.rest.as_mut() {
            None => Saved::new(own, None),
            Some(rest) => load_rest(own, rest),
        };
        current::swap(&mut task);
        task
    }

    /// After [`Task::enter_to_drop`] and the drop: ends the span as
    /// cancelled.
    #[inline(never)]
    fn cancelled(&mut self, mut task: Saved, site: Option<&'static Site>) {
        current::swap(&mut task);
        self.end(site, &mut task, true);
    }
}

#[cold]
#[inline(never)]
fn load_rest(own: Option<SpanCtx>, rest: &mut TaskRest) -> Saved {
    Saved {
        ctx: rest.other.take().unwrap_or(own),
        pending: rest.pending.take(),
        carried: rest.carried.take(),
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

impl<F: Future, S: SiteSource + OnOutput<F::Output>> Future for Instrumented<F, S> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and no other field is
        // pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this` came from a pinned reference.
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        if !this.task.has(ACTIVE) {
            return inner.poll(cx);
        }
        let mut task = this.task.enter();
        let output = {
            // Takes the context back even if the inner poll panics.
            let restore = Swapped(&mut task);
            let output = inner.poll(cx);
            if let Poll::Ready(output) = &output {
                this.site.on_output(output);
            }
            std::mem::forget(restore);
            output
        };
        this.task
            .leave(&mut task, this.site.site(), output.is_ready());
        output
    }
}

impl<F, S: SiteSource> Drop for Instrumented<F, S> {
    fn drop(&mut self) {
        if !self.task.has(ACTIVE) || self.task.has(DONE) {
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
            return;
        }
        // Spans the inner future still holds end now, under the task's
        // context, so they restore the task's values, not the thread's.
        let mut task = self.task.enter_to_drop();
        {
            let restore = Swapped(&mut task);
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
            std::mem::forget(restore);
        }
        self.task.cancelled(task, self.site.site());
    }
}

impl<F, S: SiteSource> fmt::Debug for Instrumented<F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let site = self.site.site().filter(|_| self.task.has(OWNS_SPAN));
        f.debug_struct("Instrumented")
            .field("span", &site.map(|s| s.name))
            .field("context", &self.task.own_ctx())
            .field("done", &self.task.has(DONE))
            .finish_non_exhaustive()
    }
}
