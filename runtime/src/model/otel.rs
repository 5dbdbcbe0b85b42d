//! The one conversion between traced's span context and OpenTelemetry's,
//! used by the API edges (handles, parents, links) and by export alike.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

use super::{BaggageMember, Carried, CarriedRef, SpanCtx, FLAG_RANDOM, FLAG_SAMPLED};

/// The W3C trace state `carried` holds, as OpenTelemetry keeps it.
#[inline]
fn trace_state(carried: &CarriedRef) -> TraceState {
    match carried {
        Some(c) if !c.trace_state.is_empty() => {
            TraceState::from_key_value(c.trace_state.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .unwrap_or_default()
        }
        _ => TraceState::default(),
    }
}

/// OpenTelemetry's span context for `ctx`: ids, both flags, remote or not,
/// and the trace state.
#[inline]
pub(crate) fn to_otel(ctx: SpanCtx, carried: &CarriedRef) -> SpanContext {
    SpanContext::new(
        TraceId::from(ctx.trace_id),
        SpanId::from(ctx.span_id),
        TraceFlags::new(ctx.flags()),
        ctx.remote,
        trace_state(carried),
    )
}

/// traced's context for an OpenTelemetry span context (`None` when it is
/// invalid), with its trace state and `baggage` carried along.
pub(crate) fn from_otel(
    context: &SpanContext,
    baggage: impl IntoIterator<Item = BaggageMember>,
) -> (Option<SpanCtx>, CarriedRef) {
    let baggage: Vec<BaggageMember> = baggage.into_iter().collect();
    if !context.is_valid() {
        let carried = Carried {
            baggage,
            ..Carried::default()
        };
        return (None, carried.into_ref());
    }
    let flags = context.trace_flags().to_u8();
    let ctx = SpanCtx {
        trace_id: u128::from_be_bytes(context.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(context.span_id().to_bytes()),
        sampled: flags & FLAG_SAMPLED != 0,
        remote: context.is_remote(),
        random: flags & FLAG_RANDOM != 0,
    };
    let header = context.trace_state().header();
    let trace_state = header
        .split(',')
        .filter_map(|member| member.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let carried = Carried {
        trace_state,
        baggage,
        b3_debug: false,
    };
    (Some(ctx), carried.into_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_goes_to_opentelemetry_and_back_unchanged() {
        let ctx = SpanCtx {
            trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id: 0x00f0_67aa_0ba9_02b7,
            sampled: true,
            remote: true,
            random: true,
        };
        let carried = Carried {
            trace_state: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
            ..Carried::default()
        }
        .into_ref();
        let otel = to_otel(ctx, &carried);
        assert_eq!(otel.trace_flags().to_u8(), 0x03);
        assert_eq!(otel.trace_state().header(), "b=2,a=1");
        let (back, back_carried) = from_otel(&otel, []);
        assert_eq!(back, Some(ctx));
        assert_eq!(back_carried, carried);
    }
}
