//! OTLP over gRPC end to end (feature `otlp-grpc`): traced exports to a tonic collector on
//! 127.0.0.1 that decodes with the official definitions (opentelemetry-proto). The probe
//! program shows a plain synchronous application and a tokio one configured only by `OTEL_*`
//! variables; a tokio test shows the pipeline installed and dropped inside a runtime.

#[path = "support/grpc_collector.rs"]
#[allow(dead_code)] // `start_tls` serves the TLS tests.
mod grpc_collector;
#[path = "support/seed.rs"]
mod seed;

use std::process::Output;
use std::time::{Duration, Instant};

use grpc_collector::GrpcCollector;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use seed::{assert_seed_trace, attribute};
use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced_tests::{command_without_otel, ClosedPort};

const PATIENCE: Duration = Duration::from_secs(10);

fn probe(env: &[(&str, String)], args: &[&str]) -> (Output, String) {
    let output = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (output, stderr)
}

fn assert_quiet(stderr: &str) {
    assert!(
        !stderr.contains("warning") && !stderr.contains("error") && !stderr.contains("panick"),
        "{stderr}"
    );
}

#[test]
fn a_plain_program_exports_the_seed_trace_over_grpc() {
    let collector = GrpcCollector::start();
    let (_, stderr) = probe(
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", collector.port),
            ),
            ("OTEL_SERVICE_NAME", "addsubtract".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-tenant=acme%20corp".to_owned(),
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
        ],
        &[],
    );
    assert_quiet(&stderr);
    let export = collector.next(PATIENCE).expect("an Export call");
    assert_eq!(export.metadata("x-tenant"), Some("acme corp"));
    assert_eq!(export.metadata("grpc-encoding"), Some("gzip"));
    assert_seed_trace(&export.request, "addsubtract");
    assert!(collector.next(Duration::from_millis(200)).is_none());
}

#[test]
fn a_tokio_application_exports_over_grpc_and_drops_the_guard_in_its_runtime() {
    let collector = GrpcCollector::start();
    let (_, stderr) = probe(
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("http://127.0.0.1:{}", collector.port),
            ),
            ("OTEL_SERVICE_NAME", "tokio-app".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "x-tenant=beta".to_owned(),
            ),
        ],
        &["tokio"],
    );
    assert_quiet(&stderr);
    assert!(stderr.contains("probe: tokio done"), "{stderr}");
    let export = collector.next(PATIENCE).expect("an Export call");
    assert_eq!(export.metadata("x-tenant"), Some("beta"));
    assert_eq!(export.metadata("grpc-encoding"), None);
    assert_seed_trace(&export.request, "tokio-app");
}

#[traced::traced(kind = server, attrs(order.id = id))]
async fn checkout(id: i64) -> i64 {
    tokio::time::sleep(Duration::from_millis(5)).await;
    price(id).await
}

#[traced::traced(kind = client)]
async fn price(id: i64) -> i64 {
    tokio::task::yield_now().await;
    id * 2
}

#[test]
fn a_pipeline_installed_and_dropped_inside_tokio_exports_over_grpc() {
    // Other tests of this binary install pipelines too: the pipeline lock is held around the
    // runtime (a std lock is not held across an `.await`), as `#[tokio::test]` would run it.
    let _lock = traced_tests::lock();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(installed_and_dropped_inside_tokio());
}

async fn installed_and_dropped_inside_tokio() {
    let collector = GrpcCollector::start();
    let exporter = OtlpConfig {
        endpoint: format!("http://127.0.0.1:{}", collector.port),
        protocol: OtlpProtocol::Grpc,
        headers: vec![("authorization".to_owned(), "Bearer t0ken".to_owned())],
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_service_name("shop")
        .install();
    let total = tokio::spawn(checkout(21)).await.unwrap();
    assert_eq!(total, 42);
    // The batch processor's shutdown runs here, on a runtime worker: no nested-runtime panic.
    drop(guard);

    let export = collector.next(PATIENCE).expect("an Export call");
    assert_eq!(export.metadata("authorization"), Some("Bearer t0ken"));
    let resource_spans = &export.request.resource_spans[0];
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "service.name"),
        Some(&Value::StringValue("shop".into()))
    );
    let spans = &resource_spans.scope_spans[0].spans;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["price", "checkout"]);
    let (child, root) = (&spans[0], &spans[1]);
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(child.kind, SpanKind::Client as i32);
    assert!(root.parent_span_id.is_empty());
    assert_eq!(child.trace_id, root.trace_id);
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(
        attribute(&root.attributes, "order.id"),
        Some(&Value::IntValue(21))
    );
}

#[test]
fn a_collector_that_is_down_blocks_neither_spans_nor_shutdown() {
    // Nothing listens there, and no other test's collector can take the port meanwhile.
    let closed = ClosedPort::new();
    let port = closed.port;
    let started = Instant::now();
    let (_, stderr) = probe(
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".to_owned()),
        ],
        &["many", "50"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let took: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("probe: 50 spans took "))
        .and_then(|l| l.strip_suffix("ms"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no timing line in {stderr}"));
    assert!(took < 1000, "ending 50 spans took {took}ms");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("traced: error: "))
        .unwrap_or_else(|| panic!("the failure is reported: {stderr}"));
    assert!(error.contains("OTLP/gRPC to http://127.0.0.1:"), "{error}");
    assert!(error.contains("Unavailable"), "{error}");
    assert!(error.to_lowercase().contains("connect"), "{error}");
}

fn grpc_pipeline(port: u16) -> traced::PipelineGuard {
    traced_tests::otlp_pipeline(OtlpConfig {
        endpoint: format!("http://127.0.0.1:{port}"),
        protocol: OtlpProtocol::Grpc,
        ..OtlpConfig::default()
    })
}

fn span_names(export: &grpc_collector::Export) -> Vec<&str> {
    (export.request.resource_spans.iter())
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.as_str())
        .collect()
}

/// OTLP/gRPC: a status that says the request itself is wrong (`INVALID_ARGUMENT`,
/// `UNAUTHENTICATED`, ...) is not retried; the batch counts as failed and the next one goes
/// out as usual.
#[test]
fn a_batch_refused_over_grpc_is_not_sent_again() {
    let _lock = traced_tests::lock();
    let collector = GrpcCollector::start_refusing(&[tonic::Code::InvalidArgument]);
    let guard = grpc_pipeline(collector.port);
    for _ in 0..3 {
        traced::span!("refused", {});
    }
    assert!(!guard.flush(), "the refused batch was not delivered");
    // Settled as failed, so not waiting for a retry.
    assert_eq!(guard.stats().failed, 3);
    for _ in 0..2 {
        traced::span!("accepted", {});
    }
    assert!(guard.flush());
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (2, 3), "{stats:?}");
    let first = collector.next(PATIENCE).unwrap();
    let second = collector.next(PATIENCE).unwrap();
    assert_eq!(span_names(&first), ["refused"; 3]);
    assert_eq!(span_names(&second), ["accepted"; 2], "sent once, not again");
    assert!(collector.next(Duration::from_millis(200)).is_none());
}

/// `UNAVAILABLE` is worth another try: the batch arrives once the collector takes it. Twelve
/// refusals are more than opentelemetry-otlp's own retries within one export (four attempts),
/// so traced's retry is what delivers it.
#[test]
fn a_batch_over_grpc_is_sent_again_while_the_collector_is_unavailable() {
    let _lock = traced_tests::lock();
    let collector = GrpcCollector::start_refusing(&[tonic::Code::Unavailable; 12]);
    let guard = grpc_pipeline(collector.port);
    traced::span!("again", {});
    traced_tests::flush_until_delivered(&guard, Duration::from_secs(30), "UNAVAILABLE");
    let stats = guard.shutdown();
    assert_eq!((stats.exported, stats.failed), (1, 0), "{stats:?}");
    for attempt in 0..13 {
        let export = collector.next(PATIENCE).unwrap();
        assert_eq!(span_names(&export), ["again"], "attempt {attempt}");
    }
}
