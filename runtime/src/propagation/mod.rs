//! Context propagation across processes: W3C Trace Context (`traceparent`,
//! `tracestate`), W3C Baggage, and B3 (single `b3` header and multi
//! `X-B3-*` headers).
//!
//! ```
//! use std::collections::HashMap;
//!
//! use traced::{propagation, span, traced};
//!
//! // Client side: put the current span into the outgoing request's headers.
//! let mut headers = HashMap::new();
//! span!("call inventory", kind: client, {
//!     propagation::inject(&mut headers);
//! });
//!
//! // Server side: continue the caller's trace.
//! #[traced(kind = server, parent = propagation::extract(&headers))]
//! fn handle(headers: &HashMap<String, String>) {}
//! handle(&headers);
//! ```
//!
//! Which formats are written and read is set by `OTEL_PROPAGATORS`
//! (`tracecontext`, `baggage`, `b3`, `b3multi`, `none`; default
//! `tracecontext,baggage`) or [`set_propagators`]. Malformed headers are
//! ignored as the specifications require: the service starts a new trace.
//! Nothing here panics or returns an error.

mod b3;
mod baggage;
mod carrier;
mod state;
mod traceparent;
mod tracestate;

use std::sync::atomic::{AtomicU16, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

pub use carrier::{Extract, Inject, OtelExtractor, OtelInjector};
pub(crate) use state::{of as trace_state_of, remember as remember_trace_state};
pub(crate) use traceparent::FLAG_RANDOM;

use crate::context::SpanCtx;
use crate::span::{AsSpanRef, SpanRef};

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
    /// The propagator's code in [`ENABLED`], 1 to 4.
    const fn code(self) -> u16 {
        match self {
            Propagator::TraceContext => 1,
            Propagator::Baggage => 2,
            Propagator::B3 => 3,
            Propagator::B3Multi => 4,
        }
    }

    const fn from_code(code: u16) -> Option<Propagator> {
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

/// The formats in use, in the order given: one 4-bit code each
/// ([`Propagator::code`]), the first in the lowest bits; `tracecontext,baggage`
/// until set otherwise.
static ENABLED: AtomicU16 =
    AtomicU16::new(encode(&[Propagator::TraceContext, Propagator::Baggage]));

/// The order of `propagators`, each once, as [`ENABLED`] keeps it.
const fn encode(propagators: &[Propagator]) -> u16 {
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

/// Chooses the formats [`inject`] writes and [`extract`] reads, in order:
/// when headers of several formats name different parents, the first format
/// in the list that finds a valid one wins (an empty list disables
/// propagation). `traced::init()` sets them from `OTEL_PROPAGATORS`.
pub fn set_propagators(propagators: &[Propagator]) {
    ENABLED.store(encode(propagators), Ordering::Relaxed);
}

/// The formats in use, in order.
fn enabled() -> impl Iterator<Item = Propagator> {
    let mut bits = ENABLED.load(Ordering::Relaxed);
    std::iter::from_fn(move || {
        let propagator = Propagator::from_code(bits & 0xF)?;
        bits >>= 4;
        Some(propagator)
    })
}

fn is_enabled(propagator: Propagator) -> bool {
    enabled().any(|p| p == propagator)
}

/// The trace flags of a span context: sampled, and the level 2 random flag.
pub(crate) fn trace_flags(ctx: SpanCtx) -> TraceFlags {
    let mut flags = 0;
    if ctx.sampled {
        flags |= traceparent::FLAG_SAMPLED;
    }
    if ctx.random {
        flags |= traceparent::FLAG_RANDOM;
    }
    TraceFlags::new(flags)
}

/// What [`extract`] found in a carrier: the remote parent span (if any
/// header named a valid one) and the baggage.
///
/// Use it as a parent: `#[traced(parent = remote)]`,
/// `span!("name", parent: remote, ..)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Remote {
    span_context: Option<SpanContext>,
    /// Key, value and properties (opaque, passed on as they came).
    baggage: Vec<(String, String, String)>,
}

impl Remote {
    /// The remote span context; invalid when the carrier had none (or only
    /// malformed headers).
    pub fn span_context(&self) -> SpanContext {
        self.span_context
            .clone()
            .unwrap_or_else(SpanContext::empty_context)
    }

    /// Whether a valid remote span was found.
    pub fn is_valid(&self) -> bool {
        self.span_context.is_some()
    }

    /// The baggage entries (key, value), in order.
    pub fn baggage(&self) -> impl Iterator<Item = (&str, &str)> {
        self.baggage
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
    }

    /// The value of baggage entry `key`.
    pub fn baggage_value(&self, key: &str) -> Option<&str> {
        self.baggage
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }
}

impl AsSpanRef for Remote {
    /// The remote span; its baggage is remembered for its trace, so that
    /// [`inject`] from spans of that trace passes it on.
    fn as_span_ref(&self) -> SpanRef {
        let span = self.span_context().as_span_ref();
        if let Some(ctx) = span.ctx {
            state::remember_baggage(ctx.trace_id, &self.baggage);
        }
        span
    }
}

impl AsSpanRef for http::HeaderMap {
    fn as_span_ref(&self) -> SpanRef {
        extract(self).as_span_ref()
    }
}

impl<S: std::hash::BuildHasher> AsSpanRef for std::collections::HashMap<String, String, S> {
    fn as_span_ref(&self) -> SpanRef {
        extract(self).as_span_ref()
    }
}

/// Reads the remote context from `carrier` with the enabled formats; the
/// first format that finds a valid span wins.
pub fn extract(carrier: &impl Extract) -> Remote {
    let mut remote = Remote::default();
    for propagator in enabled() {
        match propagator {
            Propagator::TraceContext if remote.span_context.is_none() => {
                remote.span_context = extract_trace_context(carrier);
            }
            Propagator::B3 | Propagator::B3Multi if remote.span_context.is_none() => {
                remote.span_context = extract_b3(carrier);
            }
            Propagator::Baggage => {
                let parsed = baggage::Baggage::parse_all(&carrier.get_all("baggage"));
                remote.baggage = parsed
                    .entries()
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone(), e.properties.clone()))
                    .collect();
            }
            _ => {}
        }
    }
    remote
}

fn extract_trace_context(carrier: &impl Extract) -> Option<SpanContext> {
    // More than one `traceparent` cannot be told apart: restart the trace
    // (as the W3C test suite expects).
    if carrier.is_repeated("traceparent") {
        return None;
    }
    let parent = traceparent::TraceParent::parse(carrier.get("traceparent")?)?;
    // The trace state is only read with a valid traceparent; an invalid
    // one is dropped whole.
    let state = tracestate::TraceState::parse_all(&carrier.get_all("tracestate"))
        .and_then(|state| TraceState::from_key_value(state.iter()).ok())
        .unwrap_or_default();
    Some(SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.span_id),
        TraceFlags::new(parent.flags & traceparent::KNOWN_FLAGS),
        true,
        state,
    ))
}

fn extract_b3(carrier: &impl Extract) -> Option<SpanContext> {
    let parsed = match carrier.get(b3::SINGLE_HEADER) {
        Some(single) => b3::parse_single(single),
        None => b3::parse_multi(|name| carrier.get(name)),
    };
    let Some(b3::B3Parsed::Context(b3)) = parsed else {
        return None;
    };
    if b3.sampling == b3::B3Sampling::Debug {
        state::remember_debug(b3.trace_id);
    }
    // A deferred decision is made here, by the local sampler, as for a root.
    let sampled = b3.sampling.sampled().unwrap_or_else(|| {
        let mode = crate::pipeline::mode();
        !mode.is_off() && crate::pipeline::sample(mode.sampler(), None, b3.trace_id)
    });
    Some(SpanContext::new(
        TraceId::from(b3.trace_id),
        SpanId::from(b3.span_id),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    ))
}

/// Writes the current span into `carrier` with the enabled formats; writes
/// nothing when no span is current.
///
/// With no pipeline installed, a span opened under an extracted parent
/// (`parent = headers`) carries that parent through, so this passes the
/// caller's trace on unchanged. The baggage that came with an extracted
/// parent is remembered for its trace (the last 1024 traces) and written
/// again here, when the baggage format is enabled; [`inject_baggage`] adds
/// entries of your own.
///
/// ```
/// use std::collections::HashMap;
/// use traced::propagation::{extract, inject};
///
/// let incoming = HashMap::from([
///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
///     ("baggage".to_owned(), "tenant=acme".to_owned()),
/// ]);
/// let mut outgoing = HashMap::new();
/// traced::span!("handle", kind: server, parent: extract(&incoming), {
///     inject(&mut outgoing);
/// });
/// assert_eq!(outgoing["baggage"], "tenant=acme");
/// ```
pub fn inject(carrier: &mut impl Inject) {
    inject_span(&crate::Span::current(), carrier);
}

/// Writes the span named by `span` into `carrier` with the enabled formats.
pub fn inject_span(span: &impl AsSpanRef, carrier: &mut impl Inject) {
    let Some(ctx) = span.as_span_ref().ctx else {
        return;
    };
    for propagator in enabled() {
        match propagator {
            Propagator::TraceContext => {
                let parent = traceparent::TraceParent {
                    trace_id: ctx.trace_id,
                    span_id: ctx.span_id,
                    flags: trace_flags(ctx).to_u8(),
                };
                carrier.set("traceparent", parent.format());
                let state = state::of(ctx.trace_id).header();
                if !state.is_empty() {
                    carrier.set("tracestate", state);
                }
            }
            Propagator::B3 | Propagator::B3Multi => {
                let b3 = b3::B3 {
                    trace_id: ctx.trace_id,
                    span_id: ctx.span_id,
                    sampling: if ctx.sampled {
                        // B3 requires a received debug flag to be passed on.
                        if state::is_debug(ctx.trace_id) {
                            b3::B3Sampling::Debug
                        } else {
                            b3::B3Sampling::Accept
                        }
                    } else {
                        b3::B3Sampling::Deny
                    },
                };
                if propagator == Propagator::B3 {
                    carrier.set(b3::SINGLE_HEADER, b3::format_single(&b3));
                } else {
                    for (name, value) in b3::format_multi(&b3) {
                        carrier.set(name, value);
                    }
                }
            }
            Propagator::Baggage => {
                if let Some(entries) = state::baggage_of(ctx.trace_id) {
                    write_baggage(&entries, carrier);
                }
            }
        }
    }
}

/// Adds baggage entries to the current trace and writes its baggage into
/// `carrier` (W3C Baggage, percent-encoded), when the baggage format is
/// enabled: the entries that came with the trace's remote parent, then
/// these (an entry replaces one with the same key). Later [`inject`] calls
/// from spans of the trace write them too, so the order of `inject` and
/// `inject_baggage` does not matter. With no current span, only these
/// entries are written. Entries that are invalid or over the
/// specification's limits are left out.
///
/// ```
/// use std::collections::HashMap;
/// use traced::propagation::{extract, inject, inject_baggage};
///
/// let incoming = HashMap::from([
///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
///     ("baggage".to_owned(), "tenant=acme".to_owned()),
/// ]);
/// let mut outgoing = HashMap::new();
/// traced::span!("handle", kind: server, parent: extract(&incoming), {
///     inject_baggage([("user", "u1")], &mut outgoing);
///     inject(&mut outgoing);
/// });
/// assert_eq!(outgoing["baggage"], "tenant=acme,user=u1");
/// ```
pub fn inject_baggage<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    carrier: &mut impl Inject,
) {
    if !is_enabled(Propagator::Baggage) {
        return;
    }
    let trace = crate::Span::current()
        .as_span_ref()
        .ctx
        .map(|ctx| ctx.trace_id);
    let mut all: Vec<(String, String, String)> = trace
        .and_then(state::baggage_of)
        .map(|known| known.to_vec())
        .unwrap_or_default();
    for (key, value) in entries {
        match all.iter_mut().find(|(k, _, _)| k == key) {
            Some(entry) => *entry = (key.to_owned(), value.to_owned(), String::new()),
            None => all.push((key.to_owned(), value.to_owned(), String::new())),
        }
    }
    if let Some(trace) = trace {
        state::remember_baggage(trace, &all);
    }
    write_baggage(&all, carrier);
}

/// Writes `entries` (key, value, properties) as the `baggage` header
/// (nothing when none is valid).
fn write_baggage(entries: &[(String, String, String)], carrier: &mut impl Inject) {
    let mut baggage = baggage::Baggage::default();
    for (key, value, properties) in entries {
        baggage.push(key, value, properties);
    }
    if !baggage.is_empty() {
        carrier.set("baggage", baggage.format());
    }
}
