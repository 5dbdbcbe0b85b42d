//! The interactive screen's state and what each key does to it; drawing is in `ui.rs`.

use std::collections::HashSet;
use std::net::SocketAddr;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::filter::Filter;
use crate::model::{Batch, SpanId, TraceId};
use crate::store::{Trace, TraceStore};
use crate::waterfall::{critical_path, rows, Row};

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
    sort: SortKey,
    list: Vec<TraceId>,
    selected: usize,
    /// First list row on screen; kept by the drawing code so the selection stays visible.
    pub(super) list_offset: usize,
    pub(super) trace_view: Option<TraceView>,
    quit: bool,
}

/// The waterfall of one trace: its rows, which subtrees are collapsed, and the selected row.
#[derive(Debug)]
pub struct TraceView {
    id: TraceId,
    rows: Vec<Row>,
    critical: Vec<bool>,
    /// Spans (by index in the trace) whose subtrees are hidden.
    collapsed: HashSet<usize>,
    /// Indices into `rows` of the rows shown.
    visible: Vec<usize>,
    selected: usize,
    /// First visible row on screen.
    pub(super) offset: usize,
    /// Lines of the detail pane scrolled past; back to 0 when the selection moves.
    pub(super) detail_scroll: u16,
}

impl TraceView {
    fn new(trace: &Trace, keep: Option<SpanId>, collapsed: HashSet<usize>) -> Self {
        let mut view = Self {
            id: trace.id(),
            rows: rows(trace),
            critical: critical_path(trace),
            collapsed,
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            detail_scroll: 0,
        };
        view.show_uncollapsed();
        if let Some(id) = keep {
            view.selected = view
                .visible
                .iter()
                .position(|&row| trace.spans()[view.rows[row].span].span_id == id)
                .unwrap_or(0);
        }
        view
    }

    fn show_uncollapsed(&mut self) {
        self.visible.clear();
        let mut hidden_below: Option<usize> = None;
        for (index, row) in self.rows.iter().enumerate() {
            if hidden_below.is_some_and(|depth| row.depth > depth) {
                continue;
            }
            hidden_below = self.collapsed.contains(&row.span).then_some(row.depth);
            self.visible.push(index);
        }
    }

    /// The trace shown.
    pub fn trace_id(&self) -> TraceId {
        self.id
    }

    /// How many rows are shown (collapsed subtrees hidden).
    pub fn len(&self) -> usize {
        self.visible.len()
    }

    /// Whether no row is shown.
    pub fn is_empty(&self) -> bool {
        self.visible.is_empty()
    }

    /// The `index`th shown row.
    pub fn row(&self, index: usize) -> Option<Row> {
        self.visible.get(index).map(|&row| self.rows[row])
    }

    /// The index of the selected row among the shown ones.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Whether the span (by index in the trace) is on the critical path.
    pub fn on_critical_path(&self, span: usize) -> bool {
        self.critical[span]
    }

    /// How many rows the `index`th shown row's collapsed subtree hides; 0 when expanded.
    pub fn hidden_below(&self, index: usize) -> usize {
        let Some(&start) = self.visible.get(index) else {
            return 0;
        };
        let depth = self.rows[start].depth;
        if !self.collapsed.contains(&self.rows[start].span) {
            return 0;
        }
        self.rows[start + 1..]
            .iter()
            .take_while(|row| row.depth > depth)
            .count()
    }

    /// Whether the `index`th shown row has children.
    pub fn has_children(&self, index: usize) -> bool {
        self.visible.get(index).is_some_and(|&row| {
            self.rows
                .get(row + 1)
                .is_some_and(|next| next.depth > self.rows[row].depth)
        })
    }

    /// Collapses (`Some(true)`), expands (`Some(false)`) or toggles (`None`) the selected row's
    /// subtree.
    fn fold(&mut self, collapse: Option<bool>) {
        if !self.has_children(self.selected) {
            return;
        }
        let span = self.rows[self.visible[self.selected]].span;
        let collapse = collapse.unwrap_or(!self.collapsed.contains(&span));
        if collapse {
            self.collapsed.insert(span);
        } else {
            self.collapsed.remove(&span);
        }
        let selected_row = self.visible[self.selected];
        self.show_uncollapsed();
        self.selected = self
            .visible
            .iter()
            .position(|&row| row == selected_row)
            .unwrap_or(0);
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
            sort: SortKey::Start,
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

    /// What the trace list is sorted by.
    pub fn sort(&self) -> SortKey {
        self.sort
    }

    /// The traces that pass the filter, in [`App::sort`] order.
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
            match (step, key.code) {
                (Some(step), _) => {
                    view.selected = step.apply(view.selected, view.len());
                    view.detail_scroll = 0;
                }
                (_, KeyCode::Char('J')) => {
                    view.detail_scroll = view.detail_scroll.saturating_add(1);
                }
                (_, KeyCode::Char('K')) => {
                    view.detail_scroll = view.detail_scroll.saturating_sub(1);
                }
                (_, KeyCode::Char(' ') | KeyCode::Enter | KeyCode::Tab) => view.fold(None),
                (_, KeyCode::Char('h') | KeyCode::Left) => view.fold(Some(true)),
                (_, KeyCode::Char('l') | KeyCode::Right) => view.fold(Some(false)),
                (_, KeyCode::Esc | KeyCode::Char('q')) => self.trace_view = None,
                _ => {}
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
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.refresh_list();
            }
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
            self.trace_view = Some(TraceView::new(trace, None, HashSet::new()));
        }
    }

    fn reopen_trace(&mut self) {
        let Some(view) = self.trace_view.take() else {
            return;
        };
        let Some(trace) = self.store.get(view.id) else {
            return;
        };
        let keep = view
            .row(view.selected)
            .map(|row| trace.spans()[row.span].span_id);
        self.trace_view = Some(TraceView::new(trace, keep, view.collapsed));
    }

    /// Rebuilds the filtered list, keeping the selected trace selected.
    fn refresh_list(&mut self) {
        let kept = self.list.get(self.selected).copied();
        let filter = Filter::parse(&self.filter);
        let mut traces: Vec<&Trace> = self
            .store
            .newest_first()
            .into_iter()
            .filter(|trace| filter.is_empty() || filter.matches(trace))
            .collect();
        // Stable sorts: equal keys stay newest first.
        match self.sort {
            SortKey::Start => {}
            SortKey::Duration => {
                traces.sort_by_key(|trace| std::cmp::Reverse(trace.duration_nanos()));
            }
            SortKey::Spans => traces.sort_by_key(|trace| std::cmp::Reverse(trace.spans().len())),
        }
        self.list = traces.into_iter().map(Trace::id).collect();
        self.selected = kept
            .and_then(|id| self.list.iter().position(|other| *other == id))
            .unwrap_or(0)
            .min(self.list.len().saturating_sub(1));
    }
}

/// What the trace list is sorted by; `s` goes to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Newest first.
    Start,
    /// Longest first.
    Duration,
    /// Most spans first.
    Spans,
}

impl SortKey {
    fn next(self) -> Self {
        match self {
            Self::Start => Self::Duration,
            Self::Duration => Self::Spans,
            Self::Spans => Self::Start,
        }
    }
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
