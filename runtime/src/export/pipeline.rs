//! The one interface between the batch worker and traced's own exporters: a batch of records,
//! borrowed, which each exporter encodes straight into its reusable buffer.
//!
//! Every `opentelemetry_sdk` `SpanExporter` a user hands in gets `SpanData` instead; the
//! pipeline keeps it as a foreign exporter (`collector/exporters.rs`), and builds `SpanData`
//! once per batch for all of them, only when there is one.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;

use super::record_view::RecordView;
use super::span_data::Conversion;
use crate::local::clock;
use crate::model::SpanRecord;

/// A batch of ended spans as the worker holds them: borrowed, never taken apart (a failed
/// export is tried again with the same records).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordBatch<'a> {
    records: &'a [SpanRecord],
    conversion: &'a Conversion,
    times: clock::UnixNanos,
}

impl<'a> RecordBatch<'a> {
    /// `records`, to be exported within `conversion`'s limits, with ticks read by `clock`.
    pub(crate) fn new(
        records: &'a [SpanRecord],
        conversion: &'a Conversion,
        clock: clock::Converter,
    ) -> Self {
        Self {
            records,
            conversion,
            times: batch_times(clock, records),
        }
    }

    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // read by the OTLP/HTTP exporter
    pub(crate) fn records(&self) -> &'a [SpanRecord] {
        self.records
    }

    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // read by the OTLP/HTTP exporter
    pub(crate) fn conversion(&self) -> &'a Conversion {
        self.conversion
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Each record as the span it exports as.
    pub(crate) fn spans(&self) -> impl ExactSizeIterator<Item = RecordView<'a>> + Clone + 'a {
        let (conversion, times) = (self.conversion, self.times);
        (self.records.iter()).map(move |record| RecordView::new(record, conversion, times))
    }
}

/// The conversion of a batch's ticks: based at a little before its first
/// record's start, so that its parents' starts (earlier than their
/// children's, which come first) take the short conversion too.
pub(crate) fn batch_times(clock: clock::Converter, records: &[SpanRecord]) -> clock::UnixNanos {
    /// About a third of a second of a 3 GHz TSC.
    const BEFORE: u64 = 1 << 30;
    let base = records
        .first()
        .map_or(0, |record| record.head.start.saturating_sub(BEFORE));
    clock.unix_nanos().based_at(base)
}

/// An exporter that writes its format straight from records: every exporter of traced's
/// except OTLP over gRPC (which goes through opentelemetry-otlp's `SpanData` path).
///
/// Each is also a `SpanExporter`, for flush, shutdown and use outside traced's pipeline; the
/// pipeline tells the two kinds apart once, when it is installed, never per batch.
pub(crate) trait RecordExporter: std::fmt::Debug {
    /// Exports `batch` in one call, blocking until it is written or sent.
    fn export_records(&self, batch: &RecordBatch<'_>) -> OTelSdkResult;

    /// Takes the count of spans the receiver refused in the last export (OTLP partial
    /// success).
    fn take_rejected(&self) -> usize {
        0
    }

    /// Takes whether the last failed export is worth sending again, as the receiver said.
    fn take_retry(&self) -> Retry {
        Retry::Yes { after: None }
    }
}

/// Whether a failed export is worth sending again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// After the batch worker's backoff, or after `after` when the receiver asked for a longer
    /// wait (`Retry-After`): the receiver was unreachable, busy or throttling.
    Yes { after: Option<Duration> },
    /// Never: the receiver refused the data itself (OTLP/HTTP: any error status but 429, 502,
    /// 503 and 504; OTLP/gRPC: a code the specification calls not retryable), so the same
    /// request would be refused again.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // said only by the OTLP exporter
    No,
}
