//! traced's own span model, at the bottom of the runtime: plain data and the
//! operations on it, with no statics and no `opentelemetry_sdk`.
//!
//! Everything above uses it; it uses nothing above it.

mod baggage;
mod context;
mod otel;

pub(crate) use baggage::valid_key as valid_baggage_key;
pub use baggage::Baggage;
pub(crate) use context::{
    valid_trace_state_key, valid_trace_state_value, BaggageMember, Carried, CarriedRef, SpanCtx,
    FLAG_RANDOM, FLAG_SAMPLED, MAX_TRACE_STATE,
};
pub(crate) use otel::{from_otel, to_otel};
