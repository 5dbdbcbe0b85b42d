//! The set of exporters a pipeline delivers to.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::block_on::block_on_timeout;
use crate::diag;
use crate::export::TreeExporter;

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
    /// For the exporters the pipeline knows more about (the tree exporter).
    fn as_any(&self) -> &dyn Any;
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

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The longest `Debug` form used as an exporter's name.
const MAX_NAME_LEN: usize = 120;

/// How often repeated export failures are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Exporters plus what is needed to call them safely: a timeout per call and
/// throttled error reporting.
pub(crate) struct ExporterSet {
    exporters: Vec<Box<dyn DynExporter>>,
    timeout: Duration,
    failures: u64,
    reported_failures: u64,
    last_report: Option<Instant>,
    /// The message of the last failure not reported (said at shutdown).
    last_unreported: Option<String>,
}

impl ExporterSet {
    pub(crate) fn new(exporters: Vec<Box<dyn DynExporter>>, timeout: Duration) -> Self {
        ExporterSet {
            exporters,
            timeout,
            failures: 0,
            reported_failures: 0,
            last_report: None,
            last_unreported: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.exporters.is_empty()
    }

    /// Delivers `batch` to every exporter; returns whether all succeeded.
    pub(crate) fn export(&mut self, batch: Vec<SpanData>) -> bool {
        if batch.is_empty() || self.exporters.is_empty() {
            return true;
        }
        let mut ok = true;
        let last = self.exporters.len() - 1;
        let mut batch = Some(batch);
        for i in 0..=last {
            let spans = if i == last {
                batch.take().unwrap_or_default()
            } else {
                batch.clone().unwrap_or_default()
            };
            let count = spans.len();
            let exporter = &self.exporters[i];
            let result = block_on_timeout(exporter.export_boxed(spans), self.timeout);
            let failure = match result {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(format!(
                    "{} failed to export {count} spans: {e}",
                    exporter.name()
                )),
                None => Some(format!(
                    "{} did not finish exporting {count} spans within {:?}",
                    exporter.name(),
                    self.timeout
                )),
            };
            if let Some(message) = failure {
                ok = false;
                self.failed(&message);
            }
        }
        ok
    }

    fn failed(&mut self, message: &str) {
        self.failures += 1;
        let due = self.last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY);
        if due {
            let suppressed = self.failures - self.reported_failures - 1;
            if suppressed > 0 {
                diag::report(&format!(
                    "{message} ({suppressed} more export failures since the last report)"
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
        (self.exporters.iter()).filter_map(|exporter| exporter.as_any().downcast_ref())
    }

    pub(crate) fn force_flush(&self) -> bool {
        let mut ok = true;
        for exporter in &self.exporters {
            if let Err(e) = exporter.force_flush() {
                diag::report(&format!("{} failed to flush: {e}", exporter.name()));
                ok = false;
            }
        }
        ok
    }

    pub(crate) fn shutdown(&mut self, timeout: Duration) {
        for exporter in &self.exporters {
            if let Err(e) = exporter.shutdown_with_timeout(timeout) {
                diag::report(&format!("{} failed to shut down: {e}", exporter.name()));
            }
        }
        let unreported = self.failures - self.reported_failures;
        if unreported > 0 {
            let last = self.last_unreported.take().unwrap_or_default();
            diag::report(&format!(
                "{unreported} export failures were not reported individually; the last: {last}"
            ));
        }
        self.exporters.clear();
    }
}

impl fmt::Debug for ExporterSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterSet")
            .field("exporters", &self.exporters)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
