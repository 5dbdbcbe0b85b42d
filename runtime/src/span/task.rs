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

    /// Runs `inner` in a new child span of the span that is current at its
    /// first poll; `hook` sees its output. Nothing is read or opened before
    /// that, and a future dropped unpolled records nothing.
    pub(crate) fn lazy(site: &'static Site, inner: F, hook: H) -> Self {
        Self::with_task_state(Task::Lazy(site), inner, hook)
    }

    /// [`Instrumented::lazy`] under an explicit parent, named now: the span
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

/// Installs a span's task context for a poll or the drop of the inner
/// future, and keeps it again when dropped (even if that code panics).
struct Installed<'a> {
    /// The context the task's replaced while installed; after the full
    /// exchange at the end (`keep_task`), the task's own. Dropped by hand:
    /// in the usual case it holds nothing that needs dropping, and the
    /// check costs no drop glue.
    task: ManuallyDrop<Saved>,
    span: &'a Opened,
    rest: &'a mut Option<Box<Saved>>,
}

impl<'a> Installed<'a> {
    #[inline]
    fn new(span: &'a Opened, rest: &'a mut Option<Box<Saved>>) -> Self {
        match rest {
            // The usual resting state: the span's own context, rebuilt
            // straight into the thread's cell.
            None => Installed {
                task: ManuallyDrop::new(current::enter_own(span.ctx())),
                span,
                rest,
            },
            Some(_) => Self::stored(span, rest),
        }
    }

    /// Installs the task's context kept in `rest`.
    #[cold]
    #[inline(never)]
    fn stored(span: &'a Opened, rest: &'a mut Option<Box<Saved>>) -> Self {
        let mut task = match rest {
            Some(rest) => take_rest_context(rest),
            None => Saved::new(Some(span.ctx()), None),
        };
        current::swap(&mut task);
        Installed {
            task: ManuallyDrop::new(task),
            span,
            rest,
        }
    }
}

impl Drop for Installed<'_> {
    #[inline]
    fn drop(&mut self) {
        // Only the span's own context, with nothing annotated or carried,
        // is left unstored (and then holds nothing to drop). The span is
        // known by its id alone: ids are random 64-bit values, and the
        // trace id compare would cost every poll. The usual case first:
        // the thread's value is put back with no exchange of the rest.
        if !(self.rest.is_none() && current::leave_own(&self.task, self.span.span_id())) {
            self.keep_task();
        }
    }
}

impl Installed<'_> {
    /// Puts the thread's context back and keeps the task's, which is more
    /// than its span's own ids, in `rest`.
    #[cold]
    #[inline(never)]
    fn keep_task(&mut self) {
        current::swap(&mut self.task);
        let own = self.rest.is_none()
            && self.task.pending.is_none()
            && self.task.carried.is_none()
            && self
                .task
                .ctx
                .is_some_and(|ctx| ctx.span_id == self.span.span_id());
        if !own {
            // SAFETY: taken once; `task` is not used after.
            keep_rest(self.rest, unsafe { ManuallyDrop::take(&mut self.task) });
        }
    }
}

/// The task's context kept in `rest`, leaving it empty.
#[inline(never)]
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

/// Installs a carried context for a poll or the drop of the inner future,
/// and puts it back when dropped (even if that code panics).
struct InstalledContext<'a> {
    task: Saved,
    home: &'a mut Resting,
}

impl<'a> InstalledContext<'a> {
    #[inline]
    fn new(home: &'a mut Resting) -> Self {
        let mut task = Saved::new(home.ctx.0, home.carried.take());
        task.pending = home.pending.take();
        current::swap(&mut task);
        InstalledContext { task, home }
    }
}

impl Drop for InstalledContext<'_> {
    #[inline]
    fn drop(&mut self) {
        current::swap(&mut self.task);
        self.home.ctx = Packed(self.task.ctx);
        self.home.pending = self.task.pending.take();
        self.home.carried = self.task.carried.take();
    }
}

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

    /// Generic only where it must be: an owned span's context is installed
    /// inline (the hot path: a few loads and stores, the rare cases out of
    /// line); ending the span, a carried context and the other states are
    /// non-generic functions, compiled once for every instrumented future.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and no other field is
        // pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // Twice at most: a lazy task's first poll starts its span, then
        // goes on as any other.
        loop {
            // SAFETY: see above; `this` came from a pinned reference.
            let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
            // The owned span first: one compare of the tag, the common case.
            if let Task::Span { span, rest } = &mut *this.task {
                let output = {
                    let _installed = Installed::new(span, rest);
                    let output = inner.poll(cx);
                    if let Poll::Ready(output) = &output {
                        // While the span is still current.
                        this.hook.on_output(output);
                    }
                    output
                };
                if output.is_ready() {
                    let span = *span;
                    let rest = rest.take();
                    // What is overwritten holds nothing to drop: the span is
                    // `Copy` and `rest` was just taken.
                    this.task = ManuallyDrop::new(Task::Done);
                    end_span(&span, rest);
                }
                return output;
            }
            if let Task::Lazy(_) | Task::LazyUnder { .. } = &*this.task {
                // The first poll: the span starts now (the task becomes
                // `Span` or `Off`), out of line.
                this.task.start();
                continue;
            }
            let output = {
                let _scope = Scope::for_poll(&mut this.task);
                inner.poll(cx)
            };
            if output.is_ready() {
                end_completed(&mut this.task);
            }
            return output;
        }
    }
}

/// The task's context installed for a poll or the drop of the inner
/// future; put back when dropped (even if that code panics). Its drop is a
/// call: a generic future's drop glue holds none of the exchange.
struct Scope<'a>(ManuallyDrop<Installation<'a>>);

enum Installation<'a> {
    /// A plain wrapper, or one whose span has ended.
    Plain,
    /// Held for its drop, which puts the thread's context back.
    Span { _installed: Installed<'a> },
    /// Held for its drop, which puts the thread's context back.
    Context { _installed: InstalledContext<'a> },
}

impl<'a> Scope<'a> {
    /// Installs the context of a task that owns no span for a poll.
    ///
    /// # Panics
    /// If the inner future has completed.
    #[inline(never)]
    fn for_poll(task: &'a mut Task) -> Self {
        Scope(ManuallyDrop::new(match task {
            Task::Off => Installation::Plain,
            Task::Span { span, rest } => Installation::Span {
                _installed: Installed::new(span, rest),
            },
            Task::Context(task) => Installation::Context {
                _installed: InstalledContext::new(task),
            },
            Task::Done => polled_after_completion(),
            Task::Lazy(_) | Task::LazyUnder { .. } => unreachable!("started by `poll`"),
        }))
    }

    /// Installs the task's context for the drop of the inner future.
    #[inline(never)]
    fn for_drop(task: &'a mut Task) -> Self {
        Scope(ManuallyDrop::new(match task {
            Task::Span { span, rest } => Installation::Span {
                _installed: Installed::new(span, rest),
            },
            // Not started: the body never ran.
            Task::Off | Task::Done | Task::Lazy(_) | Task::LazyUnder { .. } => Installation::Plain,
            Task::Context(task) => Installation::Context {
                _installed: InstalledContext::new(task),
            },
        }))
    }

    /// Puts the thread's context back.
    #[inline(never)]
    fn leave(&mut self) {
        // SAFETY: called once, from `drop`; not used after.
        unsafe { ManuallyDrop::drop(&mut self.0) };
    }
}

impl Drop for Scope<'_> {
    #[inline]
    fn drop(&mut self) {
        self.leave();
    }
}

#[cold]
#[inline(never)]
fn polled_after_completion() -> ! {
    panic!("`Instrumented` polled after completion")
}

/// Ends a span whose inner future has completed, with the task's context
/// it kept (if any).
#[inline]
fn end_span(span: &Opened, rest: Option<Box<Saved>>) {
    let (pending, carried) = take_rest(rest);
    span.finish(&mut InlineAttributes::new(), pending, carried);
}

/// Hands a carried context's annotations over once the inner future has
/// completed (a task that owns a span ends it in `poll`).
#[inline(never)]
fn end_completed(task: &mut ManuallyDrop<Task>) {
    match &mut **task {
        Task::Span { span, rest } => {
            let span = *span;
            let rest = rest.take();
            *task = ManuallyDrop::new(Task::Done);
            end_span(&span, rest);
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
        // A lazy task dropped unpolled: its body never ran and its span
        // never started, so nothing is recorded.
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
        if let Task::Off | Task::Done | Task::Lazy(_) = &*self.task {
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
            return;
        }
        // Spans the inner future still holds end now, under the task's
        // context, so they restore the task's values, not the thread's.
        {
            let _scope = Scope::for_drop(&mut self.task);
            // SAFETY: dropped in place, once; never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
        }
        end_dropped(&mut self.task);
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
