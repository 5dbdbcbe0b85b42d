//! traced's own span model, at the bottom of the runtime: plain data and the
//! operations on it, with no statics and no `opentelemetry_sdk`.
//!
//! Everything above uses it; it uses nothing above it.

mod annotations;
pub(crate) mod attributes;
mod baggage;
mod context;
mod limits;
mod otel;
mod propagator;
mod record;
mod site;
mod type_name;
mod value;

pub(crate) use annotations::{Annotations, AnnotationsBox};
pub(crate) use attributes::{set as set_attribute, InlineAttributes};
pub(crate) use baggage::valid_key as valid_baggage_key;
pub use baggage::Baggage;
pub(crate) use context::{
    valid_trace_state_key, valid_trace_state_value, BaggageMember, Carried, CarriedRef, SpanCtx,
    FLAG_RANDOM, FLAG_SAMPLED, MAX_TRACE_STATE,
};
pub use limits::SpanLimits;
pub(crate) use limits::{to_usize, RecordingLimits, DEFAULT_COUNT};
pub(crate) use otel::{from_otel, to_otel};
pub(crate) use propagator::encode as encode_propagators;
pub use propagator::Propagator;
pub(crate) use record::{RecordHead, SpanRecord};
pub use site::{Kind, Site};
pub(crate) use type_name::readable_type_name;
pub use value::{ArrayItem, ToValue};
