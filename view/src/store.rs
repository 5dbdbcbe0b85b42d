//! Spans grouped into traces, as files are read and as the receiver gets them.

use std::collections::{HashMap, HashSet};

use crate::model::{Span, SpanId, TraceId};

/// The spans of one trace seen so far, with their time range and services kept up to date.
#[derive(Clone, Debug)]
pub struct Trace {
    id: TraceId,
    spans: Vec<Span>,
    span_ids: HashSet<SpanId>,
    start_unix_nano: u64,
    end_unix_nano: u64,
    services: Vec<String>,
    errors: usize,
}

impl Trace {
    /// A trace with no spans yet.
    pub fn new(id: TraceId) -> Self {
        Self {
            id,
            spans: Vec::new(),
            span_ids: HashSet::new(),
            start_unix_nano: u64::MAX,
            end_unix_nano: 0,
            services: Vec::new(),
            errors: 0,
        }
    }

    /// Adds a span of this trace; `false` (and nothing added) when a span with the same id is
    /// already there, as when a file is read twice.
    pub fn push(&mut self, span: Span) -> bool {
        debug_assert_eq!(span.trace_id, self.id);
        if !self.span_ids.insert(span.span_id) {
            return false;
        }
        self.start_unix_nano = self.start_unix_nano.min(span.start_unix_nano);
        self.end_unix_nano = self
            .end_unix_nano
            .max(span.end_unix_nano.max(span.start_unix_nano));
        let service = span.service();
        if let Err(position) = self
            .services
            .binary_search_by(|known| known.as_str().cmp(service))
        {
            self.services.insert(position, service.to_owned());
        }
        self.errors += usize::from(span.is_error());
        self.spans.push(span);
        true
    }

    /// The trace's id.
    pub fn id(&self) -> TraceId {
        self.id
    }

    /// Its spans, in the order they arrived.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The earliest start of its spans, in nanoseconds since the Unix epoch.
    pub fn start_unix_nano(&self) -> u64 {
        if self.spans.is_empty() {
            0
        } else {
            self.start_unix_nano
        }
    }

    /// The latest end of its spans.
    pub fn end_unix_nano(&self) -> u64 {
        self.end_unix_nano
    }

    /// From the earliest start to the latest end.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano())
    }

    /// The `service.name`s of its spans, sorted, each once.
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// How many of its spans have status error.
    pub fn error_count(&self) -> usize {
        self.errors
    }

    /// The span shown as the trace's name: the earliest span without a parent, else the earliest
    /// span.
    pub fn root(&self) -> Option<&Span> {
        let earliest = |a: &&Span, b: &&Span| {
            (a.start_unix_nano, a.span_id).cmp(&(b.start_unix_nano, b.span_id))
        };
        self.spans
            .iter()
            .filter(|span| span.parent_span_id.is_none())
            .min_by(earliest)
            .or_else(|| self.spans.iter().min_by(earliest))
    }
}

/// Every trace read or received, by id.
#[derive(Clone, Debug, Default)]
pub struct TraceStore {
    traces: HashMap<TraceId, Trace>,
    span_count: usize,
    duplicate_spans: usize,
}

impl TraceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds spans, each to its trace; a span whose trace already has its span id is counted in
    /// [`TraceStore::duplicate_spans`] and left out.
    pub fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        for span in spans {
            let added = self
                .traces
                .entry(span.trace_id)
                .or_insert_with(|| Trace::new(span.trace_id))
                .push(span);
            if added {
                self.span_count += 1;
            } else {
                self.duplicate_spans += 1;
            }
        }
    }

    /// Spans left out because their trace already had a span with the same id.
    pub fn duplicate_spans(&self) -> usize {
        self.duplicate_spans
    }

    /// The trace with this id.
    pub fn get(&self, id: TraceId) -> Option<&Trace> {
        self.traces.get(&id)
    }

    /// Takes a trace out of the store.
    pub fn remove(&mut self, id: TraceId) -> Option<Trace> {
        let trace = self.traces.remove(&id)?;
        self.span_count -= trace.spans().len();
        Some(trace)
    }

    /// How many traces.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether there are no traces.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// How many spans, over all traces.
    pub fn span_count(&self) -> usize {
        self.span_count
    }

    /// The traces, oldest first (by start, then id, so the order is always the same).
    pub fn oldest_first(&self) -> Vec<&Trace> {
        let mut traces: Vec<&Trace> = self.traces.values().collect();
        traces.sort_by_key(|trace| (trace.start_unix_nano(), trace.id()));
        traces
    }

    /// The traces, newest first.
    pub fn newest_first(&self) -> Vec<&Trace> {
        let mut traces = self.oldest_first();
        traces.reverse();
        traces
    }
}
