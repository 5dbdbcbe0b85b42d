//! The guard that times one span.

use std::fmt;

use opentelemetry::{Key, KeyValue, Value};

use super::{Site, Span};
use crate::context::{current, Pending, Saved, SpanCtx};
use crate::local::{clock, ids};
use crate::pipeline::{self, SpanRecord};

/// A span in progress; it ends when the guard is dropped.
///
/// Returned by `let _s = span!("name");` and used by `#[traced]`. While the
/// guard lives, its span is the current span of the thread, so spans opened
/// inside become its children. The guard owns its state by value and is
/// `Send`.
///
/// When no pipeline is installed the guard is inert: opening it cost one
/// atomic load and dropping it does nothing.
#[must_use = "the span ends when this guard is dropped; bind it with `let _span = ...`"]
pub struct SpanGuard {
    active: Option<Active>,
}

struct Active {
    site: &'static Site,
    ctx: SpanCtx,
    parent: Option<SpanCtx>,
    start: u64,
    saved: Saved,
    /// Annotations made through this guard while a child span was current.
    late: Option<Box<Pending>>,
}

impl SpanGuard {
    /// A guard that records nothing.
    pub(crate) const fn inert() -> Self {
        SpanGuard { active: None }
    }

    /// Opens a span for `site` as a child of the current span.
    #[inline]
    pub(crate) fn open(site: &'static Site) -> Self {
        let mode = pipeline::mode();
        if mode == pipeline::OFF {
            return Self::inert();
        }
        Self::open_slow(site, mode, current::current())
    }

    fn open_slow(site: &'static Site, mode: u8, parent: Option<SpanCtx>) -> Self {
        let trace_id = parent.map_or_else(ids::trace_id, |p| p.trace_id);
        let sampled = pipeline::sample(mode, parent, trace_id);
        let ctx = SpanCtx {
            trace_id,
            span_id: ids::span_id(),
            sampled,
            remote: false,
        };
        let saved = current::enter(ctx);
        SpanGuard {
            active: Some(Active {
                site,
                ctx,
                parent,
                start: clock::now(),
                saved,
                late: None,
            }),
        }
    }

    /// Whether this span is recorded and will be exported.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.ctx.sampled)
    }

    /// A handle to this span, usable while it is in progress.
    pub fn span(&self) -> Span {
        Span::from_ctx(self.active.as_ref().map(|a| a.ctx))
    }

    /// Sets an attribute on this span; a later value for the same key wins.
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        if !active.ctx.sampled {
            return;
        }
        let attribute = KeyValue::new(key, value);
        active.annotate(|pending| pending.set_attribute(attribute));
    }

    /// Records an `exception` event and sets status Error.
    pub(crate) fn record_exception(&mut self, type_name: &str, message: &str) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        if active.ctx.sampled {
            active.annotate(|pending| super::handle::record_exception(pending, type_name, message));
        }
    }

    /// Ends the span now (the same as dropping the guard).
    pub fn end(self) {}
}

impl Active {
    /// Applies `f` to this span's annotations: in the thread's cell while the
    /// span is current, else to a side list merged when the span ends.
    fn annotate(&mut self, f: impl FnOnce(&mut Pending)) {
        let mut f = Some(f);
        current::annotate(self.ctx.span_id, |pending| {
            if let Some(f) = f.take() {
                f(pending);
            }
        });
        if let Some(f) = f {
            f(self.late.get_or_insert_with(Box::default));
        }
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let Some(active) = self.active.take() else {
            return;
        };
        let end = clock::now();
        let mut pending = current::exit(active.ctx.span_id, active.saved);
        if !active.ctx.sampled {
            return;
        }
        if let Some(late) = active.late {
            for attribute in late.attributes {
                pending.set_attribute(attribute);
            }
            pending.events.extend(late.events);
            pending.set_status(late.status);
        }
        if std::thread::panicking() {
            super::handle::record_exception(&mut pending, "panic", "the operation panicked");
        }
        pipeline::submit(SpanRecord {
            site: active.site,
            name: pending.name,
            trace_id: active.ctx.trace_id,
            span_id: active.ctx.span_id,
            parent_id: active.parent.map_or(0, |p| p.span_id),
            parent_remote: active.parent.is_some_and(|p| p.remote),
            start: active.start,
            end,
            attributes: pending.attributes,
            events: pending.events,
            status: pending.status,
        });
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.active {
            None => f.write_str("SpanGuard(inert)"),
            Some(a) => f
                .debug_struct("SpanGuard")
                .field("name", &a.site.name)
                .field("trace_id", &format_args!("{:032x}", a.ctx.trace_id))
                .field("span_id", &format_args!("{:016x}", a.ctx.span_id))
                .field("sampled", &a.ctx.sampled)
                .finish(),
        }
    }
}
