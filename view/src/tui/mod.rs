//! The interactive screen: a trace list, a trace's waterfall, and the selected span's detail.

mod app;
mod filter;
mod ui;

use std::io;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};

pub use app::{App, SortKey, TraceView};
pub use filter::Filter;
pub use ui::{format_time, render};

use crate::model::Batch;

/// Batches taken from the receiver per frame, so a flood of spans never stalls the keys.
const BATCHES_PER_FRAME: usize = 256;

/// Runs the screen until the user quits, adding what arrives on `batches` as it comes.
pub fn run(mut app: App, batches: Option<&Receiver<Batch>>) -> io::Result<()> {
    let mut terminal = ratatui::init();
    let result = (|| loop {
        terminal.draw(|frame| render(frame, &mut app))?;
        if event::poll(Duration::from_millis(100))? {
            if let Event::Key(key) = event::read()? {
                if key.kind != KeyEventKind::Release {
                    app.handle_key(key);
                }
            }
        }
        if app.should_quit() {
            return Ok(());
        }
        if let Some(batches) = batches {
            app.add_batches(batches.try_iter().take(BATCHES_PER_FRAME));
        }
    })();
    ratatui::restore();
    result
}
