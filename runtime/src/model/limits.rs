//! Span limits: how many attributes, events and links one span keeps, and
//! how long its string values may be (OpenTelemetry's "Span Limits").
//!
//! The limits are applied on the worker, when a record becomes `SpanData`.
//! The calling thread only keeps the collections from growing past them
//! (`recording_*`): the check sits on the paths that append past the inline
//! attributes or to the annotations, never on the common path, and what it
//! refuses is counted, so the exported dropped counts are complete.

use opentelemetry::trace::{Event, Link};
use opentelemetry::{Array, KeyValue, StringValue, Value};

/// What one span keeps; what is over a limit is dropped and counted.
///
/// The defaults are the specification's: 128 of each, and string values of
/// any length. [`init`](crate::init) reads them from the `OTEL_*_LIMIT`
/// variables; [`Builder::with_span_limits`](crate::Builder::with_span_limits)
/// sets them in code.
///
/// - A span keeps its first `max_attributes_per_span` attribute keys; a new
///   key past that is dropped, while a key already kept can still be given a
///   new value. Events and links past their limits are dropped, the first
///   ones kept. Each count of what was dropped is exported with the span
///   (OTLP's `dropped_attributes_count`, `dropped_events_count`, ...).
/// - A string value longer than `max_attribute_value_length` characters
///   (Unicode scalar values, never split) is cut to that many; in an array
///   of strings each element is cut. Other values are kept whole. The limit
///   applies to the attributes of the span, its events and its links.
///
/// ```
/// use traced::SpanLimits;
///
/// let limits = SpanLimits {
///     max_events_per_span: 16,
///     max_attribute_value_length: Some(1024),
///     ..SpanLimits::default()
/// };
/// let _traced = traced::builder().with_span_limits(limits).install();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLimits {
    /// Attributes per span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, else
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`; 128).
    pub max_attributes_per_span: u32,
    /// Events per span (`OTEL_SPAN_EVENT_COUNT_LIMIT`; 128).
    pub max_events_per_span: u32,
    /// Links per span (`OTEL_SPAN_LINK_COUNT_LIMIT`; 128).
    pub max_links_per_span: u32,
    /// Attributes per event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, else
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`; 128).
    pub max_attributes_per_event: u32,
    /// Attributes per link (`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, else
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`; 128).
    pub max_attributes_per_link: u32,
    /// Characters per string value, `None` for no limit
    /// (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`; no limit).
    pub max_attribute_value_length: Option<u32>,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            max_attributes_per_span: DEFAULT_COUNT,
            max_events_per_span: DEFAULT_COUNT,
            max_links_per_span: DEFAULT_COUNT,
            max_attributes_per_event: DEFAULT_COUNT,
            max_attributes_per_link: DEFAULT_COUNT,
            max_attribute_value_length: None,
        }
    }
}

/// The specification's default for every count limit.
pub(crate) const DEFAULT_COUNT: u32 = 128;

/// The count limits the calling thread keeps a span in progress within:
/// a copy of the installed pipeline's [`SpanLimits`] (see
/// `collector::recording_limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordingLimits {
    pub(crate) attributes: usize,
    pub(crate) events: usize,
    pub(crate) links: usize,
}

#[inline]
pub(crate) fn to_usize(count: u32) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Drops the entries of `list` past `max`; returns how many went.
#[inline]
fn keep_first<T>(list: &mut Vec<T>, max: u32) -> u32 {
    let max = to_usize(max);
    if list.len() <= max {
        return 0;
    }
    let dropped = list.len() - max;
    list.truncate(max);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

impl SpanLimits {
    /// Applies the attribute limits to a span's attributes; returns how many
    /// were dropped.
    #[inline]
    pub(crate) fn limit_span_attributes(&self, attributes: &mut Vec<KeyValue>) -> u32 {
        self.limit_attributes(attributes, self.max_attributes_per_span)
    }

    /// Applies the event limits: the count, and each event's attributes;
    /// returns how many events were dropped.
    pub(crate) fn limit_events(&self, events: &mut Vec<Event>) -> u32 {
        let dropped = keep_first(events, self.max_events_per_span);
        for event in events {
            self.limit_event(event);
        }
        dropped
    }

    /// Applies the link limits: the count, and each link's attributes;
    /// returns how many links were dropped.
    pub(crate) fn limit_links(&self, links: &mut Vec<Link>) -> u32 {
        let dropped = keep_first(links, self.max_links_per_span);
        for link in links {
            self.limit_link(link);
        }
        dropped
    }

    fn limit_event(&self, event: &mut Event) {
        let dropped = self.limit_attributes(&mut event.attributes, self.max_attributes_per_event);
        event.dropped_attributes_count = event.dropped_attributes_count.saturating_add(dropped);
    }

    fn limit_link(&self, link: &mut Link) {
        let dropped = self.limit_attributes(&mut link.attributes, self.max_attributes_per_link);
        link.dropped_attributes_count = link.dropped_attributes_count.saturating_add(dropped);
    }

    /// Keeps the first `max` attributes and cuts long strings.
    #[inline]
    fn limit_attributes(&self, attributes: &mut Vec<KeyValue>, max: u32) -> u32 {
        // The common case, within the limits, checks two numbers.
        if self.max_attribute_value_length.is_none() && attributes.len() <= to_usize(max) {
            return 0;
        }
        self.cut_attributes(attributes, max)
    }

    #[inline(never)]
    fn cut_attributes(&self, attributes: &mut Vec<KeyValue>, max: u32) -> u32 {
        let dropped = keep_first(attributes, max);
        if let Some(length) = self.max_attribute_value_length {
            for attribute in attributes {
                truncate_value(&mut attribute.value, to_usize(length));
            }
        }
        dropped
    }
}

/// Cuts a string value, or each string of an array, to `max` characters.
#[inline]
pub(crate) fn truncate_value(value: &mut Value, max: usize) {
    match value {
        Value::String(s) => truncate_string(s, max),
        Value::Array(Array::String(strings)) => {
            for s in strings {
                truncate_string(s, max);
            }
        }
        _ => {}
    }
}

#[inline]
fn truncate_string(s: &mut StringValue, max: usize) {
    let text = s.as_str();
    // A string of at most `max` bytes has at most `max` characters.
    if text.len() <= max {
        return;
    }
    if let Some((end, _)) = text.char_indices().nth(max) {
        *s = StringValue::from(text[..end].to_owned());
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::SpanContext;

    use super::*;

    fn limits(length: Option<u32>) -> SpanLimits {
        SpanLimits {
            max_attributes_per_span: 2,
            max_events_per_span: 1,
            max_links_per_span: 1,
            max_attributes_per_event: 1,
            max_attributes_per_link: 0,
            max_attribute_value_length: length,
        }
    }

    fn attributes(n: i64) -> Vec<KeyValue> {
        (0..n).map(|i| KeyValue::new(format!("k{i}"), i)).collect()
    }

    #[test]
    fn strings_are_cut_by_characters_never_inside_one() {
        let table = [
            ("", 0, ""),
            ("abc", 0, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "abc"),
            ("héllo", 2, "hé"),
            ("€€€€", 3, "€€€"),
            ("a😀b", 2, "a😀"),
            ("😀😀", 5, "😀😀"),
        ];
        for (text, max, expected) in table {
            let mut value = Value::from(text);
            truncate_value(&mut value, max);
            assert_eq!(value, Value::from(expected), "{text:?} to {max}");
        }
    }

    #[test]
    fn arrays_of_strings_are_cut_element_by_element_and_others_kept() {
        let mut value = Value::Array(Array::String(vec!["abcdef".into(), "ü".into()]));
        truncate_value(&mut value, 2);
        let expected = Value::Array(Array::String(vec!["ab".into(), "ü".into()]));
        assert_eq!(value, expected);
        for mut kept in [
            Value::I64(1_234_567),
            Value::F64(1.234_567),
            Value::Bool(true),
            Value::Array(Array::I64(vec![1, 2, 3, 4])),
        ] {
            let before = kept.clone();
            truncate_value(&mut kept, 1);
            assert_eq!(kept, before);
        }
    }

    #[test]
    fn counts_keep_the_first_entries_and_add_to_what_was_dropped() {
        let limits = limits(Some(1));
        let mut span = attributes(5);
        assert_eq!(limits.limit_span_attributes(&mut span), 3);
        assert_eq!(span, [KeyValue::new("k0", 0), KeyValue::new("k1", 1)]);

        let event = |name| Event::new(name, std::time::SystemTime::UNIX_EPOCH, attributes(3), 1);
        let mut events = vec![event("a"), event("b"), event("c")];
        assert_eq!(limits.limit_events(&mut events), 2);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].name, "a");
        assert_eq!(events[0].dropped_attributes_count, 3);

        let link = || Link::new(SpanContext::empty_context(), attributes(2), 0);
        let mut links = vec![link(), link()];
        assert_eq!(limits.limit_links(&mut links), 1);
        assert_eq!(links[0].dropped_attributes_count, 2);
        assert!(links[0].attributes.is_empty());

        let mut text = vec![KeyValue::new("s", "long"), KeyValue::new("n", 12345)];
        assert_eq!(limits.limit_span_attributes(&mut text), 0);
        assert_eq!(text, [KeyValue::new("s", "l"), KeyValue::new("n", 12345)]);
    }

    #[test]
    fn within_the_limits_nothing_changes() {
        let limits = SpanLimits::default();
        let mut span = attributes(128);
        span.push(KeyValue::new("long", "x".repeat(100_000)));
        let before = span.clone();
        assert_eq!(limits.limit_span_attributes(&mut span), 1);
        assert_eq!(span, before[..128]);
        let mut exact = attributes(128);
        assert_eq!(limits.limit_span_attributes(&mut exact), 0);
        assert_eq!(exact.len(), 128);
    }
}
