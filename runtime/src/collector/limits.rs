//! The installed pipeline's count limits, as the calling threads read them.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::model::{to_usize, Annotations, RecordingLimits, SpanLimits, DEFAULT_COUNT};

/// A copy of the installed pipeline's [`SpanLimits`] counts published by
/// [`install`](super::install) (the defaults while none is installed),
/// never written anywhere else.
static RECORDING_ATTRIBUTES: AtomicU32 = AtomicU32::new(DEFAULT_COUNT);
static RECORDING_EVENTS: AtomicU32 = AtomicU32::new(DEFAULT_COUNT);
static RECORDING_LINKS: AtomicU32 = AtomicU32::new(DEFAULT_COUNT);

/// Publishes `limits` as the ones spans are recorded under; called only by
/// [`install`](super::install)'s one publishing function.
pub(super) fn publish_recording(limits: &SpanLimits) {
    RECORDING_ATTRIBUTES.store(limits.max_attributes_per_span, Ordering::Relaxed);
    RECORDING_EVENTS.store(limits.max_events_per_span, Ordering::Relaxed);
    RECORDING_LINKS.store(limits.max_links_per_span, Ordering::Relaxed);
}

/// How many attribute keys one store of a span in progress may hold.
#[inline]
pub(crate) fn recording_attributes() -> usize {
    to_usize(RECORDING_ATTRIBUTES.load(Ordering::Relaxed))
}

/// The count limits a span in progress is kept within.
#[inline]
pub(crate) fn recording_limits() -> RecordingLimits {
    RecordingLimits {
        attributes: recording_attributes(),
        events: to_usize(RECORDING_EVENTS.load(Ordering::Relaxed)),
        links: to_usize(RECORDING_LINKS.load(Ordering::Relaxed)),
    }
}

/// Empty annotations for a span recorded under the installed limits.
#[inline]
pub(crate) fn annotations() -> Annotations {
    Annotations::new(recording_limits())
}
