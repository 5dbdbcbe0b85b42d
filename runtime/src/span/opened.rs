//! A span that has started: what every kind of span holder keeps.

use crate::context::{current, Pending, SpanCtx};
use crate::local::{clock, ids};
use crate::pipeline::{self, SpanRecord};

use super::Site;

/// Ids, parent and start of a span in progress. Owned by a
/// [`SpanGuard`](super::SpanGuard) (sync scopes) or an
/// [`Instrumented`](crate::Instrumented) future (async bodies).
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) site: &'static Site,
    pub(crate) ctx: SpanCtx,
    pub(crate) parent: Option<SpanCtx>,
    pub(crate) start: u64,
}

impl Opened {
    /// Starts a span for `site` under the current span, or `None` when no
    /// pipeline is installed.
    #[inline]
    pub(crate) fn start(site: &'static Site) -> Option<Opened> {
        let mode = pipeline::mode();
        if mode == pipeline::OFF {
            return None;
        }
        Some(Self::start_under(site, mode, current::current()))
    }

    /// Starts a span for `site` under `parent` (`None`: a new trace), or
    /// `None` when no pipeline is installed.
    #[inline]
    pub(crate) fn start_with_parent(
        site: &'static Site,
        parent: Option<SpanCtx>,
    ) -> Option<Opened> {
        let mode = pipeline::mode();
        if mode == pipeline::OFF {
            return None;
        }
        Some(Self::start_under(site, mode, parent))
    }

    fn start_under(site: &'static Site, mode: u8, parent: Option<SpanCtx>) -> Opened {
        let trace_id = parent.map_or_else(ids::trace_id, |p| p.trace_id);
        Opened {
            site,
            ctx: SpanCtx {
                trace_id,
                span_id: ids::span_id(),
                sampled: pipeline::sample(mode, parent, trace_id),
                remote: false,
            },
            parent,
            start: clock::now(),
        }
    }

    /// Ends the span with its annotations and hands it to the pipeline if it
    /// was sampled. A panic in progress marks it Error.
    pub(crate) fn finish(self, mut pending: Pending) {
        let end = clock::now();
        if !self.ctx.sampled {
            return;
        }
        if std::thread::panicking() {
            super::panic::record_panic(&mut pending);
        }
        pipeline::submit(SpanRecord {
            site: self.site,
            name: pending.name,
            trace_id: self.ctx.trace_id,
            span_id: self.ctx.span_id,
            parent_id: self.parent.map_or(0, |p| p.span_id),
            parent_remote: self.parent.is_some_and(|p| p.remote),
            start: self.start,
            end,
            attributes: pending.attributes,
            events: pending.events,
            links: pending.links,
            status: pending.status,
        });
    }
}
