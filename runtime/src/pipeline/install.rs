//! The installed pipeline: one per process at a time.
//!
//! [`Mode`] is what an instrumented call reads first: one relaxed load says
//! whether a pipeline is installed (zero: the call records nothing), which
//! sampler decides, whether spans are exported on the calling thread
//! (simple processor) or pushed to the thread's ring (batch), and which
//! installation the span belongs to, so a record that outlives its pipeline
//! is never delivered to the next one.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::batch::BatchProcessor;
use super::exporters::ExporterSet;
use super::limits::{self, SpanLimits};
use super::SpanRecord;
use crate::context::{current, PendingBox};
use crate::local::buffer;
use crate::model::CarriedRef;
use crate::span::{InlineAttributes, Opened};

static MODE: AtomicU64 = AtomicU64::new(0);
static PIPELINE: RwLock<Option<Arc<Pipeline>>> = RwLock::new(None);
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Extra time `flush` allows beyond the export timeout for queue handling.
const FLUSH_SLACK: Duration = Duration::from_secs(1);

/// The packed state an instrumented call reads: bits 0..=3 the sampler,
/// bit 4 set for the simple processor, bits 32.. the installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mode(u64);

const SIMPLE: u64 = 1 << 4;

impl Mode {
    fn new(sampler: u8, simple: bool, generation: u32) -> Mode {
        Mode(u64::from(sampler) | if simple { SIMPLE } else { 0 } | (u64::from(generation) << 32))
    }

    #[inline]
    pub(crate) fn is_off(self) -> bool {
        self.0 == 0
    }

    #[inline]
    pub(crate) fn sampler(self) -> u8 {
        #[allow(clippy::cast_possible_truncation)]
        let sampler = (self.0 & 0xf) as u8;
        sampler
    }

    #[inline]
    pub(crate) fn generation(self) -> u32 {
        #[allow(clippy::cast_possible_truncation)]
        let generation = (self.0 >> 32) as u32;
        generation
    }

    #[inline]
    fn is_simple(self) -> bool {
        self.0 & SIMPLE != 0
    }
}

/// The current mode.
#[inline]
pub(crate) fn mode() -> Mode {
    Mode(MODE.load(Ordering::Relaxed))
}

pub(crate) enum Processor {
    /// No exporter (`OTEL_TRACES_EXPORTER=none`): spans get ids and
    /// propagate context, and are discarded when they end.
    Discard,
    /// Export on the calling thread when each span ends.
    Simple {
        exporters: Mutex<ExporterSet>,
        exported: AtomicU64,
        failed: AtomicU64,
    },
    Batch(BatchProcessor),
}

pub(crate) struct Pipeline {
    generation: u32,
    sampler: u8,
    processor: Processor,
    export_timeout: Duration,
    /// What one span keeps (for the simple processor; the batch worker has
    /// its own copy).
    limits: SpanLimits,
    /// The process-wide count of dropped spans when this pipeline started.
    dropped_before: u64,
}

impl Pipeline {
    pub(crate) fn new(
        sampler: u8,
        processor: Processor,
        export_timeout: Duration,
        limits: SpanLimits,
    ) -> Self {
        #[allow(clippy::cast_possible_truncation)]
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed) as u32;
        Pipeline {
            generation,
            sampler,
            processor,
            export_timeout,
            limits,
            dropped_before: buffer::dropped(),
        }
    }

    fn mode(&self) -> Mode {
        Mode::new(
            self.sampler,
            !matches!(self.processor, Processor::Batch(_)),
            self.generation,
        )
    }

    fn export_now(&self, record: SpanRecord) {
        if let Processor::Simple {
            exporters,
            exported,
            failed,
        } = &self.processor
        {
            let data = record.into_span_data(&self.limits);
            let was = current::set_suppressed(true);
            let mut exporters = exporters.lock().unwrap_or_else(PoisonError::into_inner);
            if exporters.export(vec![data]) {
                exported.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(exporters);
            current::set_suppressed(was);
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
        let dropped = buffer::dropped() - self.dropped_before;
        match &self.processor {
            Processor::Discard => PipelineStats::default(),
            Processor::Simple {
                exported, failed, ..
            } => PipelineStats {
                exported: exported.load(Ordering::Relaxed),
                dropped: 0,
                failed: failed.load(Ordering::Relaxed),
            },
            Processor::Batch(batch) => PipelineStats {
                exported: batch.exported(),
                dropped,
                failed: batch.failed(),
            },
        }
    }
}

/// Hands the record of an ended span to the pipeline of installation
/// `span`, if that pipeline is still installed: into the thread's
/// ring for the batch processor (built in place), or exported right here
/// for the simple one. The attributes are moved out of `attributes`.
#[inline]
pub(crate) fn submit(
    span: &Opened,
    end: u64,
    attributes: &mut InlineAttributes,
    extra: PendingBox,
    carried: CarriedRef,
) {
    let mode = mode();
    if mode.generation() != span.generation() || mode.is_off() {
        return;
    }
    if mode.is_simple() {
        submit_simple(SpanRecord::new(span, end, attributes, extra, carried));
    } else {
        buffer::push(span, end, attributes, extra, carried);
    }
}

#[cold]
fn submit_simple(record: SpanRecord) {
    let pipeline = PIPELINE.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(pipeline) = pipeline
        .as_ref()
        .filter(|p| p.generation == record.head.generation)
    {
        pipeline.export_now(record);
    }
}

/// Makes `pipeline` the process's pipeline. While another is installed
/// (its guard alive), `pipeline` is not: its exporters are shut down, a
/// warning says so, and the guard returned is inactive. This is the
/// OpenTelemetry rule for a second global tracer provider; replacing the
/// first would leave its guard holding a dead pipeline, and dropping the
/// second guard would then turn tracing off for the whole process.
pub(crate) fn install(pipeline: Pipeline) -> PipelineGuard {
    let pipeline = Arc::new(pipeline);
    {
        let mut slot = PIPELINE.write().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            // Before the mode: spans of this pipeline are recorded under its limits.
            limits::set_recording(&pipeline.limits);
            MODE.store(pipeline.mode().0, Ordering::Relaxed);
            *slot = Some(Arc::clone(&pipeline));
        } else {
            drop(slot);
            crate::config::warn::warn_once(
                "second-install",
                "traced is already installed: the pipeline of this later init()/install() is not used, and the first stays in place; drop the first guard before installing another",
            );
            pipeline.shutdown();
            return PipelineGuard::disabled();
        }
    }
    if let Processor::Batch(batch) = &pipeline.processor {
        batch.activate();
    }
    PipelineGuard {
        pipeline: Some(pipeline),
    }
}

/// Waits until every span that ended before the call has been exported by
/// the installed pipeline. Returns `false` if that did not happen within
/// the export timeout (plus one second), or if any span since the previous flush was not
/// delivered (an exporter failed, or a full buffer dropped it); `true` when
/// there is no pipeline.
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
    /// Spans dropped because a buffer was full.
    pub dropped: u64,
    /// Spans an exporter failed to deliver (an error or a timeout, reported
    /// on stderr); with several exporters, spans any of them failed on.
    pub failed: u64,
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

    /// Whether a pipeline is behind this guard: false when tracing was
    /// disabled with `OTEL_SDK_DISABLED=true`, and when another pipeline was
    /// already installed (the first stays; a warning says so).
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
        let current = slot
            .as_ref()
            .is_some_and(|p| p.generation == pipeline.generation);
        if current {
            *slot = None;
        }
        drop(slot);
        // Spans still ending are delivered by the shutdown's final drain;
        // those that end after it are discarded by generation.
        pipeline.shutdown();
        if current {
            let _ =
                MODE.compare_exchange(pipeline.mode().0, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
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
