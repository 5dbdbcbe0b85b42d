//! Scale: 10 000-deep nesting, 1 000 000 spans in one trace, 64 threads starting and exiting
//! while they record. Every parent is right, every count exact, memory bounded.
//!
//! The exporter here keeps counts, not spans, so that what is measured is traced's own
//! memory: a million `SpanData` would take several hundred megabytes by themselves.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::{span, traced, BatchConfig, Context, PipelineGuard, Span};

/// What the exporter received, as counts.
#[derive(Debug, Default)]
struct Tally {
    /// Spans received.
    spans: u64,
    /// Spans received per parent span id (`SpanId::INVALID` for roots).
    children: HashMap<SpanId, u64>,
    /// Every trace id seen.
    traces: HashSet<TraceId>,
    /// Every span id seen, when asked for ([`Counting::with_ids`]).
    ids: Option<HashSet<SpanId>>,
    /// Span ids received more than once.
    repeated: u64,
}

/// A span exporter that tallies what it receives and keeps nothing else.
#[derive(Clone, Debug, Default)]
struct Counting(Arc<Mutex<Tally>>);

impl Counting {
    /// One that also checks every span id arrives once.
    fn with_ids() -> Self {
        let counting = Counting::default();
        counting.tally().ids = Some(HashSet::new());
        counting
    }

    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpanExporter for Counting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut tally = self.tally();
        for span in &batch {
            tally.spans += 1;
            *tally.children.entry(span.parent_span_id).or_default() += 1;
            tally.traces.insert(span.span_context.trace_id());
            let fresh =
                (tally.ids.as_mut()).is_none_or(|ids| ids.insert(span.span_context.span_id()));
            if !fresh {
                tally.repeated += 1;
            }
        }
        Ok(())
    }
}

/// A batch pipeline exporting to `exporter`, with rings large enough for `ring` spans per
/// thread between two drains. The caller holds the test lock.
fn install(exporter: &Counting, ring: usize) -> PipelineGuard {
    traced::builder()
        .with_exporter(exporter.clone())
        .with_batch_processor(BatchConfig {
            max_queue_size: ring,
            max_export_batch_size: 4096,
            scheduled_delay: Duration::from_millis(5),
            ..BatchConfig::default()
        })
        .install()
}

const DEPTH: u32 = 10_000;

/// Runs `f` on a thread with a stack deep enough for [`DEPTH`] nested spans in a debug build.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let thread = thread::Builder::new().stack_size(256 << 20);
    thread.spawn(f).unwrap().join().unwrap()
}

/// Opens `depth` nested `span!` guards, each in the frame of the one above; returns the
/// innermost span's id.
fn nest_guards(depth: u32) -> SpanId {
    let _level = span!("level", depth = i64::from(depth));
    if depth == 1 {
        Span::current().span_id()
    } else {
        nest_guards(depth - 1)
    }
}

#[traced(attrs(depth = i64::from(depth)))]
fn recurse(depth: u32) -> SpanId {
    if depth == 1 {
        Span::current().span_id()
    } else {
        recurse(depth - 1)
    }
}

/// Runs `nest` ([`DEPTH`] levels, returning the innermost span's id) on a big stack and
/// asserts the spans form one chain in one trace: one root, then each span the only child of
/// the one before, ending at the innermost; all exported, none dropped.
fn assert_one_chain(nest: fn(u32) -> SpanId) {
    let _lock = traced_tests::lock();
    let exporter = Counting::with_ids();
    let guard = install(&exporter, 16_384);
    let innermost = on_big_stack(move || nest(DEPTH));
    let stats = guard.shutdown();
    let tally = exporter.tally();
    assert_eq!(tally.spans, u64::from(DEPTH));
    assert_eq!(stats.exported, u64::from(DEPTH));
    assert_eq!((stats.dropped, stats.failed), (0, 0));
    assert_eq!(tally.traces.len(), 1, "one trace");
    assert_eq!(tally.repeated, 0);
    // Every span but the innermost has exactly one child, and there is one root.
    assert_eq!(tally.children.get(&SpanId::INVALID), Some(&1));
    assert!(tally.children.values().all(|n| *n == 1));
    assert_eq!(tally.children.len(), DEPTH as usize);
    assert!(
        !tally.children.contains_key(&innermost),
        "the innermost span has no child"
    );
}

#[test]
fn ten_thousand_nested_guards_form_one_chain() {
    assert_one_chain(nest_guards);
}

#[test]
fn ten_thousand_deep_traced_recursion_forms_one_chain() {
    assert_one_chain(recurse);
}

/// Peak resident memory of this process so far (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

const CHILDREN: u64 = 1_000_000;

/// Spans ended between two flushes: fewer than one ring holds, so none is dropped whatever
/// the worker's pace.
const BETWEEN_FLUSHES: u64 = 50_000;

/// Peak memory the whole test binary may reach (every test in it included; 45 MiB measured):
/// traced's rings (64 Ki records of 336 bytes per thread) and buffer plus the harness. A
/// million spans kept anywhere, as records or as `SpanData`, would pass it.
const PEAK_RSS_BOUND: u64 = 128 << 20;

#[test]
fn a_million_children_of_one_root_are_all_delivered_in_bounded_memory() {
    let _lock = traced_tests::lock();
    let exporter = Counting::default();
    let guard = install(&exporter, 65_536);
    let root = span!("root", {
        let root = Span::current().span_id();
        for i in 1..=CHILDREN {
            drop(span!("child"));
            if i % BETWEEN_FLUSHES == 0 {
                assert!(traced::flush(), "flush after {i} children");
            }
        }
        root
    });
    let stats = guard.shutdown();
    let tally = exporter.tally();
    assert_eq!(tally.spans, CHILDREN + 1);
    assert_eq!(stats.exported, CHILDREN + 1, "{stats:?}");
    assert_eq!(
        stats.exported + stats.dropped + stats.failed,
        CHILDREN + 1,
        "every span created is counted once"
    );
    assert_eq!(stats.dropped, 0);
    assert_eq!(tally.children.get(&root), Some(&CHILDREN));
    assert_eq!(tally.children.get(&SpanId::INVALID), Some(&1));
    assert_eq!(tally.traces.len(), 1);
    let peak = peak_rss();
    assert!(
        peak < PEAK_RSS_BOUND,
        "peak RSS {} MiB, bound {} MiB",
        peak >> 20,
        PEAK_RSS_BOUND >> 20
    );
}

const THREADS: u64 = 64;

/// Spans thread `i` records: different for each, so threads exit while others still record.
fn spans_of_thread(i: u64) -> u64 {
    500 + 37 * i
}

#[test]
fn sixty_four_threads_starting_and_exiting_deliver_every_span_once_under_its_parent() {
    let _lock = traced_tests::lock();
    let exporter = Counting::with_ids();
    let guard = install(&exporter, 4_096);
    let (root, threads) = span!("main", {
        let root = Span::current().span_id();
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let context = Context::current();
                thread::spawn(move || {
                    context.in_scope(|| {
                        span!("thread", {
                            for _ in 0..spans_of_thread(i) {
                                drop(span!("work"));
                            }
                            (Span::current().span_id(), spans_of_thread(i))
                        })
                    })
                })
            })
            .collect();
        let threads: Vec<(SpanId, u64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        (root, threads)
    });
    let stats = guard.shutdown();
    let work: u64 = (0..THREADS).map(spans_of_thread).sum();
    let created = 1 + THREADS + work;
    let tally = exporter.tally();
    assert_eq!(tally.spans, created);
    assert_eq!(tally.repeated, 0, "a span delivered twice");
    assert_eq!(
        tally.ids.as_ref().map(HashSet::len),
        Some(usize::try_from(created).unwrap())
    );
    assert_eq!(stats.exported, created, "{stats:?}");
    assert_eq!((stats.dropped, stats.failed), (0, 0));
    assert_eq!(tally.traces.len(), 1);
    assert_eq!(tally.children.get(&SpanId::INVALID), Some(&1));
    assert_eq!(tally.children.get(&root), Some(&THREADS));
    for (thread_span, spans) in threads {
        assert_eq!(tally.children.get(&thread_span), Some(&spans));
    }
}
