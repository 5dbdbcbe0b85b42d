//! Drawing the screens: the trace list, and a trace's waterfall over the selected span's detail.

use std::fmt::Write as _;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span as Text};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::app::{App, SortKey, TraceView};
use crate::model::{Attribute, Span};
use crate::print::PARENT_MISSING;
use crate::store::Trace;
use crate::waterfall::{bar_columns, format_duration, Row};

const SELECTED: Style = Style::new()
    .bg(Color::DarkGray)
    .add_modifier(Modifier::BOLD);
const HEADER: Style = Style::new().add_modifier(Modifier::BOLD);
const DIM: Style = Style::new().fg(Color::DarkGray);
const ERROR: Style = Style::new().fg(Color::Red);
const BAR: Style = Style::new().fg(Color::Cyan);
const CRITICAL: Style = Style::new().fg(Color::Yellow);

/// Draws the current screen.
pub fn render(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    if app.trace_view.is_some() {
        render_trace(frame, area, app);
    } else {
        render_list(frame, area, app);
    }
}

fn render_list(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let [title, header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(title_line(app)), title);

    let height = usize::from(body.height);
    app.list_offset = scrolled(app.list_offset, app.selected(), height);
    let visible: Vec<&Trace> = app
        .list()
        .iter()
        .skip(app.list_offset)
        .take(height)
        .filter_map(|id| app.store().get(*id))
        .collect();
    let width = usize::from(area.width);
    let fixed = 23 + 1 + 1 + 1 + 7 + 1 + 10 + 6;
    let services_width = visible
        .iter()
        .map(|trace| trace.services().join(", ").chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, width.saturating_sub(fixed) / 2);
    let name_width = width.saturating_sub(fixed + services_width);
    let columns = |start: &str, name: &str, services: &str, spans: &str, duration: &str| {
        format!(
            "{} {} {} {:>7} {:>10}",
            fit(start, 23),
            fit(name, name_width),
            fit(services, services_width),
            spans,
            duration
        )
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            columns(
                if app.sort() == SortKey::Start {
                    "START (UTC) ▼"
                } else {
                    "START (UTC)"
                },
                "TRACE",
                "SERVICES",
                if app.sort() == SortKey::Spans {
                    "▼ SPANS"
                } else {
                    "SPANS"
                },
                if app.sort() == SortKey::Duration {
                    "▼ DURATION"
                } else {
                    "DURATION"
                },
            ),
            HEADER,
        )),
        header,
    );

    let lines: Vec<Line<'_>> = visible
        .iter()
        .enumerate()
        .map(|(row, trace)| {
            let index = app.list_offset + row;
            let root = trace.root().map_or("", |span| span.name.as_str());
            let mut parts = vec![Text::raw(columns(
                &format_time(trace.start_unix_nano()),
                root,
                &trace.services().join(", "),
                &trace.spans().len().to_string(),
                &format_duration(trace.duration_nanos(), false),
            ))];
            if trace.error_count() > 0 {
                parts.push(Text::styled(format!(" ✗ {}", trace.error_count()), ERROR));
            }
            let line = Line::from(parts);
            if index == app.selected() {
                line.style(SELECTED)
            } else {
                line
            }
        })
        .collect();
    let empty = app.list().is_empty();
    let body_widget = if empty && app.store().is_empty() {
        Paragraph::new(Line::styled("no traces yet", DIM))
    } else if empty {
        Paragraph::new(Line::styled("no trace matches the filter", DIM))
    } else {
        Paragraph::new(lines)
    };
    frame.render_widget(body_widget, body);

    frame.render_widget(Paragraph::new(list_footer(app)), footer);
}

fn list_footer(app: &App) -> Line<'_> {
    if app.editing_filter() {
        Line::from(vec![
            Text::styled("/", HEADER),
            Text::raw(app.filter()),
            Text::raw("█"),
        ])
    } else if !app.filter().is_empty() {
        Line::styled(
            format!(
                "filter: {}  ({} of {} traces)  / edit · Esc clear · Enter open · q quit",
                app.filter(),
                app.list().len(),
                app.store().len()
            ),
            DIM,
        )
    } else {
        Line::styled(
            "j/k move · g/G first/last · Enter open · / filter · s sort · q quit",
            DIM,
        )
    }
}

fn title_line(app: &App) -> Line<'static> {
    let mut title = format!(
        "traced-view · {} · {}",
        count(app.store().len(), "trace"),
        count(app.store().span_count(), "span")
    );
    if let Some(addr) = app.listening() {
        let _ = write!(title, " · listening on http://{addr}/v1/traces");
    }
    let mut parts = vec![Text::styled(title, HEADER)];
    if app.skipped_lines() > 0 {
        parts.push(Text::styled(
            format!(" · {} skipped", count(app.skipped_lines(), "line")),
            ERROR,
        ));
    }
    if app.rejected_spans() > 0 {
        parts.push(Text::styled(
            format!(" · {} rejected", count(app.rejected_spans(), "span")),
            ERROR,
        ));
    }
    Line::from(parts)
}

fn render_trace(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let Some(view) = app.trace_view.as_mut() else {
        return;
    };
    let Some(trace) = app.store.get(view.trace_id()) else {
        return;
    };
    // At most three fifths of the screen, less when the trace is short: the rest is detail.
    let rows_and_ruler = u16::try_from(view.len() + 1).unwrap_or(u16::MAX);
    let waterfall_height = (area.height.saturating_sub(2) * 3 / 5)
        .min(rows_and_ruler)
        .max(3);
    let [title, waterfall, detail, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(waterfall_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);

    let mut header = format!(
        "trace {} · {} · {} · {}",
        trace.id(),
        count(trace.spans().len(), "span"),
        trace.services().join(", "),
        format_duration(trace.duration_nanos(), false)
    );
    if trace.error_count() > 0 {
        let _ = write!(header, " · {}", count(trace.error_count(), "error"));
    }
    frame.render_widget(Paragraph::new(Line::styled(header, HEADER)), title);
    render_waterfall(frame, waterfall, trace, view);

    if let Some(row) = view.row(view.selected()) {
        let span = &trace.spans()[row.span];
        let lines = detail_lines(trace, span, row.parent_missing);
        let block = Block::default()
            .borders(Borders::TOP)
            .title(format!(" span {} ", span.span_id));
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .scroll((view.detail_scroll, 0)),
            detail,
        );
    }
    frame.render_widget(
        Paragraph::new(Line::styled(
            "j/k move · g/G first/last · Space fold (h/l) · J/K scroll detail · • critical path · Esc back",
            DIM,
        )),
        footer,
    );
}

fn render_waterfall(frame: &mut Frame<'_>, area: Rect, trace: &Trace, view: &mut TraceView) {
    let width = usize::from(area.width);
    // The first line is the time axis's ruler.
    let height = usize::from(area.height).saturating_sub(1);
    view.offset = scrolled(view.offset, view.selected(), height);
    let view = &*view;
    let spans = trace.spans();
    // A gutter of two columns: `•` on the critical path, then the fold mark.
    let name_of = |index: usize, row: Row| {
        let fold = if view.hidden_below(index) > 0 {
            "▸ "
        } else if view.has_children(index) {
            "▾ "
        } else {
            "  "
        };
        let critical = if view.on_critical_path(row.span) {
            '•'
        } else {
            ' '
        };
        let mut name = format!(
            "{critical}{}{fold}{}",
            "  ".repeat(row.depth),
            spans[row.span].name
        );
        if view.hidden_below(index) > 0 {
            let _ = write!(name, " (+{})", view.hidden_below(index));
        }
        if row.parent_missing {
            name.push_str(" ↑?");
        }
        name
    };
    let visible: Vec<(usize, Row)> = (view.offset..(view.offset + height).min(view.len()))
        .filter_map(|index| Some((index, view.row(index)?)))
        .collect();
    let names: Vec<String> = visible
        .iter()
        .map(|&(index, row)| name_of(index, row))
        .collect();
    let name_width = names
        .iter()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(0)
        .min(width * 2 / 5);
    let service_width = spans
        .iter()
        .map(|span| span.service().chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 5);
    let bar_width = width.saturating_sub(name_width + service_width + 8 + 3);
    let axis = (trace.start_unix_nano(), trace.end_unix_nano());
    let ruler = format!(
        "{:gutter$}{}",
        "",
        ruler(trace.duration_nanos(), bar_width),
        gutter = name_width + service_width + 8 + 3
    );
    let lines: Vec<Line<'_>> = std::iter::once(Line::styled(ruler, DIM))
        .chain(visible.iter().zip(names).map(|(&(index, row), name)| {
            let span = &spans[row.span];
            let columns = bar_columns((span.start_unix_nano, span.end_unix_nano), axis, bar_width);
            let bar_style = if span.is_error() {
                ERROR
            } else if view.on_critical_path(row.span) {
                CRITICAL
            } else {
                BAR
            };
            let line = Line::from(vec![
                Text::styled(
                    format!("{} ", fit(&name, name_width)),
                    if span.is_error() { ERROR } else { Style::new() },
                ),
                Text::styled(format!("{} ", fit(span.service(), service_width)), DIM),
                Text::raw(format!(
                    "{:>8} ",
                    format_duration(span.duration_nanos(), false)
                )),
                Text::styled("─".repeat(columns.start), DIM),
                Text::styled("█".repeat(columns.len()), bar_style),
                Text::styled("─".repeat(bar_width.saturating_sub(columns.end)), DIM),
            ]);
            if index == view.selected() {
                line.style(SELECTED)
            } else {
                line
            }
        }))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Offsets from the trace's start at the quarters of an axis `width` columns wide:
/// `0         25.0ms    50.0ms ...  100ms`. The total always shows at the end; quarter labels
/// that would touch another are left out.
fn ruler(total_nanos: u64, width: usize) -> String {
    let mut ruler = vec![' '; width];
    let total: Vec<char> = format_duration(total_nanos, false).chars().collect();
    let Some(end_start) = width.checked_sub(total.len()) else {
        return ruler.into_iter().collect();
    };
    ruler[end_start..].copy_from_slice(&total);
    let mut free_from = 0;
    for quarter in 0..4u64 {
        let label: Vec<char> = if quarter == 0 {
            vec!['0']
        } else {
            format_duration(total_nanos / 4 * quarter, false)
                .chars()
                .collect()
        };
        let start = width * usize::try_from(quarter).unwrap_or(0) / 4;
        if start < free_from || start + label.len() >= end_start {
            continue;
        }
        ruler[start..start + label.len()].copy_from_slice(&label);
        free_from = start + label.len() + 1;
    }
    ruler.into_iter().collect()
}

fn detail_lines(trace: &Trace, span: &Span, parent_missing: bool) -> Vec<Line<'static>> {
    let offset = |time: u64| format_duration(time.saturating_sub(trace.start_unix_nano()), false);
    let mut lines = Vec::new();
    let mut status = format!("status {}", span.status.code.label());
    if !span.status.message.is_empty() {
        let _ = write!(status, ": {}", span.status.message);
    }
    lines.push(Line::from(vec![
        Text::styled(span.name.clone(), HEADER),
        Text::raw(format!("  {}  ", span.kind.label())),
        Text::styled(status, if span.is_error() { ERROR } else { DIM }),
    ]));
    let parent = match span.parent_span_id {
        None => "none (root)".to_owned(),
        Some(id) if parent_missing => format!("{id} {PARENT_MISSING}"),
        Some(id) => id.to_string(),
    };
    lines.push(Line::raw(format!(
        "start +{}  duration {}  parent {parent}",
        offset(span.start_unix_nano),
        format_duration(span.duration_nanos(), false),
    )));
    section(&mut lines, "attributes", &span.attributes);
    if !span.events.is_empty() {
        lines.push(Line::styled("events", HEADER));
        for event in &span.events {
            lines.push(Line::raw(format!(
                "  +{}  {}  {}",
                offset(event.time_unix_nano),
                event.name,
                inline(&event.attributes)
            )));
        }
    }
    if !span.links.is_empty() {
        lines.push(Line::styled("links", HEADER));
        for link in &span.links {
            lines.push(Line::raw(format!(
                "  trace {} span {}  {}",
                link.trace_id,
                link.span_id,
                inline(&link.attributes)
            )));
        }
    }
    section(&mut lines, "resource", &span.resource.attributes);
    let mut scope = format!("scope {}", span.scope.name);
    if !span.scope.version.is_empty() {
        let _ = write!(scope, " {}", span.scope.version);
    }
    lines.push(Line::styled(scope, HEADER));
    for attribute in &span.scope.attributes {
        lines.push(Line::raw(format!(
            "  {} = {}",
            attribute.key, attribute.value
        )));
    }
    lines
}

fn section(lines: &mut Vec<Line<'static>>, title: &str, attributes: &[Attribute]) {
    if attributes.is_empty() {
        return;
    }
    lines.push(Line::styled(title.to_owned(), HEADER));
    for attribute in attributes {
        lines.push(Line::raw(format!(
            "  {} = {}",
            attribute.key, attribute.value
        )));
    }
}

fn inline(attributes: &[Attribute]) -> String {
    attributes
        .iter()
        .map(|attribute| format!("{}={}", attribute.key, attribute.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 span`, `2 spans`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The first visible row after moving the selection: unchanged while the selection is on
/// screen, else just enough to bring it back.
fn scrolled(offset: usize, selected: usize, height: usize) -> usize {
    if height == 0 || selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// `text` cut or padded to exactly `width` characters.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        text.chars().take(width - 1).chain(['…']).collect()
    }
}

/// A Unix time in nanoseconds as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_time(unix_nano: u64) -> String {
    let seconds = unix_nano / 1_000_000_000;
    let millis = unix_nano / 1_000_000 % 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let day_seconds = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03}",
        day_seconds / 3600,
        day_seconds / 60 % 60,
        day_seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{fit, format_time, ruler, scrolled};

    #[test]
    fn ruler_labels_the_quarters() {
        assert_eq!(
            ruler(100_000_000, 45),
            "0          25.0ms     50.0ms     75.0ms 100ms"
        );
        assert_eq!(
            ruler(100_000_000, 40),
            "0         25.0ms    50.0ms         100ms"
        );
        assert_eq!(ruler(100_000_000, 12), "0      100ms");
        assert_eq!(ruler(100_000_000, 3), "   ");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00.000");
        assert_eq!(
            format_time(1_796_472_000_123_000_000),
            "2026-12-05 12:00:00.123"
        );
        assert_eq!(
            format_time(951_782_400_000_000_000),
            "2000-02-29 00:00:00.000"
        );
    }

    #[test]
    fn fits_and_scrolls() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(scrolled(0, 12, 10), 3);
        assert_eq!(scrolled(3, 5, 10), 3);
        assert_eq!(scrolled(3, 1, 10), 1);
    }
}
