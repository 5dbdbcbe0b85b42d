//! One peer, one scenario, for a profiler: `valgrind --tool=callgrind
//! target/release/profile traced_attribute root_100_children 2000` counts the
//! instructions of 2000 iterations (and of the pipeline's setup and flush,
//! which callgrind's per-function view separates).
//!
//! Arguments: a peer id and a scenario id as in the criterion benchmark ids
//! (`traced_attribute`, `fastrace`, `tracing_bridge`, …; `root_100_children`, `3_attributes`, …), and
//! the iterations (default 1000). Prints the spans delivered.
//!
//! With `--otlp` last (traced's peers only), the pipeline is traced's OTLP/HTTP protobuf
//! exporter sending to a receiver on 127.0.0.1 that decodes every request (the same batch
//! settings as the counting pipeline), so the send thread's count is that of the real
//! encoding and sending: `profile traced_attribute root_100_children 1000 --otlp`.

use std::hint::black_box;

use traced::export::otlp::OtlpConfig;
use traced::BatchConfig;
use traced_benches::{Peer, Receiver, Scenario, QUEUE_SIZE};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let otlp = args.last().is_some_and(|a| a == "--otlp");
    if otlp {
        args.pop();
    }
    let mut args = args.into_iter();
    let usage = "usage: profile PEER SCENARIO [ITERATIONS] [--otlp]";
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
    if otlp {
        assert!(
            peer.id().starts_with("traced"),
            "--otlp profiles traced's OTLP exporter; {} is not traced",
            peer.id()
        );
        let receiver = Receiver::start();
        let exporter = OtlpConfig {
            endpoint: format!("http://127.0.0.1:{}/v1/traces", receiver.port),
            ..OtlpConfig::default()
        }
        .build_exporter()
        .expect("an OTLP/HTTP exporter");
        let guard = traced::builder()
            .with_exporter(exporter)
            .with_batch_processor(BatchConfig {
                max_queue_size: QUEUE_SIZE,
                ..BatchConfig::default()
            })
            .install();
        for _ in 0..iterations {
            black_box(peer.run(scenario.work()));
        }
        let stats = guard.shutdown();
        let delivered = receiver.spans.load(std::sync::atomic::Ordering::SeqCst);
        println!(
            "delivered {delivered} (dropped {}, failed {})",
            stats.dropped, stats.failed
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
