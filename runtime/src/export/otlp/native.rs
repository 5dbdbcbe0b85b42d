//! OTLP/HTTP sent straight from records: the batch worker's path.
//!
//! The request body is written into a buffer kept from batch to batch, by
//! [`Encoder`] for HTTP/protobuf and by the OTLP JSON encoding
//! (`export/otlp_json.rs`) for HTTP/JSON, gzipped when configured, and sent with the exporter's
//! [`BlockingHttpClient`] (the same client, headers, timeout and partial
//! success handling as the `SpanData` path through `opentelemetry-otlp`).
//! One attempt per call: a failed export is retried by the batch worker's
//! send thread, with its backoff, while the drain thread goes on.

use std::fmt;
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT,
};
use http::{Method, Request, Uri};
use opentelemetry_http::Bytes;
use opentelemetry_sdk::Resource;

use super::encode::Encoder;
use super::http_client::BlockingHttpClient;
use super::partial_success::PartialSuccess;
use crate::export::otlp_json::{push_spans, EncodedResource};
use crate::export::pipeline::RecordBatch;
use crate::export::span_data::Conversion;
use crate::local::clock;
use crate::model::SpanRecord;

/// The request settings of the native path and its reusable encoder.
pub(crate) struct NativeHttp {
    endpoint: Uri,
    headers: HeaderMap,
    gzip: bool,
    encoder: Mutex<BodyEncoder>,
}

/// What writes the request bodies.
enum BodyEncoder {
    Protobuf(Encoder),
    Json {
        resource: EncodedResource,
        text: String,
    },
}

impl fmt::Debug for NativeHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are never printed: they often hold tokens.
        f.debug_struct("NativeHttp")
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl NativeHttp {
    /// Requests to `endpoint` with `headers` (already checked when they were read), gzipped
    /// when `gzip`, in OTLP JSON when `json` (else protobuf).
    pub(crate) fn new(endpoint: Uri, headers: &[(String, String)], gzip: bool, json: bool) -> Self {
        let mut map = HeaderMap::new();
        let content_type = if json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        map.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        map.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("traced/", env!("CARGO_PKG_VERSION"))),
        );
        if gzip {
            map.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.insert(name, value);
            }
        }
        Self {
            endpoint,
            headers: map,
            gzip,
            encoder: Mutex::new(if json {
                BodyEncoder::Json {
                    resource: EncodedResource::default(),
                    text: String::new(),
                }
            } else {
                BodyEncoder::Protobuf(Encoder::default())
            }),
        }
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        match (self.encoder.get_mut()).unwrap_or_else(PoisonError::into_inner) {
            BodyEncoder::Protobuf(encoder) => encoder.set_resource(resource),
            BodyEncoder::Json { resource: json, .. } => *json = EncodedResource::new(resource),
        }
    }

    /// Sends `records` in one request; returns what the collector refused, if it said.
    pub(crate) fn export(
        &self,
        client: &BlockingHttpClient,
        records: &[SpanRecord],
        conversion: &Conversion,
    ) -> Result<Option<PartialSuccess>, String> {
        let body = {
            let mut state = (self.encoder.lock()).unwrap_or_else(PoisonError::into_inner);
            let clock = clock::converter();
            match &mut *state {
                BodyEncoder::Protobuf(encoder) => {
                    let request = encoder.encode(records, clock, conversion);
                    if self.gzip {
                        gzip(request)?
                    } else {
                        Bytes::from(encoder.take())
                    }
                }
                BodyEncoder::Json { resource, text } => {
                    text.clear();
                    let batch = RecordBatch::new(records, conversion, clock);
                    push_spans(text, resource, &batch.spans());
                    if self.gzip {
                        gzip(text.as_bytes())?
                    } else {
                        // Moved out, not copied, as `Encoder::take` does.
                        let capacity = text.capacity();
                        Bytes::from(std::mem::replace(text, String::with_capacity(capacity)))
                    }
                }
            }
        };
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.endpoint.clone();
        *request.headers_mut() = self.headers.clone();
        client.begin_export();
        let result = client.send_export(&request);
        client.end_export();
        match result {
            Ok(response) if response.status().is_success() => Ok(client.take_partial_success()),
            Ok(response) => Err(format!(
                "HTTP export failed with status code: {}",
                response.status().as_u16()
            )),
            Err(error) => Err(format!("HTTP export failed: {error}")),
        }
    }
}

fn gzip(encoded: &[u8]) -> Result<Bytes, String> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(encoded.len() / 4),
        flate2::Compression::default(),
    );
    gz.write_all(encoded)
        .and_then(|()| gz.finish())
        .map(Bytes::from)
        .map_err(|e| format!("gzip failed: {e}"))
}
