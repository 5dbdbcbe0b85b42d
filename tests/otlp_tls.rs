//! OTLP over TLS end to end (feature `otlp-tls`): a CA and certificates made at test time, a
//! collector on 127.0.0.1 speaking OTLP/HTTP over rustls (and OTLP/gRPC over tonic's TLS), and
//! the probe trusting the CA through `OTEL_EXPORTER_OTLP_CERTIFICATE`.

#[path = "support/grpc_collector.rs"]
#[allow(dead_code)] // `start` and `start_refusing` serve the plain gRPC tests.
mod grpc_collector;
#[path = "support/pki.rs"]
mod pki;
#[path = "support/seed.rs"]
mod seed;

use std::io::{BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use grpc_collector::GrpcCollector;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use pki::Pki;
use prost::Message as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use seed::assert_seed_trace;
use traced_tests::{command_without_otel, read_head, Received};

const PATIENCE: Duration = Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// An OTLP/HTTP collector over TLS that serves connections until one request succeeds; each
/// request, or why its connection failed (such as a handshake the client aborted), comes back
/// on the channel.
fn https_collector(
    pki: &Pki,
    client_auth: bool,
) -> (u16, mpsc::Receiver<Result<Received, String>>) {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.server_chain.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_auth {
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // A client that fails may retry; serve until one request got through.
        for stream in listener.incoming().take(16) {
            let stream = stream.unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let outcome = serve_one(stream, Arc::clone(&config)).map_err(|e| e.to_string());
            let done = outcome.is_ok();
            if tx.send(outcome).is_err() || done {
                break;
            }
        }
    });
    (port, rx)
}

fn serve_one(stream: std::net::TcpStream, config: Arc<ServerConfig>) -> std::io::Result<Received> {
    let connection = ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(connection, stream);
    let mut reader = BufReader::new(&mut tls);
    let (line, headers) = read_head(&mut reader)?;
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    drop(reader);
    tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
    tls.conn.send_close_notify();
    tls.flush()?;
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Ok(Received {
        path,
        headers,
        body,
    })
}

/// Runs the probe's seed program; returns its stderr and how long it took.
fn probe(env: &[(&str, String)]) -> (String, Duration) {
    let started = Instant::now();
    let output = command_without_otel(env!("CARGO_BIN_EXE_traced-probe"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (stderr, started.elapsed())
}

fn path(file: &std::path::Path) -> String {
    file.to_str().unwrap().to_owned()
}

#[test]
fn otlp_http_over_tls_trusting_the_configured_ca() {
    let pki = Pki::new();
    let (port, requests) = https_collector(&pki, false);
    let (stderr, _) = probe(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://localhost:{port}"),
        ),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.ca_file)),
        ("OTEL_SERVICE_NAME", "addsubtract".to_owned()),
    ]);
    assert!(!stderr.contains("traced:"), "{stderr}");
    let request = requests.recv_timeout(PATIENCE).unwrap().unwrap();
    assert_eq!(request.path, "/v1/traces");
    let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
    assert_seed_trace(&export, "addsubtract");
}

#[test]
fn mutual_tls_presents_the_configured_client_certificate() {
    let pki = Pki::new();
    let (port, requests) = https_collector(&pki, true);
    let (stderr, _) = probe(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("https://127.0.0.1:{port}/v1/traces"),
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", path(&pki.ca_file)),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_key_file)),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.client_chain_file),
        ),
        ("OTEL_SERVICE_NAME", "mtls".to_owned()),
    ]);
    assert!(!stderr.contains("traced:"), "{stderr}");
    let request = requests.recv_timeout(PATIENCE).unwrap().unwrap();
    let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
    assert_seed_trace(&export, "mtls");

    // Without the client certificate the server refuses the handshake.
    let (port, requests) = https_collector(&pki, true);
    let (stderr, _) = probe(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://127.0.0.1:{port}"),
        ),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.ca_file)),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".to_owned()),
    ]);
    assert!(requests.recv_timeout(PATIENCE).unwrap().is_err());
    assert!(stderr.contains("traced: error: "), "{stderr}");
}

#[test]
fn an_untrusted_certificate_is_reported_and_nothing_hangs() {
    let pki = Pki::new();
    let (port, requests) = https_collector(&pki, false);
    let (stderr, took) = probe(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://127.0.0.1:{port}"),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_owned()),
    ]);
    assert!(took < Duration::from_secs(10), "{took:?}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("traced: error: "))
        .unwrap_or_else(|| panic!("the failure is reported: {stderr}"));
    assert!(error.contains("establishing TLS"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(
        requests.recv_timeout(PATIENCE).unwrap().is_err(),
        "no request got through"
    );
}

#[test]
fn a_bad_certificate_file_is_warned_about_and_the_exporter_skipped() {
    let (stderr, _) = probe(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://127.0.0.1:9".to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/nonexistent/ca.pem".to_owned(),
        ),
    ]);
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("traced: warning: the otlp exporter could not be set up"))
        .unwrap_or_else(|| panic!("a warning: {stderr}"));
    assert!(
        warning.contains("cannot read `/nonexistent/ca.pem` (OTEL_EXPORTER_OTLP_CERTIFICATE)"),
        "{warning}"
    );
}

#[test]
fn grpc_over_tls_trusting_the_configured_ca() {
    let pki = Pki::new();
    let collector = GrpcCollector::start_tls(&pki.server_chain, &pki.server_key);
    let (stderr, _) = probe(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://127.0.0.1:{}", collector.port),
        ),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.ca_file)),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=secure".to_owned()),
        ("OTEL_SERVICE_NAME", "addsubtract".to_owned()),
    ]);
    assert!(!stderr.contains("traced:"), "{stderr}");
    let export = collector.next(PATIENCE).expect("an Export call");
    assert_eq!(export.metadata("x-tenant"), Some("secure"));
    assert_seed_trace(&export.request, "addsubtract");

    // The same collector, not trusted: the export fails with the certificate error.
    let (stderr, took) = probe(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://127.0.0.1:{}", collector.port),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".to_owned()),
    ]);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(stderr.contains("traced: error: "), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert!(collector.next(Duration::from_millis(200)).is_none());
}

/// Exports from one exporter reuse one TLS connection: the collector serves every request of a
/// connection before it accepts the next, and says which connection each came on.
#[test]
fn otlp_http_over_tls_keeps_one_connection_for_several_exports() {
    let _lock = traced_tests::lock();
    let pki = Pki::new();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.server_chain.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let config = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, requests) = mpsc::channel();
    thread::spawn(move || {
        for (connection, stream) in listener.incoming().take(4).enumerate() {
            let stream = stream.unwrap();
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let server = ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut reader = BufReader::new(StreamOwned::new(server, stream));
            // Requests until the client closes the connection (or a read fails).
            while let Ok((line, headers)) = read_head(&mut reader) {
                if line.is_empty() {
                    break;
                }
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    break;
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                if (reader.get_mut().write_all(answer))
                    .and_then(|()| reader.get_mut().flush())
                    .is_err()
                {
                    break;
                }
                let _ = tx.send((connection, body.len()));
            }
        }
    });
    let exporter = traced::export::otlp::OtlpConfig {
        endpoint: format!("https://localhost:{port}/v1/traces"),
        certificate: Some(pki.ca_file.clone()),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
    .build_exporter()
    .unwrap();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(traced::BatchConfig {
            scheduled_delay: Duration::from_hours(1),
            ..Default::default()
        })
        .install();
    for round in 0..3 {
        traced::span!("work", { std::hint::black_box(round) });
        assert!(guard.flush(), "round {round} was not delivered");
    }
    let stats = guard.shutdown();
    assert_eq!((stats.created, stats.exported), (3, 3), "{stats:?}");
    let connections: Vec<usize> = (0..3)
        .map(|_| requests.recv_timeout(PATIENCE).unwrap().0)
        .collect();
    assert_eq!(connections, [0, 0, 0]);
}
