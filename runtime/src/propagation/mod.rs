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
mod traceparent;
mod tracestate;

use opentelemetry::trace::SpanContext;

pub use carrier::{Extract, Inject, OtelExtractor, OtelInjector};

use crate::context::SpanCtx;
use crate::model::{self, BaggageMember, Carried, CarriedRef};
use crate::span::{AsSpanRef, SpanRef};

pub use crate::model::Propagator;

/// Chooses the formats [`inject`] writes and [`extract`] reads, in order:
/// when headers of several formats name different parents, the first format
/// in the list that finds a valid one wins (an empty list disables
/// propagation). `traced::init()` sets them from `OTEL_PROPAGATORS`.
pub fn set_propagators(propagators: &[Propagator]) {
    crate::collector::set_propagators(propagators);
}

/// The formats in use, in order.
fn enabled() -> impl Iterator<Item = Propagator> {
    crate::collector::enabled_propagators()
}

fn is_enabled(propagator: Propagator) -> bool {
    enabled().any(|p| p == propagator)
}

/// What [`extract`] found in a carrier: the remote parent span (if any
/// header named a valid one), its trace state, and the baggage.
///
/// Use it as a parent: `#[traced(parent = remote)]`,
/// `span!("name", parent: remote, ..)`. The span opened under it, and
/// everything that runs in that span's context, carries this request's
/// trace state and baggage, and only this request's: [`inject`] passes
/// them on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Remote {
    ctx: Option<SpanCtx>,
    carried: CarriedRef,
}

impl Remote {
    /// The remote span context (ids, flags, trace state); invalid when the
    /// carrier had none (or only malformed headers).
    pub fn span_context(&self) -> SpanContext {
        self.ctx.map_or_else(SpanContext::empty_context, |ctx| {
            model::to_otel(ctx, &self.carried)
        })
    }

    /// Whether a valid remote span was found.
    pub fn is_valid(&self) -> bool {
        self.ctx.is_some()
    }

    /// The baggage that came with it.
    pub fn baggage(&self) -> crate::model::Baggage {
        crate::model::Baggage::of(&self.carried)
    }

    /// The value of baggage entry `key`.
    pub fn baggage_value(&self, key: &str) -> Option<&str> {
        self.carried.as_deref()?.baggage_value(key)
    }
}

impl AsSpanRef for Remote {
    /// The remote span, with the trace state and baggage that came with it.
    fn as_span_ref(&self) -> SpanRef {
        SpanRef {
            ctx: self.ctx,
            carried: self.carried.clone(),
        }
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
/// first format that finds a valid span wins. Baggage is read whether or
/// not a span is found.
pub fn extract(carrier: &impl Extract) -> Remote {
    // Most requests carry no propagation header: then nothing below would find anything.
    if !carrier.may_contain(is_read_by_extract) {
        return Remote::default();
    }
    let mut ctx = None;
    let mut brought = Carried::default();
    for propagator in enabled() {
        match propagator {
            Propagator::TraceContext if ctx.is_none() => {
                if let Some((found, trace_state)) = extract_trace_context(carrier) {
                    ctx = Some(found);
                    brought.trace_state = trace_state;
                }
            }
            Propagator::B3 | Propagator::B3Multi if ctx.is_none() => {
                if let Some((found, debug)) = extract_b3(carrier) {
                    ctx = Some(found);
                    brought.b3_debug = debug;
                }
            }
            Propagator::Baggage => {
                let parsed = baggage::Baggage::parse_all(&carrier.get_all("baggage"));
                brought.baggage = parsed.into_entries();
            }
            _ => {}
        }
    }
    Remote {
        ctx,
        carried: brought.into_ref(),
    }
}

/// Whether `extract` may read header `name` (lowercase), whatever the formats: `tracestate` is
/// only read with a `traceparent`.
fn is_read_by_extract(name: &str) -> bool {
    name == "traceparent"
        || name == "baggage"
        || name == b3::SINGLE_HEADER
        || name.starts_with("x-b3-")
}

/// The parent a `traceparent` names, and the `tracestate` entries with it.
fn extract_trace_context(carrier: &impl Extract) -> Option<(SpanCtx, Vec<(String, String)>)> {
    // More than one `traceparent` cannot be told apart: restart the trace
    // (as the W3C test suite expects).
    if carrier.is_repeated("traceparent") {
        return None;
    }
    let parent = traceparent::TraceParent::parse(carrier.get("traceparent")?)?;
    // The trace state is only read with a valid traceparent; an invalid
    // one is dropped whole.
    let state = tracestate::TraceState::parse_all(&carrier.get_all("tracestate"))
        .map(|state| {
            state
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let flags = parent.flags & traceparent::KNOWN_FLAGS;
    let ctx = SpanCtx {
        trace_id: parent.trace_id,
        span_id: parent.span_id,
        sampled: flags & model::FLAG_SAMPLED != 0,
        remote: true,
        random: flags & model::FLAG_RANDOM != 0,
    };
    Some((ctx, state))
}

/// The parent B3 headers name, and whether they carry the debug flag.
fn extract_b3(carrier: &impl Extract) -> Option<(SpanCtx, bool)> {
    let parsed = match carrier.get(b3::SINGLE_HEADER) {
        Some(single) => b3::parse_single(single),
        None => b3::parse_multi(|name| carrier.get(name)),
    };
    let Some(b3::B3Parsed::Context(b3)) = parsed else {
        return None;
    };
    // A deferred decision is made here, by the local sampler, as for a root.
    let sampled = b3.sampling.sampled().unwrap_or_else(|| {
        let mode = crate::collector::mode();
        !mode.is_off() && crate::collector::sample(mode.sampler(), None, b3.trace_id)
    });
    let ctx = SpanCtx {
        trace_id: b3.trace_id,
        span_id: b3.span_id,
        sampled,
        remote: true,
        random: false,
    };
    Some((ctx, b3.sampling == b3::B3Sampling::Debug))
}

/// Writes the current span into `carrier` with the enabled formats: its
/// ids and flags, the trace state and baggage of its context (what its
/// request brought, with what this process changed); writes nothing when no
/// span is current.
///
/// With no pipeline installed, a span opened under an extracted parent
/// (`parent = headers`) carries that parent through, so this passes the
/// caller's trace on unchanged.
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
    let ctx = crate::context::current::current();
    inject_parts(ctx, &crate::context::current::carried(), carrier);
}

/// Writes the span named by `span` into `carrier` with the enabled formats,
/// with the trace state and baggage its context carries.
pub fn inject_span(span: &impl AsSpanRef, carrier: &mut impl Inject) {
    let span = span.as_span_ref();
    inject_parts(span.ctx, &span.carried, carrier);
}

fn inject_parts(ctx: Option<SpanCtx>, data: &CarriedRef, carrier: &mut impl Inject) {
    for propagator in enabled() {
        match (propagator, ctx) {
            (Propagator::TraceContext, Some(ctx)) => {
                let parent = traceparent::TraceParent {
                    trace_id: ctx.trace_id,
                    span_id: ctx.span_id,
                    flags: ctx.flags(),
                };
                carrier.set("traceparent", parent.format());
                if let Some(c) = data.as_deref().filter(|c| !c.trace_state.is_empty()) {
                    carrier.set("tracestate", format_trace_state(&c.trace_state));
                }
            }
            (Propagator::B3 | Propagator::B3Multi, Some(ctx)) => {
                let b3 = b3::B3 {
                    trace_id: ctx.trace_id,
                    span_id: ctx.span_id,
                    sampling: if ctx.sampled {
                        // B3 requires a received debug flag to be passed on.
                        if data.as_deref().is_some_and(|c| c.b3_debug) {
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
            (Propagator::Baggage, _) => {
                if let Some(c) = data.as_deref() {
                    write_baggage(&c.baggage, carrier);
                }
            }
            _ => {}
        }
    }
}

/// The `tracestate` header of `entries`.
fn format_trace_state(entries: &[(String, String)]) -> String {
    let mut header = String::new();
    for (key, value) in entries {
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(key);
        header.push('=');
        header.push_str(value);
    }
    header
}

/// Adds baggage entries to the current context and writes its baggage into
/// `carrier` (W3C Baggage, percent-encoded), when the baggage format is
/// enabled: the entries the context carries (those that came with its
/// request, and those set in this process), then these (an entry replaces
/// one with the same key). The entries stay in the current context until
/// the current span ends, so later [`inject`] calls in it write them too
/// and the order of `inject` and `inject_baggage` does not matter; for a
/// scope of your own, use `traced::baggage::scope`. With no current span,
/// only these entries are written. Entries that are invalid or over the
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
    let mut all = Carried::of(&crate::context::current::carried());
    let mut added = Carried::default();
    for (key, value) in entries {
        all.set_baggage(key, value, "");
        added.set_baggage(key, value, "");
    }
    if let Some(ctx) = crate::context::current::current() {
        // Kept in the current span's context (a no-op on a context that is
        // not a span's: then only this carrier gets them).
        let _ = crate::context::current::update_carried(ctx.span_id, |carried| {
            for member in &added.baggage {
                carried.set_baggage(&member.key, &member.value, "");
            }
        });
    }
    write_baggage(&all.baggage, carrier);
}

/// Writes `entries` as the `baggage` header (nothing when none is valid).
fn write_baggage(entries: &[BaggageMember], carrier: &mut impl Inject) {
    let mut baggage = baggage::Baggage::default();
    for member in entries {
        baggage.push(&member.key, &member.value, &member.properties);
    }
    if !baggage.is_empty() {
        carrier.set("baggage", baggage.format());
    }
}
