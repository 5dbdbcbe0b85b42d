//! A span that has started: what every kind of span holder keeps.

use std::fmt;

use crate::collector::{self, Mode};
use crate::context::{current, deferred, foreign, SpanCtx};
use crate::local::{clock, ids};
use crate::model::{AnnotationsBox, CarriedRef, InlineAttributes, RecordHead, Site};

/// Ids, parent and start of a span in progress. Owned by a
/// [`SpanGuard`](super::SpanGuard) (sync scopes) or an
/// [`Instrumented`](crate::Instrumented) future (async bodies).
///
/// 56 bytes, aligned to 8: the span's context is kept as its fields, not as
/// a [`SpanCtx`] (whose `u128` trace id would align the whole to 16 and pad
/// it to 64), and [`Opened::ctx`] puts them back together: plain loads, no
/// bits to unpack. Every future that holds a span carries this, so each
/// byte here is a byte per traced `async fn` in flight.
///
/// Its first [`HEAD_PREFIX`] bytes are laid out as a [`RecordHead`]'s (see
/// the assertions below), so [`Opened::head`] copies them whole.
#[derive(Clone, Copy)]
#[repr(C, packed(8))]
pub(crate) struct Opened {
    trace_id: u128,
    span_id: u64,
    /// Zero for a root.
    parent_id: u64,
    start: u64,
    site: &'static Site,
    /// The pipeline installation the span belongs to.
    generation: u32,
    parent_remote: bool,
    random: bool,
    sampled: bool,
    /// A remote parent carried through (see [`Opened::start_with_parent`]).
    remote: bool,
}

/// How much of an [`Opened`] is a [`RecordHead`]: every field of the head
/// but the end tick (`sampled` and `remote` land in the head's padding).
const HEAD_PREFIX: usize = std::mem::offset_of!(RecordHead, end);

// The shared prefix, field by field.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(Opened, trace_id) == offset_of!(RecordHead, trace_id));
    assert!(offset_of!(Opened, span_id) == offset_of!(RecordHead, span_id));
    assert!(offset_of!(Opened, parent_id) == offset_of!(RecordHead, parent_id));
    assert!(offset_of!(Opened, start) == offset_of!(RecordHead, start));
    assert!(offset_of!(Opened, site) == offset_of!(RecordHead, site));
    assert!(offset_of!(Opened, generation) == offset_of!(RecordHead, generation));
    assert!(offset_of!(Opened, parent_remote) == offset_of!(RecordHead, parent_remote));
    assert!(offset_of!(Opened, random) == offset_of!(RecordHead, random));
    assert!(offset_of!(RecordHead, random) < HEAD_PREFIX);
    assert!(HEAD_PREFIX == size_of::<Opened>());
};

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
        Opened::from_parts(site, parent, 0, false, mode.generation(), 0)
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
        let ctx = SpanCtx {
            trace_id,
            span_id,
            sampled: collector::sample(mode.sampler(), parent, trace_id),
            remote: false,
            random: parent.is_none_or(|p| p.random),
        };
        Opened::from_parts(
            site,
            ctx,
            parent.map_or(0, |p| p.span_id),
            parent.is_some_and(|p| p.remote),
            mode.generation(),
            start,
        )
    }

    #[inline]
    fn from_parts(
        site: &'static Site,
        ctx: SpanCtx,
        parent_id: u64,
        parent_remote: bool,
        generation: u32,
        start: u64,
    ) -> Opened {
        Opened {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            parent_id,
            start,
            site,
            generation,
            sampled: ctx.sampled,
            remote: ctx.remote,
            random: ctx.random,
            parent_remote,
        }
    }

    /// The span's context: what becomes current while it is open.
    #[inline]
    pub(crate) fn ctx(&self) -> SpanCtx {
        SpanCtx {
            trace_id: self.trace_id,
            span_id: self.span_id,
            sampled: self.sampled,
            remote: self.remote,
            random: self.random,
        }
    }

    /// The span's id.
    #[inline]
    pub(crate) fn span_id(&self) -> u64 {
        self.span_id
    }

    /// Whether the span records (see [`SpanCtx::is_recording`]).
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.ctx().is_recording()
    }

    /// Where the span was opened.
    #[inline]
    pub(crate) fn site(&self) -> &'static Site {
        self.site
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

    /// Makes the span a span of `site` (a kind given only once the span
    /// has started, by the tracing bridge's fields).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn set_site(&mut self, site: &'static Site) {
        self.site = site;
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
        let ctx = self.ctx();
        if !ctx.is_recording() {
            return;
        }
        deferred::take(ctx, &mut extra);
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
        let mut head = std::mem::MaybeUninit::<RecordHead>::uninit();
        let to = head.as_mut_ptr();
        // SAFETY: the first `HEAD_PREFIX` bytes of `Opened` hold the head's
        // fields but `end` at the same offsets, with the same types (the
        // assertions after `Opened`); the rest of that prefix is the head's
        // padding, which may hold any bytes. `end` is written after, so
        // every field is initialized.
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::ptr::from_ref(self).cast::<u8>(),
                to.cast::<u8>(),
                HEAD_PREFIX,
            );
            (&raw mut (*to).end).write(end);
            head.assume_init()
        }
    }
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("name", &self.site().name)
            .field("ctx", &self.ctx())
            .field("parent_id", &{ self.parent_id })
            .finish_non_exhaustive()
    }
}
