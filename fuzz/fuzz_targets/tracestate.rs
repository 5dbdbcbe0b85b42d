//! `tracestate`: a valid `traceparent`, and every line of the input as one `tracestate` field;
//! extract, inject and extract again agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traced::propagation::Propagator;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fuzz_target!(|data: &[u8]| {
    let mut headers = vec![("traceparent".to_owned(), PARENT.to_owned())];
    headers.extend(traced_fuzz::fields(data, |_| Some("tracestate")));
    traced_fuzz::assert_round_trip(&[Propagator::TraceContext], &headers);
});
