//! The guard that times one span in a synchronous scope.

use std::fmt;
use std::mem::ManuallyDrop;

use opentelemetry::{Key, KeyValue};

use super::opened::Opened;
use super::Span;
use crate::collector;
use crate::collector::Mode;
use crate::context::{current, foreign, Saved, SpanCtx};
use crate::local::{clock, ids};
use crate::model::Annotations;
use crate::model::CarriedRef;
use crate::model::{InlineAttributes, Site, ToValue};

/// A span in progress; it ends when the guard is dropped.
///
/// Returned by `let _s = span!("name");` and used by `#[traced]`. While the
/// guard lives, its span is the current span of the thread (or of the task,
/// inside an instrumented future), so spans opened inside become its
/// children. The guard owns its state by value and is `Send`.
///
/// When no pipeline is installed the guard is inert: opening it cost one
/// atomic load and dropping it does nothing.
#[must_use = "the span ends when this guard is dropped; bind it with `let _span = ...`"]
pub struct SpanGuard {
    /// Dropped by hand in `Drop`, so an inert guard has no drop glue to run.
    active: ManuallyDrop<Option<Active>>,
}

struct Active {
    span: Opened,
    /// What the span replaced. `current::exit` takes everything it owns
    /// out of it, so it is never dropped: that spares every span a call to
    /// its drop glue.
    saved: ManuallyDrop<Saved>,
    /// The thread the span was opened on.
    origin: u64,
    /// Attributes given through the guard (the macros' `key = value`).
    attributes: InlineAttributes,
}

impl SpanGuard {
    /// Opens a span for `site` as a child of the current span and makes it
    /// current.
    #[allow(clippy::inline_always)] // the off check must stay at the call site
    #[inline(always)]
    pub(crate) fn open(site: &'static Site) -> Self {
        // The check stays at the call site; the rest is out of line, so an
        // instrumented call with no pipeline costs one load and a branch.
        let mode = crate::collector::mode();
        if mode.is_off() {
            return SpanGuard {
                active: ManuallyDrop::new(None),
            };
        }
        Self::open_on(site, mode)
    }

    #[inline(never)]
    fn open_on(site: &'static Site, mode: Mode) -> Self {
        if crate::local::suppress::suppressed() {
            return SpanGuard {
                active: ManuallyDrop::new(None),
            };
        }
        // What does not depend on the parent first: fewer values are live
        // across the calls and branches in between.
        // A thread with an id has a seeded id generator.
        let origin = current::thread_id();
        let span_id = ids::span_id_seeded();
        let start = clock::now();
        let current = current::current();
        // A span current in OpenTelemetry's context (the bridge's) may be
        // the parent; the guard still restores traced's own current span.
        let parent = foreign::parent(current);
        let span = Opened::new(site, mode, parent, span_id, start);
        SpanGuard {
            active: ManuallyDrop::new(Some(Active {
                saved: ManuallyDrop::new(current::enter_over(span.ctx(), current)),
                origin,
                span,
                attributes: InlineAttributes::new(),
            })),
        }
    }

    /// Opens a span for `site` under an explicit parent and makes it current.
    #[inline]
    pub(crate) fn open_with_parent(
        site: &'static Site,
        parent: Option<SpanCtx>,
        carried: CarriedRef,
    ) -> Self {
        Self::from_opened(Opened::start_with_parent(site, parent), carried)
    }

    #[inline]
    fn from_opened(span: Option<Opened>, carried: CarriedRef) -> Self {
        SpanGuard {
            active: ManuallyDrop::new(span.map(|span| Active {
                saved: ManuallyDrop::new(current::enter(span.ctx(), carried)),
                origin: current::thread_id(),
                span,
                attributes: InlineAttributes::new(),
            })),
        }
    }

    /// Whether this span is recorded and will be exported.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.span.is_recording())
    }

    /// A handle to this span, usable from any thread or task while it is
    /// in progress (see [`Span`]).
    pub fn span(&self) -> Span {
        match self.active.as_ref() {
            Some(a) => Span::new(Some(a.span.ctx()), a.carried()),
            None => Span::none(),
        }
    }

    /// Sets an attribute on this span; a later value for the same key wins.
    /// Values as for [`Span::set_attribute`].
    #[inline]
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl ToValue) {
        if let Some(active) = self.recording() {
            if !active.attributes.set(
                KeyValue::new(key, value.to_value()),
                collector::recording_attributes,
            ) {
                active.count_dropped_attribute();
            }
        }
    }

    /// Sets an attribute whose value is built already (for generated code:
    /// moved in, not cloned through [`ToValue`]).
    #[inline]
    pub(crate) fn set_attribute_value(&mut self, key: Key, value: opentelemetry::Value) {
        if let Some(active) = self.recording() {
            if !active
                .attributes
                .set(KeyValue::new(key, value), collector::recording_attributes)
            {
                active.count_dropped_attribute();
            }
        }
    }

    /// Links this span to another span.
    pub(crate) fn add_link(&mut self, link: opentelemetry::trace::Link) {
        if let Some(active) = self.recording() {
            active.annotate(|pending| pending.add_link(link));
        }
    }

    /// Records an `exception` event and sets status Error.
    pub(crate) fn record_exception(&mut self, type_name: &str, message: &str) {
        if let Some(active) = self.recording() {
            active.annotate(|pending| super::handle::record_exception(pending, type_name, message));
        }
    }

    #[inline]
    fn recording(&mut self) -> Option<&mut Active> {
        self.active.as_mut().filter(|a| a.span.is_recording())
    }

    /// Ends the span now (the same as dropping the guard).
    pub fn end(self) {}
}

impl Active {
    /// Applies `f` to this span's annotations, as through its [`Span`]
    /// handle: in the current-span cell while the span is current, else in
    /// the side table the span empties when it ends.
    fn annotate(&self, f: impl FnOnce(&mut Annotations)) {
        Span::new(Some(self.span.ctx()), None).annotate(f);
    }

    /// Counts an attribute the guard's list refused (it was full), with the
    /// annotations merged into the record when the span ends.
    #[cold]
    fn count_dropped_attribute(&self) {
        self.annotate(|pending| {
            pending.dropped_attributes = pending.dropped_attributes.saturating_add(1);
        });
    }

    /// Ends the span: restores the context it replaced and hands the
    /// record over, leaving `self` empty.
    #[inline]
    fn end(&mut self) {
        let (extra, carried) = current::exit(self.span.span_id(), self.origin, &mut self.saved);
        self.span.finish(&mut self.attributes, extra, carried);
    }

    /// What the span's context carries: the current context's while the
    /// span is current, else its parent's (a child carries what its parent
    /// does).
    fn carried(&self) -> CarriedRef {
        if current::current().is_some_and(|ctx| ctx.span_id == self.span.span_id()) {
            current::carried()
        } else {
            self.saved.carried.clone()
        }
    }
}

impl Drop for SpanGuard {
    #[allow(clippy::inline_always)] // the off check must stay at the call site
    #[inline(always)]
    fn drop(&mut self) {
        if self.active.is_some() {
            self.end_now();
        }
    }
}

impl SpanGuard {
    /// Ends the span of a guard that is not inert.
    #[inline(never)]
    fn end_now(&mut self) {
        // SAFETY: `drop` calls this only when `active` is `Some`.
        let active = unsafe { self.active.as_mut().unwrap_unchecked() };
        active.end();
        // Of `Active`, only the attributes can still own anything: the span
        // is plain data and `end` left `saved` owning nothing. Dropping
        // them alone spares checking `active` again.
        // SAFETY: called once, from `drop`; `active` is not used after.
        unsafe { std::ptr::drop_in_place(&raw mut active.attributes) };
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.active {
            None => f.write_str("SpanGuard(inert)"),
            Some(a) => f
                .debug_struct("SpanGuard")
                .field("name", &a.span.site().name)
                .field("trace_id", &format_args!("{:032x}", a.span.ctx().trace_id))
                .field("span_id", &format_args!("{:016x}", a.span.span_id()))
                .field("sampled", &a.span.ctx().sampled)
                .finish(),
        }
    }
}
