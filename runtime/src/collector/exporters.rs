//! The set of exporters a pipeline delivers to.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::block_on::block_on_timeout;
use crate::diag;
use crate::export::pipeline::{RecordBatch, RecordExporter, Retry};
use crate::export::span_data::Conversion;
use crate::export::TreeExporter;
use crate::local::clock;
use crate::model::SpanRecord;

type ExportFuture<'a> = Pin<Box<dyn Future<Output = OTelSdkResult> + Send + 'a>>;

/// `SpanExporter` in a form that can be boxed (its `export` returns
/// `impl Future`, which a trait object cannot).
pub(crate) trait DynExporter: Send + Sync + fmt::Debug {
    fn export_boxed(&self, batch: Vec<SpanData>) -> ExportFuture<'_>;
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
    /// A name for messages: the exporter's `Debug` form when that is one
    /// short line (traced's exporters say where they send), else its bare
    /// type name (other exporters' `Debug` can run to pages of settings).
    fn name(&self) -> String;
    /// The exporter's type, for once-only keys (its `Debug` form can change).
    fn type_name(&self) -> &'static str;
    /// For the exporters the pipeline knows more about (the tree exporter).
    fn as_any(&self) -> &dyn Any;
    /// For taking traced's own exporters out of the box they were handed in, once.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<E: SpanExporter + 'static> DynExporter for E {
    fn export_boxed(&self, batch: Vec<SpanData>) -> ExportFuture<'_> {
        Box::pin(SpanExporter::export(self, batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        SpanExporter::force_flush(self)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        SpanExporter::shutdown_with_timeout(self, timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        SpanExporter::set_resource(self, resource);
    }

    fn name(&self) -> String {
        let debug = format!("{self:?}");
        if debug.len() <= MAX_NAME_LEN && !debug.contains('\n') {
            debug
        } else {
            crate::model::readable_type_name(std::any::type_name::<E>(), false)
        }
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<E>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// One of traced's exporters that encode records themselves (see [`RecordExporter`]).
pub(crate) trait NativeExporter: RecordExporter + Send + Sync {
    fn as_dyn(&self) -> &dyn DynExporter;
}

impl<E: DynExporter + RecordExporter> NativeExporter for E {
    fn as_dyn(&self) -> &dyn DynExporter {
        self
    }
}

/// An exporter as the pipeline calls it, told apart once when the pipeline is installed.
enum Exporter {
    /// Encodes the records of a batch, borrowed.
    Native(Box<dyn NativeExporter>),
    /// A user's own `SpanExporter` (or one of traced's that takes `SpanData`: OTLP over gRPC,
    /// the tree): gets `SpanData`.
    Foreign(Box<dyn DynExporter>),
}

impl Exporter {
    /// `exporter` as [`Native`](Exporter::Native) when it is one of traced's exporters that
    /// encode records.
    fn new(exporter: Box<dyn DynExporter>) -> Self {
        let exporter = match native::<crate::export::OtlpJsonLinesExporter>(exporter) {
            Ok(native) => return Exporter::Native(native),
            Err(exporter) => exporter,
        };
        let exporter = match native::<crate::export::ConsoleExporter>(exporter) {
            Ok(native) => return Exporter::Native(native),
            Err(exporter) => exporter,
        };
        #[cfg(feature = "otlp")]
        let exporter = match native::<crate::export::zipkin::ZipkinExporter>(exporter) {
            Ok(native) => return Exporter::Native(native),
            Err(exporter) => exporter,
        };
        #[cfg(feature = "otlp")]
        {
            let takes_records = (exporter.as_any())
                .downcast_ref::<crate::export::otlp::OtlpExporter>()
                .is_some_and(crate::export::otlp::OtlpExporter::takes_records);
            if takes_records {
                if let Ok(native) = native::<crate::export::otlp::OtlpExporter>(exporter) {
                    return Exporter::Native(native);
                }
                unreachable!("the exporter was just seen to be an OtlpExporter");
            }
        }
        Exporter::Foreign(exporter)
    }

    fn as_dyn(&self) -> &dyn DynExporter {
        match self {
            Exporter::Native(exporter) => exporter.as_dyn(),
            Exporter::Foreign(exporter) => &**exporter,
        }
    }
}

/// `exporter` as a native exporter if it is a `T`, else back as it came.
fn native<T: NativeExporter + 'static>(
    exporter: Box<dyn DynExporter>,
) -> Result<Box<dyn NativeExporter>, Box<dyn DynExporter>> {
    if !exporter.as_any().is::<T>() {
        return Err(exporter);
    }
    let exporter: Box<T> = (exporter.into_any().downcast())
        .unwrap_or_else(|_| unreachable!("the exporter was just seen to be a T"));
    Ok(exporter)
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_dyn(), f)
    }
}

/// The longest `Debug` form used as an exporter's name.
const MAX_NAME_LEN: usize = 120;

/// How often repeated export failures are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// How delivering one batch went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every exporter took it.
    Delivered,
    /// An exporter failed with an error or a timeout: worth trying again
    /// (only with the exporters not done with it, see [`Delivery`]), not
    /// before the wait its receiver asked for, if it did.
    Retry(Option<Duration>),
    /// Every exporter is done with the batch, and one of them panicked or
    /// failed in a way that sending again cannot change (see
    /// [`Retry::No`]): the batch counts as failed.
    Failed,
}

/// Where a batch stands with each exporter, kept across its attempts: an
/// exporter that took it, refused it for good or panicked is not given it
/// again when the others are retried.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// One bit per exporter done with the batch (the first 64; any after
    /// those is given every attempt).
    done: u64,
    /// Whether an exporter refused it for good or panicked.
    failed: bool,
    /// The most spans an exporter that took it said its collector refused.
    rejected: usize,
}

/// Exporters plus what is needed to call them safely: a timeout per call,
/// panics contained, and throttled error reporting.
///
/// An exporter that panics (in `export`, `force_flush` or `shutdown`, or in
/// polling its future) is contained here: the panic does not unwind into
/// the batch worker or, with the simple processor, into the span guard's
/// `Drop` in application code. The call counts as a failed export, a
/// warning naming the exporter and the panic message is printed once per
/// exporter, later panics are counted and reported like other export
/// failures, and the exporter is still called for later batches: a panic
/// is often caused by one odd span, and disabling the exporter would lose
/// everything after it. (The process's panic hook still runs first, so
/// Rust's own `thread '…' panicked at` line is printed as usual.)
pub(crate) struct ExporterSet {
    exporters: Vec<Exporter>,
    timeout: Duration,
    /// Spans a collector acknowledged but refused (OTLP partial success),
    /// counted only for exports that otherwise succeeded: those spans are
    /// part of what the processor counts as exported, and the pipeline's
    /// stats move them from there to `rejected`.
    rejected: Arc<AtomicU64>,
    failures: u64,
    reported_failures: u64,
    last_report: Option<Instant>,
    /// The message of the last failure not reported (said at shutdown).
    last_unreported: Option<String>,
}

impl ExporterSet {
    pub(crate) fn new(exporters: Vec<Box<dyn DynExporter>>, timeout: Duration) -> Self {
        ExporterSet {
            exporters: exporters.into_iter().map(Exporter::new).collect(),
            timeout,
            rejected: Arc::default(),
            failures: 0,
            reported_failures: 0,
            last_report: None,
            last_unreported: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.exporters.is_empty()
    }

    /// The count of rejected spans (see the field), shared with the pipeline
    /// that reports it.
    pub(crate) fn rejected_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.rejected)
    }

    /// Delivers `batch` of `SpanData` to every exporter; returns whether all succeeded (an
    /// exporter that panicked did not). The pipeline itself delivers records
    /// ([`export_records`](Self::export_records)).
    #[cfg(test)]
    pub(crate) fn export(&mut self, batch: Vec<SpanData>) -> bool {
        if batch.is_empty() || self.exporters.is_empty() {
            return true;
        }
        let count = batch.len();
        let last = self.exporters.len() - 1;
        let mut batch = Some(batch);
        let timeout = self.timeout;
        let outcome = self.deliver(count, &mut Delivery::default(), |i, exporter| {
            let spans = if i == last {
                batch.take().unwrap_or_default()
            } else {
                batch.clone().unwrap_or_default()
            };
            block_on_timeout(exporter.as_dyn().export_boxed(spans), timeout)
        });
        outcome == Outcome::Delivered
    }

    /// Delivers `records` to every exporter not yet done with them (`delivery`, kept by the
    /// caller across attempts): traced's own encode them as they are; `SpanData` is built,
    /// by `span_data`, only when a foreign exporter needs it, and then once for all of them.
    pub(crate) fn export_records(
        &mut self,
        records: &[SpanRecord],
        conversion: &Conversion,
        delivery: &mut Delivery,
        span_data: impl FnOnce() -> Vec<SpanData>,
    ) -> Outcome {
        if records.is_empty() || self.exporters.is_empty() {
            return Outcome::Delivered;
        }
        let batch = RecordBatch::new(records, conversion, clock::converter());
        let mut foreign = (self.exporters.iter().enumerate())
            .filter(|(i, e)| matches!(e, Exporter::Foreign(_)) && !delivery.is_done(*i))
            .count();
        let mut span_data = Some(span_data);
        let mut built: Option<Vec<SpanData>> = None;
        let timeout = self.timeout;
        self.deliver(records.len(), delivery, |_, exporter| match exporter {
            Exporter::Native(native) => Some(native.export_records(&batch)),
            Exporter::Foreign(exporter) => {
                let spans = match span_data.take() {
                    Some(make) => make(),
                    None => built.take().unwrap_or_default(),
                };
                foreign -= 1;
                if foreign > 0 {
                    built = Some(spans.clone());
                }
                block_on_timeout(exporter.export_boxed(spans), timeout)
            }
        })
    }

    /// Calls `export` for each exporter not done with the batch (its index,
    /// the exporter; `None` for a timeout), containing panics and reporting
    /// failures; marks in `delivery` those that are done with it now.
    fn deliver(
        &mut self,
        count: usize,
        delivery: &mut Delivery,
        mut export: impl FnMut(usize, &Exporter) -> Option<OTelSdkResult>,
    ) -> Outcome {
        // Whether a failure is worth another attempt, and the longest wait
        // a receiver asked for.
        let mut retry = false;
        let mut retry_after: Option<Duration> = None;
        for i in 0..self.exporters.len() {
            if delivery.is_done(i) {
                continue;
            }
            let entry = &self.exporters[i];
            let exporter = entry.as_dyn();
            let result = contained(|| export(i, entry));
            let failure = match result {
                Ok(Some(Ok(()))) => {
                    delivery.rejected = delivery.rejected.max(rejected_by(entry));
                    delivery.mark_done(i);
                    None
                }
                Ok(Some(Err(e))) => {
                    let note = match retry_by(entry) {
                        Retry::Yes { after } => {
                            retry = true;
                            retry_after = retry_after.max(after);
                            ""
                        }
                        Retry::No => {
                            delivery.mark_done(i);
                            delivery.failed = true;
                            " (not sent again)"
                        }
                    };
                    Some(format!(
                        "{} failed to export {}: {}{note}",
                        exporter.name(),
                        spans(count),
                        cause(&e),
                    ))
                }
                Ok(None) => {
                    retry = true;
                    Some(format!(
                        "{} did not finish exporting {} within {:?}",
                        exporter.name(),
                        spans(count),
                        self.timeout,
                    ))
                }
                Err(panic) => {
                    delivery.mark_done(i);
                    delivery.failed = true;
                    Some(panicked(
                        exporter,
                        &format!("exporting {}", spans(count)),
                        &panic,
                    ))
                }
            };
            if let Some(message) = failure {
                self.failed(&message);
            }
        }
        if retry {
            return Outcome::Retry(retry_after);
        }
        if delivery.failed {
            return Outcome::Failed;
        }
        if delivery.rejected > 0 {
            let rejected = u64::try_from(delivery.rejected.min(count)).unwrap_or(u64::MAX);
            self.rejected.fetch_add(rejected, Ordering::Relaxed);
        }
        Outcome::Delivered
    }

    fn failed(&mut self, message: &str) {
        self.failures += 1;
        let due = self.last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY);
        if due {
            let suppressed = self.failures - self.reported_failures - 1;
            if suppressed > 0 {
                diag::report(&format!(
                    "{message} ({suppressed} more failed export {} since the last report)",
                    if suppressed == 1 {
                        "attempt"
                    } else {
                        "attempts"
                    }
                ));
            } else {
                diag::report(message);
            }
            self.reported_failures = self.failures;
            self.last_report = Some(Instant::now());
            self.last_unreported = None;
        } else {
            self.last_unreported = Some(message.to_owned());
        }
    }

    /// Tells the tree exporters that rounds are marked by [`end_round`](Self::end_round): a
    /// batch worker's export calls split what it drained at batch-size boundaries, so a root
    /// and the children that ended before it may arrive in different calls.
    pub(crate) fn use_rounds(&self) {
        for tree in self.trees() {
            tree.wait_for_pipeline_rounds();
        }
    }

    /// Everything drained from the threads' buffers so far has been exported: the tree
    /// exporters may print the traces whose roots have arrived.
    pub(crate) fn end_round(&mut self) {
        let mut failures = Vec::new();
        for tree in self.trees() {
            if let Err(e) = tree.end_round() {
                failures.push(format!("{tree:?} failed to print: {e}"));
            }
        }
        for message in failures {
            self.failed(&message);
        }
    }

    fn trees(&self) -> impl Iterator<Item = &TreeExporter> {
        (self.exporters.iter()).filter_map(|exporter| exporter.as_dyn().as_any().downcast_ref())
    }

    pub(crate) fn force_flush(&self) -> bool {
        let mut ok = true;
        for exporter in &self.exporters {
            let exporter = exporter.as_dyn();
            match contained(|| exporter.force_flush()) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    diag::report(&format!("{} failed to flush: {e}", exporter.name()));
                    ok = false;
                }
                Err(panic) => {
                    diag::report(&panicked(exporter, "flushing", &panic));
                    ok = false;
                }
            }
        }
        ok
    }

    pub(crate) fn shutdown(&mut self, timeout: Duration) {
        for exporter in &self.exporters {
            let exporter = exporter.as_dyn();
            match contained(|| exporter.shutdown_with_timeout(timeout)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    diag::report(&format!("{} failed to shut down: {e}", exporter.name()));
                }
                Err(panic) => diag::report(&panicked(exporter, "shutting down", &panic)),
            }
        }
        let unreported = self.failures - self.reported_failures;
        if unreported > 0 {
            let last = self.last_unreported.take().unwrap_or_default();
            let (failures, were) = if unreported == 1 {
                ("failed export attempt", "was")
            } else {
                ("failed export attempts", "were")
            };
            diag::report(&format!(
                "{unreported} {failures} {were} not reported individually; the last: {last}"
            ));
        }
        self.exporters.clear();
    }
}

/// Runs `call`, an exporter's code, and turns a panic into the panic's
/// message. `AssertUnwindSafe` is sound here: after a panic the only state
/// used again is the exporter itself, which the panic left as its own code
/// made it, and `SpanExporter` gives no unwind-safety promise either way.
fn contained<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|payload| panic_message(&*payload))
}

/// The message a panic was raised with (`panic!("…")` gives a `&str` or a
/// `String`), bounded for printing.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let message = (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload");
    diag::quote(message)
}

/// The failure message for `exporter` panicking while doing `what`; the
/// first panic of each type of exporter is also warned about, saying what
/// happens next.
fn panicked(exporter: &dyn DynExporter, what: &str, message: &str) -> String {
    let name = exporter.name();
    diag::warn_once_with(
        &format!("exporter-panicked:{}", exporter.type_name()),
        || {
            format!(
            "{name} panicked ({message}); traced contains exporter panics: each counts as a failed export, and the exporter is still used for later spans"
        )
        },
    );
    format!("{name} panicked while {what}: {message}")
}

/// `exporter` as one that tells more about its last export than its result:
/// traced's own, including the OTLP exporter when it takes `SpanData` (over
/// gRPC).
fn telling(exporter: &Exporter) -> Option<&dyn RecordExporter> {
    match exporter {
        Exporter::Native(native) => Some(&**native),
        #[cfg(feature = "otlp")]
        Exporter::Foreign(foreign) => (foreign.as_any())
            .downcast_ref::<crate::export::otlp::OtlpExporter>()
            .map(|otlp| otlp as &dyn RecordExporter),
        #[cfg(not(feature = "otlp"))]
        Exporter::Foreign(_) => None,
    }
}

/// Whether `exporter`'s last failed export is worth sending again.
fn retry_by(exporter: &Exporter) -> Retry {
    telling(exporter).map_or(Retry::Yes { after: None }, RecordExporter::take_retry)
}

/// The spans `exporter` reported rejected by its collector in its last
/// export (OTLP partial success), taking that count.
fn rejected_by(exporter: &Exporter) -> usize {
    telling(exporter).map_or(0, RecordExporter::take_rejected)
}

impl fmt::Debug for ExporterSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterSet")
            .field("exporters", &self.exporters)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    fn is_done(&self, exporter: usize) -> bool {
        Self::bit(exporter) & self.done != 0
    }

    fn mark_done(&mut self, exporter: usize) {
        self.done |= Self::bit(exporter);
    }

    fn bit(exporter: usize) -> u64 {
        u32::try_from(exporter)
            .ok()
            .and_then(|i| 1_u64.checked_shl(i))
            .unwrap_or(0)
    }
}

/// "1 span", "2 spans".
fn spans(count: usize) -> String {
    if count == 1 {
        "1 span".to_owned()
    } else {
        format!("{count} spans")
    }
}

/// An export error as a reader wants it after "failed to export N spans: ":
/// an internal failure's own message, without the "Operation failed: "
/// that `OTelSdkError`'s `Display` puts before it.
fn cause(error: &OTelSdkError) -> String {
    match error {
        OTelSdkError::InternalFailure(message) => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_tracks_the_first_64_exporters() {
        let mut delivery = Delivery::default();
        for i in [0, 5, 63, 64, 1000] {
            assert!(!delivery.is_done(i));
            delivery.mark_done(i);
        }
        assert!(delivery.is_done(0) && delivery.is_done(5) && delivery.is_done(63));
        assert!(!delivery.is_done(1) && !delivery.is_done(62));
        // Past 64 nothing is tracked: such an exporter gets every attempt.
        assert!(!delivery.is_done(64) && !delivery.is_done(1000));
    }

    #[test]
    fn counts_of_spans_read_as_words() {
        assert_eq!(spans(1), "1 span");
        assert_eq!(spans(0), "0 spans");
        assert_eq!(spans(512), "512 spans");
    }

    #[test]
    fn a_failure_is_reported_by_its_own_message() {
        let refused =
            OTelSdkError::InternalFailure("HTTP export failed: connection refused".into());
        assert_eq!(cause(&refused), "HTTP export failed: connection refused");
        let timeout = OTelSdkError::Timeout(Duration::from_secs(2));
        assert_eq!(cause(&timeout), timeout.to_string());
    }

    #[test]
    fn messages_name_an_exporter_by_its_bare_type() {
        #[derive(Debug)]
        struct Short;
        #[derive(Debug)]
        #[allow(dead_code)] // read through Debug
        struct Long(String);
        impl SpanExporter for Short {
            async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
                Ok(())
            }
        }
        impl SpanExporter for Long {
            async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
                Ok(())
            }
        }
        assert_eq!(DynExporter::name(&Short), "Short");
        assert_eq!(DynExporter::name(&Long("x".repeat(200))), "Long");
    }

    #[test]
    fn traced_exporters_take_records_and_the_others_span_data() {
        use crate::export::{ConsoleExporter, MemoryExporter, OtlpJsonLinesExporter};

        let mut exporters: Vec<Box<dyn DynExporter>> = vec![
            Box::new(ConsoleExporter::with_writer(std::io::sink())),
            Box::new(OtlpJsonLinesExporter::with_writer(std::io::sink())),
            Box::new(MemoryExporter::new().0),
            Box::new(TreeExporter::with_writer(std::io::sink())),
        ];
        let mut expected = vec!["native", "native", "foreign", "foreign"];
        #[cfg(feature = "otlp")]
        {
            use crate::export::otlp::{OtlpConfig, OtlpProtocol};
            let timeout = Duration::from_secs(1);
            let zipkin = crate::export::zipkin::ZipkinExporter::new("http://127.0.0.1:9/", timeout);
            exporters.push(Box::new(zipkin.unwrap()));
            for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::HttpJson] {
                let config = OtlpConfig {
                    protocol,
                    ..OtlpConfig::default()
                };
                exporters.push(Box::new(config.build_exporter().unwrap()));
            }
            expected.extend(["native", "native", "native"]);
        }
        let set = ExporterSet::new(exporters, Duration::from_secs(1));
        let kinds: Vec<&str> = (set.exporters.iter())
            .map(|exporter| match exporter {
                Exporter::Native(_) => "native",
                Exporter::Foreign(_) => "foreign",
            })
            .collect();
        assert_eq!(kinds, expected);
        // Told apart, each is still the exporter it was: its name says so.
        assert!(set.exporters[0]
            .as_dyn()
            .name()
            .starts_with("ConsoleExporter"));
        assert_eq!(
            set.exporters[2].as_dyn().type_name(),
            std::any::type_name::<MemoryExporter>()
        );
    }

    /// Panics in its first `panics` exports, in its flush and its shutdown; counts the spans it
    /// exported.
    #[derive(Debug)]
    struct Panicky {
        panics: AtomicU64,
        exported: Arc<AtomicU64>,
    }

    impl SpanExporter for Panicky {
        #[allow(clippy::manual_async_fn)] // the panic must come from the poll, not the call
        fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
            async move {
                let left = self.panics.load(Ordering::Relaxed);
                if left > 0 {
                    self.panics.store(left - 1, Ordering::Relaxed);
                    panic!("bad span number {left}");
                }
                self.exported
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                Ok(())
            }
        }

        fn force_flush(&self) -> OTelSdkResult {
            panic!("flush panics")
        }

        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            std::panic::panic_any(7_u8)
        }
    }

    #[test]
    fn a_panicking_exporter_is_contained_counted_and_used_again() {
        let exported = Arc::new(AtomicU64::new(0));
        let panicky = Panicky {
            panics: AtomicU64::new(2),
            exported: Arc::clone(&exported),
        };
        let mut set = ExporterSet::new(vec![Box::new(panicky)], Duration::from_secs(60));
        let now = std::time::SystemTime::now();
        let span = crate::export::test_support::internal_span(1, 1, 0, "s", now, now);
        let (results, lines) = diag::capture(|| {
            let results: Vec<bool> = (0..3).map(|_| set.export(vec![span.clone()])).collect();
            let flushed = set.force_flush();
            set.shutdown(Duration::from_secs(1));
            (results, flushed)
        });
        assert_eq!(results, (vec![false, false, true], false));
        assert_eq!(exported.load(Ordering::Relaxed), 1);
        assert_eq!(set.failures, 2);
        // The name is the exporter's `Debug` form, which changes; the warning still comes once.
        assert_eq!(
            lines,
            [
                "traced: warning: Panicky { panics: 1, exported: 0 } panicked (bad span number 2); traced contains exporter panics: each counts as a failed export, and the exporter is still used for later spans",
                "traced: error: Panicky { panics: 1, exported: 0 } panicked while exporting 1 span: bad span number 2",
                "traced: error: Panicky { panics: 0, exported: 1 } panicked while flushing: flush panics",
                "traced: error: Panicky { panics: 0, exported: 1 } panicked while shutting down: a non-string panic payload",
                "traced: error: 1 failed export attempt was not reported individually; the last: Panicky { panics: 0, exported: 0 } panicked while exporting 1 span: bad span number 1",
            ]
        );
    }
}
