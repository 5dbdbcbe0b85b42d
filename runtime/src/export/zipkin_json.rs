//! The Zipkin v2 JSON encoding of a batch of spans, written from what [`SpanView`] gives (a
//! record from the batch worker, or a `SpanData`) into buffers kept from batch to batch.

use std::fmt::Write as _;
use std::ops::Range;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::Array;
use opentelemetry_sdk::trace::SpanData;

use crate::export::json::{push_float, push_hex, push_i64, push_string, push_u64, NonAscii};
use crate::export::record_view::{cut, unix_nanos, SpanView, ValueRef};

/// Encodes `spans` as a Zipkin v2 JSON array, every span in the service `service_name`.
pub(crate) fn encode_spans(spans: &[SpanData], service_name: &str) -> String {
    let mut encoder = Encoder::default();
    encoder.encode(spans.iter(), service_name);
    encoder.out
}

/// Writes Zipkin v2 JSON arrays, keeping its buffers from batch to batch.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    out: String,
    /// A span's tags, each its key and then its JSON member (`"key":"value"`).
    tags: String,
    /// Each tag's key and member as ranges of `tags`.
    tag_ranges: Vec<(Range<usize>, Range<usize>)>,
    /// Text to be written as one JSON string (an array tag, an annotation).
    raw: String,
}

impl Encoder {
    /// The array for `spans`, every span in the service `service_name`, in `self.out`.
    pub(crate) fn encode<'a, S: SpanView<'a>>(
        &mut self,
        spans: impl Iterator<Item = S>,
        service_name: &str,
    ) {
        self.out.clear();
        self.out.push('[');
        for (i, span) in spans.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.push_span(&span, service_name);
        }
        self.out.push(']');
    }

    /// The last array written.
    pub(crate) fn text(&self) -> &str {
        &self.out
    }

    /// The last array written, moved out, not copied: the encoder goes on with a buffer of
    /// the same capacity.
    pub(crate) fn take(&mut self) -> String {
        let capacity = self.out.capacity();
        std::mem::replace(&mut self.out, String::with_capacity(capacity))
    }

    fn push_span<'a>(&mut self, span: &impl SpanView<'a>, service_name: &str) {
        let mut object = ObjectWriter::open(&mut self.out);
        object.hex("traceId", &span.trace_id().to_bytes());
        object.hex("id", &span.span_id().to_bytes());
        let parent = span.parent_span_id();
        if parent != SpanId::INVALID {
            object.hex("parentId", &parent.to_bytes());
        }
        object.string("name", span.name());
        let kind = span.kind();
        if let Some(kind) = zipkin_kind(&kind) {
            object.string("kind", kind);
        }
        let start = span.start_unix_nanos();
        object.int("timestamp", start / 1000);
        // Zipkin reads a zero duration as "unknown", so an empty span leaves it out.
        let duration = duration_micros(start, span.end_unix_nanos());
        if duration > 0 {
            object.int("duration", duration);
        }
        let mut local = ObjectWriter::open(object.key("localEndpoint"));
        local.string("serviceName", service_name);
        local.close();
        if matches!(kind, SpanKind::Client | SpanKind::Producer) {
            // `peer.service` names the remote endpoint: without one, Zipkin draws no
            // dependency link for the span.
            self.raw.clear();
            let mut found = false;
            span.attributes(|key, value| {
                if key == "peer.service" {
                    self.raw.clear();
                    push_tag_value(&mut self.raw, value);
                    found = true;
                }
            });
            if found {
                let mut remote = ObjectWriter::open(object.key("remoteEndpoint"));
                remote.string("serviceName", &self.raw);
                remote.close();
            }
        }
        let events = span.events();
        if !events.is_empty() {
            let limits = span.limits();
            let out = object.key("annotations");
            out.push('[');
            for (i, event) in events.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let mut annotation = ObjectWriter::open(out);
                annotation.int("timestamp", unix_nanos(event.timestamp) / 1000);
                self.raw.clear();
                push_annotation_value(&mut self.raw, &event.name, |f| {
                    limits.event_attributes(event, f);
                });
                annotation.string("value", &self.raw);
                annotation.close();
            }
            out.push(']');
        }
        collect_tags(
            span,
            Tags {
                text: &mut self.tags,
                ranges: &mut self.tag_ranges,
                raw: &mut self.raw,
            },
        );
        if !self.tag_ranges.is_empty() {
            let out = object.key("tags");
            out.push('{');
            for (i, (_, member)) in self.tag_ranges.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&self.tags[member.clone()]);
            }
            out.push('}');
        }
        object.close();
    }
}

/// The span's tags into `tags`: its attributes, then the scope, dropped counts and
/// status, which win over attributes of the same name; sorted by key, so the output is
/// stable.
fn collect_tags<'a>(span: &impl SpanView<'a>, mut tags: Tags<'_>) {
    tags.text.clear();
    tags.ranges.clear();
    span.attributes(|key, value| {
        // Zipkin marks any span with an `error` tag as failed; only the status may set it.
        if key == "error" && matches!(value, ValueRef::Bool(_)) {
            return;
        }
        tags.add(key, |out, raw| push_tag_string(out, raw, value));
    });
    let scope = span.scope();
    if !scope.name.is_empty() {
        tags.add("otel.scope.name", |out, _| {
            push_string(out, scope.name, NonAscii::Keep);
        });
    }
    if let Some(version) = scope.version {
        tags.add("otel.scope.version", |out, _| {
            push_string(out, version, NonAscii::Keep);
        });
    }
    let dropped = [
        (
            "otel.dropped_attributes_count",
            span.dropped_attributes_count(),
        ),
        ("otel.dropped_events_count", span.dropped_events_count()),
        ("otel.dropped_links_count", span.dropped_links_count()),
    ];
    for (key, count) in dropped {
        if count > 0 {
            tags.add(key, |out, _| {
                out.push('"');
                push_u64(out, u64::from(count));
                out.push('"');
            });
        }
    }
    match span.status() {
        Status::Unset => {}
        Status::Ok => tags.add("otel.status_code", |out, _| out.push_str("\"OK\"")),
        Status::Error { description } => {
            tags.add("otel.status_code", |out, _| out.push_str("\"ERROR\""));
            tags.add("error", |out, _| {
                push_string(out, description, NonAscii::Keep);
            });
        }
    }
    let text = &*tags.text;
    // Stable: of two tags with one key, the one added last is kept below.
    tags.ranges
        .sort_by(|a, b| text[a.0.clone()].cmp(&text[b.0.clone()]));
    tags.ranges.dedup_by(|later, earlier| {
        let same = text[later.0.clone()] == text[earlier.0.clone()];
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
}

/// Tags written as JSON members into one buffer, with their ranges.
struct Tags<'b> {
    text: &'b mut String,
    ranges: &'b mut Vec<(Range<usize>, Range<usize>)>,
    raw: &'b mut String,
}

impl Tags<'_> {
    /// Adds the tag `key`, its value written by `value` (given a scratch string).
    fn add(&mut self, key: &str, value: impl FnOnce(&mut String, &mut String)) {
        // The key as it is, to sort by, then the member.
        let start = self.text.len();
        self.text.push_str(key);
        let member = self.text.len();
        push_string(self.text, key, NonAscii::Keep);
        self.text.push(':');
        value(self.text, self.raw);
        self.ranges.push((start..member, member..self.text.len()));
    }
}

/// An attribute value as a Zipkin tag, a JSON string: scalars as their text, arrays as JSON
/// lists.
fn push_tag_string(out: &mut String, raw: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Str(s) => push_string(out, s, NonAscii::Keep),
        _ => {
            raw.clear();
            push_tag_value(raw, value);
            push_string(out, raw, NonAscii::Keep);
        }
    }
}

/// An attribute value's text as a Zipkin tag: scalars as plain strings, arrays as JSON lists.
fn push_tag_value(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Str(s) => out.push_str(s),
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::I64(i) => push_i64(out, i),
        ValueRef::F64(f) => push_float(out, f),
        ValueRef::Array(..) => push_json_value(out, value),
        ValueRef::Other(other) => out.push_str(&other.to_string()),
    }
}

fn zipkin_kind(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Server => Some("SERVER"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal => None,
    }
}

/// The span's duration in whole microseconds: truncated as the OpenTelemetry specification asks
/// (1234 ns is 1 µs), except that a positive duration under 1 µs counts as 1, as Zipkin asks, so
/// it is not mistaken for an unknown one. An end before the start counts as 0.
pub(crate) fn duration_micros(start_nanos: u64, end_nanos: u64) -> u64 {
    match end_nanos.saturating_sub(start_nanos) {
        0 => 0,
        elapsed => (elapsed / 1000).max(1),
    }
}

/// An event as an annotation value: its name alone, or, with attributes, the specification's
/// `"name":{"key":value,...}`; `attributes` calls its argument with each.
pub(crate) fn push_annotation_value(
    out: &mut String,
    name: &str,
    attributes: impl FnOnce(&mut dyn FnMut(&str, ValueRef<'_>)),
) {
    let start = out.len();
    push_string(out, name, NonAscii::Keep);
    out.push_str(":{");
    let mut empty = true;
    attributes(&mut |key, value| {
        if !std::mem::take(&mut empty) {
            out.push(',');
        }
        push_string(out, key, NonAscii::Keep);
        out.push(':');
        push_json_value(out, value);
    });
    if empty {
        out.truncate(start);
        out.push_str(name);
    } else {
        out.push('}');
    }
}

/// An attribute value as JSON, with its type: numbers and booleans bare, strings quoted.
///
/// JSON has no NaN or infinities: those are written as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"`, so the text stays parseable.
fn push_json_value(out: &mut String, value: ValueRef<'_>) {
    fn list<T>(out: &mut String, items: &[T], mut push: impl FnMut(&mut String, &T)) {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push(out, item);
        }
        out.push(']');
    }
    fn float(out: &mut String, value: f64) {
        if value.is_finite() {
            push_float(out, value);
        } else {
            out.push('"');
            push_float(out, value);
            out.push('"');
        }
    }
    match value {
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::I64(i) => push_i64(out, i),
        ValueRef::F64(f) => float(out, f),
        ValueRef::Str(s) => push_string(out, s, NonAscii::Keep),
        ValueRef::Array(Array::Bool(items), _) => {
            list(out, items, |out, b| {
                let _ = write!(out, "{b}");
            });
        }
        ValueRef::Array(Array::I64(items), _) => list(out, items, |out, i| {
            let _ = write!(out, "{i}");
        }),
        ValueRef::Array(Array::F64(items), _) => list(out, items, |out, f| float(out, *f)),
        ValueRef::Array(Array::String(items), max) => list(out, items, |out, s| {
            push_string(out, cut(s.as_str(), max), NonAscii::Keep);
        }),
        ValueRef::Array(other, _) => push_string(out, &other.to_string(), NonAscii::Keep),
        ValueRef::Other(other) => push_string(out, &other.to_string(), NonAscii::Keep),
    }
}

/// Writes one compact JSON object member by member; [`ObjectWriter::close`] ends it.
struct ObjectWriter<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// Starts a member; the caller writes its value into the returned string. `key` is one
    /// of Zipkin's field names, which need no escape.
    fn key(&mut self, key: &'static str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    fn string(&mut self, key: &'static str, value: &str) {
        push_string(self.key(key), value, NonAscii::Keep);
    }

    /// An id: a string of lowercase hex.
    fn hex(&mut self, key: &'static str, bytes: &[u8]) {
        let out = self.key(key);
        out.push('"');
        push_hex(out, bytes);
        out.push('"');
    }

    fn int(&mut self, key: &'static str, value: u64) {
        push_u64(self.key(key), value);
    }

    fn close(self) {
        self.out.push('}');
    }
}
