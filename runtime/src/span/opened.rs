//! A span that has started: what every kind of span holder keeps.

use crate::collector::{self, Mode};
use crate::context::{current, deferred, SpanCtx};
use crate::local::{clock, ids};
use crate::model::{AnnotationsBox, CarriedRef, InlineAttributes, RecordHead, Site};

/// Ids, parent and start of a span in progress, without its call site:
/// 48 bytes, aligned to 8. The trace id is kept as two words and the flags
/// in one byte so that the holders (a guard, or an instrumented future at
/// rest between polls) stay small; the span's [`SpanCtx`] is rebuilt from
/// it when needed, which is a few register moves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    trace_hi: u64,
    trace_lo: u64,
    span_id: u64,
    /// Zero for a root.
    parent_id: u64,
    start: u64,
    /// The pipeline installation the span belongs to.
    generation: u32,
    /// `SAMPLED`, `REMOTE`, `RANDOM`, `PARENT_REMOTE`.
    flags: u8,
    /// A byte the holder keeps its own flags in (it would be padding).
    pub(crate) holder: u8,
}

const SAMPLED: u8 = 1;
const REMOTE: u8 = 2;
const RANDOM: u8 = 4;
const PARENT_REMOTE: u8 = 8;

impl Started {
    /// Holds `ctx` only (no parent, no start): what a wrapper with no span
    /// of its own keeps of its task's context.
    #[inline]
    pub(crate) fn of_ctx(ctx: SpanCtx) -> Started {
        Started {
            trace_hi: (ctx.trace_id >> 64) as u64,
            trace_lo: ctx.trace_id as u64,
            span_id: ctx.span_id,
            parent_id: 0,
            start: 0,
            generation: 0,
            flags: flag(ctx.sampled, SAMPLED) | flag(ctx.remote, REMOTE) | flag(ctx.random, RANDOM),
            holder: 0,
        }
    }

    /// The span's context.
    #[inline]
    pub(crate) fn ctx(&self) -> SpanCtx {
        SpanCtx {
            trace_id: (u128::from(self.trace_hi) << 64) | u128::from(self.trace_lo),
            span_id: self.span_id,
            sampled: self.flags & SAMPLED != 0,
            remote: self.flags & REMOTE != 0,
            random: self.flags & RANDOM != 0,
        }
    }

    /// Whether `ctx` is this span's context (ids compared; the flags of
    /// one span's context do not change).
    #[inline]
    pub(crate) fn is(&self, ctx: &SpanCtx) -> bool {
        ctx.span_id == self.span_id && ctx.trace_id as u64 == self.trace_lo
    }

    /// Whether the span is recorded and exported.
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.flags & (SAMPLED | REMOTE) == SAMPLED
    }

    /// Ends the span started at `site` (see [`Opened::finish`]).
    #[allow(clippy::inline_always)] // one body for the guard's end and the task's
    #[inline(always)]
    pub(crate) fn finish(
        &self,
        site: &'static Site,
        attributes: &mut InlineAttributes,
        mut extra: AnnotationsBox,
        carried: CarriedRef,
    ) {
        if !self.is_recording() {
            return;
        }
        deferred::take(self.ctx(), &mut extra);
        if std::thread::panicking() {
            super::panic::record_panic(
                extra.get_or_insert_with(|| Box::new(collector::annotations())),
            );
        }
        let end = clock::now();
        collector::submit(
            self.generation,
            || self.head(site, end),
            attributes,
            extra,
            carried,
        );
    }

    /// The fixed part of this span's record, ending at tick `end`.
    #[inline]
    pub(crate) fn head(&self, site: &'static Site, end: u64) -> RecordHead {
        RecordHead {
            site,
            trace_id: (u128::from(self.trace_hi) << 64) | u128::from(self.trace_lo),
            span_id: self.span_id,
            parent_id: self.parent_id,
            parent_remote: self.flags & PARENT_REMOTE != 0,
            random: self.flags & RANDOM != 0,
            generation: self.generation,
            start: self.start,
            end,
        }
    }
}

#[inline]
fn flag(on: bool, bit: u8) -> u8 {
    u8::from(on) * bit
}

/// A started span and its call site. Owned by a
/// [`SpanGuard`](super::SpanGuard) (sync scopes); an
/// [`Instrumented`](crate::Instrumented) future keeps the two apart (its
/// site is often a type, not a stored pointer).
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) site: &'static Site,
    pub(crate) started: Started,
}

impl Opened {
    /// Starts a span for `site` under the current span, or `None` when no
    /// pipeline is installed (`mode`, read by the caller) or spans are
    /// suppressed on this thread.
    #[inline]
    pub(crate) fn start_in(site: &'static Site, mode: Mode) -> Option<Opened> {
        if mode.is_off() || crate::local::suppress::suppressed() {
            return None;
        }
        Some(Self::start_under(site, mode, current::current()))
    }

    /// Starts a span for `site` under `parent` (`None`: a new trace). What
    /// the parent's context carries is not the span's to keep: the holder
    /// makes it the span's context when it makes the span current.
    ///
    /// With no pipeline installed nothing is recorded, but a remote parent
    /// (one extracted from a request) is carried through: it becomes the
    /// current context for the span's scope, unchanged, so that
    /// [`inject`](crate::propagation::inject) passes it on and a service
    /// that installs no tracing does not break the trace it sits in (the
    /// OpenTelemetry API's non-recording span).
    #[inline]
    pub(crate) fn start_with_parent(
        site: &'static Site,
        parent: Option<SpanCtx>,
    ) -> Option<Opened> {
        let mode = collector::mode();
        if crate::local::suppress::suppressed() {
            return None;
        }
        if mode.is_off() {
            return parent
                .filter(|p| p.remote)
                .map(|p| Self::carried_through(site, mode, p));
        }
        Some(Self::start_under(site, mode, parent))
    }

    /// A remote parent carried through a process that records nothing.
    #[cold]
    fn carried_through(site: &'static Site, mode: Mode, parent: SpanCtx) -> Opened {
        let mut started = Started::of_ctx(parent);
        started.generation = mode.generation();
        Opened { site, started }
    }

    #[inline]
    fn start_under(site: &'static Site, mode: Mode, parent: Option<SpanCtx>) -> Opened {
        Self::new(site, mode, parent, ids::span_id(), clock::now())
    }

    /// A span with id `span_id`, started at tick `start`, under `parent`.
    #[inline]
    pub(crate) fn new(
        site: &'static Site,
        mode: Mode,
        parent: Option<SpanCtx>,
        span_id: u64,
        start: u64,
    ) -> Opened {
        let trace_id = match parent {
            Some(p) => p.trace_id,
            None => ids::trace_id(),
        };
        let sampled = collector::sample(mode.sampler(), parent, trace_id);
        Opened {
            site,
            started: Started {
                trace_hi: (trace_id >> 64) as u64,
                trace_lo: trace_id as u64,
                span_id,
                parent_id: parent.map_or(0, |p| p.span_id),
                start,
                generation: mode.generation(),
                flags: flag(sampled, SAMPLED)
                    | flag(parent.is_none_or(|p| p.random), RANDOM)
                    | flag(parent.is_some_and(|p| p.remote), PARENT_REMOTE),
                holder: 0,
            },
        }
    }

    /// The span's context.
    #[inline]
    pub(crate) fn ctx(&self) -> SpanCtx {
        self.started.ctx()
    }

    /// Ends the span and hands it to the pipeline if it was sampled; the
    /// attributes are moved out of `attributes`, and the annotations made
    /// through handles where the span was not current
    /// ([`deferred`](crate::context::deferred)) join `extra`. `carried` is
    /// what the span's context carried at its end (its trace state is
    /// exported). A panic in progress marks it Error.
    #[inline]
    pub(crate) fn finish(
        &self,
        attributes: &mut InlineAttributes,
        extra: AnnotationsBox,
        carried: CarriedRef,
    ) {
        self.started.finish(self.site, attributes, extra, carried);
    }
}
