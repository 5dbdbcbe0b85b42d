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
use crate::model::{AnnotationsBox, CarriedRef, InlineAttributes, Site};

/// A future that runs with its own current span: made by `#[traced]` on
/// async code and by [`FutureExt`](crate::FutureExt).
///
/// When it owns a span, the span starts when the wrapper is created (or, for
/// the future of a `#[traced] async fn`, at its first poll, under the span
/// current then) and ends when the inner future completes. A future that
/// starts its span at the first poll and is dropped before it records
/// nothing: its body never ran. If the wrapper is dropped before
/// that, the span still ends and is exported, with the attribute
/// `traced.cancelled = true`.
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F, H = Ignore> {
    inner: ManuallyDrop<F>,
    /// Dropped by hand in `drop`: only a carried context can be left to
    /// drop there, and the generic drop glue of the whole enum would cost
    /// every traced future's end a call.
    task: ManuallyDrop<Task>,
    /// What runs on the output while the span is still current: zero-sized
    /// (`#[traced]`'s `Err` and `ret` recording is a closure that captures
    /// nothing), so it costs the future no room and needs no second async
    /// block around the body.
    hook: H,
}

// Every traced future carries a `Task`: a change that makes it bigger, or
// aligns it to 16, makes every traced `async fn` bigger.
const _: () = assert!(std::mem::size_of::<Task>() == 64 && std::mem::align_of::<Task>() == 8);

/// What an instrumented future does with its output before its span ends.
#[doc(hidden)]
pub trait OnOutput<T> {
    /// Called once, with the output, while the span is the current span.
    fn on_output(&self, output: &T);
}

/// Does nothing with the output.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Ignore;

impl<T> OnOutput<T> for Ignore {
    #[inline]
    fn on_output(&self, _: &T) {}
}

/// Runs a function on the output (`#[traced]`'s `Err` and `ret`).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Inspect<R>(pub R);

impl<T, R: Fn(&T)> OnOutput<T> for Inspect<R> {
    #[inline]
    fn on_output(&self, output: &T) {
        (self.0)(output);
    }
}

/// An instrumented future's own state: 64 bytes besides the inner future,
/// aligned to 8 (an alignment of 16, which a [`SpanCtx`] has, would make
/// the `async fn` around it pad its own state to 16 too).
enum Task {
    /// A plain wrapper: no pipeline was installed at creation.
    Off,
    /// The wrapper times `span`. While it is not polled, the task's context
    /// is usually the span's own, with nothing annotated and nothing
    /// carried: then it is not stored at all, and is rebuilt from the span
    /// at the next poll. Otherwise (a guard held across `.await`,
    /// annotations waiting, a context carrying trace state or baggage)
    /// `rest` holds it; once allocated, the box is kept to the end.
    Span {
        span: Opened,
        rest: Option<Box<Saved>>,
    },
    /// No span of its own: a context carried into the task.
    Context(Resting),
    /// Not started: the span opens at the first poll, under the span that is
    /// current then (a `#[traced] async fn`, whose body starts running
    /// there), and this becomes `Span` or `Off`. Dropped before that, the
    /// task records nothing.
    Lazy(&'static Site),
    /// [`Task::Lazy`] under a parent named when the future was made.
    LazyUnder {
        site: &'static Site,
        parent: Packed,
        carried: CarriedRef,
    },
    /// The inner future completed and the span ended.
    Done,
}

impl<F: Future, H: OnOutput<F::Output>> Instrumented<F, H> {
    /// Runs `inner` in a new child span of the current span; `hook` sees
    /// its output.
    pub(crate) fn with_span(site: &'static Site, inner: F, hook: H) -> Self {
        let span = Opened::start(site);
        // Only a span that records reads what the context carries: the off
        // path stays one load.
        let carried = match span {
            Some(_) => current::carried(),
            None => None,
        };
        Self::with_opened(span, carried, inner, hook)
    }

    /// Runs `inner` in a new span under an explicit parent.
    pub(crate) fn with_span_under(
        site: &'static Site,
        parent: Option<SpanCtx>,
        carried: CarriedRef,
        inner: F,
        hook: H,
    ) -> Self {
        Self::with_opened(
            Opened::start_with_parent(site, parent),
            carried,
            inner,
            hook,
        )
    }

    fn with_opened(span: Option<Opened>, carried: CarriedRef, inner: F, hook: H) -> Self {
        Self::with_task_state(Task::opened(span, carried), inner, hook)
    }
    /// [`instrument_lazy`] under an explicit parent, named now: the span
    /// still starts at the first poll.
    pub(crate) fn lazy_under(
        site: &'static Site,
        parent: Option<SpanCtx>,
        carried: CarriedRef,
        inner: F,
        hook: H,
    ) -> Self {
        let task = Task::LazyUnder {
            site,
            parent: Packed(parent),
            carried,
        };
        Self::with_task_state(task, inner, hook)
    }

    #[inline]
    fn with_task_state(task: Task, inner: F, hook: H) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            task: ManuallyDrop::new(task),
            hook,
        }
    }
}

/// Runs the body of a `#[traced] async fn` in a span that starts at the
/// future's first poll, under the span current then, and ends when the body
/// completes (or is dropped). Nothing is read or opened before that, and a
/// future dropped before its first poll records nothing.
///
/// The future is built here in one step: this is the only generic function
/// between the expansion and the future (re-exported by `__private`).
#[doc(hidden)]
#[inline]
pub fn instrument_lazy<F: Future>(site: &'static Site, body: F) -> Instrumented<F> {
    Instrumented {
        inner: ManuallyDrop::new(body),
        task: ManuallyDrop::new(Task::Lazy(site)),
        hook: Ignore,
    }
}

/// [`instrument_lazy`], running `inspect` on the output while the span is
/// still current (the `Err` and `ret` recording). A closure that captures
/// nothing takes no room in the future.
#[doc(hidden)]
#[inline]
pub fn instrument_lazy_inspected<F: Future, R: Fn(&F::Output)>(
    site: &'static Site,
    body: F,
    inspect: R,
) -> Instrumented<F, Inspect<R>> {
    Instrumented {
        inner: ManuallyDrop::new(body),
        task: ManuallyDrop::new(Task::Lazy(site)),
        hook: Inspect(inspect),
    }
}

impl Task {
    /// The state of a task whose span (if any) has just started.
    #[inline]
    fn opened(span: Option<Opened>, carried: CarriedRef) -> Task {
        match span {
            Some(span) => Task::Span {
                span,
                rest: carried.map(|carried| Box::new(Saved::new(Some(span.ctx()), Some(carried)))),
            },
            None => Task::Off,
        }
    }

    /// Starts the span of a lazy task, at its first poll: the task becomes
    /// `Span` (or `Off` when nothing records). Out of line and shared by
    /// every future: it runs once per task.
    #[inline(never)]
    fn start(&mut self) {
        let (span, carried) = match self {
            Task::Lazy(site) => {
                let span = Opened::start(site);
                // As when the span starts at creation: only a span that
                // records reads what the context carries.
                let carried = match span {
                    Some(_) => current::carried(),
                    None => None,
                };
                (span, carried)
            }
            Task::LazyUnder {
                site,
                parent,
                carried,
            } => (Opened::start_with_parent(site, parent.0), carried.take()),
            Task::Off | Task::Span { .. } | Task::Context(_) | Task::Done => return,
        };
        // SAFETY: what is overwritten holds nothing to drop (a site, a
        // context of plain values and a carried reference just taken), so
        // writing over it without dropping it leaks nothing.
        unsafe { std::ptr::write(self, Task::opened(span, carried)) };
    }
}

impl<F: Future> Instrumented<F> {
    /// Runs `inner` in `span` (if any), with `task` as the task's context:
    /// for a span made current before its future existed (see [`run_in`]).
    /// With no span this is a plain wrapper.
    #[cfg(feature = "tower")]
    pub(crate) fn with_task(span: Option<Opened>, task: Saved, inner: F) -> Self {
        let task = match span {
            Some(span) => {
                let own = task.pending.is_none()
                    && task.carried.is_none()
                    && task.ctx.is_some_and(|ctx| ctx.span_id == span.span_id());
                Task::Span {
                    span,
                    rest: (!own).then(|| Box::new(task)),
                }
            }
            None => Task::Off,
        };
        Instrumented {
            inner: ManuallyDrop::new(inner),
            task: ManuallyDrop::new(task),
            hook: Ignore,
        }
    }

    /// Runs `inner` with `ctx` current (no new span). Even with no span to
    /// carry the wrapper is active: it gives the future a context of its
    /// own, so spans it opens never leak to other tasks.
    pub(crate) fn with_context(ctx: Option<SpanCtx>, carried: CarriedRef, inner: F) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(inner),
            task: ManuallyDrop::new(Task::Context(Resting {
                ctx: Packed(ctx),
                pending: None,
                carried,
            })),
            hook: Ignore,
        }
    }
}

/// The task's context installed for one poll of the inner future, or for
/// its drop; the thread's context is put back by [`Entered::leave`], or by
/// the drop of this value if that code panics.
///
/// Every instrumented future shares this code: the generic `poll` is an
/// `Entered::new`, one call of the inner future's `poll` and a `leave`. The
/// common case (the task's own span, its context not stored) is inline in
/// both; every other state is one out-of-line call.
struct Entered<'a> {
    /// The thread's context, replaced by the task's while installed.
    /// Dropped by hand: in the common case it holds nothing to drop, and
    /// the generic code then has no drop glue to run for it.
    outer: ManuallyDrop<Saved>,
    task: &'a mut ManuallyDrop<Task>,
    /// The task's span (`How::Own`): what the leaving checks the thread's
    /// context against.
    span_id: u64,
    how: How,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    /// Nothing installed: a plain wrapper, a task not started or ended.
    Plain,
    /// The span's own context, rebuilt from the span (nothing stored).
    Own,
    /// The span's task context kept in the task's `rest`.
    Stored,
    /// A carried context (a task with no span of its own).
    Context,
}

impl<'a> Entered<'a> {
    /// Installs the task's context for a poll. A lazy task's first poll
    /// starts its span here.
    ///
    /// # Panics
    /// If the inner future has completed.
    #[inline]
    fn new(task: &'a mut ManuallyDrop<Task>) -> Self {
        if let Task::Lazy(_) | Task::LazyUnder { .. } = **task {
            // The first poll: the span starts now (the task becomes `Span`
            // or `Off`), out of line.
            task.start();
        }
        if let Task::Span { span, rest: None } = &**task {
            let ctx = span.ctx();
            return Entered::own(task, ctx);
        }
        if let Task::Off = **task {
            return Entered::plain(task);
        }
        Entered::stored(task)
    }

    /// Installs a span's own context `ctx`, which the task does not store.
    #[inline]
    fn own(task: &'a mut ManuallyDrop<Task>, ctx: SpanCtx) -> Self {
        Entered {
            span_id: ctx.span_id,
            outer: current::enter_own(ctx),
            task,
            how: How::Own,
        }
    }

    #[inline]
    fn plain(task: &'a mut ManuallyDrop<Task>) -> Self {
        Entered {
            outer: ManuallyDrop::new(Saved::new(None, None)),
            task,
            span_id: 0,
            how: How::Plain,
        }
    }

    /// Installs a task's context that is kept in the task: a span's with
    /// `rest`, or a carried one.
    ///
    /// # Panics
    /// If the inner future has completed.
    #[inline(never)]
    fn stored(task: &'a mut ManuallyDrop<Task>) -> Self {
        let (mut installed, how, span_id) = match &mut **task {
            Task::Span { span, rest } => {
                let installed = match rest {
                    Some(rest) => take_rest_context(rest),
                    None => Saved::new(Some(span.ctx()), None),
                };
                (installed, How::Stored, span.span_id())
            }
            Task::Context(home) => {
                let mut installed = Saved::new(home.ctx.0, home.carried.take());
                installed.pending = home.pending.take();
                (installed, How::Context, 0)
            }
            Task::Done => polled_after_completion(),
            Task::Off | Task::Lazy(_) | Task::LazyUnder { .. } => return Entered::plain(task),
        };
        current::swap(&mut installed);
        Entered {
            outer: ManuallyDrop::new(installed),
            task,
            span_id,
            how,
        }
    }

    /// Installs the task's context for the drop of the inner future: spans
    /// it still holds end under the task's context, so they restore the
    /// task's values, not the thread's.
    #[inline]
    fn for_drop(task: &'a mut ManuallyDrop<Task>) -> Self {
        // The common drop: a future that completed (or never started).
        if let Task::Off | Task::Done | Task::Lazy(_) = **task {
            return Entered::plain(task);
        }
        Entered::for_drop_slow(task)
    }

    #[inline(never)]
    fn for_drop_slow(task: &'a mut ManuallyDrop<Task>) -> Self {
        match &**task {
            Task::Span { span, rest: None } => {
                let ctx = span.ctx();
                Entered::own(task, ctx)
            }
            Task::LazyUnder { .. } => {
                // Not started: the body never ran. What the parent's
                // context carries is dropped now.
                // SAFETY: dropped once and overwritten at once.
                unsafe { ManuallyDrop::drop(task) };
                *task = ManuallyDrop::new(Task::Done);
                Entered::plain(task)
            }
            _ => Entered::stored(task),
        }
    }

    /// Puts the thread's context back after a poll; ends the span (or hands
    /// a carried context's annotations over) if the inner future completed.
    #[inline]
    fn leave(&mut self, ready: bool) {
        if self.how == How::Own && current::leave_own(&self.outer, self.span_id) {
            // The usual end of a poll: the thread's value is back, the
            // task's context was the span's own and needs no storing.
            self.how = How::Plain;
            if ready {
                end_completed(self.task);
            }
        } else if self.how != How::Plain {
            self.leave_slow(ready);
        }
    }

    /// [`Entered::leave`] for every other case.
    #[inline(never)]
    fn leave_slow(&mut self, ready: bool) {
        self.put_back();
        if ready {
            end_completed(self.task);
        }
    }

    /// Puts the thread's context back after the inner future was dropped,
    /// and ends the task's span as cancelled.
    #[inline]
    fn leave_dropped(&mut self) {
        if self.how != How::Plain {
            self.leave_dropped_slow();
        }
    }

    #[inline(never)]
    fn leave_dropped_slow(&mut self) {
        self.put_back();
        end_dropped(self.task);
    }

    /// Puts the thread's context back and keeps the task's in the task:
    /// in the span's `rest` unless it is only the span's own ids, or in the
    /// carried context's home.
    #[cold]
    #[inline(never)]
    fn put_back(&mut self) {
        match self.how {
            How::Plain => {}
            How::Own | How::Stored => {
                current::swap(&mut self.outer);
                let Task::Span { rest, .. } = &mut **self.task else {
                    unreachable!("a span's context is installed")
                };
                let own = rest.is_none()
                    && self.outer.pending.is_none()
                    && self.outer.carried.is_none()
                    && self
                        .outer
                        .ctx
                        .is_some_and(|ctx| ctx.span_id == self.span_id);
                if !own {
                    // SAFETY: taken once; `outer` is not used after (`how`
                    // is `Plain` from here).
                    keep_rest(rest, unsafe { ManuallyDrop::take(&mut self.outer) });
                }
            }
            How::Context => {
                current::swap(&mut self.outer);
                let Task::Context(home) = &mut **self.task else {
                    unreachable!("a carried context is installed")
                };
                home.ctx = Packed(self.outer.ctx);
                home.pending = self.outer.pending.take();
                home.carried = self.outer.carried.take();
            }
        }
        self.how = How::Plain;
    }
}

impl Drop for Entered<'_> {
    /// Only while unwinding from the inner future's `poll` or drop (or the
    /// output's hook): [`Entered::leave`] consumes the value otherwise.
    #[inline]
    fn drop(&mut self) {
        if self.how != How::Plain {
            self.put_back();
        }
    }
}

/// The task's context kept in `rest`, leaving it empty.
#[inline]
fn take_rest_context(rest: &mut Saved) -> Saved {
    std::mem::replace(rest, Saved::new(None, None))
}

/// Keeps a task's context that is not only its span's own in `rest` until
/// the next poll (the box, once made, is kept to the end).
#[inline(never)]
fn keep_rest(rest: &mut Option<Box<Saved>>, task: Saved) {
    match rest {
        Some(rest) => **rest = task,
        None => *rest = Some(Box::new(task)),
    }
}

/// The context of a task with no span of its own, while it is not polled.
struct Resting {
    ctx: Packed,
    pending: AnnotationsBox,
    carried: CarriedRef,
}

/// A context at an alignment of 8 (read and written whole, never borrowed).
#[derive(Clone, Copy)]
#[repr(Rust, packed(8))]
struct Packed(Option<SpanCtx>);

/// What a span's task context holds at its end: the annotations waiting and
/// what the context carries.
#[inline]
fn take_rest(rest: Option<Box<Saved>>) -> (AnnotationsBox, CarriedRef) {
    match rest {
        None => (None, None),
        Some(rest) => {
            let rest = *rest;
            (rest.pending, rest.carried)
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

/// Swaps the task's context back out even if `f` panics.
#[cfg(feature = "tower")]
struct Swapped<'a>(&'a mut Saved);

#[cfg(feature = "tower")]
impl Drop for Swapped<'_> {
    fn drop(&mut self) {
        current::swap(self.0);
    }
}

impl<F: Future, H: OnOutput<F::Output>> Future for Instrumented<F, H> {
    type Output = F::Output;

    /// Generic only where it must be: the inner future's `poll` and the
    /// hook. The task's context is installed and put back by non-generic
    /// code shared by every instrumented future (`Entered`).
    ///
    /// Deliberately not `#[inline]`: with the hint, the optimizer inlined
    /// every chain of traced `async fn`s into the one function that polls
    /// it, and release builds of crates with many of them ran their code
    /// generation in one long serial step (BENCHMARKS.md, "One poll, shared
    /// code"). Without it, a nested traced future's poll costs a call.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and no other field is
        // pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let mut entered = Entered::new(&mut this.task);
        // SAFETY: see above; `this` came from a pinned reference.
        let output = unsafe { Pin::new_unchecked(&mut *this.inner) }.poll(cx);
        if let Poll::Ready(output) = &output {
            // While the span is still current.
            this.hook.on_output(output);
        }
        entered.leave(output.is_ready());
        output
    }
}

#[cold]
#[inline(never)]
fn polled_after_completion() -> ! {
    panic!("`Instrumented` polled after completion")
}

/// Ends the task's span once its inner future has completed, with the
/// task's context it kept (if any), or hands a carried context's
/// annotations over.
#[inline(never)]
fn end_completed(task: &mut ManuallyDrop<Task>) {
    match &mut **task {
        Task::Span { span, rest } => {
            let span = *span;
            let rest = rest.take();
            // What is overwritten holds nothing to drop: the span is `Copy`
            // and `rest` was just taken.
            *task = ManuallyDrop::new(Task::Done);
            let (pending, carried) = take_rest(rest);
            span.finish(&mut InlineAttributes::new(), pending, carried);
        }
        Task::Context(resting) => {
            let pending = resting.pending.take();
            let ctx = resting.ctx.0;
            // Drops what the context carried.
            **task = Task::Done;
            if pending.is_some() {
                deferred::hand_over(ctx, pending);
            }
        }
        Task::Off | Task::Done | Task::Lazy(_) | Task::LazyUnder { .. } => {}
    }
}

/// Ends the task's span as cancelled (or hands a carried context's
/// annotations over) once the inner future has been dropped before it
/// completed; drops what the task holds.
#[inline(never)]
fn end_dropped(task: &mut ManuallyDrop<Task>) {
    match &mut **task {
        Task::Off | Task::Done | Task::Lazy(_) => {}
        Task::LazyUnder { .. } => {
            // SAFETY: dropped once (what the parent's context carries);
            // `task` is not used again.
            unsafe { ManuallyDrop::drop(task) };
        }
        Task::Span { span, rest } => {
            let (pending, carried) = take_rest(rest.take());
            let mut attributes = InlineAttributes::new();
            if !std::thread::panicking() {
                let _ = attributes.set(KeyValue::new("traced.cancelled", true), || 1);
            }
            span.finish(&mut attributes, pending, carried);
        }
        Task::Context(resting) => {
            let pending = resting.pending.take();
            if pending.is_some() {
                deferred::hand_over(resting.ctx.0, pending);
            }
            // SAFETY: dropped once (what the context carries); `task` is
            // not used again.
            unsafe { ManuallyDrop::drop(task) };
        }
    }
}

impl<F, H> Drop for Instrumented<F, H> {
    fn drop(&mut self) {
        let mut entered = Entered::for_drop(&mut self.task);
        // SAFETY: dropped in place, once; never used again.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        entered.leave_dropped();
    }
}

impl<F, H> fmt::Debug for Instrumented<F, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (span, context, done) = match &*self.task {
            Task::Off => (None, None, false),
            Task::Span { span, .. } => (Some(span.site().name), Some(span.ctx()), false),
            Task::Context(task) => (None, task.ctx.0, false),
            Task::Lazy(site) | Task::LazyUnder { site, .. } => (Some(site.name), None, false),
            Task::Done => (None, None, true),
        };
        f.debug_struct("Instrumented")
            .field("span", &span)
            .field("context", &context)
            .field("done", &done)
            .finish_non_exhaustive()
    }
}
