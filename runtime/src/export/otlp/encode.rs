//! OTLP/protobuf written straight from traced's records: an
//! `ExportTraceServiceRequest` (one resource, one scope per instrumented
//! crate, in the order the batch first names them) without building
//! `SpanData` or any of opentelemetry-proto's messages.
//!
//! What it writes means what the `SpanData` adapter (`span_data.rs`) and
//! opentelemetry-proto's conversion give for the same records: the same
//! merge of attributes set at the start and later (later values win, first
//! order kept), the same span limits and dropped counts, the baggage keys
//! copied as attributes, the same flags (W3C flags plus OTLP's "has is
//! remote" and "is remote" bits). `native_tests.rs` checks that, field by
//! field, for records holding every kind of data.
//!
//! A span with a static name and inline attributes (at most four) is
//! written without any allocation; the buffer and the scratch lists are
//! kept by the [`Encoder`] and reused batch after batch.
//!
//! Most spans are plain (see [`plain_len`]): no annotations, no trace
//! state, a few scalar or short string attributes. Such a span's length is
//! measured from the record, then the span is written after it, with one
//! bounds check per field, into memory reserved for it: nothing moves. Any
//! other span is written field by field, its length fixed up as it closes.
//! The lengths of the scopes and of the request are guessed from the last
//! batch's bytes per span, so they move nothing either unless the guess
//! needed another width.

use opentelemetry::trace::{Event, Link, Status};
use opentelemetry::{Array, Key, KeyValue, Value};
use opentelemetry_sdk::Resource;

use super::wire::{varint_len, Fixed, Reserved, Sink as _, Writer};
use crate::export::pipeline;
use crate::export::record_view::unix_nanos;
use crate::export::span_data::Conversion;
use crate::local::clock;
use crate::model::{self, SpanLimits, SpanRecord, FLAG_SAMPLED};

/// OTLP's span flag bit: whether the parent's remoteness is known.
const HAS_IS_REMOTE: u32 = 0x100;
/// OTLP's span flag bit: the parent (or the linked span) is remote.
const IS_REMOTE: u32 = 0x200;

/// Writes batches of records as OTLP protobuf requests, reusing its memory.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    buf: Vec<u8>,
    /// The `Resource` message's content, written once per resource.
    resource: Vec<u8>,
    resource_schema_url: String,
    /// Distinct instrumentation scopes of the batch, in first-seen order.
    scopes: Vec<(&'static str, &'static str)>,
    /// How many records of the batch each scope has.
    scope_count: Vec<usize>,
    /// Each record's index in `scopes`, for a batch of several scopes.
    scope_of: Vec<u32>,
    /// The bytes a span took in the last batch, on average: what the
    /// lengths of the next batch's scopes and request are guessed from.
    span_bytes: usize,
}

/// The bytes a span is guessed to take before any batch was written.
const FIRST_GUESS: usize = 96;

impl Encoder {
    /// Sets the resource every later request names.
    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.resource.clear();
        let mut w = Writer {
            buf: &mut self.resource,
        };
        for (key, value) in resource {
            key_value(&mut w, 1, key.as_str(), value, None);
        }
        (resource.schema_url().unwrap_or_default()).clone_into(&mut self.resource_schema_url);
    }

    /// The last request written, moved out: the encoder goes on with a
    /// buffer of the same capacity (one allocation per batch, and no copy
    /// of the request).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let capacity = self.buf.capacity();
        std::mem::replace(&mut self.buf, Vec::with_capacity(capacity))
    }

    /// The request for `records`, valid until the next call.
    pub(crate) fn encode(
        &mut self,
        records: &[SpanRecord],
        clock: clock::Converter,
        conversion: &Conversion,
    ) -> &[u8] {
        self.buf.clear();
        // Times are nanoseconds from the clock's wall anchor on, so none is
        // zero (and every one is written) when the anchor is not zero.
        let plain = clock.unix_nanos().of(0) != 0;
        let times = pipeline::batch_times(clock, records);
        self.group_scopes(records);
        // The lengths of the scopes and the request are guessed from the
        // last batch: a right guess moves nothing, a wrong one moves the
        // scope once.
        let per_span = if self.span_bytes == 0 {
            FIRST_GUESS
        } else {
            self.span_bytes
        };
        let scope_guess = |count: usize| field_len(count * per_span);
        let mut guess = field_len(self.resource.len()) + self.resource_schema_url.len() + 2;
        guess += (self.scope_count.iter())
            .map(|&n| scope_guess(n))
            .sum::<usize>();
        self.buf.reserve(field_len(guess));
        let mut w = Writer { buf: &mut self.buf };
        let resource_spans = w.open_sized(1, guess);
        let resource = w.open_sized(1, self.resource.len());
        w.buf.extend_from_slice(&self.resource);
        w.close(resource);
        let mut spans_bytes = 0;
        for (index, &(name, version)) in self.scopes.iter().enumerate() {
            let scope_spans = w.open_sized(2, scope_guess(self.scope_count[index]));
            let scope = w.open_sized(1, scope_len(name, version));
            w.bytes(1, name.as_bytes());
            w.bytes(2, version.as_bytes());
            w.close(scope);
            let start = w.buf.len();
            if self.scopes.len() == 1 {
                for record in records {
                    write_span(&mut w, record, times, conversion, plain);
                }
            } else {
                let scope_records = (records.iter().zip(&self.scope_of))
                    .filter(|&(_, &of)| of as usize == index)
                    .map(|(record, _)| record);
                for record in scope_records {
                    write_span(&mut w, record, times, conversion, plain);
                }
            }
            spans_bytes += w.buf.len() - start;
            w.close(scope_spans);
        }
        w.bytes(3, self.resource_schema_url.as_bytes());
        w.close(resource_spans);
        if !records.is_empty() {
            self.span_bytes = spans_bytes.div_ceil(records.len());
        }
        &self.buf
    }

    /// Fills `scopes` and `scope_count`, and `scope_of` when the batch has
    /// several scopes.
    fn group_scopes(&mut self, records: &[SpanRecord]) {
        self.scopes.clear();
        self.scope_count.clear();
        self.scope_of.clear();
        let Some(first) = records.first() else {
            return;
        };
        // Most batches have one scope; the site of the last record seen
        // in it decides most records with one comparison.
        let mut last = first.head.site;
        let one = records.iter().all(|record| {
            let site = record.head.site;
            let same = std::ptr::eq(site, last) || same_scope(site, last);
            if same {
                last = site;
            }
            same
        });
        if one {
            self.scopes.push((last.scope_name, last.scope_version));
            self.scope_count.push(records.len());
            return;
        }
        for record in records {
            let site = record.head.site;
            let index = match (self.scopes.iter())
                .position(|&(name, version)| same_scope_as(site, name, version))
            {
                Some(index) => index,
                None => {
                    self.scopes.push((site.scope_name, site.scope_version));
                    self.scope_count.push(0);
                    self.scopes.len() - 1
                }
            };
            self.scope_count[index] += 1;
            self.scope_of.push(u32::try_from(index).unwrap_or(u32::MAX));
        }
    }
}

/// Whether two sites name the same instrumentation scope.
#[inline]
fn same_scope(a: &model::Site, b: &model::Site) -> bool {
    same_scope_as(a, b.scope_name, b.scope_version)
}

#[inline]
fn same_scope_as(site: &model::Site, name: &str, version: &str) -> bool {
    // Sites of one crate usually share the string constants: the pointers
    // decide most comparisons.
    (std::ptr::eq(site.scope_name, name) && std::ptr::eq(site.scope_version, version))
        || (site.scope_name == name && site.scope_version == version)
}

/// One `Span` (field 2 of `ScopeSpans`): measured and written at once when
/// it is plain and `plain` (the batch's times are all written).
// Called from two loops, it was kept out of line: a call, its register
// saves and restores cost about 20 instructions per span (callgrind).
#[allow(clippy::inline_always)]
#[inline(always)]
fn write_span(
    w: &mut Writer<'_>,
    record: &SpanRecord,
    times: clock::UnixNanos,
    conversion: &Conversion,
    plain: bool,
) {
    match plain.then(|| plain_len(record, conversion)).flatten() {
        Some(len) => w.message(2, len, FIXED, |out| plain_span(out, record, times)),
        None => span(w, record, times, conversion),
    }
}

/// The bytes of a length-delimited field of `len` bytes, tag (one byte)
/// and length included.
#[inline]
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The bytes of an `InstrumentationScope` message's content.
fn scope_len(name: &str, version: &str) -> usize {
    let optional = |text: &str| {
        if text.is_empty() {
            0
        } else {
            field_len(text.len())
        }
    };
    optional(name) + optional(version)
}

/// The length of `record`'s `Span` content if it is plain: no annotations,
/// no trace state, no baggage to copy, its own name, and at most
/// `max_attributes_per_span` attributes, each a string within the value
/// length limit, a bool, an integer or a float, and each shorter than 128
/// bytes written (so that its lengths take one byte). [`plain_span`]
/// writes such a span; [`span`] any span, with the same meaning.
#[inline]
pub(super) fn plain_len(record: &SpanRecord, conversion: &Conversion) -> Option<usize> {
    if record.extra.is_some() {
        return None;
    }
    if let Some(carried) = record.carried.as_deref() {
        if !carried.trace_state.is_empty() || !conversion.baggage_keys.is_empty() {
            return None;
        }
    }
    let head = &record.head;
    // Trace and span ids 18 + 10, flags 6, kind 2, times 9 + 9, status 2.
    let mut len = 56;
    if head.parent_id != 0 {
        len += 10;
    }
    let name = head.site.name.len();
    if name != 0 {
        len += field_len(name);
    }
    if record.attributes.is_bare() {
        return Some(len);
    }
    let limits = &conversion.limits;
    let mut left = limits.max_attributes_per_span;
    let max_length = limits.max_attribute_value_length.map(model::to_usize);
    for kv in record.attributes.iter() {
        left = left.checked_sub(1)?;
        len += 2 + plain_attribute(kv, max_length)?.0;
    }
    Some(len)
}

/// The content lengths of a plain attribute's `KeyValue` and `AnyValue`
/// (see [`plain_len`]).
#[inline]
fn plain_attribute(kv: &KeyValue, max_length: Option<usize>) -> Option<(usize, usize)> {
    let any = match &kv.value {
        Value::String(s) => {
            let s = s.as_str();
            if max_length.is_some_and(|max| s.len() > max) {
                return None;
            }
            field_len(s.len())
        }
        Value::Bool(_) => 2,
        #[allow(clippy::cast_sign_loss)]
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        _ => return None,
    };
    let key = kv.key.as_str().len();
    let kv_len = if key == 0 { 0 } else { 2 + key } + 2 + any;
    (kv_len < 0x80).then_some((kv_len, any))
}

/// The bytes a plain span's fixed fields take at most: ids with their
/// tags 18 + 10, flags 6, kind 2, times 9 + 9, and the parent's id 10.
const FIXED: usize = 64;

/// A plain span's content (see [`plain_len`]): the fixed fields built in
/// one block (the parent's id last, kept only when there is one), then
/// the name, the attributes and the status.
#[inline]
fn plain_span(out: &mut Reserved<'_>, record: &SpanRecord, times: clock::UnixNanos) {
    let head = &record.head;
    let mut block = [0_u8; FIXED];
    block[0..2].copy_from_slice(&[1 << 3 | 2, 16]);
    block[2..18].copy_from_slice(&head.trace_id.to_be_bytes());
    block[18..20].copy_from_slice(&[2 << 3 | 2, 8]);
    block[20..28].copy_from_slice(&head.span_id.to_be_bytes());
    // Field 16, fixed32: a two-byte tag.
    block[28..30].copy_from_slice(&[0x85, 0x01]);
    block[30..34].copy_from_slice(&flags(head).to_le_bytes());
    // Field 6, varint, then field 7 and 8, fixed64 (a kind is 1 to 5).
    #[allow(clippy::cast_possible_truncation)]
    block[34..36].copy_from_slice(&[6 << 3, kind(head.site.kind) as u8]);
    block[36] = 7 << 3 | 1;
    block[37..45].copy_from_slice(&times.of(head.start).to_le_bytes());
    block[45] = 8 << 3 | 1;
    block[46..54].copy_from_slice(&times.of(head.end.max(head.start)).to_le_bytes());
    block[54..56].copy_from_slice(&[4 << 3 | 2, 8]);
    block[56..64].copy_from_slice(&head.parent_id.to_be_bytes());
    out.put_prefix(&block, if head.parent_id == 0 { 54 } else { FIXED });
    out.bytes(5, head.site.name.as_bytes());
    if !record.attributes.is_bare() {
        plain_attributes(out, record);
    }
    // An empty `Status` (unset, no message), as `span` writes it.
    out.put_slice(&[15 << 3 | 2, 0]);
}

/// A plain span's attributes (see [`plain_len`]).
#[inline]
fn plain_attributes(out: &mut Reserved<'_>, record: &SpanRecord) {
    for kv in record.attributes.iter() {
        let Some((kv_len, any)) = plain_attribute(kv, None) else {
            continue;
        };
        // Both under 128 (`plain_attribute`): one byte each.
        #[allow(clippy::cast_possible_truncation)]
        out.put_slice(&[9 << 3 | 2, kv_len as u8]);
        out.bytes(1, kv.key.as_str().as_bytes());
        #[allow(clippy::cast_possible_truncation)]
        out.put_slice(&[2 << 3 | 2, any as u8]);
        match &kv.value {
            Value::String(s) => out.bytes_always(1, s.as_str().as_bytes()),
            Value::Bool(b) => out.uint_always(2, u64::from(*b)),
            #[allow(clippy::cast_sign_loss)]
            Value::I64(i) => out.uint_always(3, *i as u64),
            Value::F64(f) => out.fixed64_always(4, f.to_bits()),
            _ => {}
        }
    }
}

/// The span's flags: W3C's, and OTLP's "has is remote" and "is remote".
#[inline]
fn flags(head: &model::RecordHead) -> u32 {
    let mut flags = u32::from(FLAG_SAMPLED) | HAS_IS_REMOTE;
    if head.random {
        flags |= u32::from(model::FLAG_RANDOM);
    }
    if head.parent_remote {
        flags |= IS_REMOTE;
    }
    flags
}

/// One `Span` (field 2 of `ScopeSpans`).
fn span(w: &mut Writer<'_>, record: &SpanRecord, times: clock::UnixNanos, conversion: &Conversion) {
    let head = record.head;
    let site = head.site;
    let extra = record.extra.as_deref();
    let limits = &conversion.limits;
    let open = w.open(2);
    // The fixed-size fields, at most 18 + 10 + 10 + 6 + 2 + 9 + 9 bytes.
    let mut fixed = Fixed::new();
    fixed.bytes(1, &head.trace_id.to_be_bytes());
    fixed.bytes(2, &head.span_id.to_be_bytes());
    if head.parent_id != 0 {
        fixed.bytes(4, &head.parent_id.to_be_bytes());
    }
    fixed.fixed32(16, flags(&head));
    fixed.uint(6, kind(site.kind));
    fixed.fixed64(7, times.of(head.start));
    fixed.fixed64(8, times.of(head.end.max(head.start)));
    w.append(&fixed);
    if let Some(carried) = record.carried.as_deref() {
        if !carried.trace_state.is_empty() {
            trace_state(w, 3, &carried.trace_state);
        }
    }
    let name = extra.and_then(|e| e.name.as_deref()).unwrap_or(site.name);
    w.bytes(5, name.as_bytes());
    let dropped = span_attributes(w, record, conversion);
    let extra_dropped = extra.map_or(0, |e| e.dropped_attributes);
    w.uint(10, u64::from(dropped.saturating_add(extra_dropped)));
    if let Some(extra) = extra {
        let kept = model::to_usize(limits.max_events_per_span);
        for event in extra.events.iter().take(kept) {
            write_event(w, event, limits);
        }
        let over = u32::try_from(extra.events.len().saturating_sub(kept)).unwrap_or(u32::MAX);
        w.uint(12, u64::from(extra.dropped_events.saturating_add(over)));
        let kept = model::to_usize(limits.max_links_per_span);
        for link in extra.links.iter().take(kept) {
            write_link(w, link, limits);
        }
        let over = u32::try_from(extra.links.len().saturating_sub(kept)).unwrap_or(u32::MAX);
        w.uint(14, u64::from(extra.dropped_links.saturating_add(over)));
    }
    let status = w.open(15);
    if let Some(extra) = extra {
        match &extra.status {
            Status::Unset => {}
            Status::Ok => w.uint(3, 1),
            Status::Error { description } => {
                w.bytes(2, description.as_bytes());
                w.uint(3, 2);
            }
        }
    }
    w.close(status);
    w.close(open);
}

fn kind(kind: model::Kind) -> u64 {
    match kind {
        model::Kind::Internal => 1,
        model::Kind::Server => 2,
        model::Kind::Client => 3,
        model::Kind::Producer => 4,
        model::Kind::Consumer => 5,
    }
}

/// The W3C `tracestate` header form of `entries`, as field `field`.
fn trace_state(w: &mut Writer<'_>, field: u32, entries: &[(String, String)]) {
    let open = w.open(field);
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            w.buf.push(b',');
        }
        w.buf.extend_from_slice(key.as_bytes());
        w.buf.push(b'=');
        w.buf.extend_from_slice(value.as_bytes());
    }
    w.close(open);
}

/// The span's attributes (field 9), as the adapter merges them: those set
/// at the start in their order, each with its latest value, then those set
/// later, then the baggage entries asked for; the first
/// `max_attributes_per_span` are kept. Returns how many were dropped.
fn span_attributes(w: &mut Writer<'_>, record: &SpanRecord, conversion: &Conversion) -> u32 {
    let limits = &conversion.limits;
    let later: &[KeyValue] = record.extra.as_deref().map_or(&[], |e| &e.attributes);
    let mut kept = Kept::new(limits.max_attributes_per_span, limits);
    for kv in record.attributes.iter() {
        let value = (later.iter().find(|l| l.key == kv.key)).map_or(&kv.value, |l| &l.value);
        kept.write(w, 9, &kv.key, value);
    }
    for kv in later {
        if !record.attributes.iter().any(|own| own.key == kv.key) {
            kept.write(w, 9, &kv.key, &kv.value);
        }
    }
    if !conversion.baggage_keys.is_empty() {
        if let Some(carried) = record.carried.as_deref() {
            for key in conversion.baggage_keys.iter() {
                let set = (record.attributes.iter().chain(later)).any(|kv| &kv.key == key);
                if set {
                    continue;
                }
                if let Some(value) = carried.baggage_value(key.as_str()) {
                    kept.write_str(w, 9, key, value);
                }
            }
        }
    }
    kept.dropped
}

/// Attributes written up to a count limit, counting what is past it.
struct Kept {
    left: u32,
    dropped: u32,
    max_length: Option<usize>,
}

impl Kept {
    fn new(max: u32, limits: &SpanLimits) -> Kept {
        Kept {
            left: max,
            dropped: 0,
            max_length: limits.max_attribute_value_length.map(model::to_usize),
        }
    }

    #[inline]
    fn write(&mut self, w: &mut Writer<'_>, field: u32, key: &Key, value: &Value) {
        if self.left == 0 {
            self.dropped = self.dropped.saturating_add(1);
        } else {
            self.left -= 1;
            key_value(w, field, key.as_str(), value, self.max_length);
        }
    }

    fn write_str(&mut self, w: &mut Writer<'_>, field: u32, key: &Key, value: &str) {
        if self.left == 0 {
            self.dropped = self.dropped.saturating_add(1);
        } else {
            self.left -= 1;
            let open = w.open(field);
            w.bytes(1, key.as_str().as_bytes());
            let any = w.open(2);
            w.bytes_always(1, cut(value, self.max_length).as_bytes());
            w.close(any);
            w.close(open);
        }
    }

    fn list(&mut self, w: &mut Writer<'_>, field: u32, attributes: &[KeyValue]) -> u32 {
        for kv in attributes {
            self.write(w, field, &kv.key, &kv.value);
        }
        self.dropped
    }
}

/// One `Event` (field 11 of `Span`).
fn write_event(w: &mut Writer<'_>, event: &Event, limits: &SpanLimits) {
    let open = w.open(11);
    w.fixed64(1, unix_nanos(event.timestamp));
    w.bytes(2, event.name.as_bytes());
    let dropped = Kept::new(limits.max_attributes_per_event, limits).list(w, 3, &event.attributes);
    w.uint(
        4,
        u64::from(event.dropped_attributes_count.saturating_add(dropped)),
    );
    w.close(open);
}

/// One `Link` (field 13 of `Span`).
fn write_link(w: &mut Writer<'_>, link: &Link, limits: &SpanLimits) {
    let context = &link.span_context;
    let open = w.open(13);
    w.bytes(1, &context.trace_id().to_bytes());
    w.bytes(2, &context.span_id().to_bytes());
    w.bytes(3, context.trace_state().header().as_bytes());
    let dropped = Kept::new(limits.max_attributes_per_link, limits).list(w, 4, &link.attributes);
    w.uint(
        5,
        u64::from(link.dropped_attributes_count.saturating_add(dropped)),
    );
    let mut flags = u32::from(context.trace_flags().to_u8()) | HAS_IS_REMOTE;
    if context.is_remote() {
        flags |= IS_REMOTE;
    }
    w.fixed32(6, flags);
    w.close(open);
}

/// `text` cut to `max` characters (never inside one), as the span limits say.
#[inline]
fn cut(text: &str, max: Option<usize>) -> &str {
    match max {
        Some(max) if text.len() > max => match text.char_indices().nth(max) {
            Some((end, _)) => &text[..end],
            None => text,
        },
        _ => text,
    }
}

/// One `KeyValue` as field `field`.
#[inline]
fn key_value(w: &mut Writer<'_>, field: u32, key: &str, value: &Value, max_length: Option<usize>) {
    let open = w.open(field);
    w.bytes(1, key.as_bytes());
    let any = w.open(2);
    any_value(w, value, max_length);
    w.close(any);
    w.close(open);
}

/// The content of an `AnyValue`: its one field.
#[inline]
fn any_value(w: &mut Writer<'_>, value: &Value, max_length: Option<usize>) {
    match value {
        Value::String(s) => w.bytes_always(1, cut(s.as_str(), max_length).as_bytes()),
        Value::Bool(b) => w.uint_always(2, u64::from(*b)),
        // Two's complement, as protobuf's int64 is written.
        #[allow(clippy::cast_sign_loss)]
        Value::I64(i) => w.uint_always(3, *i as u64),
        Value::F64(f) => w.fixed64_always(4, f.to_bits()),
        Value::Array(array) => {
            let open = w.open(5);
            match array {
                Array::Bool(values) => {
                    for b in values {
                        let element = w.open(1);
                        w.uint_always(2, u64::from(*b));
                        w.close(element);
                    }
                }
                Array::I64(values) => {
                    for i in values {
                        let element = w.open(1);
                        #[allow(clippy::cast_sign_loss)]
                        w.uint_always(3, *i as u64);
                        w.close(element);
                    }
                }
                Array::F64(values) => {
                    for f in values {
                        let element = w.open(1);
                        w.fixed64_always(4, f.to_bits());
                        w.close(element);
                    }
                }
                Array::String(values) => {
                    for s in values {
                        let element = w.open(1);
                        w.bytes_always(1, cut(s.as_str(), max_length).as_bytes());
                        w.close(element);
                    }
                }
                // `Array` is non-exhaustive; a later kind of array is written
                // as its text, the way OpenTelemetry prints it.
                other => {
                    let element = w.open(1);
                    w.bytes_always(1, other.to_string().as_bytes());
                    w.close(element);
                }
            }
            w.close(open);
        }
        // `Value` is non-exhaustive: a later kind of value is written as its
        // text.
        other => w.bytes_always(1, other.as_str().as_bytes()),
    }
}
