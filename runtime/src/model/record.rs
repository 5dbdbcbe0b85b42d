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
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordHead {
    pub(crate) site: &'static Site,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Zero for a root span.
    pub(crate) parent_id: u64,
    pub(crate) parent_remote: bool,
    /// The W3C level 2 random flag of the trace.
    pub(crate) random: bool,
    /// The pipeline installation the span was started under.
    pub(crate) generation: u32,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl SpanRecord {
    /// Builds a record in `slot`, moving the attributes out of `attributes`
    /// (only the inline slots in use are copied).
    #[inline]
    pub(crate) fn write(
        slot: &mut MaybeUninit<SpanRecord>,
        head: RecordHead,
        attributes: &mut InlineAttributes,
        extra: AnnotationsBox,
        carried: CarriedRef,
    ) {
        let record = slot.as_mut_ptr();
        // SAFETY: `record` is valid for writes; each field is initialized
        // once below (`move_into` initializes all of `attributes`), so the
        // slot holds a valid record when this returns.
        unsafe {
            (&raw mut (*record).head).write(head);
            (&raw mut (*record).extra).write(extra);
            (&raw mut (*record).carried).write(carried);
            attributes.move_into(
                &mut *(&raw mut (*record).attributes).cast::<MaybeUninit<InlineAttributes>>(),
            );
        }
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
        Self::write(&mut slot, head, attributes, extra, carried);
        // SAFETY: `write` initialized the record.
        unsafe { slot.assume_init() }
    }
}
