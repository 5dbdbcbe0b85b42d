//! The compact record of an ended span, and its conversion to `SpanData`.

use std::borrow::Cow;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::context::PendingBox;
use crate::local::clock;
use crate::span::{InlineAttributes, Site};

/// What the calling thread hands to the pipeline when a sampled span ends.
///
/// Times are clock ticks, attributes given at the start live inline, and
/// everything rarer (events, links, status, a new name, attributes set
/// through `Span::current()`) is in `extra`, allocated only when used. The
/// conversion to wall-clock time and to the OpenTelemetry data model
/// happens off the calling thread.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) site: &'static Site,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Zero for a root span.
    pub(crate) parent_id: u64,
    pub(crate) parent_remote: bool,
    /// The pipeline installation the span was started under.
    pub(crate) generation: u32,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) attributes: InlineAttributes,
    pub(crate) extra: PendingBox,
}

impl SpanRecord {
    /// The OpenTelemetry form, as every `SpanExporter` takes it.
    pub(crate) fn into_span_data(mut self) -> SpanData {
        self.take_span_data()
    }

    /// The OpenTelemetry form, moving the attributes and annotations out of
    /// the record in place (so a record in a ring slot is not copied first).
    pub(crate) fn take_span_data(&mut self) -> SpanData {
        let site = self.site;
        let mut events = SpanEvents::default();
        let mut links = SpanLinks::default();
        let mut name = Cow::Borrowed(site.name);
        let mut status = opentelemetry::trace::Status::Unset;
        let mut attributes = self.attributes.take_vec();
        if let Some(extra) = self.extra.take() {
            let extra = *extra;
            // Annotations made later win over the ones given at the start.
            for attribute in extra.attributes {
                crate::context::current::set_attribute(&mut attributes, attribute);
            }
            events.events = extra.events;
            links.links = extra.links;
            status = extra.status;
            if let Some(new_name) = extra.name {
                name = new_name;
            }
        }
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(self.trace_id),
                SpanId::from(self.span_id),
                TraceFlags::SAMPLED,
                false,
                crate::propagation::trace_state_of(self.trace_id),
            ),
            parent_span_id: SpanId::from(self.parent_id),
            parent_span_is_remote: self.parent_remote,
            span_kind: site.kind.into(),
            name,
            start_time: clock::to_system_time(self.start),
            end_time: clock::to_system_time(self.end.max(self.start)),
            attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status,
            instrumentation_scope: InstrumentationScope::builder(site.scope_name)
                .with_version(site.scope_version)
                .build(),
        }
    }
}
