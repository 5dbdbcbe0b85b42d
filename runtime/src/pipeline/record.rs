//! The compact record of an ended span, and its conversion to `SpanData`.

use std::borrow::Cow;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::local::clock;
use crate::span::Site;

/// What the calling thread hands to the pipeline when a sampled span ends.
///
/// Times are clock ticks; the conversion to wall-clock time and to the
/// OpenTelemetry data model happens off the calling thread.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) site: &'static Site,
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Zero for a root span.
    pub(crate) parent_id: u64,
    pub(crate) parent_remote: bool,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
}

impl SpanRecord {
    /// The OpenTelemetry form, as every `SpanExporter` takes it.
    pub(crate) fn into_span_data(self) -> SpanData {
        let site = self.site;
        let mut events = SpanEvents::default();
        events.events = self.events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(self.trace_id),
                SpanId::from(self.span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(self.parent_id),
            parent_span_is_remote: self.parent_remote,
            span_kind: site.kind.into(),
            name: self.name.unwrap_or(Cow::Borrowed(site.name)),
            start_time: clock::to_system_time(self.start),
            end_time: clock::to_system_time(self.end.max(self.start)),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status: self.status,
            instrumentation_scope: InstrumentationScope::builder(site.scope_name)
                .with_version(site.scope_version)
                .build(),
        }
    }
}
