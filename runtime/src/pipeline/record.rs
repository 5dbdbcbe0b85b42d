//! The compact record of an ended span, and its conversion to `SpanData`.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use opentelemetry::trace::SpanId;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::SpanLimits;
use crate::context::PendingBox;
use crate::local::clock;
use crate::model::{self, CarriedRef, SpanCtx};
use crate::span::{InlineAttributes, Opened, Site};

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
    pub(crate) extra: PendingBox,
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
        span: &Opened,
        end: u64,
        attributes: &mut InlineAttributes,
        extra: PendingBox,
        carried: CarriedRef,
    ) {
        let record = slot.as_mut_ptr();
        // SAFETY: `record` is valid for writes; each field is initialized
        // once below (`move_into` initializes all of `attributes`), so the
        // slot holds a valid record when this returns.
        unsafe {
            (&raw mut (*record).head).write(span.head(end));
            (&raw mut (*record).extra).write(extra);
            (&raw mut (*record).carried).write(carried);
            attributes.move_into(
                &mut *(&raw mut (*record).attributes).cast::<MaybeUninit<InlineAttributes>>(),
            );
        }
    }

    /// A record by value (for the simple processor, which exports it at
    /// once).
    pub(crate) fn new(
        span: &Opened,
        end: u64,
        attributes: &mut InlineAttributes,
        extra: PendingBox,
        carried: CarriedRef,
    ) -> SpanRecord {
        let mut slot = MaybeUninit::uninit();
        Self::write(&mut slot, span, end, attributes, extra, carried);
        // SAFETY: `write` initialized the record.
        unsafe { slot.assume_init() }
    }

    /// The OpenTelemetry form, as every `SpanExporter` takes it, within
    /// `limits`.
    pub(crate) fn into_span_data(mut self, limits: &SpanLimits) -> SpanData {
        self.take_span_data(limits)
    }

    /// The OpenTelemetry form within `limits`, moving the attributes and
    /// annotations out of the record.
    pub(crate) fn take_span_data(&mut self, limits: &SpanLimits) -> SpanData {
        let mut data = MaybeUninit::uninit();
        self.write_span_data(&mut data, clock::converter(), limits);
        // SAFETY: `write_span_data` initialized it.
        unsafe { data.assume_init() }
    }

    /// Writes the OpenTelemetry form into `out`, moving the attributes and
    /// annotations out of the record in place: neither the record (in its
    /// ring slot) nor the `SpanData` (in the batch) is copied on the way.
    /// The span limits are applied here, off the calling thread: what the
    /// calling thread already refused (its lists were full) is added to the
    /// dropped counts.
    pub(crate) fn write_span_data(
        &mut self,
        out: &mut MaybeUninit<SpanData>,
        clock: clock::Converter,
        limits: &SpanLimits,
    ) {
        let head = self.head;
        let site = head.site;
        let mut events = SpanEvents::default();
        let mut links = SpanLinks::default();
        let mut name = Cow::Borrowed(site.name);
        let mut status = opentelemetry::trace::Status::Unset;
        let mut attributes = self.attributes.take_vec();
        let mut dropped_attributes = 0;
        if let Some(extra) = self.extra.take() {
            let extra = *extra;
            // Annotations made later win over the ones given at the start
            // (an update of a key kept counts even when the span is full).
            for attribute in extra.attributes {
                crate::context::current::set_attribute(&mut attributes, attribute);
            }
            dropped_attributes = extra.dropped_attributes;
            events.events = extra.events;
            events.dropped_count = extra.dropped_events;
            links.links = extra.links;
            links.dropped_count = extra.dropped_links;
            status = extra.status;
            if let Some(new_name) = extra.name {
                name = new_name;
            }
            limits.limit_events(&mut events);
            limits.limit_links(&mut links);
        }
        let dropped_attributes =
            dropped_attributes.saturating_add(limits.limit_span_attributes(&mut attributes));
        out.write(SpanData {
            span_context: model::to_otel(
                SpanCtx {
                    trace_id: head.trace_id,
                    span_id: head.span_id,
                    sampled: true,
                    remote: false,
                    random: head.random,
                },
                &self.carried,
            ),
            parent_span_id: SpanId::from(head.parent_id),
            parent_span_is_remote: head.parent_remote,
            span_kind: site.kind.into(),
            name,
            start_time: clock.to_system_time(head.start),
            end_time: clock.to_system_time(head.end.max(head.start)),
            attributes,
            dropped_attributes_count: dropped_attributes,
            events,
            links,
            status,
            instrumentation_scope: InstrumentationScope::builder(site.scope_name)
                .with_version(site.scope_version)
                .build(),
        });
    }
}
