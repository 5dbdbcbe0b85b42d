//! The interactive screen's state and what each key does to it; drawing is in `ui.rs`.

use std::net::SocketAddr;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::{Batch, SpanId, TraceId, Value};
use crate::store::{Trace, TraceStore};
use crate::waterfall::{rows, Row};

/// Rows moved by PageUp/PageDown and Ctrl-D/Ctrl-U.
const PAGE: usize = 10;

/// The viewer's state: the traces, the filtered list, and what is selected.
#[derive(Debug)]
pub struct App {
    pub(super) store: TraceStore,
    skipped_lines: usize,
    rejected_spans: usize,
    listening: Option<SocketAddr>,
    filter: String,
    editing_filter: bool,
    list: Vec<TraceId>,
    selected: usize,
    /// First list row on screen; kept by the drawing code so the selection stays visible.
    pub(super) list_offset: usize,
    pub(super) trace_view: Option<TraceView>,
    quit: bool,
}

/// The waterfall of one trace and the selected span in it.
#[derive(Debug)]
pub struct TraceView {
    id: TraceId,
    rows: Vec<Row>,
    selected: usize,
    /// First waterfall row on screen.
    pub(super) offset: usize,
}

impl TraceView {
    fn new(trace: &Trace, keep: Option<SpanId>) -> Self {
        let rows = rows(trace);
        let selected = keep
            .and_then(|id| {
                rows.iter()
                    .position(|row| trace.spans()[row.span].span_id == id)
            })
            .unwrap_or(0);
        Self {
            id: trace.id(),
            rows,
            selected,
            offset: 0,
        }
    }

    /// The trace shown.
    pub fn trace_id(&self) -> TraceId {
        self.id
    }

    /// The waterfall's rows in tree order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The index of the selected row.
    pub fn selected(&self) -> usize {
        self.selected
    }
}

impl App {
    /// A viewer over `store`; `skipped_lines` and `rejected_spans` are shown in the title.
    pub fn new(store: TraceStore, skipped_lines: usize, rejected_spans: usize) -> Self {
        let mut app = Self {
            store,
            skipped_lines,
            rejected_spans,
            listening: None,
            filter: String::new(),
            editing_filter: false,
            list: Vec::new(),
            selected: 0,
            list_offset: 0,
            trace_view: None,
            quit: false,
        };
        app.refresh_list();
        app
    }

    /// Shows in the title that traces are being received on `addr`.
    pub fn set_listening(&mut self, addr: SocketAddr) {
        self.listening = Some(addr);
    }

    /// Adds received spans; the list, its filter and the selections stay as they were.
    pub fn add_batch(&mut self, batch: Batch) {
        self.add_batches([batch]);
    }

    /// Adds several batches at once, re-sorting and re-filtering the list once.
    pub fn add_batches(&mut self, batches: impl IntoIterator<Item = Batch>) {
        let open = self.trace_view.as_ref().map(TraceView::trace_id);
        let mut touches_open_trace = false;
        let mut added = false;
        for batch in batches {
            self.rejected_spans += batch.rejected_spans;
            touches_open_trace |= batch.spans.iter().any(|span| Some(span.trace_id) == open);
            added |= !batch.spans.is_empty();
            self.store.extend(batch.spans);
        }
        if added {
            self.refresh_list();
        }
        if touches_open_trace {
            self.reopen_trace();
        }
    }

    /// The traces.
    pub fn store(&self) -> &TraceStore {
        &self.store
    }

    /// Lines of the input files that were skipped.
    pub fn skipped_lines(&self) -> usize {
        self.skipped_lines
    }

    /// Spans left out for missing or malformed ids.
    pub fn rejected_spans(&self) -> usize {
        self.rejected_spans
    }

    /// Where traces are received, if they are.
    pub fn listening(&self) -> Option<SocketAddr> {
        self.listening
    }

    /// The trace list's filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Whether keys are typing into the filter.
    pub fn editing_filter(&self) -> bool {
        self.editing_filter
    }

    /// The traces that pass the filter, newest first.
    pub fn list(&self) -> &[TraceId] {
        &self.list
    }

    /// The index of the selected trace in [`App::list`].
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The open waterfall, if a trace is open.
    pub fn trace_view(&self) -> Option<&TraceView> {
        self.trace_view.as_ref()
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Applies one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if self.editing_filter {
            self.edit_filter(key.code);
            return;
        }
        let step = match (key.code, ctrl) {
            (KeyCode::Char('j') | KeyCode::Down, _) => Some(Step::Down(1)),
            (KeyCode::Char('k') | KeyCode::Up, _) => Some(Step::Up(1)),
            (KeyCode::Char('d'), true) | (KeyCode::PageDown, _) => Some(Step::Down(PAGE)),
            (KeyCode::Char('u'), true) | (KeyCode::PageUp, _) => Some(Step::Up(PAGE)),
            (KeyCode::Char('g') | KeyCode::Home, _) => Some(Step::First),
            (KeyCode::Char('G') | KeyCode::End, _) => Some(Step::Last),
            _ => None,
        };
        if let Some(view) = &mut self.trace_view {
            if let Some(step) = step {
                view.selected = step.apply(view.selected, view.rows.len());
            } else if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('q' | 'h') | KeyCode::Left
            ) {
                self.trace_view = None;
            }
            return;
        }
        if let Some(step) = step {
            self.selected = step.apply(self.selected, self.list.len());
            return;
        }
        match key.code {
            KeyCode::Enter | KeyCode::Char('l') | KeyCode::Right => self.open_selected(),
            KeyCode::Char('/') => self.editing_filter = true,
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.refresh_list();
            }
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            _ => {}
        }
    }

    fn edit_filter(&mut self, code: KeyCode) {
        match code {
            KeyCode::Enter => self.editing_filter = false,
            KeyCode::Esc => {
                self.editing_filter = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) => self.filter.push(c),
            _ => return,
        }
        self.refresh_list();
    }

    fn open_selected(&mut self) {
        if let Some(trace) = self
            .list
            .get(self.selected)
            .and_then(|id| self.store.get(*id))
        {
            self.trace_view = Some(TraceView::new(trace, None));
        }
    }

    fn reopen_trace(&mut self) {
        let Some(view) = &self.trace_view else {
            return;
        };
        let Some(trace) = self.store.get(view.id) else {
            return;
        };
        let keep = view
            .rows
            .get(view.selected)
            .map(|row| trace.spans()[row.span].span_id);
        self.trace_view = Some(TraceView::new(trace, keep));
    }

    /// Rebuilds the filtered list, keeping the selected trace selected.
    fn refresh_list(&mut self) {
        let kept = self.list.get(self.selected).copied();
        let needle = self.filter.to_lowercase();
        self.list = self
            .store
            .newest_first()
            .into_iter()
            .filter(|trace| needle.is_empty() || matches(trace, &needle))
            .map(Trace::id)
            .collect();
        self.selected = kept
            .and_then(|id| self.list.iter().position(|other| *other == id))
            .unwrap_or(0)
            .min(self.list.len().saturating_sub(1));
    }
}

/// Whether a span name, service, attribute key or string attribute value contains `needle`
/// (already lowercase).
fn matches(trace: &Trace, needle: &str) -> bool {
    let has = |text: &str| text.to_lowercase().contains(needle);
    trace.services().iter().any(|service| has(service))
        || trace.spans().iter().any(|span| {
            has(&span.name)
                || span.attributes.iter().any(|attribute| {
                    has(&attribute.key)
                        || matches!(&attribute.value, Value::String(text) if has(text))
                })
        })
}

#[derive(Clone, Copy)]
enum Step {
    Up(usize),
    Down(usize),
    First,
    Last,
}

impl Step {
    fn apply(self, selected: usize, len: usize) -> usize {
        let last = len.saturating_sub(1);
        match self {
            Self::Up(by) => selected.saturating_sub(by),
            Self::Down(by) => (selected + by).min(last),
            Self::First => 0,
            Self::Last => last,
        }
    }
}
