use std::net::TcpListener;
use std::time::{Duration, Instant, UNIX_EPOCH};

use opentelemetry_sdk::trace::SpanExporter as _;

use crate::collector::block_on::block_on_timeout;
use crate::export::otlp::{OtlpConfig, OtlpExporter, OtlpProtocol};
use crate::export::test_support::internal_span;

/// A port on 127.0.0.1 with nothing listening: bound, read, closed.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn exporter_to(port: u16, timeout: Duration) -> OtlpExporter {
    OtlpConfig {
        endpoint: format!("http://127.0.0.1:{port}"),
        protocol: OtlpProtocol::Grpc,
        timeout,
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap()
}

fn one_span() -> Vec<opentelemetry_sdk::trace::SpanData> {
    vec![internal_span(1, 2, 0, "s", UNIX_EPOCH, UNIX_EPOCH)]
}

#[test]
fn an_absent_collector_is_an_export_error_with_the_grpc_code_and_cause() {
    let exporter = exporter_to(closed_port(), Duration::from_millis(500));
    let started = Instant::now();
    let result = block_on_timeout(exporter.export(one_span()), Duration::from_secs(10))
        .expect("the export gives up within its own timeout");
    let message = result.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(message.contains("Unavailable"), "{message}");
    assert!(message.to_lowercase().contains("connect"), "{message}");

    let started = Instant::now();
    exporter
        .shutdown_with_timeout(Duration::from_secs(2))
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // After the shutdown an export fails at once instead of hanging.
    let after = block_on_timeout(exporter.export(one_span()), Duration::from_secs(2));
    assert!(matches!(after, Some(Err(_))), "{after:?}");
}

#[test]
fn built_exported_and_dropped_inside_a_tokio_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let exporter = exporter_to(closed_port(), Duration::from_millis(200));
        // Awaited on the application's runtime, exported on the exporter's.
        assert!(exporter.export(one_span()).await.is_err());
        exporter
            .shutdown_with_timeout(Duration::from_secs(2))
            .unwrap();
        drop(exporter);
        let dropped_without_shutdown = exporter_to(closed_port(), Duration::from_millis(200));
        drop(dropped_without_shutdown);
    });
}

#[test]
fn the_grpc_code_in_a_failure_says_whether_to_send_again() {
    use super::retry_for;
    use crate::export::pipeline::Retry;
    let again = Retry::Yes { after: None };
    let sent = |code: &str| format!("TonicTracesClient export failed with gRPC code: {code}");
    for code in [
        "Unavailable",
        "Cancelled",
        "DeadlineExceeded",
        "Aborted",
        "OutOfRange",
        "DataLoss",
    ] {
        assert_eq!(retry_for(&sent(code)), again, "{code}");
    }
    for code in [
        "InvalidArgument",
        "Unauthenticated",
        "PermissionDenied",
        "Unimplemented",
        "Internal",
        "Unknown",
        "NotFound",
        "AlreadyExists",
        "FailedPrecondition",
        "ResourceExhausted",
    ] {
        assert_eq!(retry_for(&sent(code)), Retry::No, "{code}");
    }
    // Statuses tonic made itself, with their causes: transport failures, whatever the code.
    for local in [
        "TonicTracesClient export failed with gRPC code: Unavailable: tcp connect error",
        "TonicTracesClient export failed with gRPC code: Unknown: transport error: connection error: connection reset",
        "TonicTracesClient export failed with gRPC code: Internal: h2 protocol error: error reading a body from connection",
    ] {
        assert_eq!(retry_for(local), again, "{local}");
    }
    assert_eq!(retry_for("something else went wrong"), again);
}

#[test]
fn an_absent_collector_is_worth_another_try() {
    use crate::export::pipeline::Retry;
    let exporter = exporter_to(closed_port(), Duration::from_millis(300));
    let result = block_on_timeout(exporter.export(one_span()), Duration::from_secs(10));
    assert!(matches!(result, Some(Err(_))), "{result:?}");
    assert_eq!(exporter.take_retry(), Retry::Yes { after: None });
}
