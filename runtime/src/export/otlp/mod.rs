//! OTLP export over HTTP, with no async runtime and no TLS stack.
//!
//! [`OtlpConfig::from_env`] reads the standard `OTEL_EXPORTER_OTLP_*` variables and
//! [`OtlpConfig::build_exporter`] turns them into an `opentelemetry-otlp` span exporter that
//! posts OTLP/HTTP (protobuf or JSON, optionally gzipped) through [`BlockingHttpClient`], a small
//! HTTP/1.1 client over `std::net::TcpStream`. It works the same in a plain synchronous program
//! and inside a tokio application, since exports run on the batch processor's own thread.
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
//! Only `http://` endpoints work in this build: an `https://` endpoint is refused when the
//! exporter is built, with an error naming the feature that adds TLS. gRPC is not available
//! either; `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` is warned about and HTTP/protobuf is used.

mod config;
mod http_client;
mod response;
#[cfg(test)]
mod test_server;

#[cfg(test)]
mod export_tests;

pub use config::{
    OtlpBuildError, OtlpCompression, OtlpConfig, OtlpProtocol, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT,
};
pub use http_client::{BlockingHttpClient, MAX_RESPONSE_BODY_BYTES};
