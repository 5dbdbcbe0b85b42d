//! OTLP export over HTTP, and over gRPC with the `otlp-grpc` feature.
//!
//! [`OtlpConfig::from_env`] reads the standard `OTEL_EXPORTER_OTLP_*` variables and
//! [`OtlpConfig::build_exporter`] turns them into an [`OtlpExporter`]:
//!
//! - OTLP/HTTP protobuf from traced's batch processor is written straight from traced's span
//!   records into a reused buffer (no `SpanData`, no allocation per span for static names and
//!   up to four attributes), gzipped when configured, and sent with [`BlockingHttpClient`], a
//!   small HTTP/1.1 client over `std::net::TcpStream`; one attempt per batch, the batch
//!   processor retrying a failed one with backoff. Called as a `SpanExporter` (by the simple
//!   processor, or by an `opentelemetry_sdk` pipeline), and for OTLP/HTTP JSON, the exporter
//!   goes through `opentelemetry-otlp`'s HTTP exporter with the same client.
//! - OTLP/gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, feature `otlp-grpc`) goes through
//!   `opentelemetry-otlp`'s tonic exporter, on a one-thread tokio runtime the exporter owns.
//!   The default endpoint is then `http://localhost:4317`, `OTEL_EXPORTER_OTLP_ENDPOINT` is used
//!   as is (no `/v1/traces`), and headers are sent as gRPC metadata.
//!
//! Either way the application needs no async runtime, and a tokio application may install
//! traced and drop its guard from inside its runtime: exports run on the batch processor's own
//! thread, or the gRPC exporter's.
//!
//! ```no_run
//! use traced::export::otlp::OtlpConfig;
//!
//! // OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 → http://collector:4318/v1/traces
//! let exporter = OtlpConfig::from_env().build_exporter()?;
//! # drop(exporter);
//! # Ok::<(), traced::export::otlp::OtlpBuildError>(())
//! ```
//!
//! # TLS
//!
//! With the `otlp-tls` feature, `https://` endpoints work for both transports: rustls with the
//! ring crypto provider, trusting the Mozilla roots of `webpki-roots` plus the CA certificates
//! in the PEM file named by `OTEL_EXPORTER_OTLP_CERTIFICATE` (for a collector with a private
//! CA). `OTEL_EXPORTER_OTLP_CLIENT_KEY` and `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` name the PEM
//! files of a client identity for mutual TLS. Each has a `_TRACES_` form that wins. A file that
//! cannot be read or holds no usable PEM data makes [`OtlpConfig::build_exporter`] fail, naming
//! the file; `traced::init()` then warns and goes on without the exporter.
//!
//! Without `otlp-tls`, an `https://` endpoint is refused when the exporter is built, with an
//! error naming the feature. Without `otlp-grpc`, `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` is warned
//! about (naming the feature) and HTTP/protobuf is used.

mod config;
mod encode;
mod exporter;
#[cfg(feature = "otlp-grpc")]
mod grpc;
mod http_client;
mod native;
mod partial_success;
mod response;
#[cfg(test)]
mod test_server;
#[cfg(feature = "otlp-tls")]
mod tls;
mod wire;

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod native_tests;

pub use config::{
    OtlpBuildError, OtlpCompression, OtlpConfig, OtlpProtocol, DEFAULT_ENDPOINT,
    DEFAULT_GRPC_ENDPOINT, DEFAULT_TIMEOUT,
};
pub(crate) use encode::Encoder;
pub use exporter::OtlpExporter;
pub use http_client::{BlockingHttpClient, MAX_RESPONSE_BODY_BYTES};
