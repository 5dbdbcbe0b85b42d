//! The installed pipeline: one per process at a time, and one value.
//!
//! Everything an install sets is decided first, by the builder, into one
//! [`Pipeline`]: the sampler (and its ratio), the span limits, the processor
//! with its exporters (which already hold the resource) and, once running,
//! its worker, and the propagation formats chosen. [`install`] then accepts
//! or refuses that value under the one lock, [`INSTALLED`]; only an accepted
//! pipeline is applied, in one step, and uninstalling swaps it out whole. A
//! refused install changes nothing.
//!
//! The calling threads never take that lock. What they read per span is a
//! *published copy* of the installed value, written only by [`publish`],
//! which install and uninstall call with the lock held:
//!
//! - [`MODE`], what an instrumented call reads first: one relaxed load says
//!   whether a pipeline is installed (zero: the call records nothing), which
//!   sampler decides, whether spans are exported on the calling thread
//!   (simple processor) or pushed to the thread's ring (batch), and which
//!   installation the span belongs to, so a record that outlives its
//!   pipeline is never delivered to the next one;
//! - the ratio samplers' threshold ([`sampler`](super::sampler));
//! - the count limits a span in progress is kept within
//!   ([`limits::recording_attributes`] and the others);
//! - the capacity of new rings and the worker they wake
//!   ([`buffer`](crate::local::buffer));
//! - the propagation formats, when the pipeline chose some (builder or
//!   `OTEL_PROPAGATORS`). These are also a process setting of their own:
//!   `traced::propagation::set_propagators` is public and
//!   propagation works without a pipeline, so uninstalling leaves them as
//!   they are.
//!
//! `MODE` is published last, so a span that sees a new installation is
//! recorded under that installation's values.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::batch::BatchProcessor;
use super::exporters::{Delivery, ExporterSet, Outcome};
use super::limits;
use super::sampler::{self, Sampler};
use crate::export::span_data::Conversion;
use crate::local::buffer;
use crate::model::AnnotationsBox;
use crate::model::CarriedRef;
use crate::model::Propagator;
use crate::model::SpanLimits;
use crate::model::{InlineAttributes, RecordHead, SpanRecord};

/// The published copy of the installed pipeline's [`Mode`]; zero when none.
static MODE: AtomicU64 = AtomicU64::new(0);

/// The installed pipeline: the one owner of the pipeline's state.
static INSTALLED: RwLock<Installed> = RwLock::new(Installed {
    pipeline: None,
    next_generation: 1,
});

struct Installed {
    pipeline: Option<Arc<Pipeline>>,
    /// The generation the next accepted pipeline gets.
    next_generation: u32,
}

impl Installed {
    fn take_generation(&mut self) -> u32 {
        let generation = self.next_generation;
        // Zero is never a generation: a span of generation zero would look
        // like one made with no pipeline.
        self.next_generation = generation.wrapping_add(1).max(1);
        generation
    }
}

fn installed() -> std::sync::RwLockReadGuard<'static, Installed> {
    INSTALLED.read().unwrap_or_else(PoisonError::into_inner)
}

fn installed_mut() -> std::sync::RwLockWriteGuard<'static, Installed> {
    INSTALLED.write().unwrap_or_else(PoisonError::into_inner)
}

/// Extra time `flush` allows beyond the export timeout for queue handling.
const FLUSH_SLACK: Duration = Duration::from_secs(1);

/// The packed state an instrumented call reads: bits 0..=3 the sampler,
/// bit 4 set for the simple processor, bits 32.. the installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mode(u64);

const SIMPLE: u64 = 1 << 4;
/// The bits of [`Mode`] that hold the sampler.
const SAMPLER_BITS: u64 = 0xf;

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
        let sampler = (self.0 & SAMPLER_BITS) as u8;
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

/// Everything one install sets; see the module's documentation.
pub(crate) struct Pipeline {
    /// Given when the pipeline is accepted; zero until then.
    generation: u32,
    sampler: Sampler,
    processor: Processor,
    export_timeout: Duration,
    /// What one span keeps, and the baggage it gets as attributes.
    conversion: Conversion,
    /// The propagation formats, if the configuration chose them.
    propagators: Option<Vec<Propagator>>,
    /// The process-wide count of dropped spans when this pipeline started.
    dropped_before: u64,
    /// Spans collectors refused (see [`PipelineStats::rejected`]), counted
    /// by the exporter set; the processor counts them as exported.
    rejected: Arc<AtomicU64>,
    /// `rejected` when the last flush was answered: a flush after which
    /// more spans were refused did not deliver everything.
    rejected_at_flush: AtomicU64,
    /// When the pipeline was accepted (for the guard dropped at once).
    installed_at: Option<Instant>,
}

impl Pipeline {
    pub(crate) fn new(
        sampler: Sampler,
        processor: Processor,
        export_timeout: Duration,
        conversion: Conversion,
        propagators: Option<Vec<Propagator>>,
        rejected: Arc<AtomicU64>,
    ) -> Self {
        Pipeline {
            generation: 0,
            sampler,
            processor,
            export_timeout,
            conversion,
            propagators,
            dropped_before: 0,
            rejected,
            rejected_at_flush: AtomicU64::new(0),
            installed_at: None,
        }
    }

    fn mode(&self) -> Mode {
        Mode::new(
            self.sampler.code(),
            !matches!(self.processor, Processor::Batch(_)),
            self.generation,
        )
    }

    #[allow(clippy::needless_pass_by_value)] // the record ends here, once exported
    fn export_now(&self, record: SpanRecord) {
        if let Processor::Simple {
            exporters,
            exported,
            failed,
        } = &self.processor
        {
            // The exporter set contains exporter panics; the scope puts the
            // thread's setting back whatever happens.
            let _suppressed = crate::local::suppress::suppress();
            let mut exporters = exporters.lock().unwrap_or_else(PoisonError::into_inner);
            // traced's own exporters encode the record; `SpanData` is made
            // only for the others.
            let outcome = exporters.export_records(
                std::slice::from_ref(&record),
                &self.conversion,
                &mut Delivery::default(),
                || {
                    vec![crate::export::span_data::copy_span_data(
                        &record,
                        &self.conversion,
                    )]
                },
            );
            if outcome == Outcome::Delivered {
                exported.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Flushes; false also when a collector refused spans (partial
    /// success) since the previous flush: they were not delivered.
    fn flush(&self) -> bool {
        let flushed = self.flush_processor();
        let rejected = self.rejected.load(Ordering::Relaxed);
        let before = self.rejected_at_flush.swap(rejected, Ordering::Relaxed);
        flushed && rejected == before
    }

    fn flush_processor(&self) -> bool {
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
        // Read before the processor's count, which includes these spans
        // (it is added after them), so `exported` never goes negative.
        let rejected = self.rejected.load(Ordering::Relaxed);
        let (created, exported, dropped, failed, high_water) = match &self.processor {
            Processor::Discard => return PipelineStats::default(),
            Processor::Simple {
                exported, failed, ..
            } => {
                let (exported, failed) = (
                    exported.load(Ordering::Relaxed),
                    failed.load(Ordering::Relaxed),
                );
                (exported + failed, exported, 0, failed, 0)
            }
            Processor::Batch(batch) => {
                let dropped = dropped + batch.dropped_full();
                // Read last: what it counts was drained before any of the
                // counts above were settled.
                let drained = batch.drained();
                (
                    drained + dropped,
                    batch.exported(),
                    dropped,
                    batch.failed(),
                    batch.buffered_high_water(),
                )
            }
        };
        PipelineStats {
            created,
            exported: exported.saturating_sub(rejected),
            dropped,
            failed,
            rejected,
            queue_high_water_bytes: high_water,
        }
    }
}

/// Hands the record of an ended span (its fixed part made by `head`, in
/// place) to the pipeline of installation `generation`, if that pipeline is still installed: into the
/// thread's ring for the batch processor (built in place), or exported
/// right here for the simple one. The attributes are moved out of
/// `attributes`.
#[inline]
pub(crate) fn submit(
    generation: u32,
    head: impl FnOnce() -> RecordHead,
    attributes: &mut InlineAttributes,
    extra: AnnotationsBox,
    carried: CarriedRef,
) {
    // Only a recording span ends here, and it was opened under a mode
    // that was not off: its installation is never zero.
    debug_assert_ne!(generation, 0, "a recording span of no installation");
    let mode = mode();
    // One compare for the common case: installation `generation` (never
    // zero, so not off) with the batch processor. The sampler's bits are
    // the only ones it ignores.
    if mode.0 & !SAMPLER_BITS == u64::from(generation) << 32 {
        buffer::push(head, attributes, extra, carried);
    } else if mode.generation() == generation && !mode.is_off() && mode.is_simple() {
        submit_simple(SpanRecord::new(head(), attributes, extra, carried));
    }
}

#[cold]
fn submit_simple(record: SpanRecord) {
    let installed = installed();
    if let Some(pipeline) =
        (installed.pipeline.as_ref()).filter(|p| p.generation == record.head.generation)
    {
        pipeline.export_now(record);
    }
}

/// Makes `pipeline` the process's pipeline. While another is installed
/// (its guard alive), `pipeline` is not: its exporters are shut down, a
/// warning says so, the guard returned is inactive, and nothing else
/// changes. This is the OpenTelemetry rule for a second global tracer
/// provider; replacing the first would leave its guard holding a dead
/// pipeline, and dropping the second guard would then turn tracing off for
/// the whole process.
pub(crate) fn install(mut pipeline: Pipeline) -> PipelineGuard {
    let mut installed = installed_mut();
    if installed.pipeline.is_some() {
        drop(installed);
        crate::diag::warn_once(
            "second-install",
            "traced is already installed: the pipeline of this later init()/install() is not used, and the first stays in place; drop the first guard before installing another",
        );
        pipeline.shutdown();
        return PipelineGuard::disabled();
    }
    pipeline.generation = installed.take_generation();
    pipeline.installed_at = Some(Instant::now());
    pipeline.dropped_before = buffer::dropped();
    let pipeline = Arc::new(pipeline);
    if let Processor::Batch(batch) = &pipeline.processor {
        batch.activate(pipeline.generation, pipeline.conversion.clone());
    }
    publish(Some(&pipeline));
    installed.pipeline = Some(Arc::clone(&pipeline));
    drop(installed);
    PipelineGuard {
        pipeline: Some(pipeline),
    }
}

/// Writes the published copies of `pipeline` (see the module's
/// documentation), or the values for no pipeline. The only writer of those
/// copies; called with [`INSTALLED`] held for writing.
fn publish(pipeline: Option<&Pipeline>) {
    let Some(pipeline) = pipeline else {
        MODE.store(0, Ordering::Relaxed);
        limits::publish_recording(&SpanLimits::default());
        sampler::publish_ratio_threshold(0);
        buffer::publish(None, None, None);
        return;
    };
    limits::publish_recording(&pipeline.conversion.limits);
    sampler::publish_ratio_threshold(pipeline.sampler.ratio_threshold());
    if let Some(propagators) = &pipeline.propagators {
        super::set_propagators(propagators);
    }
    let batch = match &pipeline.processor {
        Processor::Batch(batch) => Some(batch),
        Processor::Discard | Processor::Simple { .. } => None,
    };
    buffer::publish(
        batch.map(BatchProcessor::max_queue_size),
        batch.map(BatchProcessor::bound),
        batch.and_then(BatchProcessor::worker_thread),
    );
    MODE.store(pipeline.mode().0, Ordering::Relaxed);
}

/// Waits until every span that ended before the call has been exported by
/// the installed pipeline. Returns `false` if that did not happen within
/// the export timeout (plus one second), or if any span since the previous flush was not
/// delivered (an exporter failed, a full buffer dropped it, or a collector
/// refused it with an OTLP partial success); `true` when there is no
/// pipeline.
pub fn flush() -> bool {
    let pipeline = installed().pipeline.clone();
    pipeline.is_none_or(|p| p.flush())
}

/// The counters of the installed pipeline, or `None` when no pipeline is
/// installed (before [`init`](crate::init), after its guard is dropped, and
/// with `OTEL_SDK_DISABLED=true`).
///
/// The same as [`PipelineGuard::stats`], for code that does not hold the
/// guard: a health endpoint, a metrics exporter, a test. After the guard's
/// [`shutdown`](PipelineGuard::shutdown), which returns the final counters,
/// this is `None`.
///
/// ```
/// let (exporter, _spans) = traced::export::MemoryExporter::new();
/// let traced = traced::builder().with_exporter(exporter).install();
/// traced::span!("work", {});
/// let stats = traced.shutdown();
/// assert_eq!(stats.created, 1);
/// assert_eq!(stats.created, stats.exported + stats.dropped + stats.failed + stats.rejected);
/// assert_eq!(traced::stats(), None);
/// ```
pub fn stats() -> Option<PipelineStats> {
    let pipeline = installed().pipeline.clone();
    pipeline.map(|p| p.stats())
}

/// Counters of a pipeline.
///
/// Once the pipeline is shut down (its guard dropped, or
/// [`PipelineGuard::shutdown`]) every span it took in is accounted for:
/// `created == exported + dropped + failed + rejected`. While it runs, the
/// difference is what it still holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Spans the pipeline took in: every recorded (sampled) span that ended
    /// while it was installed. With the batch processor a span is counted
    /// when the worker takes it from its thread's ring (or drops it there),
    /// so the count can trail the spans just ended until the next drain or
    /// [`flush`]. Zero with no exporter (`OTEL_TRACES_EXPORTER=none`),
    /// which keeps no spans.
    pub created: u64,
    /// Spans delivered to the exporters without error, and not rejected.
    pub exported: u64,
    /// Spans dropped because a buffer was full (a thread's ring, or the
    /// batch worker's buffer).
    pub dropped: u64,
    /// Spans an exporter failed to deliver (an error or a timeout, reported
    /// on stderr, or a panic); with several exporters, spans any of them
    /// failed on.
    pub failed: u64,
    /// Spans a collector received but refused: an OTLP export answered
    /// with partial success (`rejected_spans`), the collector's message
    /// printed on stderr once per distinct message. With several exporters,
    /// the most any of them had refused, for exports none of them failed.
    ///
    /// Counted for OTLP over HTTP (protobuf and JSON). Over gRPC the
    /// partial success is read by `opentelemetry-otlp`'s tonic exporter,
    /// which only logs it through its own internal logs and reports the
    /// export as a success: spans refused there count as exported.
    pub rejected: u64,
    /// The most bytes of spans the batch worker's buffer has held at once
    /// (estimated from the records, their attributes and annotations), out
    /// of [`BatchConfig::max_buffer_bytes`](crate::BatchConfig::max_buffer_bytes).
    /// Zero with the simple processor, which holds nothing.
    pub queue_high_water_bytes: usize,
}

/// Keeps the pipeline installed by [`init`](crate::init) or
/// [`Builder::install`](crate::Builder::install); dropping it flushes every
/// ended span, shuts the exporters down and uninstalls the pipeline.
///
/// Keep it alive for as long as the program should be traced, usually by
/// binding it at the top of `main`: `let _traced = traced::init();`. A guard
/// dropped within a second of its install, before any span was recorded,
/// prints a warning saying so (the `let _ = traced::init();` mistake).
///
/// Shutting down (the drop, or [`shutdown`](Self::shutdown)) takes at most
/// twice the batch processor's export timeout plus one second
/// (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s by default: 61 s); the simple processor
/// waits at most one export timeout for its exporters' shutdown. Spans an
/// exporter still holds when the batch processor stops waiting are counted
/// as failed, and their number is printed.
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

    /// The pipeline's counters so far (see [`PipelineStats`]); zeros when
    /// the guard is inactive. [`stats`](crate::stats) reads the same
    /// without the guard.
    pub fn stats(&self) -> PipelineStats {
        self.pipeline
            .as_ref()
            .map_or_else(PipelineStats::default, |p| p.stats())
    }

    /// Flushes, shuts down and uninstalls now, as dropping the guard does,
    /// and returns the final counters: every span ended before the call is
    /// in them, as exported, dropped or failed (what an exporter still held
    /// when shutdown stopped waiting for it is counted as failed).
    pub fn shutdown(mut self) -> PipelineStats {
        self.uninstall()
            .map_or_else(PipelineStats::default, |p| p.stats())
    }

    /// Uninstalls the pipeline and shuts it down; returns it, for its
    /// counters.
    fn uninstall(&mut self) -> Option<Arc<Pipeline>> {
        let pipeline = self.pipeline.take()?;
        let mut installed = installed_mut();
        let current = (installed.pipeline.as_ref()).is_some_and(|p| Arc::ptr_eq(p, &pipeline));
        if current {
            installed.pipeline = None;
        }
        drop(installed);
        // Spans still ending are delivered by the shutdown's final drain
        // (the published mode still names this pipeline); those that end
        // after it are discarded by generation.
        pipeline.shutdown();
        if current {
            let installed = installed_mut();
            // Unless another pipeline was installed meanwhile (it published
            // its own values).
            if installed.pipeline.is_none() {
                publish(None);
            }
        }
        Some(pipeline)
    }
}

/// A guard dropped this soon after its install, before any span was
/// recorded, is most likely the `let _ = traced::init();` mistake.
const DROPPED_AT_ONCE: Duration = Duration::from_secs(1);

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        if let Some(pipeline) = self.uninstall() {
            warn_if_dropped_at_once(&pipeline);
        }
    }
}

/// Warns when the guard of `pipeline` was dropped within
/// [`DROPPED_AT_ONCE`] of its install with no span taken in. The message
/// holds for a program that really had nothing to trace, too.
fn warn_if_dropped_at_once(pipeline: &Pipeline) {
    let Some(installed_at) = pipeline.installed_at else {
        return;
    };
    let lived = installed_at.elapsed();
    if lived >= DROPPED_AT_ONCE
        || matches!(pipeline.processor, Processor::Discard)
        || pipeline.stats().created > 0
    {
        return;
    }
    crate::diag::warn_once(
        "guard-dropped-at-once",
        &format!(
            "the tracing pipeline was shut down {} ms after it was installed, before any span was recorded: its guard was dropped. If that was not meant (`let _ = traced::init();` and `traced::init();` as a statement drop it at once), bind the guard to a name for as long as the program should be traced: `let _traced = traced::init();`",
            lived.as_millis()
        ),
    );
}

impl fmt::Debug for PipelineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineGuard")
            .field("active", &self.is_active())
            .field("stats", &self.stats())
            .finish()
    }
}
