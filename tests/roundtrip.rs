//! `extract(inject(ctx))` gives back every valid context: W3C Trace Context (trace id, span
//! id, sampled and random flags, trace state) with W3C Baggage (members with properties), and
//! what B3 can carry (ids, sampled, denied, debug) in the single and the multi header form.

use std::collections::BTreeMap;

use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use proptest::prelude::*;
use traced::propagation::{self, Propagator};

/// Cases per property: enough to cover every branch of the codecs, quick in a debug build.
const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A `tracestate` key: simple (`lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")`) or
/// multi-tenant (`tenant@system`), kept short.
fn trace_state_key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_*/-]{0,15}(@[a-z][a-z0-9_*/-]{0,8})?"
}

/// A `tracestate` value: printable ASCII but `,` and `=`, not ending in a space.
fn trace_state_value() -> impl Strategy<Value = String> {
    "[!-+\\--<>-~]([ -+\\--<>-~]{0,20}[!-+\\--<>-~])?"
}

/// A baggage key: an RFC 7230 token.
fn baggage_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$&'*+.^_`|~-]{1,12}"
}

/// Baggage properties in the form a context keeps them: `k1=v1;k2`.
fn baggage_properties() -> impl Strategy<Value = String> {
    let property = (
        "[a-z]{1,6}",
        proptest::option::of("[A-Za-z0-9._~!*'()-]{1,8}"),
    )
        .prop_map(|(key, value)| value.map_or(key.clone(), |value| format!("{key}={value}")));
    proptest::collection::vec(property, 0..3).prop_map(|properties| properties.join(";"))
}

/// A context as an OpenTelemetry `Context`: a remote span with its flags and trace state, and
/// baggage members (any printable Unicode value, with properties).
#[derive(Debug, Clone)]
struct Generated {
    trace_id: u128,
    span_id: u64,
    flags: u8,
    trace_state: Vec<(String, String)>,
    baggage: BTreeMap<String, (String, String)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        1..=u128::MAX,
        1..=u64::MAX,
        0u8..4,
        proptest::collection::btree_map(trace_state_key(), trace_state_value(), 0..8),
        proptest::collection::btree_map(baggage_key(), ("\\PC{0,12}", baggage_properties()), 0..6),
    )
        .prop_map(
            |(trace_id, span_id, flags, trace_state, baggage)| Generated {
                trace_id,
                span_id,
                flags,
                trace_state: trace_state.into_iter().collect(),
                baggage,
            },
        )
}

impl Generated {
    fn span_context(&self) -> SpanContext {
        SpanContext::new(
            TraceId::from(self.trace_id),
            SpanId::from(self.span_id),
            TraceFlags::new(self.flags),
            true,
            TraceState::from_key_value(self.trace_state.clone()).unwrap(),
        )
    }

    fn context(&self) -> opentelemetry::Context {
        let members = (self.baggage.iter())
            .map(|(key, (value, properties))| {
                KeyValueMetadata::new(key.clone(), value.clone(), properties.as_str())
            })
            .collect::<Vec<_>>();
        opentelemetry::Context::new()
            .with_remote_span_context(self.span_context())
            .with_baggage(members)
    }
}

/// The baggage `remote` brought: (key, value, properties), sorted by key.
fn baggage_of(remote: &propagation::Remote) -> BTreeMap<String, (String, String)> {
    let baggage = remote.baggage();
    (baggage.iter())
        .map(|(key, value)| {
            let properties = baggage.properties(key).unwrap_or_default();
            (key.to_owned(), (value.to_owned(), properties.to_owned()))
        })
        .collect()
}

#[test]
fn w3c_trace_context_and_baggage_round_trip_every_valid_context() {
    let _lock = traced_tests::lock();
    propagation::set_propagators(&[Propagator::TraceContext, Propagator::Baggage]);
    proptest!(config(), |(ctx in generated())| {
        let mut headers: Vec<(String, String)> = Vec::new();
        propagation::inject_span(&ctx.context(), &mut headers);
        let remote = propagation::extract(&headers);

        let found = remote.span_context();
        prop_assert!(remote.is_valid(), "{headers:?}");
        prop_assert!(found.is_remote());
        prop_assert_eq!(found.trace_id(), TraceId::from(ctx.trace_id));
        prop_assert_eq!(found.span_id(), SpanId::from(ctx.span_id));
        prop_assert_eq!(found.trace_flags(), TraceFlags::new(ctx.flags));
        prop_assert_eq!(found.is_sampled(), ctx.flags & 1 == 1);
        let sent = ctx.span_context();
        prop_assert_eq!(found.trace_state().header(), sent.trace_state().header());
        prop_assert_eq!(baggage_of(&remote), ctx.baggage.clone());

        // And the extracted context is injected as it came.
        let mut again: Vec<(String, String)> = Vec::new();
        propagation::inject_span(&remote, &mut again);
        headers.sort();
        again.sort();
        prop_assert_eq!(again, headers);
    });
}

/// What B3 carries: ids (a 64-bit trace id too) and the sampling state.
#[derive(Debug, Clone, Copy)]
struct B3Context {
    trace_id: u128,
    span_id: u64,
    /// `0` (deny), `1` (accept) or `d` (debug).
    state: char,
}

fn b3_context() -> impl Strategy<Value = B3Context> {
    let trace_id = prop_oneof![1..=u128::MAX, (1..=u64::MAX).prop_map(u128::from)];
    (
        trace_id,
        1..=u64::MAX,
        prop_oneof![Just('0'), Just('1'), Just('d')],
    )
        .prop_map(|(trace_id, span_id, state)| B3Context {
            trace_id,
            span_id,
            state,
        })
}

impl B3Context {
    /// The headers a B3 sender writes: a 64-bit trace id as 16 hex digits unless `wide`.
    fn headers(self, single: bool, wide: bool) -> Vec<(String, String)> {
        let trace = if self.trace_id <= u128::from(u64::MAX) && !wide {
            format!("{:016x}", self.trace_id)
        } else {
            format!("{:032x}", self.trace_id)
        };
        let span = format!("{:016x}", self.span_id);
        let pair = |name: &str, value: String| (name.to_owned(), value);
        if single {
            return vec![pair("b3", format!("{trace}-{span}-{}", self.state))];
        }
        let mut headers = vec![pair("X-B3-TraceId", trace), pair("X-B3-SpanId", span)];
        headers.push(match self.state {
            'd' => pair("X-B3-Flags", "1".to_owned()),
            state => pair("X-B3-Sampled", state.to_string()),
        });
        headers
    }
}

fn b3_round_trip(propagator: Propagator) {
    let _lock = traced_tests::lock();
    propagation::set_propagators(&[propagator]);
    let single = propagator == Propagator::B3;
    proptest!(config(), |(ctx in b3_context())| {
        let remote = propagation::extract(&ctx.headers(single, false));
        let found = remote.span_context();
        prop_assert!(remote.is_valid());
        prop_assert_eq!(found.trace_id(), TraceId::from(ctx.trace_id));
        prop_assert_eq!(found.span_id(), SpanId::from(ctx.span_id));
        prop_assert_eq!(found.is_sampled(), ctx.state != '0');

        let mut written: Vec<(String, String)> = Vec::new();
        propagation::inject_span(&remote, &mut written);
        // Written with 32-digit trace ids, names lowercase; debug passed on as debug.
        let mut expected = ctx.headers(single, true);
        for (name, _) in &mut expected {
            *name = name.to_ascii_lowercase();
        }
        prop_assert_eq!(&written, &expected);
        prop_assert_eq!(propagation::extract(&written), remote);
    });
}

#[test]
fn b3_single_header_round_trips_ids_and_sampling_state() {
    b3_round_trip(Propagator::B3);
}

#[test]
fn b3_multi_header_round_trips_ids_and_sampling_state() {
    b3_round_trip(Propagator::B3Multi);
}
