//! A real OpenTelemetry collector in the path: rotel (`rotel-agent`, from
//! the `rotel` package on the Python package index) receives what traced
//! exports over OTLP/gRPC, OTLP/HTTP protobuf or OTLP/HTTP JSON and forwards
//! it over OTLP/HTTP to a receiver in this test.
//!
//! traced exports every span twice: once through the collector and once
//! straight to a second receiver. Both copies are decoded with the official
//! protobuf definitions (opentelemetry-proto) and must be equal span for
//! span, with their resource and instrumentation scope: nothing lost, nothing
//! altered on the way through a collector.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::trace::v1::Span as ProtoSpan;
use prost::Message as _;
use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced::{span, Context, Span};
use traced_tests::{command_without_otel, free_ports, python_venv, receiver, Received};

/// The collector, killed when dropped so a failing test leaves nothing running.
struct Collector {
    child: Child,
    grpc_port: u16,
    http_port: u16,
    log: PathBuf,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `rotel-agent` binary that the `rotel` wheel carries in its package folder.
fn rotel_agent() -> PathBuf {
    let lib = python_venv(Path::new(env!("CARGO_TARGET_TMPDIR"))).join("lib");
    std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/rotel/rotel-agent"))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("no rotel/rotel-agent under {}", lib.display()))
}

/// Starts rotel with OTLP gRPC and HTTP receivers on free loopback ports,
/// forwarding traces over OTLP/HTTP to `forward_port`. A port taken by
/// someone else between being picked and rotel binding it makes rotel exit:
/// then it is started again on other ports (three tries).
fn start_collector(forward_port: u16) -> Collector {
    for _ in 0..3 {
        if let Some(collector) = try_start_collector(forward_port) {
            return collector;
        }
    }
    panic!("rotel exited three times before listening (see its logs above)");
}

/// One start of rotel: `None` if it exited before listening.
fn try_start_collector(forward_port: u16) -> Option<Collector> {
    let [grpc_port, http_port] = free_ports();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rotel-{}-{http_port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stdout.log");
    let child = command_without_otel(rotel_agent())
        .arg("start")
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
        .args(["--exporter", "otlp"])
        .args([
            "--otlp-exporter-endpoint",
            &format!("http://127.0.0.1:{forward_port}"),
        ])
        .args(["--otlp-exporter-protocol", "http"])
        .args(["--batch-timeout", "50ms"])
        .arg("--pid-file")
        .arg(dir.join("rotel.pid"))
        .arg("--log-file")
        .arg(dir.join("rotel.log"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rotel-agent");
    let mut collector = Collector {
        child,
        grpc_port,
        http_port,
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    for port in [grpc_port, http_port] {
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = collector.child.try_wait() {
                eprintln!(
                    "rotel exited ({status}) before listening on {port}: {}",
                    std::fs::read_to_string(&collector.log).unwrap_or_default()
                );
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "rotel did not listen on {port}: {}",
                std::fs::read_to_string(&collector.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Some(collector)
}

/// A span as it arrived, with the resource and scope it came under.
#[derive(Debug, PartialEq)]
struct Arrived {
    resource: Vec<ProtoKeyValue>,
    scope: Option<InstrumentationScope>,
    span: ProtoSpan,
}

/// The spans of one export request, by span id. Collectors may compress.
fn decode(request: &Received, into: &mut BTreeMap<Vec<u8>, Arrived>) {
    let gzip = (request.headers.iter()).any(|(n, v)| n == "content-encoding" && v == "gzip");
    let body = if gzip {
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(request.body.as_slice())
            .read_to_end(&mut body)
            .expect("gzip body");
        body
    } else {
        request.body.clone()
    };
    let export = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
    for resource_spans in export.resource_spans {
        let mut resource = resource_spans.resource.unwrap_or_default().attributes;
        resource.sort_by(|a, b| a.key.cmp(&b.key));
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let previous = into.insert(
                    span.span_id.clone(),
                    Arrived {
                        resource: resource.clone(),
                        scope: scope_spans.scope.clone(),
                        span,
                    },
                );
                assert!(previous.is_none(), "a span arrived twice");
            }
        }
    }
}

/// Collects spans from `requests` until `count` have arrived (or 20 s pass).
fn collect(requests: &mpsc::Receiver<Received>, count: usize) -> BTreeMap<Vec<u8>, Arrived> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut spans = BTreeMap::new();
    while spans.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let request = requests
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{} of {count} spans arrived", spans.len()));
        decode(&request, &mut spans);
    }
    spans
}

/// Spans with every field a collector could lose: kinds, parents, every
/// attribute type, events with attributes, a link, an error status.
fn record_spans() -> usize {
    let earlier = span!("earlier", { Context::current() });
    span!("checkout", kind: server, http.route = "/checkout", items = 3_i64, {
        let span = Span::current();
        span.set_attribute("ratio", 0.25);
        span.set_attribute("vip", true);
        span.set_attribute("tags", ["a", "b"]);
        span.set_attribute("sizes", [1_i64, 2, 3]);
        span.add_event("cart loaded", [KeyValue::new("lines", 2_i64)]);
        span!("charge card", kind: client, links: [earlier], {
            Span::current().set_status(Status::error("card declined"));
        });
        span!("notify", kind: producer, {});
    });
    4
}

fn exporter(
    endpoint: String,
    protocol: OtlpProtocol,
) -> impl opentelemetry_sdk::trace::SpanExporter {
    OtlpConfig {
        endpoint,
        protocol,
        ..OtlpConfig::default()
    }
    .build_exporter()
    .unwrap()
}

/// Exports through the collector (to `endpoint` with `protocol`) and directly
/// to a receiver; the collector's copy must equal the direct one.
fn through_collector(endpoint: impl Fn(&Collector) -> String, protocol: OtlpProtocol) {
    let _lock = traced_tests::lock();
    let (forward_port, forwarded) = receiver(100);
    let (direct_port, direct) = receiver(100);
    let collector = start_collector(forward_port);
    let guard = traced::builder()
        .with_service_name("collector-test")
        .with_resource_attribute("deployment.environment.name", "ci")
        .with_exporter(exporter(endpoint(&collector), protocol))
        .with_exporter(exporter(
            format!("http://127.0.0.1:{direct_port}/v1/traces"),
            OtlpProtocol::HttpProtobuf,
        ))
        .install();
    let count = record_spans();
    drop(guard);

    let sent = collect(&direct, count);
    let via_collector = collect(&forwarded, count);
    assert_eq!(sent.len(), count);
    let names: Vec<&str> = sent.values().map(|a| a.span.name.as_str()).collect();
    for name in ["earlier", "checkout", "charge card", "notify"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for (id, arrived) in &sent {
        let forwarded = via_collector
            .get(id)
            .unwrap_or_else(|| panic!("{} was lost in the collector", arrived.span.name));
        assert_eq!(
            forwarded, arrived,
            "{} was altered in the collector",
            arrived.span.name
        );
    }
    assert_eq!(via_collector.len(), count, "the collector added spans");
    drop(collector);
}

#[test]
fn otlp_http_through_the_rotel_collector_loses_and_alters_nothing() {
    through_collector(
        |c| format!("http://127.0.0.1:{}/v1/traces", c.http_port),
        OtlpProtocol::HttpProtobuf,
    );
}

#[test]
fn otlp_http_json_through_the_rotel_collector_loses_and_alters_nothing() {
    through_collector(
        |c| format!("http://127.0.0.1:{}/v1/traces", c.http_port),
        OtlpProtocol::HttpJson,
    );
}

#[test]
fn otlp_grpc_through_the_rotel_collector_loses_and_alters_nothing() {
    through_collector(
        |c| format!("http://127.0.0.1:{}", c.grpc_port),
        OtlpProtocol::Grpc,
    );
}
