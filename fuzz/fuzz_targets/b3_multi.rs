//! B3 multi header: the input's lines are `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`,
//! `X-B3-Flags` and `X-B3-ParentSpanId`, in that order; extract, inject and extract again agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traced::propagation::Propagator;

const NAMES: [&str; 5] = [
    "X-B3-TraceId",
    "X-B3-SpanId",
    "X-B3-Sampled",
    "X-B3-Flags",
    "X-B3-ParentSpanId",
];

fuzz_target!(|data: &[u8]| {
    let headers = traced_fuzz::fields(data, |i| NAMES.get(i).copied());
    traced_fuzz::assert_round_trip(&[Propagator::B3Multi], &headers);
});
