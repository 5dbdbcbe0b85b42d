//! The current span of a thread, kept as a small value.
//!
//! The cell holds the current span's ids and the annotations (attributes,
//! events, status) added to it through [`Span::current()`](crate::Span).
//! Opening a span swaps a new value in and hands the old one to the span's
//! guard; the guard swaps it back when it ends. Guards therefore carry their
//! own state by value, are `Send`, and need no shared stack.
//!
//! Only the current span's annotations are in the cell; a span below the
//! current one keeps its own inside its child's guard, out of reach. A
//! handle used where its span is not current (another thread or task, or
//! below a child span) therefore annotates through the side table in
//! [`deferred`](super::deferred), which the span empties when it ends.
//!
//! Guards normally end in reverse order. When one ends out of order (an
//! explicit `drop` of an outer guard), its saved value is parked in a short
//! per-thread list so that the inner guard, when it ends, restores past the
//! ended span instead of reviving it.
//!
//! Cost: everything a span reads or writes here on its common path lives in
//! one `const` thread-local of plain cells without drop glue (`Local`): the
//! current ids, the suppression flag, the thread id, a pointer to the
//! mailbox's flag, and two flags saying whether the annotations cell and
//! the out-of-order list hold anything. Each access is a direct
//! thread-local load, with no lazy destructor registration and no state
//! check. The thread-locals that own heap data (annotations, mailbox,
//! out-of-order list) are touched only when those flags say so.

use std::cell::{Cell, OnceCell, RefCell};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

pub(crate) use crate::model::SpanCtx;
use crate::model::{Annotations, AnnotationsBox, CarriedRef};

/// What a guard keeps of the value it replaced; also the context a task
/// carries between polls.
#[derive(Debug)]
pub(crate) struct Saved {
    pub(crate) ctx: Option<SpanCtx>,
    pub(crate) pending: AnnotationsBox,
    /// What the context carries besides ids (usually nothing).
    pub(crate) carried: CarriedRef,
}

impl Saved {
    /// A context with `ctx` current, carrying `carried`, and nothing
    /// annotated yet.
    pub(crate) const fn new(ctx: Option<SpanCtx>, carried: CarriedRef) -> Self {
        Saved {
            ctx,
            pending: None,
            carried,
        }
    }
}

/// How many out-of-order ends are remembered per thread. Only a guard moved
/// to another thread can leave an entry behind for good; the bound keeps that
/// from growing memory.
const ENDED_EARLY_LIMIT: usize = 64;

/// Ends of this thread's spans that happened on other threads (a guard
/// moved to another thread, or held across `.await` in a task that is not
/// instrumented and resumed elsewhere). The thread applies them the next
/// time it looks at its current span, so its context never stays stuck on
/// a span that has ended.
#[derive(Default)]
struct Mailbox {
    has_mail: AtomicBool,
    ended: Mutex<Vec<(u64, Saved)>>,
}

/// A thread's identity for guards: its id and its mailbox.
struct Identity {
    id: u64,
    mailbox: Arc<Mailbox>,
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
static MAILBOXES: Mutex<Vec<(u64, Weak<Mailbox>)>> = Mutex::new(Vec::new());

impl Identity {
    fn new() -> Identity {
        let id = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        let mut boxes = MAILBOXES.lock().unwrap_or_else(PoisonError::into_inner);
        boxes.retain(|(_, mailbox)| mailbox.strong_count() > 0);
        boxes.push((id, Arc::downgrade(&mailbox)));
        Identity { id, mailbox }
    }
}

/// The state every span reads and writes, in one thread-local of plain
/// cells: a type without drop glue and a `const` initializer make each
/// access a direct thread-local load, with no lazy registration and no
/// state check. What needs a destructor (annotations, the mailbox, the
/// out-of-order list) lives in thread-locals of its own that the hot path
/// only touches when a flag here says there is something to do.
struct Local {
    ctx: Cell<Option<SpanCtx>>,
    /// What else the thread holds, one bit each, so that the common path
    /// checks them all at once: `PENDING_BIT` (`PENDING` may hold
    /// annotations; when clear it is `None`), `ENDED_EARLY_BIT` (that list is
    /// not empty), `CARRIED_BIT` (`CARRIED` may hold data; when clear it is
    /// `None`).
    flags: Cell<u8>,
    /// This thread's id; zero until its identity is assigned.
    thread_id: Cell<u64>,
    /// The mail flag of this thread's mailbox while `IDENTITY` holds it;
    /// `NO_MAIL` before the identity is assigned and once `IDENTITY` has
    /// been destroyed (never null, so checking for mail is one load).
    mail: Cell<*const AtomicBool>,
}

/// `Local::flags`: the current span has annotations in `PENDING`.
const PENDING_BIT: u8 = 1;
/// `Local::flags`: `ENDED_EARLY` is not empty.
const ENDED_EARLY_BIT: u8 = 2;
/// `Local::flags`: the current context carries data, in `CARRIED`.
const CARRIED_BIT: u8 = 4;

impl Local {
    #[inline]
    fn has(&self, bit: u8) -> bool {
        self.flags.get() & bit != 0
    }

    #[inline]
    fn set(&self, bit: u8, on: bool) {
        let flags = self.flags.get();
        self.flags.set(if on { flags | bit } else { flags & !bit });
    }
}

/// The mail flag of a thread that has no mailbox: never set.
static NO_MAIL: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LOCAL: Local = const {
        Local {
            ctx: Cell::new(None),
            flags: Cell::new(0),
            thread_id: Cell::new(0),
            mail: Cell::new(&raw const NO_MAIL),
        }
    };
    static IDENTITY: OnceCell<Identity> = const { OnceCell::new() };
    /// The annotations of the current span; see `Local::pending`.
    static PENDING: Cell<AnnotationsBox> = const { Cell::new(None) };
    /// What the current context carries; see `Local::carried`.
    static CARRIED: Cell<CarriedRef> = const { Cell::new(None) };
    /// Spans that ended while a child was still current, with what they saved.
    static ENDED_EARLY: RefCell<Vec<(u64, Saved)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's `LOCAL`, always as a direct thread-local
/// access. `LOCAL.with(f)` puts `f` inside `LocalKey::with`, which the
/// compiler may keep out of line when `f` is large (`exit`'s is): the cell
/// is then reached through the key's accessor, an indirect call per span.
/// Here only the address is taken inside `with` (small enough to be
/// inlined everywhere) and `f` runs in the caller.
#[allow(clippy::inline_always)] // one per span: the point is to inline it
#[inline(always)]
fn with_local<R>(f: impl FnOnce(&Local) -> R) -> R {
    let local = LOCAL.with(std::ptr::from_ref);
    // SAFETY: `LOCAL` has a `const` initializer and no drop glue, so its
    // storage lives as long as the thread and is never torn down; the
    // reference does not outlive this call, on this thread.
    f(unsafe { &*local })
}

impl Drop for Identity {
    fn drop(&mut self) {
        // The mailbox goes with this thread-local: stop the hot path from
        // reading it. (The id stays: guards still open keep comparing it.)
        with_local(|l| l.mail.set(&raw const NO_MAIL));
    }
}

/// Whether span `span_id` is the current span.
#[inline]
fn is_current(l: &Local, span_id: u64) -> bool {
    l.ctx.get().is_some_and(|ctx| ctx.span_id == span_id)
}

/// This thread's id (assigned at its first span).
#[inline]
pub(crate) fn thread_id() -> u64 {
    match with_local(|l| l.thread_id.get()) {
        0 => assign_identity(),
        id => id,
    }
}

/// Assigns this thread's id and mailbox; zero if its thread-locals are
/// already destroyed.
/// Also seeds the thread's id generator, so that a thread with an id has a
/// seeded generator (see [`ids::span_id_seeded`](crate::local::ids)).
#[cold]
fn assign_identity() -> u64 {
    crate::local::ids::seed_thread();
    IDENTITY
        .try_with(|i| {
            let identity = i.get_or_init(Identity::new);
            with_local(|l| {
                l.thread_id.set(identity.id);
                l.mail.set(&raw const identity.mailbox.has_mail);
            });
            identity.id
        })
        .unwrap_or(0)
}

/// The mail flag of this thread's mailbox.
#[inline]
fn has_mail(l: &Local) -> bool {
    // SAFETY: `mail` points to `NO_MAIL` (a static) or into the mailbox
    // that `IDENTITY` holds an `Arc` of: it is set when the identity is
    // assigned and reset to `NO_MAIL` by `Identity::drop`, and only this
    // thread reads or writes the cell.
    unsafe { &*l.mail.get() }.load(Ordering::Acquire)
}

/// The current span of this thread, if any.
#[inline]
pub(crate) fn current() -> Option<SpanCtx> {
    with_local(|l| {
        if has_mail(l) {
            read_mail();
        }
        l.ctx.get()
    })
}

/// Takes the current span's annotations out of `PENDING`.
#[inline]
fn take_pending(l: &Local) -> AnnotationsBox {
    if !l.has(PENDING_BIT) {
        return None;
    }
    take_pending_slow(l)
}

fn take_pending_slow(l: &Local) -> AnnotationsBox {
    l.set(PENDING_BIT, false);
    PENDING.try_with(Cell::take).ok().flatten()
}

/// Puts `pending` in `PENDING`; returns what it replaced.
#[inline]
fn replace_pending(l: &Local, pending: AnnotationsBox) -> AnnotationsBox {
    if pending.is_none() {
        return take_pending(l);
    }
    replace_pending_slow(l, pending)
}

fn replace_pending_slow(l: &Local, pending: AnnotationsBox) -> AnnotationsBox {
    match PENDING.try_with(|p| p.replace(pending)) {
        Ok(old) => {
            l.set(PENDING_BIT, true);
            old
        }
        // The thread is exiting: the annotations are dropped with `pending`.
        Err(_) => None,
    }
}

/// What the current context carries besides ids: a shared pointer, or
/// `None` (one flag load in the common case).
#[inline]
pub(crate) fn carried() -> CarriedRef {
    with_local(|l| {
        if l.has(CARRIED_BIT) {
            carried_slow()
        } else {
            None
        }
    })
}

#[cold]
fn carried_slow() -> CarriedRef {
    CARRIED
        .try_with(|c| {
            let carried = c.take();
            c.set(carried.clone());
            carried
        })
        .ok()
        .flatten()
}

/// Puts `carried` in `CARRIED`; returns what it replaced.
#[inline]
fn replace_carried(l: &Local, carried: CarriedRef) -> CarriedRef {
    if carried.is_none() && !l.has(CARRIED_BIT) {
        return None;
    }
    replace_carried_slow(l, carried)
}

#[cold]
fn replace_carried_slow(l: &Local, carried: CarriedRef) -> CarriedRef {
    let some = carried.is_some();
    match CARRIED.try_with(|c| c.replace(carried)) {
        Ok(old) => {
            l.set(CARRIED_BIT, some);
            old
        }
        // The thread is exiting: nothing is current any more.
        Err(_) => {
            l.set(CARRIED_BIT, false);
            None
        }
    }
}

/// Makes `saved` the current context (ids, carried data, annotations);
/// returns the annotations and carried data it replaced.
#[inline]
fn restore(l: &Local, saved: Saved) -> (AnnotationsBox, CarriedRef) {
    l.ctx.set(saved.ctx);
    let carried = replace_carried(l, saved.carried);
    (replace_pending(l, saved.pending), carried)
}

/// Changes what the context of span `span_id` carries, if that span is
/// current here: its children and `inject` see the change from now on, and
/// the span exports it (it takes the cell's value when it ends). Gives `f`
/// back if the span is not current.
pub(crate) fn update_carried<F: FnOnce(&mut crate::model::Carried)>(
    span_id: u64,
    f: F,
) -> Option<F> {
    if current().map(|ctx| ctx.span_id) != Some(span_id) {
        return Some(f);
    }
    let mut carried = crate::model::Carried::of(&carried());
    f(&mut carried);
    with_local(|l| drop(replace_carried(l, carried.into_ref())));
    None
}

/// Applies the ends of this thread's spans that happened elsewhere.
#[cold]
fn read_mail() {
    let ended = IDENTITY
        .try_with(|i| {
            let mailbox = &i.get()?.mailbox;
            let mut ended = mailbox.ended.lock().unwrap_or_else(PoisonError::into_inner);
            mailbox.has_mail.store(false, Ordering::Release);
            Some(std::mem::take(&mut *ended))
        })
        .ok()
        .flatten()
        .unwrap_or_default();
    for (span_id, saved) in ended {
        with_local(|l| {
            if is_current(l, span_id) {
                drop(restore(l, skip_ended(saved)));
            } else {
                ended_out_of_order(span_id, saved);
            }
        });
    }
}

/// Hands the end of span `span_id`, opened on thread `origin`, to that
/// thread.
#[cold]
fn post(origin: u64, span_id: u64, saved: Saved) {
    let mailbox = MAILBOXES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(id, _)| *id == origin)
        .and_then(|(_, mailbox)| mailbox.upgrade());
    if let Some(mailbox) = mailbox {
        let mut ended = mailbox.ended.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded like the local list: a thread that never looks at its
        // context again must not collect mail forever.
        if ended.len() == ENDED_EARLY_LIMIT {
            ended.remove(0);
        }
        ended.push((span_id, saved));
        mailbox.has_mail.store(true, Ordering::Release);
    }
}

/// Makes `ctx` current over `parent`, which the caller has just read with
/// [`current`] (nothing ran in between that could change it); returns what
/// it replaced.
#[inline]
pub(crate) fn enter_over(ctx: SpanCtx, parent: Option<SpanCtx>) -> Saved {
    // Both paths give two pointers, not a `Saved` each: the value is then
    // built once, straight where the caller keeps it (a guard), instead of
    // in a temporary that is copied there.
    let (pending, carried) = with_local(|l| {
        l.ctx.set(Some(ctx));
        if l.flags.get() & (PENDING_BIT | CARRIED_BIT) == 0 {
            return (None, None);
        }
        enter_over_slow(l)
    });
    Saved {
        ctx: parent,
        pending,
        carried,
    }
}

/// What the thread's context holds besides ids, taken for a child's guard.
#[cold]
#[inline(never)]
fn enter_over_slow(l: &Local) -> (AnnotationsBox, CarriedRef) {
    let pending = take_pending(l);
    // A child carries what its parent does: the cell keeps it, and the
    // guard keeps a copy to restore should the child change it.
    let carried = if l.has(CARRIED_BIT) {
        carried_slow()
    } else {
        None
    };
    (pending, carried)
}

/// Makes `ctx`, carrying `carried`, current; returns what it replaced.
#[inline]
pub(crate) fn enter(ctx: SpanCtx, carried: CarriedRef) -> Saved {
    with_local(|l| Saved {
        ctx: l.ctx.replace(Some(ctx)),
        pending: take_pending(l),
        carried: replace_carried(l, carried),
    })
}

/// Ends span `span_id`, opened on thread `origin`: restores what it saved
/// and returns its annotations and what its context carried at the end.
/// Leaves `saved` owning nothing (its holder need not drop it).
#[inline]
pub(crate) fn exit(span_id: u64, origin: u64, saved: &mut Saved) -> (AnnotationsBox, CarriedRef) {
    with_local(|l| {
        if has_mail(l) {
            read_mail();
        }
        if !is_current(l, span_id) {
            // The span's context is out of reach; a child carries what its
            // parent did, so the parent's is the span's unless it was
            // changed while the span ran.
            let carried = saved.carried.clone();
            exit_not_current(span_id, origin, take_saved(saved));
            return (None, carried);
        }
        // Straight from the guard to the cell: no copy of `Saved` on the way.
        l.ctx.set(saved.ctx);
        // Not short-circuited: three loads and one branch.
        if (l.flags.get() == 0) & saved.pending.is_none() & saved.carried.is_none() {
            return (None, None);
        }
        exit_slow(l, saved)
    })
}

/// The rest of [`exit`] when the thread or the guard holds anything besides
/// ids.
#[cold]
#[inline(never)]
fn exit_slow(l: &Local, saved: &mut Saved) -> (AnnotationsBox, CarriedRef) {
    if l.has(ENDED_EARLY_BIT) {
        return restore(l, skip_ended(take_saved(saved)));
    }
    let carried = replace_carried(l, saved.carried.take());
    (replace_pending(l, saved.pending.take()), carried)
}

/// Moves what `saved` holds out of it.
#[inline]
fn take_saved(saved: &mut Saved) -> Saved {
    Saved {
        ctx: saved.ctx,
        pending: saved.pending.take(),
        carried: saved.carried.take(),
    }
}

/// A span ends that is not current here: it ended out of order on its own
/// thread, or on another thread.
#[cold]
fn exit_not_current(span_id: u64, origin: u64, saved: Saved) {
    if origin == thread_id() {
        warn_out_of_order();
        ended_out_of_order(span_id, saved);
    } else {
        post(origin, span_id, saved);
    }
}

/// The span we return to may itself have ended early: restore past it.
#[cold]
fn skip_ended(mut restore: Saved) -> Saved {
    let _ = ENDED_EARLY.try_with(|early| {
        let mut early = early.borrow_mut();
        while let Some(parent) = restore.ctx {
            let Some(pos) = early.iter().position(|(id, _)| *id == parent.span_id) else {
                break;
            };
            restore = early.swap_remove(pos).1;
        }
        with_local(|l| l.set(ENDED_EARLY_BIT, !early.is_empty()));
    });
    restore
}

/// The usual cause of a guard ending while another span is current on its
/// thread is a guard held across `.await` in a future that is not
/// instrumented: the task's span stays current while other tasks run on the
/// thread, and their spans nest under it. Said once per process; the context
/// is repaired either way (see [`skip_ended`]).
#[cold]
fn warn_out_of_order() {
    crate::diag::warn_once(
        "guard-out-of-order",
        "a span guard ended while another span was current on its thread (guards ended out of order). A `span!` guard held across `.await` in a plain `async` block does this, and spans of other tasks polled on the thread meanwhile nest under it. Give the async block its span instead: `span!(\"name\", async move { .. })`, or `.in_current_span()` on the future. The thread's context is restored past the ended span.",
    );
}

#[cold]
fn ended_out_of_order(span_id: u64, saved: Saved) {
    let _ = ENDED_EARLY.try_with(|early| {
        let mut early = early.borrow_mut();
        if early.len() == ENDED_EARLY_LIMIT {
            early.remove(0);
        }
        early.push((span_id, saved));
        with_local(|l| l.set(ENDED_EARLY_BIT, true));
    });
}

/// Exchanges the thread's current context with `task`: an instrumented
/// future calls this before and after polling, so its task's context is
/// current exactly while it is polled.
#[inline]
pub(crate) fn swap(task: &mut Saved) {
    with_local(|l| {
        task.ctx = l.ctx.replace(task.ctx);
        // Usually neither side has carried data or annotations: two flag
        // checks, and the exchanges stay out of line.
        if task.carried.is_some() || l.has(CARRIED_BIT) {
            swap_carried(l, &mut task.carried);
        }
        if task.pending.is_some() || l.has(PENDING_BIT) {
            swap_pending(l, &mut task.pending);
        }
    });
}

/// Makes a span's own context current for a poll of its task, with nothing
/// annotated or carried; returns what it replaced. The same as [`swap`]
/// with `Saved::new(Some(ctx), None)`, without building that value first.
/// The value is returned in a `ManuallyDrop`: the caller's code then has
/// no drop glue to run for it if the slow path unwinds.
#[inline]
pub(crate) fn enter_own(ctx: SpanCtx) -> ManuallyDrop<Saved> {
    with_local(|l| {
        let mut outer = ManuallyDrop::new(Saved::new(l.ctx.replace(Some(ctx)), None));
        if l.has(CARRIED_BIT | PENDING_BIT) {
            take_rest(l, &mut outer);
        }
        outer
    })
}

/// Moves what the thread's context carries and its annotations to `outer`.
#[cold]
#[inline(never)]
fn take_rest(l: &Local, outer: &mut Saved) {
    if l.has(CARRIED_BIT) {
        swap_carried(l, &mut outer.carried);
    }
    if l.has(PENDING_BIT) {
        swap_pending(l, &mut outer.pending);
    }
}

/// Puts `outer` back if the current context is span `span_id`'s own with
/// nothing annotated or carried and `outer` holds only ids: the usual end
/// of a poll of a span's task, where that context needs no storing.
/// Otherwise changes nothing and returns false.
#[inline]
pub(crate) fn leave_own(outer: &Saved, span_id: u64) -> bool {
    with_local(|l| {
        let own = l.flags.get() & (CARRIED_BIT | PENDING_BIT) == 0
            && outer.pending.is_none()
            && outer.carried.is_none()
            && l.ctx.get().is_some_and(|ctx| ctx.span_id == span_id);
        if own {
            l.ctx.set(outer.ctx);
        }
        own
    })
}

#[cold]
#[inline(never)]
fn swap_carried(l: &Local, carried: &mut CarriedRef) {
    *carried = replace_carried_slow(l, carried.take());
}

#[cold]
#[inline(never)]
fn swap_pending(l: &Local, pending: &mut AnnotationsBox) {
    *pending = match pending.take() {
        Some(mine) => replace_pending_slow(l, Some(mine)),
        None => take_pending_slow(l),
    };
}

/// Makes `ctx`, carrying `carried`, current without opening a span;
/// returns what it replaced.
pub(crate) fn attach(ctx: Option<SpanCtx>, carried: CarriedRef) -> Saved {
    let mut saved = Saved::new(ctx, carried);
    swap(&mut saved);
    saved
}

/// Undoes [`attach`]. What was annotated meanwhile goes to the attached
/// span (see [`deferred`](super::deferred)).
pub(crate) fn detach(mut saved: Saved) {
    swap(&mut saved);
    if saved.pending.is_some() {
        super::deferred::hand_over(saved.ctx, saved.pending);
    }
}

/// Runs `f` on the annotations of span `span_id` if it is current here;
/// gives `f` back if it is not.
#[inline]
pub(crate) fn annotate<F: FnOnce(&mut Annotations)>(span_id: u64, f: F) -> Option<F> {
    if current().map(|ctx| ctx.span_id) != Some(span_id) {
        return Some(f);
    }
    with_local(|l| {
        let mut pending = take_pending(l)
            .unwrap_or_else(|| Box::new(Annotations::new(crate::collector::recording_limits())));
        f(&mut pending);
        let stored = PENDING.try_with(|p| p.set(Some(pending))).is_ok();
        l.set(PENDING_BIT, stored);
    });
    None
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    fn ctx(span_id: u64) -> SpanCtx {
        SpanCtx {
            trace_id: 1,
            span_id,
            sampled: true,
            remote: false,
            random: true,
        }
    }

    #[test]
    fn nested_enter_exit_restores_in_order() {
        assert_eq!(current(), None);
        let mut a = enter(ctx(1), None);
        let mut b = enter(ctx(2), None);
        assert_eq!(current(), Some(ctx(2)));
        exit(2, thread_id(), &mut b);
        assert_eq!(current(), Some(ctx(1)));
        exit(1, thread_id(), &mut a);
        assert_eq!(current(), None);
    }

    #[test]
    fn out_of_order_exit_does_not_revive_the_ended_span() {
        let mut a = enter(ctx(1), None);
        let mut b = enter(ctx(2), None);
        exit(1, thread_id(), &mut a); // outer ends first
        assert_eq!(current(), Some(ctx(2)));
        exit(2, thread_id(), &mut b);
        assert_eq!(current(), None);
    }

    #[test]
    fn an_end_on_another_thread_unsticks_the_origin_thread() {
        let origin = thread_id();
        let mut a = enter(ctx(1), None);
        let mut b = enter(ctx(2), None);
        // `b` ends on another thread: this thread learns of it by mail.
        std::thread::spawn(move || {
            assert!(exit(2, origin, &mut b).0.is_none());
        })
        .join()
        .unwrap();
        assert_eq!(current(), Some(ctx(1)));
        exit(1, origin, &mut a);
        assert_eq!(current(), None);
    }

    #[test]
    fn annotations_here_belong_to_the_current_span_only() {
        let mut a = enter(ctx(1), None);
        assert!(annotate(1, |p| p.set_attribute(KeyValue::new("k", 1))).is_none());
        let mut b = enter(ctx(2), None);
        assert!(annotate(1, |p| p.set_attribute(KeyValue::new("x", 1))).is_some());
        assert!(annotate(2, |p| p.set_attribute(KeyValue::new("k", 2))).is_none());
        let inner = exit(2, thread_id(), &mut b).0.unwrap();
        assert_eq!(inner.attributes, vec![KeyValue::new("k", 2)]);
        let outer = exit(1, thread_id(), &mut a).0.unwrap();
        assert_eq!(outer.attributes, vec![KeyValue::new("k", 1)]);
    }

    #[test]
    fn a_task_context_leaves_unstored_only_while_it_is_its_span_ids() {
        let outer = enter_own(ctx(2));
        assert_eq!(current(), Some(ctx(2)));
        // Another span's id: not the span's own context, nothing changes.
        assert!(!leave_own(&outer, 3));
        assert_eq!(current(), Some(ctx(2)));
        // Annotations waiting: they must be kept with the task.
        assert!(annotate(2, |p| p.set_attribute(KeyValue::new("k", 2))).is_none());
        assert!(!leave_own(&outer, 2));
        assert_eq!(current(), Some(ctx(2)));
        let mut task = ManuallyDrop::into_inner(outer);
        swap(&mut task);
        assert_eq!(current(), None);
        assert_eq!(task.ctx, Some(ctx(2)));
        assert_eq!(
            task.pending.unwrap().attributes,
            vec![KeyValue::new("k", 2)]
        );
        // Only the ids: put back with nothing to store.
        let outer = enter_own(ctx(4));
        assert!(leave_own(&outer, 4));
        assert_eq!(current(), None);
    }

    #[test]
    fn entering_a_task_context_takes_the_threads_annotations_along() {
        let mut a = enter(ctx(1), None);
        assert!(annotate(1, |p| p.set_attribute(KeyValue::new("k", 1))).is_none());
        let outer = enter_own(ctx(2));
        assert_eq!(current(), Some(ctx(2)));
        assert!(outer.pending.is_some());
        assert!(annotate(1, |p| p.set_attribute(KeyValue::new("x", 1))).is_some());
        // What it replaced holds annotations: only a full exchange restores
        // them.
        assert!(!leave_own(&outer, 2));
        let mut task = outer;
        swap(&mut task);
        assert_eq!(current(), Some(ctx(1)));
        assert_eq!(task.ctx, Some(ctx(2)));
        assert!(task.pending.is_none());
        let saved = exit(1, thread_id(), &mut a).0.unwrap();
        assert_eq!(saved.attributes, vec![KeyValue::new("k", 1)]);
    }
}
