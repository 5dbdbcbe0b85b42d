//! W3C `baggage`: every line of the input is one `baggage` field; extract, inject and extract
//! again agree, and what is written stays within the specification's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traced::propagation::{self, Propagator};

fuzz_target!(|data: &[u8]| {
    let headers = traced_fuzz::fields(data, |_| Some("baggage"));
    traced_fuzz::assert_round_trip(&[Propagator::Baggage], &headers);
    let mut written = Vec::new();
    propagation::inject_span(&propagation::extract(&headers), &mut written);
    for (_, value) in &written {
        assert!(value.len() <= 8192, "{} bytes of baggage", value.len());
        assert!(value.split(',').count() <= 180, "{value:?}");
    }
});
