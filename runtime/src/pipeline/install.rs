//! The installed pipeline: one per process at a time.
//!
//! `MODE` is what an instrumented call reads first: zero means no pipeline
//! (the call records nothing), anything else is the active sampler. The
//! pipeline itself sits behind a read-write lock taken only when a sampled
//! span ends.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::batch::BatchProcessor;
use super::exporters::ExporterSet;
use super::SpanRecord;

/// No pipeline installed.
pub(crate) const OFF: u8 = 0;

static MODE: AtomicU8 = AtomicU8::new(OFF);
static PIPELINE: RwLock<Option<Arc<Pipeline>>> = RwLock::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Extra time `flush` allows beyond the export timeout for queue handling.
const FLUSH_SLACK: Duration = Duration::from_secs(1);

/// The sampler mode, or [`OFF`].
#[inline]
pub(crate) fn mode() -> u8 {
    MODE.load(Ordering::Relaxed)
}

pub(crate) enum Processor {
    /// No exporter (`OTEL_TRACES_EXPORTER=none`): spans get ids and
    /// propagate context, and are discarded when they end.
    Discard,
    /// Export on the calling thread when each span ends.
    Simple {
        exporters: Mutex<ExporterSet>,
        exported: AtomicU64,
    },
    Batch(BatchProcessor),
}

pub(crate) struct Pipeline {
    id: u64,
    mode: u8,
    processor: Processor,
    export_timeout: Duration,
}

impl Pipeline {
    pub(crate) fn new(mode: u8, processor: Processor, export_timeout: Duration) -> Self {
        Pipeline {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            mode,
            processor,
            export_timeout,
        }
    }

    fn submit(&self, record: SpanRecord) {
        match &self.processor {
            Processor::Discard => {}
            Processor::Simple {
                exporters,
                exported,
            } => {
                let data = record.into_span_data();
                let mut exporters = exporters.lock().unwrap_or_else(PoisonError::into_inner);
                if exporters.export(vec![data]) {
                    exported.fetch_add(1, Ordering::Relaxed);
                }
            }
            Processor::Batch(batch) => batch.submit(record),
        }
    }

    fn flush(&self) -> bool {
        match &self.processor {
            Processor::Discard => true,
            Processor::Simple { exporters, .. } => exporters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .force_flush(),
            Processor::Batch(batch) => batch.flush(self.export_timeout + FLUSH_SLACK),
        }
    }

    fn shutdown(&self) -> bool {
        match &self.processor {
            Processor::Discard => true,
            Processor::Simple { exporters, .. } => {
                exporters
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .shutdown(self.export_timeout);
                true
            }
            Processor::Batch(batch) => batch.shutdown(self.export_timeout * 2 + FLUSH_SLACK),
        }
    }

    fn stats(&self) -> PipelineStats {
        match &self.processor {
            Processor::Discard => PipelineStats::default(),
            Processor::Simple { exported, .. } => PipelineStats {
                exported: exported.load(Ordering::Relaxed),
                dropped: 0,
            },
            Processor::Batch(batch) => PipelineStats {
                exported: batch.exported(),
                dropped: batch.dropped(),
            },
        }
    }
}

/// Hands a record to the installed pipeline, if any.
pub(crate) fn submit(record: SpanRecord) {
    let pipeline = PIPELINE.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(pipeline) = pipeline.as_ref() {
        pipeline.submit(record);
    }
}

/// Makes `pipeline` the process's pipeline. A pipeline installed before
/// stays alive (and keeps what it queued) until its own guard is dropped.
pub(crate) fn install(pipeline: Pipeline) -> PipelineGuard {
    let pipeline = Arc::new(pipeline);
    let mut slot = PIPELINE.write().unwrap_or_else(PoisonError::into_inner);
    *slot = Some(Arc::clone(&pipeline));
    MODE.store(pipeline.mode, Ordering::Relaxed);
    drop(slot);
    PipelineGuard {
        pipeline: Some(pipeline),
    }
}

/// Waits until every span that ended before the call has been exported by
/// the installed pipeline. Returns `false` if that did not happen within
/// the export timeout (or no exporter accepted them); `true` when there is
/// no pipeline.
pub fn flush() -> bool {
    let pipeline = PIPELINE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    pipeline.is_none_or(|p| p.flush())
}

/// Counters of a pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Spans delivered to the exporters without error.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped: u64,
}

/// Keeps the pipeline installed by [`init`](crate::init) or
/// [`Builder::install`](crate::Builder::install); dropping it flushes every
/// ended span, shuts the exporters down and uninstalls the pipeline.
///
/// Keep it alive for as long as the program should be traced, usually by
/// binding it at the top of `main`: `let _traced = traced::init();`.
#[must_use = "dropping the guard shuts tracing down at once; bind it: `let _traced = traced::init();`"]
pub struct PipelineGuard {
    pipeline: Option<Arc<Pipeline>>,
}

impl PipelineGuard {
    /// A guard for no pipeline (tracing disabled).
    pub(crate) const fn disabled() -> Self {
        PipelineGuard { pipeline: None }
    }

    /// Whether a pipeline is behind this guard (false when tracing was
    /// disabled with `OTEL_SDK_DISABLED=true`).
    pub fn is_active(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Waits until every span ended so far has been exported; see [`flush`].
    pub fn flush(&self) -> bool {
        self.pipeline.as_ref().is_none_or(|p| p.flush())
    }

    /// Spans exported and dropped so far.
    pub fn stats(&self) -> PipelineStats {
        self.pipeline
            .as_ref()
            .map_or_else(PipelineStats::default, |p| p.stats())
    }

    /// Flushes, shuts down and uninstalls now; the same as dropping the guard.
    pub fn shutdown(self) {}
}

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let Some(pipeline) = self.pipeline.take() else {
            return;
        };
        let mut slot = PIPELINE.write().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|p| p.id == pipeline.id) {
            MODE.store(OFF, Ordering::Relaxed);
            *slot = None;
        }
        drop(slot);
        pipeline.shutdown();
    }
}

impl fmt::Debug for PipelineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineGuard")
            .field("active", &self.is_active())
            .field("stats", &self.stats())
            .finish()
    }
}
