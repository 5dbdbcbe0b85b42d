//! One peer, one scenario, for a profiler: `valgrind --tool=callgrind
//! target/release/profile traced_attribute root_100_children 2000` counts the
//! instructions of 2000 iterations (and of the pipeline's setup and flush,
//! which callgrind's per-function view separates).
//!
//! Arguments: a peer id and a scenario id as in the criterion benchmark ids
//! (`traced_attribute`, `fastrace`, `tracing_bridge`, …; `root_100_children`, `3_attributes`, …), and
//! the iterations (default 1000). Prints the spans delivered.

use std::hint::black_box;

use traced_benches::{Peer, Scenario};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: profile PEER SCENARIO [ITERATIONS]";
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
    let pipeline = peer.pipeline();
    for _ in 0..iterations {
        black_box(peer.run(scenario.work()));
    }
    pipeline.flush();
    println!("delivered {}", pipeline.delivered());
}
