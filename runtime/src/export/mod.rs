//! Exporters: where ended spans go.
//!
//! Every exporter here implements OpenTelemetry's `SpanExporter`, so they
//! mix freely with OTLP, Zipkin or any other exporter handed to
//! [`Builder::with_exporter`](crate::Builder::with_exporter).
//!
//! In traced's batch processor, the OTLP/HTTP (protobuf and JSON), OTLP JSON
//! lines, Zipkin and console exporters are given the batch of span records
//! itself (`pipeline.rs`) and write their format straight from it, reading
//! each span through one view (`record_view.rs`) and keeping their buffers
//! from batch to batch: no `SpanData` is built for them. OTLP over gRPC
//! (through `opentelemetry-otlp`), the tree printer, the memory exporter and
//! every `SpanExporter` of the application's get `SpanData` from the one
//! adapter (`span_data.rs`), built once per batch for all of them.

mod console;
mod json;
mod jsonl;
mod jsonl_file;
mod memory;
#[cfg(feature = "otlp")]
pub mod otlp;
mod otlp_json;
pub(crate) mod pipeline;
pub(crate) mod record_view;
pub(crate) mod span_data;
#[cfg(test)]
pub(crate) mod test_records;
#[cfg(test)]
pub(crate) mod test_support;
mod time;
mod tree;
#[cfg(feature = "otlp")]
pub mod zipkin;
#[cfg(feature = "otlp")]
mod zipkin_json;

pub use console::ConsoleExporter;
pub use jsonl::OtlpJsonLinesExporter;
pub use jsonl_file::{DEFAULT_MAX_FILE_BYTES, DEFAULT_ROTATED_FILES};
pub use memory::{MemoryExporter, MemorySpans};
pub use tree::TreeExporter;
