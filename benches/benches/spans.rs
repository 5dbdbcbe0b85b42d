//! Every scenario with every peer's pipeline installed, timed two ways:
//! `calling_thread` (the instrumented work alone, per thread) and
//! `whole_process` (until a flush has delivered every span to the counting
//! exporter). Throughput is in spans: per thread for `calling_thread`, in
//! all for `whole_process`. The `bridges_*` groups put the bridge peers
//! beside the pipelines they replace.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use traced_benches::{measure, Measurement, Peer, Scenario};

/// Says once per peer and scenario how many measurements did not find
/// every span at the exporter after their flush: spans dropped (traced
/// counts them) or delivered late (after the flush returned).
#[derive(Default)]
struct Losses {
    measurements: u64,
    incomplete: u64,
    created: u64,
    delivered: u64,
    dropped: u64,
}

impl Losses {
    fn record(&mut self, measured: &Measurement) {
        self.measurements += 1;
        if !measured.all_delivered() {
            self.incomplete += 1;
        }
        self.created += measured.created;
        self.delivered += measured.delivered;
        self.dropped += measured.dropped.unwrap_or(0);
    }

    fn report(self, peer: Peer, scenario: Scenario) {
        if self.incomplete > 0 {
            eprintln!(
                "warning: {peer}, {scenario}: in {} of {} measurements not every span had reached the exporter when the flush returned ({} delivered of {} created in all; {} reported dropped)",
                self.incomplete, self.measurements, self.delivered, self.created, self.dropped
            );
        }
    }
}

fn spans(c: &mut Criterion) {
    for scenario in Scenario::ALL {
        let mut group = c.benchmark_group(scenario.id());
        for peer in Peer::ALL {
            bench(&mut group, peer, scenario);
        }
        group.finish();
    }
}

/// The bridges (`tracing` spans into traced, OpenTelemetry-API spans on
/// traced's provider) beside the pipelines they replace, in groups
/// `bridges_<scenario>`.
fn bridges(c: &mut Criterion) {
    for scenario in Peer::BRIDGE_SCENARIOS {
        let mut group = c.benchmark_group(format!("bridges_{}", scenario.id()));
        for peer in Peer::BRIDGES {
            bench(&mut group, peer, scenario);
        }
        group.finish();
    }
}

fn bench(group: &mut BenchmarkGroup<'_, WallTime>, peer: Peer, scenario: Scenario) {
    let mut losses = Losses::default();
    group.throughput(Throughput::Elements(scenario.work().spans()));
    group.bench_function(BenchmarkId::new("calling_thread", peer.id()), |b| {
        b.iter_custom(|iterations| {
            let measured = measure(peer, scenario, iterations);
            losses.record(&measured);
            measured.calling
        });
    });
    group.throughput(Throughput::Elements(scenario.spans()));
    group.bench_function(BenchmarkId::new("whole_process", peer.id()), |b| {
        b.iter_custom(|iterations| {
            let measured = measure(peer, scenario, iterations);
            losses.record(&measured);
            measured.process
        });
    });
    losses.report(peer, scenario);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = spans, bridges
}
criterion_main!(benches);
