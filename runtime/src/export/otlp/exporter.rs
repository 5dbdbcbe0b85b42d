//! The exporter [`OtlpConfig::build_exporter`](super::OtlpConfig::build_exporter) returns: one
//! type whatever the transport, so the caller need not know which protocol the environment chose.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::http_client::BlockingHttpClient;
use super::native::NativeHttp;
use super::partial_success::PartialSuccess;
use crate::diag;
use crate::export::pipeline::{RecordBatch, RecordExporter, Retry};
use crate::export::span_data::Conversion;
use crate::model::SpanRecord;

/// The distinct partial-success messages an exporter prints; a collector that puts a span id
/// or a time in each message would otherwise fill stderr (and the memory of what was said).
const MAX_PARTIAL_SUCCESS_MESSAGES: usize = 8;

/// An OTLP span exporter, over HTTP or gRPC as configured; built by
/// [`OtlpConfig::build_exporter`](super::OtlpConfig::build_exporter).
///
/// It implements OpenTelemetry's [`SpanExporter`], so it can be handed to
/// [`Builder::with_exporter`](crate::Builder::with_exporter) or to an `opentelemetry_sdk`
/// processor. Its `Debug` output names the protocol and the endpoint, which is what traced's
/// export error messages start with.
pub struct OtlpExporter {
    transport: Transport,
    /// `OTLP/HTTP to http://…`, for messages (the endpoint without credentials or query).
    label: String,
    /// Spans the collector refused in the last export (partial success), until taken.
    rejected: AtomicUsize,
    /// The partial-success messages printed so far.
    partial_messages: Mutex<Vec<String>>,
}

enum Transport {
    /// The exporter, the client it sends with (a clone sharing its failure record), and for
    /// HTTP/protobuf the encoder that writes requests straight from records.
    Http(
        Box<opentelemetry_otlp::SpanExporter>,
        BlockingHttpClient,
        Option<Box<NativeHttp>>,
    ),
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::grpc::GrpcExporter),
}

impl OtlpExporter {
    pub(super) fn http(
        exporter: opentelemetry_otlp::SpanExporter,
        client: BlockingHttpClient,
        native: Option<NativeHttp>,
        endpoint: &str,
    ) -> Self {
        Self {
            transport: Transport::Http(Box::new(exporter), client, native.map(Box::new)),
            label: format!("OTLP/HTTP to {}", diag::endpoint(endpoint)),
            rejected: AtomicUsize::new(0),
            partial_messages: Mutex::default(),
        }
    }

    #[cfg(feature = "otlp-grpc")]
    pub(super) fn grpc(exporter: super::grpc::GrpcExporter, endpoint: &str) -> Self {
        Self {
            transport: Transport::Grpc(exporter),
            label: format!("OTLP/gRPC to {}", diag::endpoint(endpoint)),
            rejected: AtomicUsize::new(0),
            partial_messages: Mutex::default(),
        }
    }

    /// Whether [`export_records`](Self::export_records) sends records without `SpanData`
    /// (OTLP/HTTP protobuf).
    pub(crate) fn takes_records(&self) -> bool {
        matches!(&self.transport, Transport::Http(_, _, Some(_)))
    }

    /// Exports `records` as one OTLP/HTTP protobuf request written straight from them, when
    /// [`takes_records`](Self::takes_records); `None` otherwise (the caller then gives this
    /// exporter `SpanData`).
    pub(crate) fn export_records(
        &self,
        records: &[SpanRecord],
        conversion: &Conversion,
    ) -> Option<OTelSdkResult> {
        let Transport::Http(_, client, Some(native)) = &self.transport else {
            return None;
        };
        self.rejected.store(0, Ordering::Relaxed);
        Some(match native.export(client, records, conversion) {
            Ok(partial) => {
                if let Some(partial) = partial {
                    self.refused(&partial, records.len());
                }
                Ok(())
            }
            Err(message) => Err(OTelSdkError::InternalFailure(message)),
        })
    }

    /// Takes the count of spans the collector refused in the last export (OTLP partial
    /// success); the pipeline counts them in `stats().rejected`.
    pub(crate) fn take_rejected(&self) -> usize {
        self.rejected.swap(0, Ordering::Relaxed)
    }

    /// Takes whether the last failed export is worth sending again, from the collector's
    /// answer: its HTTP status and `Retry-After`, or its gRPC status code.
    pub(crate) fn take_retry(&self) -> Retry {
        match &self.transport {
            Transport::Http(_, client, _) => client.take_retry(),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.take_retry(),
        }
        .unwrap_or(Retry::Yes { after: None })
    }

    /// Keeps the count of what the collector refused of `sent` spans, and prints its message
    /// once per distinct message, for the first [`MAX_PARTIAL_SUCCESS_MESSAGES`] of them.
    pub(super) fn refused(&self, partial: &PartialSuccess, sent: usize) {
        let rejected = usize::try_from(partial.rejected)
            .unwrap_or(usize::MAX)
            .min(sent);
        self.rejected.store(rejected, Ordering::Relaxed);
        let mut said = (self.partial_messages.lock()).unwrap_or_else(PoisonError::into_inner);
        let message = diag::quote(&partial.message);
        if said.contains(&message) {
            return;
        }
        if said.len() == MAX_PARTIAL_SUCCESS_MESSAGES {
            diag::warn_once_with(&format!("otlp-partial-success-more:{}", self.label), || {
                format!(
                    "{}: the collector sent more than {MAX_PARTIAL_SUCCESS_MESSAGES} distinct partial-success messages; later ones are not shown (refused spans are still counted in stats().rejected)",
                    self.label
                )
            });
            return;
        }
        let reason = if message.is_empty() {
            "it gave no reason".to_owned()
        } else {
            format!("its message: {message}")
        };
        let what = if rejected > 0 {
            format!(
                "the collector refused {rejected} of {sent} spans (counted in stats().rejected)"
            )
        } else {
            "the collector accepted every span, with a warning".to_owned()
        };
        diag::warn_once_with(
            &format!("otlp-partial-success:{}:{message}", self.label),
            || format!("{}: {what}; {reason}", self.label),
        );
        said.push(message);
    }
}

impl RecordExporter for OtlpExporter {
    fn export_records(&self, batch: &RecordBatch<'_>) -> OTelSdkResult {
        self.export_records(batch.records(), batch.conversion())
            .unwrap_or_else(|| {
                Err(OTelSdkError::InternalFailure(
                    "this OTLP exporter takes SpanData".to_owned(),
                ))
            })
    }

    fn take_rejected(&self) -> usize {
        OtlpExporter::take_rejected(self)
    }

    fn take_retry(&self) -> Retry {
        OtlpExporter::take_retry(self)
    }
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtlpExporter({})", self.label)
    }
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match &self.transport {
            Transport::Http(exporter, client, _) => {
                client.begin_export();
                self.rejected.store(0, Ordering::Relaxed);
                let sent = batch.len();
                let result = exporter.export(batch).await;
                client.end_export();
                match (result, client.take_last_failure()) {
                    (Err(_), Some(cause)) => Err(OTelSdkError::InternalFailure(format!(
                        "HTTP export failed: {cause}"
                    ))),
                    (Ok(()), _) => {
                        if let Some(partial) = client.take_partial_success() {
                            self.refused(&partial, sent);
                        }
                        Ok(())
                    }
                    (result, _) => result,
                }
            }
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match &self.transport {
            Transport::Http(exporter, _, _) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match &self.transport {
            Transport::Http(exporter, _, _) => exporter.force_flush(),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match &mut self.transport {
            Transport::Http(exporter, _, native) => {
                exporter.set_resource(resource);
                if let Some(native) = native {
                    native.set_resource(resource);
                }
            }
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.set_resource(resource),
        }
    }
}
