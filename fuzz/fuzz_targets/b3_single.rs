//! B3 single header: the input is the `b3` field; extract, inject and extract again agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traced::propagation::Propagator;

fuzz_target!(|data: &[u8]| {
    let headers = traced_fuzz::fields(data, |i| (i == 0).then_some("b3"));
    traced_fuzz::assert_round_trip(&[Propagator::B3], &headers);
});
