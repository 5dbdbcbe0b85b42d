//! The compact record of an ended span.

use std::mem::MaybeUninit;

use super::{AnnotationsBox, CarriedRef, InlineAttributes, Site};

/// What the calling thread hands to the pipeline when a sampled span ends.
///
/// Times are clock ticks, attributes given at the start live inline, and
/// everything rarer (events, links, status, a new name, attributes set
/// through `Span::current()`) is in `extra`, allocated only when used. The
/// conversion to wall-clock time and to the OpenTelemetry data model
/// happens off the calling thread.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) head: RecordHead,
    pub(crate) attributes: InlineAttributes,
    pub(crate) extra: AnnotationsBox,
    /// What the span carried (its trace state is exported), usually nothing.
    pub(crate) carried: CarriedRef,
}

/// The fixed-size part of a [`SpanRecord`]: ids, times, call site.
///
/// Laid out as the start of the span in progress (`span::Opened`, which
/// checks it at compile time): ending a span copies that prefix in a few
/// wide moves and adds the end tick, instead of moving each field.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct RecordHead {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Zero for a root span.
    pub(crate) parent_id: u64,
    pub(crate) start: u64,
    pub(crate) site: &'static Site,
    /// The pipeline installation the span was started under.
    pub(crate) generation: u32,
    pub(crate) parent_remote: bool,
    /// The W3C level 2 random flag of the trace.
    pub(crate) random: bool,
    pub(crate) end: u64,
}

impl SpanRecord {
    /// Builds a record in `slot`, moving the attributes out of `attributes`
    /// (only the inline slots in use are copied).
    #[inline]
    pub(crate) fn write(
        slot: &mut MaybeUninit<SpanRecord>,
        head: impl FnOnce() -> RecordHead,
        attributes: &mut InlineAttributes,
        extra: AnnotationsBox,
        carried: CarriedRef,
    ) {
        let record = slot.as_mut_ptr();
        // SAFETY: `record` is valid for writes; each field is initialized
        // once below (`move_into` initializes all of `attributes`), so the
        // slot holds a valid record when this returns.
        unsafe {
            (&raw mut (*record).head).write(head());
            (&raw mut (*record).extra).write(extra);
            (&raw mut (*record).carried).write(carried);
            attributes.move_into(
                &mut *(&raw mut (*record).attributes).cast::<MaybeUninit<InlineAttributes>>(),
            );
        }
    }

    /// Moves the record at `from` into `to`, copying only the inline
    /// attribute slots in use (not the whole record); `from` is left
    /// moved-from and must be neither used nor dropped again.
    ///
    /// # Safety
    /// `from` points to a valid record that the caller owns and gives up.
    #[inline]
    pub(crate) unsafe fn move_out(
        from: *mut SpanRecord,
        to: &mut MaybeUninit<SpanRecord>,
    ) -> &mut SpanRecord {
        // SAFETY: `from` is valid and owned (the caller's contract); each
        // field is read once, and the attributes are moved out, leaving
        // nothing for `from` to drop; `write` initializes `to`.
        unsafe {
            let head = (*from).head;
            let extra = std::ptr::read(&raw const (*from).extra);
            let carried = std::ptr::read(&raw const (*from).carried);
            Self::write(to, || head, &mut (*from).attributes, extra, carried);
            to.assume_init_mut()
        }
    }

    /// Whether dropping the record would do nothing: no attributes, no
    /// annotations, nothing carried.
    #[inline]
    pub(crate) fn is_bare(&self) -> bool {
        // The four words or'ed and tested once, not four tests and branches
        // (the drain thread asks this of every record).
        let extra = (self.extra.as_deref()).map_or(0, |extra| std::ptr::from_ref(extra).addr());
        let carried =
            (self.carried.as_deref()).map_or(0, |carried| std::ptr::from_ref(carried).addr());
        (self.attributes.bare_bits() | extra | carried) == 0
    }

    /// About how much memory the record holds: itself, the attribute
    /// overflow and its annotations' lists (the contents of owned strings
    /// are not counted). What the batch worker's buffer is bounded by.
    pub(crate) fn estimated_bytes(&self) -> usize {
        let mut bytes = size_of::<SpanRecord>() + self.attributes.overflow_bytes();
        if let Some(extra) = &self.extra {
            bytes += size_of::<super::Annotations>()
                + extra.attributes.len() * size_of::<opentelemetry::KeyValue>()
                + extra.events.len() * size_of::<opentelemetry::trace::Event>()
                + extra.links.len() * size_of::<opentelemetry::trace::Link>();
        }
        bytes
    }

    /// A record by value (for the simple processor, which exports it at
    /// once).
    pub(crate) fn new(
        head: RecordHead,
        attributes: &mut InlineAttributes,
        extra: AnnotationsBox,
        carried: CarriedRef,
    ) -> SpanRecord {
        let mut slot = MaybeUninit::uninit();
        Self::write(&mut slot, || head, attributes, extra, carried);
        // SAFETY: `write` initialized the record.
        unsafe { slot.assume_init() }
    }
}
