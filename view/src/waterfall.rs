//! A trace laid out as a waterfall: spans in tree order, and bars on the trace's time axis. Both
//! the plain-text printer and the interactive screen draw from this.

use std::collections::HashMap;

use crate::model::{Span, SpanId};
use crate::store::Trace;

/// One line of a waterfall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Index of the span in [`Trace::spans`].
    pub span: usize,
    /// 0 for roots, 1 for their children, ...
    pub depth: usize,
    /// The span has a parent id, but no span of the input has that id.
    pub parent_missing: bool,
}

/// Each span's children, and the spans with no parent among the input.
struct Tree {
    roots: Vec<usize>,
    children: HashMap<usize, Vec<usize>>,
}

impl Tree {
    /// Children and roots sorted by start time; ties broken by span id, so the order does not
    /// depend on arrival order.
    fn new(spans: &[Span]) -> Self {
        let by_id: HashMap<SpanId, usize> = spans
            .iter()
            .enumerate()
            .map(|(index, span)| (span.span_id, index))
            .collect();
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (index, span) in spans.iter().enumerate() {
            match span.parent_span_id.and_then(|parent| by_id.get(&parent)) {
                Some(&parent) if parent != index => children.entry(parent).or_default().push(index),
                _ => roots.push(index),
            }
        }
        let order = |&a: &usize, &b: &usize| start_order(&spans[a], &spans[b]);
        roots.sort_by(order);
        for list in children.values_mut() {
            list.sort_by(order);
        }
        Self { roots, children }
    }
}

/// The spans of a trace in tree order: each root, then its subtree, children sorted by start time.
///
/// Roots are spans without a parent and spans whose parent is absent; both are sorted by start
/// time.
pub fn rows(trace: &Trace) -> Vec<Row> {
    let spans = trace.spans();
    let tree = Tree::new(spans);
    let mut out = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let walk = |root: usize, out: &mut Vec<Row>, visited: &mut [bool]| {
        // An explicit stack: a chain of 50 000 spans must not overflow the thread's stack.
        let mut stack = vec![(root, 0)];
        while let Some((index, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[index], true) {
                continue;
            }
            let span = &spans[index];
            out.push(Row {
                span: index,
                depth,
                parent_missing: depth == 0 && span.parent_span_id.is_some(),
            });
            if let Some(list) = tree.children.get(&index) {
                stack.extend(list.iter().rev().map(|&child| (child, depth + 1)));
            }
        }
    };
    for &root in &tree.roots {
        walk(root, &mut out, &mut visited);
    }
    // Spans in a parent cycle are reachable from no root: show them as roots too.
    let mut stranded: Vec<usize> = (0..spans.len()).filter(|&i| !visited[i]).collect();
    stranded.sort_by(|&a, &b| start_order(&spans[a], &spans[b]));
    for root in stranded {
        walk(root, &mut out, &mut visited);
    }
    out
}

/// Which spans (by index in [`Trace::spans`]) are on the critical path: the chain of work that
/// the trace's end waited for.
///
/// From the root that ends last, each span's path goes through the child that ends last, then,
/// before that child started, the child that ends last before it, and so on; parallel children
/// that finished earlier are off the path.
pub fn critical_path(trace: &Trace) -> Vec<bool> {
    let spans = trace.spans();
    let tree = Tree::new(spans);
    let mut on_path = vec![false; spans.len()];
    let Some(&root) = tree
        .roots
        .iter()
        .max_by_key(|&&index| (spans[index].end_unix_nano, std::cmp::Reverse(index)))
    else {
        return on_path;
    };
    let mut stack = vec![root];
    while let Some(index) = stack.pop() {
        if std::mem::replace(&mut on_path[index], true) {
            continue;
        }
        let Some(children) = tree.children.get(&index) else {
            continue;
        };
        let mut latest_first = children.clone();
        latest_first.sort_by_key(|&child| std::cmp::Reverse(spans[child].end_unix_nano));
        let mut until = spans[index].end_unix_nano;
        for child in latest_first {
            if spans[child].start_unix_nano < until {
                stack.push(child);
                until = spans[child].start_unix_nano;
            }
        }
    }
    on_path
}

fn start_order(a: &Span, b: &Span) -> std::cmp::Ordering {
    (a.start_unix_nano, a.span_id).cmp(&(b.start_unix_nano, b.span_id))
}

/// Where a span's bar goes on an axis `width` columns wide: columns `start..end`, never empty.
/// A span shorter than a column still gets one.
///
/// ```
/// use traced_view::waterfall::bar_columns;
/// // A trace from 1000 ns to 2000 ns; a span over its second half, on 40 columns.
/// assert_eq!(bar_columns((1500, 2000), (1000, 2000), 40), 20..40);
/// // A zero-length span still gets one column.
/// assert_eq!(bar_columns((1000, 1000), (1000, 2000), 40), 0..1);
/// ```
pub fn bar_columns(span: (u64, u64), trace: (u64, u64), width: usize) -> std::ops::Range<usize> {
    if width == 0 {
        return 0..0;
    }
    let total = u128::from(trace.1.saturating_sub(trace.0).max(1));
    let columns = width as u128;
    let offset = |time: u64| u128::from(time.clamp(trace.0, trace.1) - trace.0);
    // Rounded to the nearest column, so that a span starting where another ends does not
    // share its last column.
    let column = |time: u64| (2 * offset(time) * columns + total) / (2 * total);
    let start = column(span.0);
    let end = column(span.1.max(span.0));
    let start = usize::try_from(start).unwrap_or(width).min(width - 1);
    let end = usize::try_from(end)
        .unwrap_or(width)
        .clamp(start + 1, width);
    start..end
}

/// The bar as text: `█` over the span, `─` elsewhere (`#` and `-` with `ascii`).
pub fn bar_text(columns: std::ops::Range<usize>, width: usize, ascii: bool) -> String {
    let (full, empty) = if ascii { ('#', '-') } else { ('█', '─') };
    (0..width)
        .map(|column| {
            if columns.contains(&column) {
                full
            } else {
                empty
            }
        })
        .collect()
}

/// A duration in human units with three significant digits: `850ns`, `12.3µs`, `1.50ms`, `2.00s`
/// (`us` instead of `µs` with `ascii`).
///
/// ```
/// use traced_view::waterfall::format_duration;
/// assert_eq!(format_duration(850, false), "850ns");
/// assert_eq!(format_duration(12_345, true), "12.3us");
/// assert_eq!(format_duration(1_500_000, false), "1.50ms");
/// assert_eq!(format_duration(125_000_000_000, false), "2m5s");
/// ```
pub fn format_duration(nanos: u64, ascii: bool) -> String {
    const UNITS: [(u64, &str, &str); 3] = [
        (1_000_000_000, "s", "s"),
        (1_000_000, "ms", "ms"),
        (1_000, "µs", "us"),
    ];
    if nanos >= 60_000_000_000 {
        let seconds = nanos / 1_000_000_000;
        return format!("{}m{}s", seconds / 60, seconds % 60);
    }
    for (scale, unit, ascii_unit) in UNITS {
        if nanos >= scale {
            #[allow(clippy::cast_precision_loss)]
            let value = nanos as f64 / scale as f64;
            let unit = if ascii { ascii_unit } else { unit };
            return if value < 10.0 {
                format!("{value:.2}{unit}")
            } else if value < 100.0 {
                format!("{value:.1}{unit}")
            } else {
                format!("{value:.0}{unit}")
            };
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{critical_path, rows};
    use crate::input::read_file;
    use crate::model::TraceId;
    use crate::store::TraceStore;

    #[test]
    fn critical_path_follows_sequential_steps_and_the_slowest_parallel_one() {
        let mut store = TraceStore::new();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkout.jsonl");
        read_file(&path, &mut store).unwrap();
        let trace = store
            .get(TraceId::parse_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap())
            .unwrap();
        let on_path = critical_path(trace);
        let names: Vec<&str> = rows(trace)
            .iter()
            .filter(|row| on_path[row.span])
            .map(|row| trace.spans()[row.span].name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "GET /checkout",
                "load cart",
                "reserve stock",
                "POST /reserve",
                "lock sku-2",
                "render"
            ]
        );
    }
}
