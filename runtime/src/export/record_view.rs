//! Read access to one span for traced's encoders, the same whether the span is a record from
//! the batch worker or an OpenTelemetry `SpanData` (an exporter used on its own, as a
//! `SpanExporter`).
//!
//! A [`RecordView`] gives the fields a span has once the pipeline is done with it, computed
//! from the record as the `SpanData` adapter (`span_data.rs`) computes them, but without
//! building anything: the attributes set at the start merged with those set later (later
//! values win, first order kept), the baggage entries copied as attributes, every span limit
//! applied (counts, and string values cut to the value length limit), times as nanoseconds
//! since the Unix epoch, the name a span was renamed to. Each encoder then writes its format
//! from [`SpanView`] and never re-derives any of it; the `SpanData` implementation lets the
//! same code serve the `SpanExporter` path, and the equality tests compare the two.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Event, Link, SpanId, SpanKind, Status, TraceFlags, TraceId};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::export::span_data::Conversion;
use crate::local::clock;
use crate::model::{self, SpanLimits, SpanRecord, FLAG_RANDOM, FLAG_SAMPLED};

/// One attribute value as an encoder writes it: strings already cut to the value length
/// limit; an array with the limit its strings are cut to (see [`cut`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum ValueRef<'a> {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(&'a str),
    Array(&'a Array, Option<usize>),
    /// A kind of value a later opentelemetry adds.
    Other(&'a Value),
}

impl<'a> ValueRef<'a> {
    /// `value`, with strings cut to `max` characters.
    #[inline]
    pub(crate) fn new(value: &'a Value, max: Option<usize>) -> Self {
        match value {
            Value::Bool(v) => ValueRef::Bool(*v),
            Value::I64(v) => ValueRef::I64(*v),
            Value::F64(v) => ValueRef::F64(*v),
            Value::String(v) => ValueRef::Str(cut(v.as_str(), max)),
            Value::Array(array) => ValueRef::Array(array, max),
            other => ValueRef::Other(other),
        }
    }
}

/// `text` cut to `max` characters (never inside one), as the span limits say.
#[inline]
pub(crate) fn cut(text: &str, max: Option<usize>) -> &str {
    match max {
        Some(max) if text.len() > max => match text.char_indices().nth(max) {
            Some((end, _)) => &text[..end],
            None => text,
        },
        _ => text,
    }
}

/// The instrumentation scope a span names.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScopeRef<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: Option<&'a str>,
    /// Only a `SpanData` from elsewhere has attributes or a schema URL on its scope.
    pub(crate) otel: Option<&'a opentelemetry::InstrumentationScope>,
}

impl PartialEq for ScopeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        let same_text = (std::ptr::eq(self.name, other.name)
            && self.version.map(str::as_ptr) == other.version.map(str::as_ptr))
            || (self.name == other.name && self.version == other.version);
        same_text
            && match (self.otel, other.otel) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => false,
            }
    }
}

/// The limits on an event's or a link's attributes an encoder applies (the `SpanData` path
/// has applied them already).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListLimits {
    pub(crate) per_event: u32,
    pub(crate) per_link: u32,
    pub(crate) value_length: Option<usize>,
}

impl ListLimits {
    pub(crate) const NONE: ListLimits = ListLimits {
        per_event: u32::MAX,
        per_link: u32::MAX,
        value_length: None,
    };

    /// Calls `f` with each of an event's attributes kept; returns its dropped count (the one
    /// it came with and those past the limit).
    pub(crate) fn event_attributes(self, event: &Event, f: impl FnMut(&str, ValueRef<'_>)) -> u32 {
        let over = kept(&event.attributes, self.per_event, self.value_length, f);
        event.dropped_attributes_count.saturating_add(over)
    }

    /// As [`event_attributes`](Self::event_attributes), for a link.
    pub(crate) fn link_attributes(self, link: &Link, f: impl FnMut(&str, ValueRef<'_>)) -> u32 {
        let over = kept(&link.attributes, self.per_link, self.value_length, f);
        link.dropped_attributes_count.saturating_add(over)
    }
}

fn kept(
    attributes: &[KeyValue],
    max: u32,
    length: Option<usize>,
    mut f: impl FnMut(&str, ValueRef<'_>),
) -> u32 {
    let max = model::to_usize(max);
    for kv in attributes.iter().take(max) {
        f(kv.key.as_str(), ValueRef::new(&kv.value, length));
    }
    u32::try_from(attributes.len().saturating_sub(max)).unwrap_or(u32::MAX)
}

/// What traced's encoders read of a span whose data lives for `'a` (the batch).
pub(crate) trait SpanView<'a> {
    fn trace_id(&self) -> TraceId;
    fn span_id(&self) -> SpanId;
    /// [`SpanId::INVALID`] for a root.
    fn parent_span_id(&self) -> SpanId;
    fn parent_is_remote(&self) -> bool;
    fn trace_flags(&self) -> TraceFlags;
    /// The W3C `tracestate` header form; empty when there is none.
    fn trace_state(&self) -> Cow<'_, str>;
    fn name(&self) -> &str;
    fn kind(&self) -> SpanKind;
    fn start_unix_nanos(&self) -> u64;
    /// Never before the start.
    fn end_unix_nanos(&self) -> u64;
    /// Calls `f` with every attribute kept, in order.
    fn attributes(&self, f: impl FnMut(&str, ValueRef<'_>));
    fn dropped_attributes_count(&self) -> u32;
    /// The events kept; their attributes go through [`limits`](Self::limits).
    fn events(&self) -> &[Event];
    fn dropped_events_count(&self) -> u32;
    /// The links kept; their attributes go through [`limits`](Self::limits).
    fn links(&self) -> &[Link];
    fn dropped_links_count(&self) -> u32;
    fn status(&self) -> &Status;
    fn scope(&self) -> ScopeRef<'a>;
    /// The limits on events' and links' attributes still to apply.
    fn limits(&self) -> ListLimits;
}

/// A record seen as the span the pipeline exports (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordView<'a> {
    record: &'a SpanRecord,
    conversion: &'a Conversion,
    times: clock::UnixNanos,
}

impl<'a> RecordView<'a> {
    /// `record` within `conversion`'s limits, its ticks converted with `times`.
    #[inline]
    pub(crate) fn new(
        record: &'a SpanRecord,
        conversion: &'a Conversion,
        times: clock::UnixNanos,
    ) -> Self {
        Self {
            record,
            conversion,
            times,
        }
    }

    fn extra(&self) -> Option<&'a model::Annotations> {
        self.record.extra.as_deref()
    }

    fn limits_(&self) -> &SpanLimits {
        &self.conversion.limits
    }

    /// Calls `f` with every attribute before the count limit is applied; see
    /// [`SpanView::attributes`].
    #[inline]
    fn all_attributes(&self, mut f: impl FnMut(&'a str, AttrSource<'a>)) {
        let record = self.record;
        let later: &'a [KeyValue] = self.extra().map_or(&[], |e| &e.attributes);
        for kv in record.attributes.iter() {
            let value = (later.iter().find(|l| l.key == kv.key)).map_or(&kv.value, |l| &l.value);
            f(kv.key.as_str(), AttrSource::Value(value));
        }
        for kv in later {
            if !record.attributes.iter().any(|own| own.key == kv.key) {
                f(kv.key.as_str(), AttrSource::Value(&kv.value));
            }
        }
        if self.conversion.baggage_keys.is_empty() {
            return;
        }
        let Some(carried) = record.carried.as_deref() else {
            return;
        };
        for key in self.conversion.baggage_keys.iter() {
            let set = (record.attributes.iter().chain(later)).any(|kv| &kv.key == key);
            if set {
                continue;
            }
            if let Some(value) = carried.baggage_value(key.as_str()) {
                f(key.as_str(), AttrSource::Str(value));
            }
        }
    }

    fn attribute_count(&self) -> usize {
        let mut count = 0;
        self.all_attributes(|_, _| count += 1);
        count
    }
}

#[derive(Clone, Copy)]
enum AttrSource<'a> {
    Value(&'a Value),
    Str(&'a str),
}

fn over(len: usize, max: u32) -> u32 {
    u32::try_from(len.saturating_sub(model::to_usize(max))).unwrap_or(u32::MAX)
}

impl<'a> SpanView<'a> for RecordView<'a> {
    fn trace_id(&self) -> TraceId {
        TraceId::from(self.record.head.trace_id)
    }

    fn span_id(&self) -> SpanId {
        SpanId::from(self.record.head.span_id)
    }

    fn parent_span_id(&self) -> SpanId {
        SpanId::from(self.record.head.parent_id)
    }

    fn parent_is_remote(&self) -> bool {
        self.record.head.parent_remote
    }

    fn trace_flags(&self) -> TraceFlags {
        let random = if self.record.head.random {
            FLAG_RANDOM
        } else {
            0
        };
        TraceFlags::new(FLAG_SAMPLED | random)
    }

    fn trace_state(&self) -> Cow<'_, str> {
        let Some(carried) = self.record.carried.as_deref() else {
            return Cow::Borrowed("");
        };
        let mut header = String::new();
        for (i, (key, value)) in carried.trace_state.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            let _ = write!(header, "{key}={value}");
        }
        Cow::Owned(header)
    }

    fn name(&self) -> &str {
        (self.extra().and_then(|e| e.name.as_deref())).unwrap_or(self.record.head.site.name)
    }

    fn kind(&self) -> SpanKind {
        self.record.head.site.kind.into()
    }

    fn start_unix_nanos(&self) -> u64 {
        self.times.of(self.record.head.start)
    }

    fn end_unix_nanos(&self) -> u64 {
        let head = &self.record.head;
        self.times.of(head.end.max(head.start))
    }

    #[inline]
    fn attributes(&self, mut f: impl FnMut(&str, ValueRef<'_>)) {
        let limits = self.limits_();
        let length = limits.max_attribute_value_length.map(model::to_usize);
        let mut left = limits.max_attributes_per_span;
        self.all_attributes(|key, value| {
            if left == 0 {
                return;
            }
            left -= 1;
            let value = match value {
                AttrSource::Value(value) => ValueRef::new(value, length),
                AttrSource::Str(text) => ValueRef::Str(cut(text, length)),
            };
            f(key, value);
        });
    }

    fn dropped_attributes_count(&self) -> u32 {
        let extra = self.extra().map_or(0, |e| e.dropped_attributes);
        let over = over(
            self.attribute_count(),
            self.limits_().max_attributes_per_span,
        );
        extra.saturating_add(over)
    }

    fn events(&self) -> &[Event] {
        let events = self.extra().map_or(&[][..], |e| &e.events);
        &events[..events
            .len()
            .min(model::to_usize(self.limits_().max_events_per_span))]
    }

    fn dropped_events_count(&self) -> u32 {
        self.extra().map_or(0, |e| {
            let over = over(e.events.len(), self.limits_().max_events_per_span);
            e.dropped_events.saturating_add(over)
        })
    }

    fn links(&self) -> &[Link] {
        let links = self.extra().map_or(&[][..], |e| &e.links);
        &links[..links
            .len()
            .min(model::to_usize(self.limits_().max_links_per_span))]
    }

    fn dropped_links_count(&self) -> u32 {
        self.extra().map_or(0, |e| {
            let over = over(e.links.len(), self.limits_().max_links_per_span);
            e.dropped_links.saturating_add(over)
        })
    }

    fn status(&self) -> &Status {
        static UNSET: Status = Status::Unset;
        self.extra().map_or(&UNSET, |e| &e.status)
    }

    fn scope(&self) -> ScopeRef<'a> {
        let site = self.record.head.site;
        ScopeRef {
            name: site.scope_name,
            version: Some(site.scope_version),
            otel: None,
        }
    }

    fn limits(&self) -> ListLimits {
        let limits = self.limits_();
        ListLimits {
            per_event: limits.max_attributes_per_event,
            per_link: limits.max_attributes_per_link,
            value_length: limits.max_attribute_value_length.map(model::to_usize),
        }
    }
}

/// Nanoseconds since the Unix epoch; 0 for a time before it.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    let nanos = (time.duration_since(UNIX_EPOCH)).map_or(0, |since| since.as_nanos());
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

impl<'a> SpanView<'a> for &'a SpanData {
    fn trace_id(&self) -> TraceId {
        self.span_context.trace_id()
    }

    fn span_id(&self) -> SpanId {
        self.span_context.span_id()
    }

    fn parent_span_id(&self) -> SpanId {
        self.parent_span_id
    }

    fn parent_is_remote(&self) -> bool {
        self.parent_span_is_remote
    }

    fn trace_flags(&self) -> TraceFlags {
        self.span_context.trace_flags()
    }

    fn trace_state(&self) -> Cow<'_, str> {
        Cow::Owned(self.span_context.trace_state().header())
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> SpanKind {
        self.span_kind.clone()
    }

    fn start_unix_nanos(&self) -> u64 {
        unix_nanos(self.start_time)
    }

    fn end_unix_nanos(&self) -> u64 {
        unix_nanos(self.end_time)
    }

    /// A key given twice (which the specification forbids; a `SpanData` from elsewhere may
    /// hold it) is given once, at its first place, with its last value.
    fn attributes(&self, mut f: impl FnMut(&str, ValueRef<'_>)) {
        let attributes = &self.attributes;
        for (i, kv) in attributes.iter().enumerate() {
            if attributes[..i].iter().any(|earlier| earlier.key == kv.key) {
                continue;
            }
            let last = (attributes[i + 1..].iter().rev())
                .find(|later| later.key == kv.key)
                .unwrap_or(kv);
            f(kv.key.as_str(), ValueRef::new(&last.value, None));
        }
    }

    fn dropped_attributes_count(&self) -> u32 {
        self.dropped_attributes_count
    }

    fn events(&self) -> &[Event] {
        &self.events.events
    }

    fn dropped_events_count(&self) -> u32 {
        self.events.dropped_count
    }

    fn links(&self) -> &[Link] {
        &self.links.links
    }

    fn dropped_links_count(&self) -> u32 {
        self.links.dropped_count
    }

    fn status(&self) -> &Status {
        &self.status
    }

    fn scope(&self) -> ScopeRef<'a> {
        let scope = &self.instrumentation_scope;
        ScopeRef {
            name: scope.name(),
            version: scope.version(),
            otel: Some(scope),
        }
    }

    fn limits(&self) -> ListLimits {
        ListLimits::NONE
    }
}

#[cfg(test)]
#[path = "record_view_tests.rs"]
mod tests;
