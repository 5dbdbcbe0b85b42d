//! Head sampling: which new spans are recorded.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::SpanCtx;

/// Which spans are recorded, as OpenTelemetry's built-in samplers decide.
///
/// Unsampled spans still carry ids, so context propagates through them, but
/// they record and export nothing. Set with `OTEL_TRACES_SAMPLER` /
/// `OTEL_TRACES_SAMPLER_ARG` or [`Builder::with_sampler`](crate::Builder::with_sampler).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Sampler {
    /// Record every span.
    AlwaysOn,
    /// Record no span.
    AlwaysOff,
    /// Record this fraction (0.0 ..= 1.0) of traces, decided from the trace
    /// id so every service makes the same choice for a trace.
    TraceIdRatio(f64),
    /// Follow the parent's decision; record every root (the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; record no root.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; record this fraction of roots.
    ParentBasedTraceIdRatio(f64),
}

// The sampler is packed into the same atomic that says whether a pipeline
// is installed, so an instrumented call reads one word to learn both.
// The parent-based samplers are their root sampler plus `PARENT_BASED`, so
// a child span's decision is one bit test.
pub(crate) const MODE_ALWAYS_ON: u8 = 1;
pub(crate) const MODE_ALWAYS_OFF: u8 = 2;
pub(crate) const MODE_RATIO: u8 = 3;
const PARENT_BASED: u8 = 8;
pub(crate) const MODE_PARENT_ALWAYS_ON: u8 = PARENT_BASED | MODE_ALWAYS_ON;
pub(crate) const MODE_PARENT_ALWAYS_OFF: u8 = PARENT_BASED | MODE_ALWAYS_OFF;
pub(crate) const MODE_PARENT_RATIO: u8 = PARENT_BASED | MODE_RATIO;

/// Traces whose id's low 64 bits, shifted right once, fall below this are
/// sampled by the ratio samplers: the installed sampler's
/// [`ratio_threshold`](Sampler::ratio_threshold), a copy published by
/// [`install`](super::install) (zero while none is installed).
static RATIO_THRESHOLD: AtomicU64 = AtomicU64::new(0);

impl Sampler {
    /// The sampler's code in the mode word (`MODE_*`).
    pub(crate) fn code(self) -> u8 {
        match self {
            Sampler::AlwaysOn => MODE_ALWAYS_ON,
            Sampler::AlwaysOff => MODE_ALWAYS_OFF,
            Sampler::TraceIdRatio(_) => MODE_RATIO,
            Sampler::ParentBasedAlwaysOn => MODE_PARENT_ALWAYS_ON,
            Sampler::ParentBasedAlwaysOff => MODE_PARENT_ALWAYS_OFF,
            Sampler::ParentBasedTraceIdRatio(_) => MODE_PARENT_RATIO,
        }
    }

    /// The threshold of a ratio sampler (see [`RATIO_THRESHOLD`]); zero for
    /// the others, which never read it.
    pub(crate) fn ratio_threshold(self) -> u64 {
        let (Sampler::TraceIdRatio(r) | Sampler::ParentBasedTraceIdRatio(r)) = self else {
            return 0;
        };
        let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        // 2^63 * r fits in u64 for r in 0..=1.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let threshold = (r * (1_u64 << 63) as f64) as u64;
        threshold
    }
}

/// Publishes the installed sampler's ratio threshold; called only by
/// [`install`](super::install)'s one publishing function.
pub(super) fn publish_ratio_threshold(threshold: u64) {
    RATIO_THRESHOLD.store(threshold, Ordering::Relaxed);
}

fn ratio_sampled(trace_id: u128) -> bool {
    #[allow(clippy::cast_possible_truncation)]
    let low = trace_id as u64;
    (low >> 1) < RATIO_THRESHOLD.load(Ordering::Relaxed)
}

/// The sampling decision for a new span.
#[inline]
pub(crate) fn sample(mode: u8, parent: Option<SpanCtx>, trace_id: u128) -> bool {
    if let Some(p) = parent {
        if mode & PARENT_BASED != 0 {
            return p.sampled;
        }
    }
    match mode & !PARENT_BASED {
        MODE_ALWAYS_ON => true,
        MODE_RATIO => ratio_sampled(trace_id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(sampled: bool) -> SpanCtx {
        SpanCtx {
            trace_id: 1,
            span_id: 1,
            sampled,
            remote: false,
            random: true,
        }
    }

    /// The mode code of `sampler`, its threshold published as an install would.
    fn activate(sampler: Sampler) -> u8 {
        publish_ratio_threshold(sampler.ratio_threshold());
        sampler.code()
    }

    #[test]
    fn decisions() {
        let on = activate(Sampler::ParentBasedAlwaysOn);
        assert!(sample(on, None, 5));
        assert!(!sample(on, Some(parent(false)), 5));
        let off = activate(Sampler::ParentBasedAlwaysOff);
        assert!(!sample(off, None, 5));
        assert!(sample(off, Some(parent(true)), 5));
        let always = activate(Sampler::AlwaysOn);
        assert!(sample(always, Some(parent(false)), 5));
        let never = activate(Sampler::AlwaysOff);
        assert!(!sample(never, Some(parent(true)), 5));
    }

    #[test]
    fn ratio_samples_about_the_fraction() {
        let mode = activate(Sampler::TraceIdRatio(0.25));
        let sampled = (0..20_000)
            .filter(|_| sample(mode, None, crate::local::ids::trace_id()))
            .count();
        assert!((4_000..6_000).contains(&sampled), "{sampled}");
        let all = activate(Sampler::TraceIdRatio(1.0));
        assert!(sample(all, None, u128::MAX));
        let none = activate(Sampler::TraceIdRatio(0.0));
        assert!(!sample(none, None, 0));
    }
}
