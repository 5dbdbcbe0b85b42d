//! Zipkin export: spans encoded as Zipkin v2 JSON and posted to a Zipkin collector.
//!
//! The mapping follows the OpenTelemetry specification's "OpenTelemetry to Zipkin
//! Transformation": ids in lowercase hex, times in whole microseconds, attributes as string
//! tags (arrays as JSON lists), the status as `otel.status_code` and `error` tags, and events as
//! annotations. Requests go through [`BlockingHttpClient`], the same client as OTLP export, so
//! only `http://` collectors are reachable.
//!
//! ```no_run
//! use traced::export::zipkin::ZipkinExporter;
//!
//! // OTEL_EXPORTER_ZIPKIN_ENDPOINT=http://zipkin:9411/api/v2/spans
//! let exporter = ZipkinExporter::from_env()?;
//! # drop(exporter);
//! # Ok::<(), traced::export::zipkin::ZipkinError>(())
//! ```

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::header::CONTENT_TYPE;
use http::{Method, Request, Uri};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::Array;
use opentelemetry_http::{Bytes, ResponseBodyTooLarge};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::diag;
use crate::export::json::{push_float, push_hex, push_i64, push_string, push_u64, NonAscii};
use crate::export::otlp::http_client::TransportError;
use crate::export::otlp::BlockingHttpClient;
use crate::export::pipeline::{RecordBatch, RecordExporter};
use crate::export::record_view::{cut, unix_nanos, SpanView, ValueRef};
use crate::vars::{self, Vars};

/// Where spans go when `OTEL_EXPORTER_ZIPKIN_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:9411/api/v2/spans";

/// How long one export may take when `OTEL_EXPORTER_ZIPKIN_TIMEOUT` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const ENDPOINT_VAR: &str = "OTEL_EXPORTER_ZIPKIN_ENDPOINT";
const TIMEOUT_VAR: &str = "OTEL_EXPORTER_ZIPKIN_TIMEOUT";

/// The service name of the SDK's default resource, for spans whose resource names none: Zipkin
/// needs a service name on every span.
const UNKNOWN_SERVICE: &str = "unknown_service";

/// How much of an error response's body goes into the export error.
const MAX_ERROR_BODY_CHARS: usize = 200;

/// A span exporter posting Zipkin v2 JSON to a Zipkin collector.
///
/// Each export is one `POST` of a JSON array of spans, finished or failed within the timeout.
/// The service name (`localEndpoint.serviceName`) is the resource's `service.name`, set by the
/// pipeline through [`SpanExporter::set_resource`].
///
/// ```
/// use std::time::Duration;
/// use traced::export::zipkin::ZipkinExporter;
///
/// let exporter = ZipkinExporter::new("http://localhost:9411/api/v2/spans", Duration::from_secs(5))?;
/// assert_eq!(exporter.service_name(), "unknown_service");
/// # Ok::<(), traced::export::zipkin::ZipkinError>(())
/// ```
pub struct ZipkinExporter {
    endpoint: Uri,
    client: BlockingHttpClient,
    service_name: String,
    is_shutdown: AtomicBool,
    /// Buffers kept from batch to batch.
    encoder: Mutex<Encoder>,
}

/// The endpoint is shown without credentials or query, since this is what export error
/// messages name the exporter by.
impl fmt::Debug for ZipkinExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZipkinExporter")
            .field("endpoint", &diag::endpoint(&self.endpoint.to_string()))
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl ZipkinExporter {
    /// Creates an exporter posting to `endpoint`, the collector's full URL (usually ending in
    /// `/api/v2/spans`), each request finishing or failing within `timeout`.
    ///
    /// Fails if `endpoint` is not an absolute `http://` URL: there is no TLS support.
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Self, ZipkinError> {
        Ok(Self {
            endpoint: parse_endpoint(endpoint)?,
            client: BlockingHttpClient::new(timeout),
            service_name: UNKNOWN_SERVICE.to_owned(),
            is_shutdown: AtomicBool::new(false),
            encoder: Mutex::default(),
        })
    }

    /// Creates an exporter from the standard environment variables:
    ///
    /// | Variable | Meaning | Default |
    /// |---|---|---|
    /// | `OTEL_EXPORTER_ZIPKIN_ENDPOINT` | the collector's URL | `http://localhost:9411/api/v2/spans` |
    /// | `OTEL_EXPORTER_ZIPKIN_TIMEOUT` | milliseconds | `10000` |
    ///
    /// An invalid timeout is warned about once and the default is used; an invalid endpoint is an
    /// error, since there is nowhere sensible to send the spans instead.
    pub fn from_env() -> Result<Self, ZipkinError> {
        Self::from_lookup(vars::var)
    }

    /// [`ZipkinExporter::from_env`] reading variables through `lookup`.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ZipkinError> {
        let vars = Vars::new(&lookup);
        let timeout = vars.duration_ms(TIMEOUT_VAR, DEFAULT_TIMEOUT);
        match vars.get(ENDPOINT_VAR) {
            None => Self::new(DEFAULT_ENDPOINT, timeout),
            Some(endpoint) => Self::new(&endpoint, timeout).map_err(|error| ZipkinError {
                message: format!("{ENDPOINT_VAR}: {}", error.message),
            }),
        }
    }

    /// The URL spans are posted to.
    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// The time one export may take, from connect to the last byte of the response.
    pub fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    /// The Zipkin service name given to every span: the resource's `service.name`, or
    /// `unknown_service` until a resource naming one is set.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Posts one encoded batch.
    fn post(&self, body: Bytes) -> OTelSdkResult {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|error| failure(format!("cannot build the request: {error}")))?;
        let response = self.client.send_export(&request).map_err(|error| {
            let error: Box<dyn std::error::Error> = match error {
                TransportError::TooLarge => Box::new(ResponseBodyTooLarge::new()),
                other => Box::new(other),
            };
            failure(format!(
                "cannot post to the Zipkin collector at {}: {error}",
                diag::endpoint(&self.endpoint.to_string())
            ))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = String::from_utf8_lossy(response.body());
        let body = body.trim();
        let mut message = format!(
            "the Zipkin collector at {} answered {status}",
            diag::endpoint(&self.endpoint.to_string())
        );
        if !body.is_empty() {
            let excerpt: String = body.chars().take(MAX_ERROR_BODY_CHARS).collect();
            let ellipsis = if excerpt.len() < body.len() {
                "…"
            } else {
                ""
            };
            let _ = write!(message, ": {excerpt}{ellipsis}");
        }
        Err(failure(message))
    }
}

impl RecordExporter for ZipkinExporter {
    fn export_records(&self, batch: &RecordBatch<'_>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let body = {
            let mut encoder = self.encoder.lock().unwrap_or_else(PoisonError::into_inner);
            encoder.encode(batch.spans(), &self.service_name);
            // Moved into the request, not copied; the encoder goes on with a buffer of the
            // same capacity.
            let capacity = encoder.out.capacity();
            Bytes::from(std::mem::replace(
                &mut encoder.out,
                String::with_capacity(capacity),
            ))
        };
        self.post(body)
    }
}

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.post(Bytes::from(encode_spans(&batch, &self.service_name)))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = resource
            .get(&"service.name".into())
            .map_or_else(|| UNKNOWN_SERVICE.to_owned(), |name| name.to_string());
    }
}

/// Why a [`ZipkinExporter`] could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipkinError {
    message: String,
}

impl fmt::Display for ZipkinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ZipkinError {}

fn failure(message: String) -> OTelSdkError {
    OTelSdkError::InternalFailure(message)
}

/// Accepts an absolute `http://` URL; explains what to do about anything else.
fn parse_endpoint(endpoint: &str) -> Result<Uri, ZipkinError> {
    let invalid = |problem: &str| ZipkinError {
        message: format!(
            "invalid Zipkin endpoint `{}`: {problem}",
            diag::endpoint(endpoint)
        ),
    };
    let uri: Uri = endpoint.parse().map_err(|_| {
        invalid("expected an absolute URL such as http://localhost:9411/api/v2/spans")
    })?;
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => {}
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => {
            return Err(invalid(
                "https:// is not supported, as traced's HTTP client has no TLS; send to an \
                 http:// endpoint (such as a local OpenTelemetry Collector, which can forward \
                 over TLS)",
            ));
        }
        _ => {
            return Err(invalid(
                "expected an http:// URL such as http://localhost:9411/api/v2/spans",
            ))
        }
    }
    if uri.authority().is_none() {
        return Err(invalid("the URL has no host"));
    }
    Ok(uri)
}

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
fn duration_micros(start_nanos: u64, end_nanos: u64) -> u64 {
    match end_nanos.saturating_sub(start_nanos) {
        0 => 0,
        elapsed => (elapsed / 1000).max(1),
    }
}

/// An event as an annotation value: its name alone, or, with attributes, the specification's
/// `"name":{"key":value,...}`; `attributes` calls its argument with each.
fn push_annotation_value(
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

#[cfg(test)]
#[path = "zipkin_tests.rs"]
mod tests;
