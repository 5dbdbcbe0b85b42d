//! Instrumented calls with no pipeline installed, beside the un-annotated
//! twin: the cost a library's annotations add when the application traces
//! nothing. Its own binary, because installing a pipeline is process-wide.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use traced_benches::{plain, Peer};

/// Calls `call` with a new argument each time, through a pointer the
/// optimizer cannot see through, as every function of the group is.
fn bench_calls(b: &mut Bencher<'_>, call: fn(i64) -> i64) {
    let call = black_box(call);
    let mut i = 0_i64;
    b.iter(|| {
        i = i.wrapping_add(1);
        call(black_box(i))
    });
}

fn off(c: &mut Criterion) {
    let mut group = c.benchmark_group("off");
    group.bench_function("plain", |b| bench_calls(b, plain));
    for peer in Peer::ALL {
        group.bench_function(peer.id(), |b| bench_calls(b, peer.off_fn()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = off
}
criterion_main!(benches);
