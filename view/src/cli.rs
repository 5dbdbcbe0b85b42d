//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::TraceId;

/// The `--help` text.
pub const USAGE: &str = "\
traced-view: OpenTelemetry traces as waterfalls in the terminal

USAGE:
    traced-view [OPTIONS] FILE...            browse OTLP JSON lines files
    traced-view --print [OPTIONS] FILE...    print waterfalls as plain text
    traced-view --listen ADDR [FILE...]      receive OTLP/HTTP on ADDR (POST /v1/traces)

OPTIONS:
    --print             plain text to stdout instead of the interactive screen
    --trace TRACE_ID    only this trace (32 hex digits)
    --ascii             bars and units in plain ASCII (with --print)
    --width COLUMNS     width of the time axis with --print [default: 40]
    --listen ADDR       serve OTLP/HTTP, e.g. 127.0.0.1:4318; with --print, each trace is
                        printed once no span of it has arrived for --quiet-ms
    --quiet-ms MS       quiet period before printing a received trace [default: 2000]
    -h, --help          this text
    -V, --version       the version

Files are OTLP JSON lines, as the OpenTelemetry file exporters write them: one TracesData
object per line. Lines that do not parse are skipped and counted.

Keys, trace list: j/k or arrows move, g/G first/last, Enter opens a trace, s sorts by start,
duration or span count, / filters (Enter keeps the filter, Esc clears it), q quits.
Filter words must all match: service:NAME, name:TEXT, >DURATION (e.g. >10ms), is:error, or any
text found in a span name, service or attribute.
Keys, waterfall: j/k move, Space folds a subtree (h/l collapse/expand), J/K scroll the span's
detail, Esc or q goes back.
The critical path is marked with a dot.
";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Show [`USAGE`].
    Help,
    /// Show the version.
    Version,
    /// Read, receive, show.
    Run(Options),
}

/// The options of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// OTLP JSON lines files to read.
    pub files: Vec<PathBuf>,
    /// Plain text to stdout instead of the interactive screen.
    pub print: bool,
    /// Only this trace.
    pub trace: Option<TraceId>,
    /// ASCII bars and units.
    pub ascii: bool,
    /// Columns of the printed time axis.
    pub width: usize,
    /// Where to receive OTLP/HTTP.
    pub listen: Option<String>,
    /// How long a received trace must be quiet before `--print` prints it.
    pub quiet: Duration,
}

/// Parses the arguments (without the program name).
///
/// ```
/// use traced_view::cli::{parse, Command};
///
/// let Command::Run(options) = parse(["--print", "--ascii", "a.jsonl"].map(String::from)).unwrap()
/// else { unreachable!() };
/// assert!(options.print && options.ascii);
/// assert!(parse(["--print"].map(String::from)).is_err());
/// ```
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        files: Vec::new(),
        print: false,
        trace: None,
        ascii: false,
        width: 40,
        listen: None,
        quiet: Duration::from_secs(2),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value; see --help"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--print" => options.print = true,
            "--ascii" => options.ascii = true,
            "--trace" => {
                let id = value("--trace")?;
                options.trace = Some(TraceId::parse_hex(&id).ok_or_else(|| {
                    format!("--trace expects a trace id of 32 hex digits, not {id:?}")
                })?);
            }
            "--width" => {
                let width = value("--width")?;
                options.width = width
                    .parse()
                    .ok()
                    .filter(|width| (1..=1000).contains(width))
                    .ok_or_else(|| format!("--width expects 1 to 1000 columns, not {width:?}"))?;
            }
            "--listen" => options.listen = Some(value("--listen")?),
            "--quiet-ms" => {
                let quiet = value("--quiet-ms")?;
                let millis: u64 = quiet.parse().map_err(|_| {
                    format!("--quiet-ms expects milliseconds, e.g. --quiet-ms 2000, not {quiet:?}")
                })?;
                options.quiet = Duration::from_millis(millis);
            }
            "--" => options.files.extend(args.by_ref().map(PathBuf::from)),
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option {flag}; see --help"));
            }
            file => options.files.push(PathBuf::from(file)),
        }
    }
    if options.files.is_empty() && options.listen.is_none() {
        return Err(
            "give OTLP JSON lines files, or --listen 127.0.0.1:4318; see --help".to_owned(),
        );
    }
    Ok(Command::Run(options))
}
