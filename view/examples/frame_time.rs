//! Measures how long the interactive screen takes to draw a frame, on ratatui's `TestBackend`.
//!
//! `cargo run --release -p traced-view --example frame_time [-- FILE.jsonl]` reads the file (by
//! default, generated OTLP JSON lines: 2 000 traces of 50 spans and one trace of 50 000 spans),
//! then times frames of the trace list, of the largest trace's waterfall (top and bottom), and
//! a filter keystroke.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use traced_view::input::{read_file, read_lines};
use traced_view::store::{Trace, TraceStore};
use traced_view::tui::{render, App};

fn main() {
    let path = std::env::args_os().nth(1);
    let text = if path.is_none() {
        generated()
    } else {
        String::new()
    };
    let started = Instant::now();
    let mut store = TraceStore::new();
    match path {
        Some(path) => read_file(path.as_ref(), &mut store).expect("readable file"),
        None => read_lines(text.as_bytes(), &mut store).expect("generated lines"),
    };
    println!(
        "read {} spans in {} traces: {:?}",
        store.span_count(),
        store.len(),
        started.elapsed()
    );
    let largest = store
        .oldest_first()
        .into_iter()
        .max_by_key(|trace| trace.spans().len())
        .map(Trace::id)
        .expect("at least one trace");
    let started = Instant::now();
    let mut app = App::new(store, 0, 0);
    println!("built the list: {:?}", started.elapsed());
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    let mut frame = |app: &mut App, what: &str| {
        let mut times: Vec<Duration> = (0..20)
            .map(|_| {
                let started = Instant::now();
                terminal.draw(|frame| render(frame, app)).expect("draw");
                started.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{what}: median frame {:?}, worst {:?}",
            times[10], times[19]
        );
    };
    let press = |app: &mut App, code: KeyCode| {
        let started = Instant::now();
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        started.elapsed()
    };
    frame(&mut app, "trace list");
    let position = app.list().iter().position(|id| *id == largest);
    for _ in 0..position.unwrap_or(0) {
        press(&mut app, KeyCode::Char('j'));
    }
    let opened = press(&mut app, KeyCode::Enter);
    println!("opening the largest trace: {opened:?}");
    frame(&mut app, "waterfall, top");
    press(&mut app, KeyCode::Char('G'));
    frame(&mut app, "waterfall, bottom");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('/'));
    let typed = press(&mut app, KeyCode::Char('x'));
    println!("one filter keystroke (search over every span): {typed:?}");
    frame(&mut app, "filtered list");
}

/// 2 000 traces of 50 spans over five services, then one trace of 50 000 spans (a tree four
/// wide) in lines of 1 000 spans.
fn generated() -> String {
    const BASE: u64 = 1_796_472_000_000_000_000;
    let mut out = String::new();
    let mut line = |service: &str, spans: &[String]| {
        let _ = writeln!(
            out,
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}}]}},"scopeSpans":[{{"scope":{{"name":"gen"}},"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        );
    };
    let span = |trace: u64, id: u64, parent: Option<u64>, name: &str, start: u64, end: u64| {
        let parent = parent.map_or(String::new(), |parent| format!("{parent:016x}"));
        format!(
            r#"{{"traceId":"{trace:032x}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"{name}","startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{{"key":"i","value":{{"intValue":"{id}"}}}}]}}"#
        )
    };
    for trace in 0..2000 {
        let spans: Vec<String> = (0..50)
            .map(|i| {
                let start = BASE + trace * 10_000_000 + i * 100_000;
                let parent = (i > 0).then(|| trace * 100 + 1 + (i - 1) / 3);
                let name = format!("op-{}", i % 7);
                span(
                    trace + 1,
                    trace * 100 + i + 1,
                    parent,
                    &name,
                    start,
                    start + 1_000_000 - i * 1000,
                )
            })
            .collect();
        line(&format!("svc-{}", trace % 5), &spans);
    }
    for chunk in 0..50 {
        let spans: Vec<String> = (0..1000)
            .map(|j| {
                let i = chunk * 1000 + j;
                let start = BASE + i * 10_000;
                let parent = (i > 0).then(|| 1_000_000_000 + (i - 1) / 4);
                let name = format!("deep-{}", i % 11);
                span(
                    u64::MAX >> 1,
                    1_000_000_000 + i,
                    parent,
                    &name,
                    start,
                    start + 50_000,
                )
            })
            .collect();
        line("huge", &spans);
    }
    out
}
