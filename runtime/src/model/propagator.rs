//! The propagation formats.

/// A propagation format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagator {
    /// W3C Trace Context: `traceparent` and `tracestate`.
    TraceContext,
    /// W3C Baggage: `baggage`.
    Baggage,
    /// B3 single header: `b3`.
    B3,
    /// B3 multiple headers: `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`.
    B3Multi,
}

impl Propagator {
    /// The propagator's 4-bit code, 1 to 4.
    pub(crate) const fn code(self) -> u16 {
        match self {
            Propagator::TraceContext => 1,
            Propagator::Baggage => 2,
            Propagator::B3 => 3,
            Propagator::B3Multi => 4,
        }
    }

    pub(crate) const fn from_code(code: u16) -> Option<Propagator> {
        match code {
            1 => Some(Propagator::TraceContext),
            2 => Some(Propagator::Baggage),
            3 => Some(Propagator::B3),
            4 => Some(Propagator::B3Multi),
            _ => None,
        }
    }

    /// The propagator named as in `OTEL_PROPAGATORS`.
    pub fn from_name(name: &str) -> Option<Propagator> {
        match name.trim().to_ascii_lowercase().as_str() {
            "tracecontext" => Some(Propagator::TraceContext),
            "baggage" => Some(Propagator::Baggage),
            "b3" => Some(Propagator::B3),
            "b3multi" => Some(Propagator::B3Multi),
            _ => None,
        }
    }
}

/// The order of `propagators`, each once, as 4-bit codes, the first in the
/// lowest bits.
pub(crate) const fn encode(propagators: &[Propagator]) -> u16 {
    let mut bits = 0u16;
    let mut shift = 0;
    let mut i = 0;
    while i < propagators.len() {
        let code = propagators[i].code();
        let mut seen = false;
        let mut j = 0;
        while j < shift {
            if (bits >> j) & 0xF == code {
                seen = true;
            }
            j += 4;
        }
        if !seen {
            bits |= code << shift;
            shift += 4;
        }
        i += 1;
    }
    bits
}
