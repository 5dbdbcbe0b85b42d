//! The one adapter from traced's records to OpenTelemetry's `SpanData`,
//! for exporters that take it (every `opentelemetry_sdk` `SpanExporter`).

use std::borrow::Cow;
use std::mem::MaybeUninit;

use opentelemetry::trace::{SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use std::sync::Arc;

use opentelemetry::{Key, KeyValue};

use crate::local::clock;
use crate::model::{self, SpanCtx, SpanLimits, SpanRecord};

/// How records become `SpanData`: the span limits, and the baggage entries
/// copied onto spans as attributes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conversion {
    pub(crate) limits: SpanLimits,
    /// Baggage keys whose entries each span gets as an attribute of the same
    /// key (unless the span set that attribute itself).
    pub(crate) baggage_keys: Arc<[Key]>,
}

/// The OpenTelemetry form within `limits`, copying the attributes and
/// annotations: the record stays whole.
pub(crate) fn copy_span_data(record: &SpanRecord, conversion: &Conversion) -> SpanData {
    let mut data = MaybeUninit::uninit();
    let times = clock::converter().unix_nanos().based_at(record.head.start);
    write_span_data_copy(record, &mut data, times, conversion);
    // SAFETY: `write_span_data_copy` initialized it.
    unsafe { data.assume_init() }
}

/// Writes the OpenTelemetry form into `out`, copying the attributes and
/// annotations: the record stays whole, for the batch worker to send again
/// if the export fails. Written in place: neither the record nor the
/// `SpanData` (in the batch) is copied on the way. The span limits are
/// applied here, off the calling thread: what the calling thread already
/// refused (its lists were full) is added to the dropped counts.
///
/// Most records are plain (no annotations after the start, attributes
/// within the limits, no baggage to copy): those are written by straight
/// code, and the rest by [`write_annotated`], out of line.
#[allow(clippy::inline_always)] // once per span, in the send thread's batch loop
#[inline(always)]
pub(crate) fn write_span_data_copy(
    record: &SpanRecord,
    out: &mut MaybeUninit<SpanData>,
    times: clock::UnixNanos,
    conversion: &Conversion,
) {
    let head = &record.head;
    let site = head.site;
    let out = out.as_mut_ptr();
    // SAFETY: `out` is valid for writes, and every field of `SpanData` is
    // written once below (the ones depending on annotations, limits and
    // baggage either here or by `write_annotated`), so it is initialized
    // when this returns. Written field by field, straight into the batch:
    // a `SpanData` built whole was built on the stack and then copied.
    unsafe {
        let ctx = SpanCtx {
            trace_id: head.trace_id,
            span_id: head.span_id,
            sampled: true,
            remote: false,
            random: head.random,
        };
        (&raw mut (*out).span_context).write(if record.carried.is_none() {
            SpanContext::new(
                TraceId::from(ctx.trace_id),
                SpanId::from(ctx.span_id),
                TraceFlags::new(ctx.flags()),
                false,
                TraceState::NONE,
            )
        } else {
            model::to_otel(ctx, &record.carried)
        });
        (&raw mut (*out).parent_span_id).write(SpanId::from(head.parent_id));
        (&raw mut (*out).parent_span_is_remote).write(head.parent_remote);
        (&raw mut (*out).span_kind).write(site.kind.into());
        (&raw mut (*out).start_time).write(times.system_time(head.start));
        (&raw mut (*out).end_time).write(times.system_time(head.end.max(head.start)));
        (&raw mut (*out).instrumentation_scope).write(
            InstrumentationScope::builder(site.scope_name)
                .with_version(site.scope_version)
                .build(),
        );
        let attributes = record.attributes.to_vec();
        let limits = &conversion.limits;
        if record.extra.is_none()
            && conversion.baggage_keys.is_empty()
            && limits.max_attribute_value_length.is_none()
            && attributes.len() <= model::to_usize(limits.max_attributes_per_span)
        {
            (&raw mut (*out).name).write(Cow::Borrowed(site.name));
            (&raw mut (*out).attributes).write(attributes);
            (&raw mut (*out).dropped_attributes_count).write(0);
            (&raw mut (*out).events).write(SpanEvents::default());
            (&raw mut (*out).links).write(SpanLinks::default());
            (&raw mut (*out).status).write(Status::Unset);
        } else {
            write_annotated(record, attributes, out, conversion);
        }
    }
}

/// Writes the fields of `out` that annotations, limits and baggage decide:
/// name, `attributes` (a copy of the record's) and their dropped count,
/// events, links, status.
///
/// # Safety
///
/// `out` must be valid for writes; those fields are overwritten without
/// being dropped.
#[cold]
#[inline(never)]
unsafe fn write_annotated(
    record: &SpanRecord,
    mut attributes: Vec<KeyValue>,
    out: *mut SpanData,
    conversion: &Conversion,
) {
    let limits = &conversion.limits;
    let mut events = SpanEvents::default();
    let mut links = SpanLinks::default();
    let mut name = Cow::Borrowed(record.head.site.name);
    let mut status = Status::Unset;
    let mut dropped_attributes = 0;
    if let Some(extra) = record.extra.as_deref().cloned() {
        // Annotations made later win over the ones given at the start
        // (an update of a key kept counts even when the span is full).
        for attribute in extra.attributes {
            model::set_attribute(&mut attributes, attribute, usize::MAX);
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
        events.dropped_count = events
            .dropped_count
            .saturating_add(limits.limit_events(&mut events.events));
        links.dropped_count = links
            .dropped_count
            .saturating_add(limits.limit_links(&mut links.links));
    }
    if !conversion.baggage_keys.is_empty() {
        add_baggage(&mut attributes, record, &conversion.baggage_keys);
    }
    let dropped_attributes =
        dropped_attributes.saturating_add(limits.limit_span_attributes(&mut attributes));
    // SAFETY: the caller gives a pointer valid for writes.
    unsafe {
        (&raw mut (*out).name).write(name);
        (&raw mut (*out).attributes).write(attributes);
        (&raw mut (*out).dropped_attributes_count).write(dropped_attributes);
        (&raw mut (*out).events).write(events);
        (&raw mut (*out).links).write(links);
        (&raw mut (*out).status).write(status);
    }
}

/// Adds the entries of `keys` in the span's baggage as attributes, after
/// the span's own (which win).
#[cold]
fn add_baggage(attributes: &mut Vec<KeyValue>, record: &SpanRecord, keys: &[Key]) {
    let Some(carried) = record.carried.as_deref() else {
        return;
    };
    for key in keys {
        if attributes.iter().any(|kv| &kv.key == key) {
            continue;
        }
        if let Some(value) = carried.baggage_value(key.as_str()) {
            attributes.push(KeyValue::new(key.clone(), value.to_owned()));
        }
    }
}
