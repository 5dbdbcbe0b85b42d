//! One peer, one scenario, for a profiler: `valgrind --tool=callgrind
//! target/release/profile traced_attribute root_100_children 2000` counts the
//! instructions of 2000 iterations (and of the pipeline's setup and flush,
//! which callgrind's per-function view separates).
//!
//! Arguments: a peer id and a scenario id as in the criterion benchmark ids
//! (`traced_attribute`, `fastrace`, `tracing_bridge`, …; `root_100_children`, `3_attributes`, …), and
//! the iterations (default 1000). Prints the spans delivered.
//!
//! With `--exporter NAME` last (traced's peers only), the pipeline is one of traced's own
//! exporters (the same batch settings as the counting pipeline), so the send thread's count is
//! that of the real encoding and writing or sending:
//!
//! - `otlp` (or `--otlp`): OTLP/HTTP protobuf to a receiver on 127.0.0.1 that decodes every
//!   request;
//! - `otlp-json`: OTLP/HTTP JSON to that receiver (which reads the body and answers);
//! - `zipkin`: Zipkin JSON posted to that receiver;
//! - `jsonl`: the OTLP JSON lines exporter writing to `io::sink()`;
//! - `console`: the console exporter (Python's JSON) writing to `io::sink()`;
//! - `tree`: the tree printer writing to `io::sink()` (it takes `SpanData`).
//!
//! `profile traced_attribute root_100_children 1000 --exporter zipkin`.

use std::hint::black_box;
use std::time::Duration;

use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced::export::zipkin::ZipkinExporter;
use traced::export::{ConsoleExporter, OtlpJsonLinesExporter, TreeExporter};
use traced::BatchConfig;
use traced_benches::{Peer, Receiver, Scenario, QUEUE_SIZE};

const EXPORTERS: [&str; 6] = ["otlp", "otlp-json", "zipkin", "jsonl", "console", "tree"];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: profile PEER SCENARIO [ITERATIONS] [--otlp | --exporter NAME]";
    let mut exporter = None;
    if args.last().is_some_and(|a| a == "--otlp") {
        args.pop();
        exporter = Some("otlp".to_owned());
    } else if args.len() >= 2 && args[args.len() - 2] == "--exporter" {
        exporter = args.pop();
        args.pop();
    }
    if let Some(name) = &exporter {
        assert!(
            EXPORTERS.contains(&name.as_str()),
            "unknown exporter {name}; one of {EXPORTERS:?}"
        );
    }
    let mut args = args.into_iter();
    let peer = args.next().expect(usage);
    let scenario = args.next().expect(usage);
    let iterations: u64 = args.next().map_or(1000, |n| n.parse().expect(usage));
    let peer = Peer::EVERY
        .into_iter()
        .find(|p| p.id() == peer)
        .unwrap_or_else(|| {
            panic!(
                "unknown peer {peer}; one of {:?}",
                Peer::EVERY.map(Peer::id)
            )
        });
    let scenario = Scenario::ALL
        .into_iter()
        .find(|s| s.id() == scenario)
        .unwrap_or_else(|| {
            panic!(
                "unknown scenario {scenario}; one of {:?}",
                Scenario::ALL.map(Scenario::id)
            )
        });
    assert_eq!(scenario.threads(), 1, "profile one thread at a time");
    if let Some(exporter) = exporter {
        assert!(
            peer.id().starts_with("traced"),
            "--exporter profiles traced's exporters; {} is not traced",
            peer.id()
        );
        let receiver = Receiver::start();
        let otlp = |protocol| {
            OtlpConfig {
                endpoint: format!("http://127.0.0.1:{}/v1/traces", receiver.port),
                protocol,
                ..OtlpConfig::default()
            }
            .build_exporter()
            .expect("an OTLP/HTTP exporter")
        };
        let builder = traced::builder();
        let builder = match exporter.as_str() {
            "otlp" => builder.with_exporter(otlp(OtlpProtocol::HttpProtobuf)),
            "otlp-json" => builder.with_exporter(otlp(OtlpProtocol::HttpJson)),
            "zipkin" => builder.with_exporter(
                ZipkinExporter::new(
                    &format!("http://127.0.0.1:{}/api/v2/spans", receiver.port),
                    Duration::from_secs(10),
                )
                .expect("a Zipkin exporter"),
            ),
            "jsonl" => builder.with_exporter(OtlpJsonLinesExporter::with_writer(std::io::sink())),
            "tree" => builder.with_exporter(TreeExporter::with_writer(std::io::sink())),
            _ => builder.with_exporter(ConsoleExporter::with_writer(std::io::sink())),
        };
        let guard = builder
            .with_batch_processor(BatchConfig {
                max_queue_size: QUEUE_SIZE,
                ..BatchConfig::default()
            })
            .install();
        for _ in 0..iterations {
            black_box(peer.run(scenario.work()));
        }
        let stats = guard.shutdown();
        // The receiver decodes and counts protobuf; the other exporters' counts are the
        // pipeline's.
        let decoded = receiver.spans.load(std::sync::atomic::Ordering::SeqCst);
        println!(
            "delivered {} (decoded by the receiver {decoded}, dropped {}, failed {})",
            stats.exported, stats.dropped, stats.failed
        );
        return;
    }
    let pipeline = peer.pipeline();
    for _ in 0..iterations {
        black_box(peer.run(scenario.work()));
    }
    pipeline.flush();
    println!("delivered {}", pipeline.delivered());
}
