//! The propagation formats in use, as `inject` and `extract` read them.

use std::sync::atomic::{AtomicU16, Ordering};

use crate::model::{encode_propagators, Propagator};

/// The formats in use, in the order given: one 4-bit code each
/// (`Propagator::code`), the first in the lowest bits; `tracecontext,baggage`
/// until set otherwise.
static ENABLED: AtomicU16 = AtomicU16::new(encode_propagators(&[
    Propagator::TraceContext,
    Propagator::Baggage,
]));

/// Sets the formats in use: by the installed pipeline's one publishing
/// function, or by `propagation::set_propagators`.
pub(crate) fn set_propagators(propagators: &[Propagator]) {
    ENABLED.store(encode_propagators(propagators), Ordering::Relaxed);
}

/// The formats in use, in order.
pub(crate) fn enabled_propagators() -> impl Iterator<Item = Propagator> {
    let mut bits = ENABLED.load(Ordering::Relaxed);
    std::iter::from_fn(move || {
        let propagator = Propagator::from_code(bits & 0xF)?;
        bits >>= 4;
        Some(propagator)
    })
}
