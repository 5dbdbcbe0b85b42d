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

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::CONTENT_TYPE;
use http::{Method, Request, Uri};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_http::{Bytes, HttpClient};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::diag;
use crate::export::json::{push_float, push_string, NonAscii};
use crate::export::otlp::BlockingHttpClient;
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

    async fn post(&self, batch: &[SpanData]) -> OTelSdkResult {
        let body = encode_spans(batch, &self.service_name);
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Bytes::from(body))
            .map_err(|error| failure(format!("cannot build the request: {error}")))?;
        let response = self.client.send_bytes(request).await.map_err(|error| {
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

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.post(&batch).await
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
    let mut out = String::with_capacity(512 * spans.len());
    out.push('[');
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_span(&mut out, span, service_name);
    }
    out.push(']');
    out
}

fn push_span(out: &mut String, span: &SpanData, service_name: &str) {
    let context = &span.span_context;
    let mut object = ObjectWriter::open(out);
    object.string("traceId", &context.trace_id().to_string());
    object.string("id", &context.span_id().to_string());
    if span.parent_span_id != SpanId::INVALID {
        object.string("parentId", &span.parent_span_id.to_string());
    }
    object.string("name", &span.name);
    if let Some(kind) = zipkin_kind(&span.span_kind) {
        object.string("kind", kind);
    }
    object.int("timestamp", micros_since_epoch(span.start_time));
    // Zipkin reads a zero duration as "unknown", so an empty span leaves it out.
    let duration = duration_micros(span.start_time, span.end_time);
    if duration > 0 {
        object.int("duration", duration);
    }
    let mut local = ObjectWriter::open(object.key("localEndpoint"));
    local.string("serviceName", service_name);
    local.close();
    if let Some(peer) = remote_service(span) {
        let mut remote = ObjectWriter::open(object.key("remoteEndpoint"));
        remote.string("serviceName", &peer);
        remote.close();
    }
    if !span.events.is_empty() {
        let out = object.key("annotations");
        out.push('[');
        for (i, event) in span.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut annotation = ObjectWriter::open(out);
            annotation.int("timestamp", micros_since_epoch(event.timestamp));
            annotation.string("value", &annotation_value(&event.name, &event.attributes));
            annotation.close();
        }
        out.push(']');
    }
    let tags = tags(span);
    if !tags.is_empty() {
        let mut object_tags = ObjectWriter::open(object.key("tags"));
        for (key, value) in &tags {
            object_tags.string(key, value);
        }
        object_tags.close();
    }
    object.close();
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

/// Whole microseconds since the Unix epoch, truncated; 0 for times before it.
fn micros_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, saturating_micros)
}

/// The span's duration in whole microseconds: truncated as the OpenTelemetry specification asks
/// (1234 ns is 1 µs), except that a positive duration under 1 µs counts as 1, as Zipkin asks, so
/// it is not mistaken for an unknown one. An end before the start counts as 0.
fn duration_micros(start: SystemTime, end: SystemTime) -> u64 {
    match end.duration_since(start) {
        Ok(elapsed) if !elapsed.is_zero() => saturating_micros(elapsed).max(1),
        _ => 0,
    }
}

fn saturating_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Zipkin's `remoteEndpoint.serviceName` for client and producer spans, from `peer.service`:
/// without a remote endpoint, Zipkin draws no dependency link for them.
fn remote_service(span: &SpanData) -> Option<String> {
    if !matches!(span.span_kind, SpanKind::Client | SpanKind::Producer) {
        return None;
    }
    let peer = span
        .attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == "peer.service")?;
    Some(tag_value(&peer.value))
}

/// The span's tags: its attributes, then the scope, dropped counts and status, which win over
/// attributes of the same name. Sorted by key, so the output is stable.
fn tags(span: &SpanData) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for KeyValue { key, value, .. } in &span.attributes {
        // Zipkin marks any span with an `error` tag as failed; only the status may set it.
        if key.as_str() == "error" && matches!(value, Value::Bool(_)) {
            continue;
        }
        tags.insert(key.as_str().to_owned(), tag_value(value));
    }
    let scope = &span.instrumentation_scope;
    if !scope.name().is_empty() {
        tags.insert("otel.scope.name".to_owned(), scope.name().to_owned());
    }
    if let Some(version) = scope.version() {
        tags.insert("otel.scope.version".to_owned(), version.to_owned());
    }
    let dropped = [
        (
            "otel.dropped_attributes_count",
            span.dropped_attributes_count,
        ),
        ("otel.dropped_events_count", span.events.dropped_count),
        ("otel.dropped_links_count", span.links.dropped_count),
    ];
    for (key, count) in dropped {
        if count > 0 {
            tags.insert(key.to_owned(), count.to_string());
        }
    }
    match &span.status {
        Status::Unset => {}
        Status::Ok => {
            tags.insert("otel.status_code".to_owned(), "OK".to_owned());
        }
        Status::Error { description } => {
            tags.insert("otel.status_code".to_owned(), "ERROR".to_owned());
            tags.insert("error".to_owned(), description.to_string());
        }
    }
    tags
}

/// An attribute value as a Zipkin tag: scalars as plain strings, arrays as JSON lists.
fn tag_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.as_str().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => {
            let mut out = String::new();
            push_float(&mut out, *f);
            out
        }
        Value::Array(_) => {
            let mut out = String::new();
            push_json_value(&mut out, value);
            out
        }
        other => other.to_string(),
    }
}

/// An event as an annotation value: its name alone, or, with attributes, the specification's
/// `"name":{"key":value,...}`.
fn annotation_value(name: &str, attributes: &[KeyValue]) -> String {
    if attributes.is_empty() {
        return name.to_owned();
    }
    let mut out = String::new();
    push_string(&mut out, name, NonAscii::Keep);
    out.push(':');
    let mut object = ObjectWriter::open(&mut out);
    for KeyValue { key, value, .. } in attributes {
        push_json_value(object.key(key.as_str()), value);
    }
    object.close();
    out
}

/// An attribute value as JSON, with its type: numbers and booleans bare, strings quoted.
///
/// JSON has no NaN or infinities: those are written as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"`, so the text stays parseable.
fn push_json_value(out: &mut String, value: &Value) {
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
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::F64(f) => float(out, *f),
        Value::String(s) => push_string(out, s.as_str(), NonAscii::Keep),
        Value::Array(Array::Bool(items)) => {
            list(out, items, |out, b| {
                let _ = write!(out, "{b}");
            });
        }
        Value::Array(Array::I64(items)) => list(out, items, |out, i| {
            let _ = write!(out, "{i}");
        }),
        Value::Array(Array::F64(items)) => list(out, items, |out, f| float(out, *f)),
        Value::Array(Array::String(items)) => list(out, items, |out, s| {
            push_string(out, s.as_str(), NonAscii::Keep);
        }),
        other => push_string(out, &other.to_string(), NonAscii::Keep),
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

    /// Starts a member; the caller writes its value into the returned string.
    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_string(self.out, key, NonAscii::Keep);
        self.out.push(':');
        self.out
    }

    fn string(&mut self, key: &str, value: &str) {
        push_string(self.key(key), value, NonAscii::Keep);
    }

    fn int(&mut self, key: &str, value: u64) {
        let _ = write!(self.key(key), "{value}");
    }

    fn close(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
#[path = "zipkin_tests.rs"]
mod tests;
