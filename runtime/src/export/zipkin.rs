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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::header::CONTENT_TYPE;
use http::{Method, Request, Uri};
use opentelemetry_http::{Bytes, ResponseBodyTooLarge};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::diag;
use crate::export::otlp::http_client::TransportError;
use crate::export::otlp::BlockingHttpClient;
use crate::export::pipeline::{RecordBatch, RecordExporter};
#[cfg(test)]
use crate::export::zipkin_json::{duration_micros, push_annotation_value};
pub(crate) use crate::export::zipkin_json::{encode_spans, Encoder};
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
            Bytes::from(encoder.take())
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

#[cfg(test)]
#[path = "zipkin_tests.rs"]
mod tests;
