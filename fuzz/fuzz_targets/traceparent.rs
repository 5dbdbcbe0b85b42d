//! `traceparent`: every line of the input is one `traceparent` field (several lines test the
//! rule that repeated fields restart the trace); extract, inject and extract again agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traced::propagation::Propagator;

fuzz_target!(|data: &[u8]| {
    let headers = traced_fuzz::fields(data, |_| Some("traceparent"));
    traced_fuzz::assert_round_trip(&[Propagator::TraceContext], &headers);
});
