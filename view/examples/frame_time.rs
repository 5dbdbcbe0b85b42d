//! Measures how long the interactive screen takes to draw a frame, on ratatui's `TestBackend`.
//!
//! `cargo run --release -p traced-view --example frame_time -- FILE.jsonl` reads the file, then
//! times frames of the trace list, of the largest trace's waterfall (top and bottom), and of a
//! filter keystroke.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use traced_view::input::read_file;
use traced_view::store::{Trace, TraceStore};
use traced_view::tui::{render, App};

fn main() {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .expect("usage: frame_time FILE.jsonl")
        .into();
    let started = Instant::now();
    let mut store = TraceStore::new();
    read_file(&path, &mut store).expect("readable file");
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
