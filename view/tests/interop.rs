//! One trace across two languages, received live: a traced service (OTLP/HTTP JSON, gzip) calls
//! a Python service (the OpenTelemetry SDK, OTLP/HTTP protobuf) with a `traceparent`, both export
//! to the viewer's receiver, and the printed waterfall joins them.
//!
//! The Python SDK comes from the interop tests' virtualenv ([`traced_tests::python_venv`]),
//! made on first use.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use traced::export::otlp::{OtlpCompression, OtlpConfig, OtlpProtocol};
use traced::propagation::{self, Propagator};
use traced::span;
use traced_tests::{command_without_otel, python_venv};
use traced_view::print::{print_trace, PrintOptions};
use traced_view::receiver::Receiver;
use traced_view::store::TraceStore;

/// A Python service: one `charge` span, child of the `traceparent` given, exported as protobuf.
const PYTHON_SERVICE: &str = r#"
import sys, time
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

endpoint, traceparent = sys.argv[1], sys.argv[2]
provider = TracerProvider(resource=Resource.create({"service.name": "py-payments"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
tracer = provider.get_tracer("payments")
parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
with tracer.start_as_current_span("charge", context=parent, kind=trace.SpanKind.SERVER):
    time.sleep(0.02)
provider.shutdown()
"#;

#[test]
fn traced_and_python_spans_join_in_one_waterfall() {
    let (sink, batches) = mpsc::channel();
    let receiver = Receiver::spawn("127.0.0.1:0", sink).unwrap();
    let endpoint = format!("http://{}/v1/traces", receiver.local_addr());
    let python = python_venv(Path::new(env!("CARGO_TARGET_TMPDIR")))
        .join("bin")
        .join("python");

    propagation::set_propagators(&[Propagator::TraceContext]);
    let exporter = OtlpConfig {
        endpoint: endpoint.clone(),
        protocol: OtlpProtocol::HttpJson,
        compression: OtlpCompression::Gzip,
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_service_name("traced-checkout")
        .install();
    span!("checkout", {
        std::thread::sleep(Duration::from_millis(5));
        let mut headers = HashMap::new();
        propagation::inject(&mut headers);
        let status = command_without_otel(&python)
            .args(["-c", PYTHON_SERVICE, &endpoint, &headers["traceparent"]])
            .status()
            .unwrap();
        assert!(status.success(), "the Python service failed");
    });
    drop(guard);

    let mut store = TraceStore::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.span_count() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let batch = batches
            .recv_timeout(left)
            .expect("both services' spans within 20 s");
        store.extend(batch.spans);
    }
    assert_eq!(store.len(), 1, "one trace across both services");
    let printed = print_trace(
        store.oldest_first()[0],
        &PrintOptions {
            ascii: true,
            bar_width: 20,
        },
    );
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines[0].contains("2 spans  services: py-payments, traced-checkout"),
        "{printed}"
    );
    assert!(
        lines[1].starts_with("checkout  traced-checkout"),
        "{printed}"
    );
    assert!(lines[2].starts_with("  charge  py-payments"), "{printed}");
    assert!(!printed.contains("parent not in input"), "{printed}");
}
