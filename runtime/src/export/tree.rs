//! An exporter that prints each finished trace as an indented tree, for people at a terminal.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Link, SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, Key, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::export::json::{push_float, push_string, NonAscii};
use crate::export::time::{clock_millis, push_human_duration};

/// How many spans wait for their trace's root before the oldest trace is printed as it is.
const DEFAULT_MAX_BUFFERED_SPANS: usize = 4096;
/// How many printed span ids are remembered to recognise children that end after their parent.
const REMEMBERED_PRINTED_SPANS: usize = 4096;

const NOTE_PARENT_NOT_ENDED: &str = "(parent not ended)";
const NOTE_PARENT_PRINTED: &str = "(parent already printed)";

/// Prints each trace as an indented tree once its root span ends, on standard error by
/// default.
///
/// This exporter holds the spans of each trace until the trace's local root has arrived (a
/// span without a parent, or one whose parent is remote: another process) and every span
/// that ended before it has had its chance to arrive too. Children end before their parent,
/// but when they ended on other threads they may reach the exporter after it: later in the
/// same batch, or in a later batch. So a root waits
///
/// - behind traced's batch pipeline, until the end of the worker's round: the worker has
///   drained the buffers of all threads once more after reading the root and exported all it
///   read, so every span that ended before the root is in (normally within the pipeline's
///   `scheduled_delay`, 5 s by default, like the export itself);
/// - anywhere else (the OpenTelemetry SDK's processors, the simple processor), until the end
///   of the export call that delivered it.
///
/// It then prints that root's subtree, siblings ordered by start time, one line per span with
/// its duration, its start as an offset from the start of the trace's root (`at +10.0µs`, so
/// work done one after the other and work done in parallel look different; spans printed
/// apart from their root count from the earliest of them), kind (when not
/// internal), attributes and error status, each event on its own `•` line with its offset
/// from the span's start, and each link on its own `→` line. The trees of one round (see
/// above) print in the order their traces started:
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::TreeExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(TreeExporter::new())
///     .build();
/// let tracer = provider.tracer("example");
/// tracer.in_span("addsubtract", |_| tracer.in_span("add", |_| 1 + 2));
/// ```
///
/// prints something like:
///
/// ```text
/// trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
/// addsubtract  1.23ms
/// ├─ add  12.3µs  at +10.0µs  a=1 b=2
/// ├─ subtract  8.10µs  at +30.0µs  [client]
/// │  └─ inner  2.00µs  at +31.0µs  http.method="GET"
/// └─ add  7.90µs  at +40.0µs  ERROR: overflow
///       • retry  +1.00µs  attempt=2
///       → link 7c1f6a1ce7e5a0ab4e1b2fc4d1b0e2aa/5f3d8e1a9b7c4d2e  reason="retry"
/// ```
///
/// Memory stays bounded: at most 4096 spans wait (see
/// [`with_max_buffered_spans`](Self::with_max_buffered_spans)); past that the oldest trace is
/// printed as far as it got, each subtree whose parent has not ended marked
/// `(parent not ended)`; a waiting root counts like any span. A child that arrives after its
/// parent was printed (a detached task outliving its parent) appears on its own, marked
/// `(parent already printed)`. [`force_flush`](SpanExporter::force_flush) and
/// [`shutdown`](SpanExporter::shutdown) print everything still waiting. The text carries no
/// colors, since it is often piped or captured.
pub struct TreeExporter {
    output: Mutex<Box<dyn Write + Send>>,
    output_name: &'static str,
    buffer: Mutex<TraceBuffer>,
    is_shutdown: AtomicBool,
    /// Set by traced's batch pipeline, which then says when a round ends; otherwise a round
    /// is one export call.
    rounds_from_pipeline: AtomicBool,
}

/// Spans waiting for their root, grouped by trace.
struct TraceBuffer {
    traces: HashMap<TraceId, PendingTrace>,
    buffered: usize,
    max_buffered: usize,
    next_arrival: u64,
    /// Local roots that have arrived, in arrival order, waiting for the end of the round.
    ready: Vec<(TraceId, SpanId)>,
    printed: RecentlyPrinted,
    service: Option<String>,
}

struct PendingTrace {
    /// Orders traces by first arrival, so overflow evicts the oldest.
    arrival: u64,
    spans: Vec<SpanData>,
}

/// A bounded set of printed spans, forgetting the oldest first.
#[derive(Default)]
struct RecentlyPrinted {
    order: VecDeque<(TraceId, SpanId)>,
    set: HashSet<(TraceId, SpanId)>,
}

impl TreeExporter {
    /// Prints to standard error, keeping standard output free for the program's own output.
    pub fn new() -> Self {
        Self::with_output(Box::new(io::stderr()), "stderr")
    }

    /// Prints to `writer` instead of standard error: a log file, a buffer in a test.
    pub fn with_writer(writer: impl Write + Send + 'static) -> Self {
        Self::with_output(Box::new(writer), "custom writer")
    }

    /// Caps how many spans may wait for their trace's root (4096 by default, at least 1).
    ///
    /// When a new span would exceed the cap, the trace that arrived first is printed as it
    /// is and dropped from the buffer.
    #[must_use]
    pub fn with_max_buffered_spans(self, max: usize) -> Self {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .max_buffered = max.max(1);
        self
    }

    fn with_output(output: Box<dyn Write + Send>, output_name: &'static str) -> Self {
        Self {
            output: Mutex::new(output),
            output_name,
            buffer: Mutex::new(TraceBuffer {
                traces: HashMap::new(),
                buffered: 0,
                max_buffered: DEFAULT_MAX_BUFFERED_SPANS,
                next_arrival: 0,
                ready: Vec::new(),
                printed: RecentlyPrinted::default(),
                service: None,
            }),
            is_shutdown: AtomicBool::new(false),
            rounds_from_pipeline: AtomicBool::new(false),
        }
    }

    /// From now on, roots wait for [`end_round`](Self::end_round) instead of the end of
    /// their export call.
    pub(crate) fn wait_for_pipeline_rounds(&self) {
        self.rounds_from_pipeline.store(true, Ordering::Release);
    }

    /// Prints the traces whose roots have arrived: the pipeline has delivered every span that
    /// ended before them.
    pub(crate) fn end_round(&self) -> OTelSdkResult {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        buffer.print_ready(&mut text);
        self.write(&text)
    }

    fn export_batch(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // Printing under the buffer lock keeps trees in the order their roots arrived.
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        for span in batch {
            buffer.push(span, &mut text);
        }
        if !self.rounds_from_pipeline.load(Ordering::Acquire) {
            buffer.print_ready(&mut text);
        }
        self.write(&text)
    }

    fn flush_all(&self) -> OTelSdkResult {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        buffer.flush(&mut text);
        self.write(&text)
    }

    fn write(&self, text: &str) -> OTelSdkResult {
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output
            .write_all(text.as_bytes())
            .and_then(|()| output.flush())
            .map_err(|err| {
                OTelSdkError::InternalFailure(format!("tree exporter could not write spans: {err}"))
            })
    }
}

impl Default for TreeExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TreeExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("TreeExporter")
            .field("output", &self.output_name)
            .field("buffered_spans", &buffer.buffered)
            .field("max_buffered_spans", &buffer.max_buffered)
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SpanExporter for TreeExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_batch(batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush_all()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_all()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let buffer = self
            .buffer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        buffer.service = resource
            .get(&Key::from_static_str("service.name"))
            .map(|name| name.to_string());
    }
}

impl TraceBuffer {
    /// Buffers `span`, noting it when it is a local root, and prints into `out` whatever it
    /// pushes out.
    fn push(&mut self, span: SpanData, out: &mut String) {
        let trace_id = span.span_context.trace_id();
        let parent = span.parent_span_id;
        let parent_printed = parent != SpanId::INVALID && self.printed.contains(trace_id, parent);
        let next_arrival = &mut self.next_arrival;
        let trace = self.traces.entry(trace_id).or_insert_with(|| {
            *next_arrival += 1;
            PendingTrace {
                arrival: *next_arrival,
                spans: Vec::new(),
            }
        });
        let is_local_root = parent == SpanId::INVALID
            || parent_printed
            || (span.parent_span_is_remote
                && !trace
                    .spans
                    .iter()
                    .any(|s| s.span_context.span_id() == parent));
        if is_local_root {
            self.ready.push((trace_id, span.span_context.span_id()));
        }
        trace.spans.push(span);
        self.buffered += 1;
        while self.buffered > self.max_buffered {
            self.print_oldest(out);
        }
    }

    /// Prints the subtree of every root that has arrived, in arrival order, the roots of one
    /// trace together.
    fn print_ready(&mut self, out: &mut String) {
        let mut forests: Vec<(TraceId, Vec<SpanData>)> = Vec::new();
        for (trace_id, root_id) in std::mem::take(&mut self.ready) {
            let Some(trace) = self.traces.get_mut(&trace_id) else {
                continue;
            };
            let Some(root) = position(&trace.spans, root_id) else {
                continue; // printed already, under a root that arrived before it
            };
            // A span with a remote parent waits for that parent when it arrived meanwhile.
            if position(&trace.spans, trace.spans[root].parent_span_id).is_some() {
                continue;
            }
            let subtree = take_subtree(&mut trace.spans, root);
            if trace.spans.is_empty() {
                self.traces.remove(&trace_id);
            }
            self.buffered -= subtree.len();
            match forests.iter_mut().find(|(id, _)| *id == trace_id) {
                Some((_, spans)) => spans.extend(subtree),
                None => forests.push((trace_id, subtree)),
            }
        }
        // Trees come out in the order their traces started, not the order their roots ended.
        forests.sort_by_cached_key(|(_, spans)| first_start(spans));
        for (trace_id, spans) in forests {
            self.print(trace_id, &spans, out);
        }
    }

    fn print_oldest(&mut self, out: &mut String) {
        let Some(oldest) = self
            .traces
            .iter()
            .min_by_key(|(_, trace)| trace.arrival)
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(trace) = self.traces.remove(&oldest) {
            self.buffered -= trace.spans.len();
            self.ready.retain(|(trace_id, _)| *trace_id != oldest);
            self.print(oldest, &trace.spans, out);
        }
    }

    /// Prints every waiting trace, in the order they started.
    fn flush(&mut self, out: &mut String) {
        let mut traces: Vec<(TraceId, PendingTrace)> = self.traces.drain().collect();
        traces.sort_by_cached_key(|(_, trace)| (first_start(&trace.spans), trace.arrival));
        self.buffered = 0;
        self.ready.clear();
        for (trace_id, trace) in traces {
            self.print(trace_id, &trace.spans, out);
        }
    }

    /// Prints the spans of one trace as a forest: a tree per span whose parent is not among
    /// them.
    fn print(&mut self, trace_id: TraceId, spans: &[SpanData], out: &mut String) {
        let Some(first_start) = first_start(spans) else {
            return;
        };
        let _ = write!(out, "trace {trace_id}");
        if let Some(service) = &self.service {
            out.push_str("  service=");
            push_plain(out, service);
        }
        let _ = writeln!(out, "  {}Z", clock_millis(first_start));

        let present: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
        let mut by_start: Vec<usize> = (0..spans.len()).collect();
        by_start.sort_by_key(|&i| spans[i].start_time);
        let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for &i in &by_start {
            let parent = spans[i].parent_span_id;
            if present.contains(&parent) {
                children.entry(parent).or_default().push(i);
            } else {
                roots.push(i);
            }
        }
        let mut tree = TreeRender {
            spans,
            trace_start: first_start,
            children: &children,
            visited: vec![false; spans.len()],
            out,
        };
        for &root in &roots {
            let note = self.orphan_note(trace_id, &spans[root]);
            tree.render(root, note);
        }
        // Only corrupt parent links (a cycle) leave spans unreached; show them anyway.
        for &i in &by_start {
            if !tree.visited[i] {
                tree.render(i, Some(NOTE_PARENT_NOT_ENDED));
            }
        }
        for span in spans {
            self.printed.insert(trace_id, span.span_context.span_id());
        }
    }

    fn orphan_note(&self, trace_id: TraceId, span: &SpanData) -> Option<&'static str> {
        let parent = span.parent_span_id;
        if parent == SpanId::INVALID {
            None
        } else if self.printed.contains(trace_id, parent) {
            Some(NOTE_PARENT_PRINTED)
        } else if span.parent_span_is_remote {
            None
        } else {
            Some(NOTE_PARENT_NOT_ENDED)
        }
    }
}

/// When the earliest of `spans` started: the trace's root, when it is among them.
fn first_start(spans: &[SpanData]) -> Option<SystemTime> {
    spans.iter().map(|s| s.start_time).min()
}

fn position(spans: &[SpanData], span_id: SpanId) -> Option<usize> {
    spans
        .iter()
        .position(|s| s.span_context.span_id() == span_id)
}

/// Removes the span at `root` and all its buffered descendants from `spans`.
fn take_subtree(spans: &mut Vec<SpanData>, root: usize) -> Vec<SpanData> {
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    for (i, span) in spans.iter().enumerate() {
        children.entry(span.parent_span_id).or_default().push(i);
    }
    let mut in_subtree = vec![false; spans.len()];
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut in_subtree[i], true) {
            if let Some(kids) = children.get(&spans[i].span_context.span_id()) {
                stack.extend(kids);
            }
        }
    }
    let (subtree, rest): (Vec<_>, Vec<_>) = std::mem::take(spans)
        .into_iter()
        .zip(in_subtree)
        .partition(|(_, taken)| *taken);
    *spans = rest.into_iter().map(|(span, _)| span).collect();
    subtree.into_iter().map(|(span, _)| span).collect()
}

impl RecentlyPrinted {
    fn contains(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.set.contains(&(trace_id, span_id))
    }

    fn insert(&mut self, trace_id: TraceId, span_id: SpanId) {
        if self.set.insert((trace_id, span_id)) {
            self.order.push_back((trace_id, span_id));
            if self.order.len() > REMEMBERED_PRINTED_SPANS {
                if let Some(oldest) = self.order.pop_front() {
                    self.set.remove(&oldest);
                }
            }
        }
    }
}

/// Draws one tree; iterative so that deep recursion in the traced program cannot overflow
/// the exporter's stack.
struct TreeRender<'a> {
    spans: &'a [SpanData],
    /// Each line shows its span's start as an offset from this time.
    trace_start: SystemTime,
    children: &'a HashMap<SpanId, Vec<usize>>,
    visited: Vec<bool>,
    out: &'a mut String,
}

#[derive(Clone, Copy, PartialEq)]
enum Branch {
    Root,
    Middle,
    Last,
}

impl TreeRender<'_> {
    fn render(&mut self, root: usize, note: Option<&str>) {
        let mut stack = vec![(root, String::new(), Branch::Root)];
        while let Some((index, prefix, branch)) = stack.pop() {
            if std::mem::replace(&mut self.visited[index], true) {
                continue;
            }
            let span = &self.spans[index];
            let (connector, guide) = match branch {
                Branch::Root => ("", ""),
                Branch::Middle => ("├─ ", "│  "),
                Branch::Last => ("└─ ", "   "),
            };
            self.out.push_str(&prefix);
            self.out.push_str(connector);
            let offset = span
                .start_time
                .duration_since(self.trace_start)
                .unwrap_or_default();
            // The line of the trace's first span would only say `at +0ns`.
            let offset = (branch != Branch::Root || !offset.is_zero()).then_some(offset);
            push_span_label(
                self.out,
                span,
                offset,
                if branch == Branch::Root { note } else { None },
            );
            self.out.push('\n');

            let child_prefix = format!("{prefix}{guide}");
            let kids: &[usize] = self
                .children
                .get(&span.span_context.span_id())
                .map_or(&[], Vec::as_slice);
            let event_guide = if kids.is_empty() { "   " } else { "│  " };
            for event in span.events.iter() {
                self.out.push_str(&child_prefix);
                self.out.push_str(event_guide);
                self.out.push_str("• ");
                push_plain(self.out, &event.name);
                let offset = event
                    .timestamp
                    .duration_since(span.start_time)
                    .unwrap_or_default();
                self.out.push_str("  +");
                push_human_duration(self.out, offset);
                push_attributes(self.out, &event.attributes);
                self.out.push('\n');
            }
            for link in span.links.iter() {
                self.out.push_str(&child_prefix);
                self.out.push_str(event_guide);
                push_link(self.out, link);
                self.out.push('\n');
            }
            for (position, &kid) in kids.iter().enumerate().rev() {
                let branch = if position + 1 == kids.len() {
                    Branch::Last
                } else {
                    Branch::Middle
                };
                stack.push((kid, child_prefix.clone(), branch));
            }
        }
    }
}

/// Writes `name  duration  at +offset`, then the kind, attributes, error and `note`.
fn push_span_label(
    out: &mut String,
    span: &SpanData,
    offset: Option<Duration>,
    note: Option<&str>,
) {
    push_plain(out, &span.name);
    let duration = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    out.push_str("  ");
    push_human_duration(out, duration);
    if let Some(offset) = offset {
        out.push_str("  at +");
        push_human_duration(out, offset);
    }
    let kind = match span.span_kind {
        SpanKind::Internal => None,
        SpanKind::Client => Some("  [client]"),
        SpanKind::Server => Some("  [server]"),
        SpanKind::Producer => Some("  [producer]"),
        SpanKind::Consumer => Some("  [consumer]"),
    };
    out.push_str(kind.unwrap_or_default());
    push_attributes(out, &span.attributes);
    if let Status::Error { description } = &span.status {
        out.push_str("  ERROR");
        if !description.is_empty() {
            out.push_str(": ");
            push_plain(out, description);
        }
    }
    if let Some(note) = note {
        out.push_str("  ");
        out.push_str(note);
    }
}

/// Writes `→ link <trace id>/<span id>`, then the linked context's trace state, if any, as
/// `tracestate="…"`, then the link's attributes.
fn push_link(out: &mut String, link: &Link) {
    let context = &link.span_context;
    let _ = write!(out, "→ link {}/{}", context.trace_id(), context.span_id());
    let state = context.trace_state().header();
    if !state.is_empty() {
        out.push_str("  tracestate=");
        push_string(out, &state, NonAscii::Keep);
    }
    push_attributes(out, &link.attributes);
}

/// Writes `  k=v k2=v2`, or nothing when there are no attributes.
fn push_attributes(out: &mut String, attributes: &[KeyValue]) {
    for (i, kv) in attributes.iter().enumerate() {
        out.push_str(if i == 0 { "  " } else { " " });
        push_plain(out, kv.key.as_str());
        out.push('=');
        push_value(out, &kv.value);
    }
}

/// Strings are quoted and escaped, so a value with spaces or newlines stays on its line.
fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::F64(v) => push_float(out, *v),
        Value::String(v) => push_string(out, v.as_str(), NonAscii::Keep),
        Value::Array(Array::F64(values)) => push_list(out, values, |out, v| push_float(out, *v)),
        Value::Array(Array::String(values)) => push_list(out, values, |out, v| {
            push_string(out, v.as_str(), NonAscii::Keep);
        }),
        Value::Array(Array::Bool(values)) => {
            let _ = write!(out, "{values:?}");
        }
        Value::Array(Array::I64(values)) => {
            let _ = write!(out, "{values:?}");
        }
        // Booleans, integers, and whatever a later opentelemetry adds.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn push_list<T>(out: &mut String, values: &[T], mut push: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push(out, value);
    }
    out.push(']');
}

/// Writes names and descriptions as they are, except control characters, which would break
/// the tree's lines; those are escaped the way Rust escapes them (`\n`, `\u{1b}`).
fn push_plain(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
