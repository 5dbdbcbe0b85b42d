//! The exporter [`OtlpConfig::build_exporter`](super::OtlpConfig::build_exporter) returns: one
//! type whatever the transport, so the caller need not know which protocol the environment chose.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::http_client::BlockingHttpClient;

/// An OTLP span exporter, over HTTP or gRPC as configured; built by
/// [`OtlpConfig::build_exporter`](super::OtlpConfig::build_exporter).
///
/// It implements OpenTelemetry's [`SpanExporter`], so it can be handed to
/// [`Builder::with_exporter`](crate::Builder::with_exporter) or to an `opentelemetry_sdk`
/// processor. Its `Debug` output names the protocol and the endpoint, which is what traced's
/// export error messages start with.
pub struct OtlpExporter {
    transport: Transport,
    /// `http/protobuf to http://…`, for messages.
    label: String,
}

enum Transport {
    /// The exporter, and the client it sends with (a clone sharing its failure record).
    Http(Box<opentelemetry_otlp::SpanExporter>, BlockingHttpClient),
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::grpc::GrpcExporter),
}

impl OtlpExporter {
    pub(super) fn http(
        exporter: opentelemetry_otlp::SpanExporter,
        client: BlockingHttpClient,
        endpoint: &str,
    ) -> Self {
        Self {
            transport: Transport::Http(Box::new(exporter), client),
            label: format!("OTLP/HTTP to {endpoint}"),
        }
    }

    #[cfg(feature = "otlp-grpc")]
    pub(super) fn grpc(exporter: super::grpc::GrpcExporter, endpoint: &str) -> Self {
        Self {
            transport: Transport::Grpc(exporter),
            label: format!("OTLP/gRPC to {endpoint}"),
        }
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
            Transport::Http(exporter, client) => {
                client.take_last_failure();
                let result = exporter.export(batch).await;
                match (result, client.take_last_failure()) {
                    (Err(_), Some(cause)) => Err(OTelSdkError::InternalFailure(format!(
                        "HTTP export failed: {cause}"
                    ))),
                    (result, _) => result,
                }
            }
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match &self.transport {
            Transport::Http(exporter, _) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match &self.transport {
            Transport::Http(exporter, _) => exporter.force_flush(),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match &mut self.transport {
            Transport::Http(exporter, _) => exporter.set_resource(resource),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.set_resource(resource),
        }
    }
}
