//! `traced-view`: OpenTelemetry traces as waterfalls in the terminal. See `--help`.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::mpsc;

use traced_view::cli::{self, Command, Options, USAGE};
use traced_view::print::{print_store, PrintOptions};
use traced_view::receiver::Receiver;
use traced_view::store::TraceStore;
use traced_view::tui::App;
use traced_view::{input, live, tui};

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("traced-view {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(options)) => match run(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("traced-view: {error}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("traced-view: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(options: &Options) -> io::Result<()> {
    let mut store = TraceStore::new();
    let (mut skipped, mut rejected) = (0, 0);
    for path in &options.files {
        let report = if path.as_os_str() == "-" {
            input::read_lines(io::stdin().lock(), &mut store)
        } else {
            input::read_file(path, &mut store)
        }
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
        for line in &report.skipped {
            eprintln!(
                "traced-view: {}:{}: line skipped: {}",
                path.display(),
                line.line,
                line.reason
            );
        }
        if report.rejected_spans > 0 {
            eprintln!(
                "traced-view: {}: {} spans without a valid trace id or span id left out",
                path.display(),
                report.rejected_spans
            );
        }
        skipped += report.skipped.len();
        rejected += report.rejected_spans;
    }
    if skipped > 0 {
        eprintln!("traced-view: {skipped} lines skipped in all");
    }
    if store.duplicate_spans() > 0 {
        eprintln!(
            "traced-view: {} spans read twice (same trace and span id) shown once",
            store.duplicate_spans()
        );
    }
    if let Some(id) = options.trace {
        let mut only = TraceStore::new();
        if let Some(trace) = store.remove(id) {
            only.extend(trace.spans().iter().cloned());
        } else if options.listen.is_none() {
            return Err(io::Error::other(format!("trace {id} is not in the input")));
        }
        store = only;
    }

    let (sink, batches) = mpsc::channel();
    let listening = match &options.listen {
        Some(addr) => {
            let receiver = Receiver::spawn(addr.as_str(), sink)?;
            eprintln!(
                "traced-view: listening on http://{}/v1/traces",
                receiver.local_addr()
            );
            Some(receiver.local_addr())
        }
        None => {
            drop(sink);
            None
        }
    };

    if options.print {
        let print_options = PrintOptions {
            ascii: options.ascii,
            bar_width: options.width,
        };
        let mut stdout = io::stdout().lock();
        if !store.is_empty() {
            writeln!(stdout, "{}", print_store(&store, &print_options))?;
            stdout.flush()?;
        }
        if listening.is_some() {
            live::print_when_quiet(
                &batches,
                options.quiet,
                &print_options,
                options.trace,
                &mut stdout,
            )?;
        }
        return Ok(());
    }
    if !io::stdout().is_terminal() {
        return Err(io::Error::other(
            "the interactive screen needs a terminal; use --print for plain text",
        ));
    }
    let mut app = App::new(store, skipped, rejected);
    if let Some(addr) = listening {
        app.set_listening(addr);
    }
    tui::run(app, listening.map(|_| &batches))
}
