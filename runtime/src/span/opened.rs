//! A span that has started: what every kind of span holder keeps.

use crate::collector::{self, Mode};
use crate::context::{current, deferred, foreign, SpanCtx};
use crate::local::{clock, ids};
use crate::model::{AnnotationsBox, CarriedRef, InlineAttributes, RecordHead, Site};

/// Ids, parent and start of a span in progress. Owned by a
/// [`SpanGuard`](super::SpanGuard) (sync scopes) or an
/// [`Instrumented`](crate::Instrumented) future (async bodies).
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) site: &'static Site,
    pub(crate) ctx: SpanCtx,
    /// Zero for a root.
    parent_id: u64,
    parent_remote: bool,
    /// The pipeline installation the span belongs to.
    generation: u32,
    start: u64,
}

impl Opened {
    /// Starts a span for `site` under the current span, or `None` when no
    /// pipeline is installed.
    #[inline]
    pub(crate) fn start(site: &'static Site) -> Option<Opened> {
        Self::start_in(site, collector::mode())
    }

    /// [`Opened::start`] with the pipeline mode already read.
    #[inline]
    pub(crate) fn start_in(site: &'static Site, mode: Mode) -> Option<Opened> {
        if mode.is_off() || crate::local::suppress::suppressed() {
            return None;
        }
        // The innermost of traced's current span and a span made through
        // the OpenTelemetry API that is current in OpenTelemetry's context
        // (one relaxed load when there is none).
        let parent = foreign::parent(current::current());
        Some(Self::start_under(site, mode, parent))
    }

    /// Starts a span for `site` under `parent` (`None`: a new trace). What
    /// the parent's context carries is not the span's to keep: the holder
    /// makes it the span's context when it makes the span current.
    ///
    /// With no pipeline installed nothing is recorded, but a remote parent
    /// (one extracted from a request) is carried through: it becomes the
    /// current context for the span's scope, unchanged, so that
    /// `propagation::inject` passes it on and a service
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
        Opened {
            site,
            ctx: parent,
            parent_id: 0,
            parent_remote: false,
            generation: mode.generation(),
            start: 0,
        }
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
        Opened {
            site,
            ctx: SpanCtx {
                trace_id,
                span_id,
                sampled: collector::sample(mode.sampler(), parent, trace_id),
                remote: false,
                random: parent.is_none_or(|p| p.random),
            },
            parent_id: parent.map_or(0, |p| p.span_id),
            parent_remote: parent.is_some_and(|p| p.remote),
            generation: mode.generation(),
            start,
        }
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
        self.finish_at(attributes, extra, carried, None);
    }

    /// The parent's span id; zero for a root.
    pub(crate) fn parent_id(&self) -> u64 {
        self.parent_id
    }

    /// Makes the span start at tick `start` instead of when it was opened
    /// (a start time given through the OpenTelemetry API).
    pub(crate) fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    /// [`Opened::finish`], ending at tick `end` (now when `None`).
    #[inline]
    pub(crate) fn finish_at(
        &self,
        attributes: &mut InlineAttributes,
        mut extra: AnnotationsBox,
        carried: CarriedRef,
        end: Option<u64>,
    ) {
        if !self.ctx.is_recording() {
            return;
        }
        deferred::take(self.ctx, &mut extra);
        if std::thread::panicking() {
            super::panic::record_panic(
                extra.get_or_insert_with(|| Box::new(collector::annotations())),
            );
        }
        let end = end.unwrap_or_else(clock::now);
        collector::submit(
            self.generation,
            || self.head(end),
            attributes,
            extra,
            carried,
        );
    }

    /// The fixed part of this span's record, ending at tick `end`.
    #[inline]
    pub(crate) fn head(&self, end: u64) -> RecordHead {
        RecordHead {
            site: self.site,
            trace_id: self.ctx.trace_id,
            span_id: self.ctx.span_id,
            parent_id: self.parent_id,
            parent_remote: self.parent_remote,
            random: self.ctx.random,
            generation: self.generation,
            start: self.start,
            end,
        }
    }
}
