//! The interactive screen drawn on ratatui's `TestBackend`, driven by keys as a person would.

use std::path::Path;

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use traced_view::input::read_file;
use traced_view::otlp::json::decode_line;
use traced_view::store::TraceStore;
use traced_view::tui::{render, App};

fn checkout_app(skipped: usize) -> App {
    let mut store = TraceStore::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkout.jsonl");
    read_file(&path, &mut store).unwrap();
    App::new(store, skipped, 0)
}

/// The screen as text, one line per row, trailing spaces cut.
fn screen(app: &mut App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(110, 30)).unwrap();
    terminal.draw(|frame| render(frame, app)).unwrap();
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|row| {
            let line: String = row.iter().map(ratatui::buffer::Cell::symbol).collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn press(app: &mut App, keys: &str) {
    for key in keys.chars() {
        let code = match key {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\x08' => KeyCode::Backspace,
            other => KeyCode::Char(other),
        };
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

#[test]
fn trace_list_newest_first_with_services_errors_and_skipped_lines() {
    let mut app = checkout_app(2);
    let text = screen(&mut app);
    assert!(
        text.starts_with("traced-view · 2 traces · 10 spans · 2 lines skipped"),
        "{text}"
    );
    let stock = text.find("GET /stock").unwrap();
    let checkout = text.find("GET /checkout").unwrap();
    assert!(stock < checkout, "newest first:\n{text}");
    let row = line_with(&text, "GET /checkout");
    assert!(row.starts_with("2026-12-05 12:00:00.000"), "{row}");
    assert!(row.contains("frontend, inventory"), "{row}");
    assert!(row.contains("100ms"), "{row}");
    assert!(row.ends_with("✗ 1"), "{row}");
}

#[test]
fn enter_opens_the_waterfall_and_the_detail_follows_the_selection() {
    let mut app = checkout_app(0);
    press(&mut app, "j\n");
    let text = screen(&mut app);
    assert!(
        text.starts_with("trace 4bf92f3577b34da6a3ce929d0e0e4736 · 8 spans"),
        "{text}"
    );
    // Parallel locks overlap on the time axis; sequential steps follow each other.
    let bar = |name: &str| {
        let line = line_with(&text, name);
        // In characters: the critical path's `•` is wider than a space in bytes.
        let chars: Vec<char> = line.chars().collect();
        let start = chars.iter().position(|c| *c == '█').unwrap();
        let end = chars.iter().rposition(|c| *c == '█').unwrap();
        (start, end)
    };
    let (sku1, sku2) = (bar("lock sku-1"), bar("lock sku-2"));
    assert_eq!(sku1.0, sku2.0);
    assert!(bar("load cart").1 < bar("reserve stock").0);
    assert!(bar("reserve stock").1 < bar("render").1);
    // The root is selected: its attributes, resource and scope are shown.
    assert!(
        text.contains("GET /checkout  server  status unset"),
        "{text}"
    );
    assert!(text.contains("  http.request.method = GET"), "{text}");
    assert!(text.contains("  service.name = frontend"), "{text}");
    assert!(text.contains("scope traced 0.1.0"), "{text}");

    press(&mut app, "Gk");
    let text = screen(&mut app);
    assert!(
        text.contains("lock sku-3  internal  status error: sku-3 out of stock"),
        "{text}"
    );
    assert!(
        text.contains("+50.0ms  exception  exception.type=OutOfStock"),
        "{text}"
    );
    assert!(
        text.contains("scope opentelemetry.instrumentation.flask 0.1.0"),
        "{text}"
    );

    press(&mut app, "\x1b");
    assert!(screen(&mut app).starts_with("traced-view · 2 traces"));
}

#[test]
fn orphan_root_is_marked_and_links_shown() {
    let mut app = checkout_app(0);
    press(&mut app, "\n");
    let text = screen(&mut app);
    assert!(line_with(&text, "GET /stock ↑?").contains("█"), "{text}");
    assert!(
        text.contains("parent 3000000000000001 (parent not in input)"),
        "{text}"
    );
    assert!(
        text.contains("  trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7"),
        "{text}"
    );
}

#[test]
fn filter_survives_new_traces_arriving() {
    let mut app = checkout_app(0);
    press(&mut app, "/selet\x08ct");
    let text = screen(&mut app);
    assert!(
        text.lines().last().unwrap().starts_with("/select"),
        "{text}"
    );
    press(&mut app, "\n");
    let text = screen(&mut app);
    assert!(text.contains("GET /stock"), "{text}");
    assert!(!text.contains("GET /checkout"), "{text}");
    assert!(text.contains("filter: select  (1 of 2 traces)"), "{text}");

    // A live batch: one trace that matches the filter and one that does not.
    let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"db"}}]},"scopeSpans":[{"spans":[
        {"traceId":"11111111111111111111111111111111","spanId":"1111111111111111","name":"SELECT cart","startTimeUnixNano":"1796472001000000000","endTimeUnixNano":"1796472001005000000"},
        {"traceId":"22222222222222222222222222222222","spanId":"2222222222222222","name":"UPDATE cart","startTimeUnixNano":"1796472002000000000","endTimeUnixNano":"1796472002005000000"}]}]}]}"#;
    app.add_batch(decode_line(line).unwrap());
    let text = screen(&mut app);
    assert!(text.contains("SELECT cart"), "{text}");
    assert!(!text.contains("UPDATE cart"), "{text}");
    assert!(text.contains("filter: select  (2 of 4 traces)"), "{text}");
    // The selection stayed on the trace it was on.
    assert_eq!(
        app.list()[app.selected()].to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );

    press(&mut app, "\x1b");
    let text = screen(&mut app);
    assert!(
        text.contains("UPDATE cart") && text.contains("GET /checkout"),
        "{text}"
    );
    press(&mut app, "q");
    assert!(app.should_quit());
}

#[test]
fn subtrees_fold_and_the_critical_path_is_marked() {
    let mut app = checkout_app(0);
    press(&mut app, "j\n");
    let text = screen(&mut app);
    // `•` marks the critical path: the sequential steps and the slowest of the parallel locks.
    for name in [
        "GET /checkout",
        "load cart",
        "POST /reserve",
        "lock sku-2",
        "render",
    ] {
        assert!(line_with(&text, name).starts_with('•'), "{name}:\n{text}");
    }
    for name in ["lock sku-1", "lock sku-3"] {
        assert!(line_with(&text, name).starts_with(' '), "{name}:\n{text}");
    }
    assert!(line_with(&text, "POST /reserve").contains("▾ POST /reserve"));

    press(&mut app, "jjj ");
    let text = screen(&mut app);
    assert!(text.contains("▸ POST /reserve (+3)"), "{text}");
    assert!(!text.contains("lock sku-2"), "{text}");
    // The selection stays on the folded row, and the next row is the parent's next child.
    press(&mut app, "j");
    assert!(screen(&mut app).contains("render  internal  status unset"));
    press(&mut app, "kl");
    assert!(screen(&mut app).contains("lock sku-2"));
    press(&mut app, "h");
    assert!(!screen(&mut app).contains("lock sku-2"));
}

#[test]
fn sort_by_duration_and_filter_terms() {
    let mut app = checkout_app(0);
    press(&mut app, "s");
    let text = screen(&mut app);
    assert!(text.contains("▼ DURATION"), "{text}");
    assert!(text.find("GET /checkout").unwrap() < text.find("GET /stock").unwrap());
    press(&mut app, "/is:error service:front >50ms\n");
    let text = screen(&mut app);
    assert!(
        text.contains("GET /checkout") && !text.contains("GET /stock"),
        "{text}"
    );
    press(&mut app, "/\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08name:select\n");
    let text = screen(&mut app);
    assert!(
        text.contains("GET /stock") && !text.contains("GET /checkout"),
        "{text}"
    );
}
