//! End to end, the criterion view of `--bin e2e`: 1 root + 100 children
//! for each peer exporting OTLP/HTTP protobuf (each with its own stack's
//! exporter, a queue of 65 536 spans) to a receiver process on 127.0.0.1
//! (`e2e --receiver`), timed two ways: `calling_thread` (the loop alone)
//! and `delivered` (until the peer's flush has sent every span). All four
//! pipelines live in this one process, so `--bin e2e`, one process per
//! peer, is the one that gives each peer's whole-process CPU.
//! Throughput is in spans.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use traced_benches::{Peer, ReceiverProcess, Work};

/// The queue size every peer with a queue gets.
const QUEUE: usize = 65_536;

fn e2e(c: &mut Criterion) {
    let program = env!("CARGO_BIN_EXE_e2e");
    let receiver =
        ReceiverProcess::spawn(program.as_ref(), &["--receiver"]).expect("the receiver process");
    let work = Work::RootChildren;
    let mut group = c.benchmark_group("e2e_otlp_root_100_children");
    group.throughput(Throughput::Elements(work.spans()));
    for peer in Peer::OTLP {
        let pipeline = peer
            .install_otlp(&receiver.endpoint(), Some(QUEUE))
            .expect("an OTLP peer");
        let before = receiver.spans().expect("the receiver's count");
        let mut created = 0;
        let mut roots = |iterations: u64, timed_flush: bool| {
            let start = Instant::now();
            for _ in 0..iterations {
                black_box(peer.run(work));
            }
            let calling = start.elapsed();
            let flushed = pipeline.flush();
            assert!(flushed, "{peer}: the flush failed");
            created += iterations * work.spans();
            if timed_flush {
                start.elapsed()
            } else {
                calling
            }
        };
        group.bench_function(BenchmarkId::new("calling_thread", peer.id()), |b| {
            b.iter_custom(|iterations| roots(iterations, false));
        });
        group.bench_function(BenchmarkId::new("delivered", peer.id()), |b| {
            b.iter_custom(|iterations| roots(iterations, true));
        });
        let arrived = traced_benches::receiver::wait_for(
            receiver.port,
            before + created,
            Duration::from_millis(500),
            Duration::from_secs(10),
        )
        .expect("the receiver's count")
            - before;
        if arrived != created {
            eprintln!("warning: {peer}: {arrived} of {created} spans arrived");
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = e2e
}
criterion_main!(benches);
