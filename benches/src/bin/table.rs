//! Prints the tables of BENCHMARKS.md as markdown on stdout (progress on
//! stderr). Runs the measurement loops itself, the same ones the criterion
//! benches time, so the table does not depend on criterion's output.
//!
//! ```text
//! cargo run -p traced-benches --release --bin table > table.md
//! cargo run -p traced-benches --release --bin table -- --quick
//! cargo run -p traced-benches --release --bin table -- --spans 300000 --runs 5 --calls 10000000
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use traced_benches::measure::{per_call, Measurement};
use traced_benches::{measure, plain, Peer, Scenario};

struct Settings {
    /// Spans per measurement (over all threads).
    spans: u64,
    /// Measurements per scenario and peer; the table shows medians.
    runs: usize,
    /// Calls per measurement of the off scenario.
    calls: i64,
}

const USAGE: &str = "usage: table [--quick] [--spans N] [--runs N] [--calls N]";

fn settings() -> Result<Settings, String> {
    let mut settings = Settings {
        spans: 300_000,
        runs: 5,
        calls: 10_000_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.replace('_', "").parse::<u64>().ok())
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("{arg} needs a positive number; {USAGE}"))
        };
        match arg.as_str() {
            "--quick" => {
                settings = Settings {
                    spans: 20_000,
                    runs: 1,
                    calls: 200_000,
                };
            }
            "--spans" => settings.spans = value()?,
            "--runs" => settings.runs = usize::try_from(value()?).map_err(|e| e.to_string())?,
            "--calls" => settings.calls = i64::try_from(value()?).map_err(|e| e.to_string())?,
            _ => return Err(format!("unknown argument {arg}; {USAGE}")),
        }
    }
    Ok(settings)
}

fn main() -> ExitCode {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let load_before = load_average();
    // Before any pipeline is installed: the off scenario.
    let off = measure_off(&settings);
    let on = measure_on(&settings);
    let load = [load_before, load_average()];
    print!("{}", render(&settings, load, &off, &on));
    let traced = &on.totals[0];
    if traced.delivered == traced.created {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "traced delivered {} of {} spans: see the last table",
            traced.delivered, traced.created
        );
        ExitCode::FAILURE
    }
}

/// Median ns per call: the un-annotated twin first, then each peer.
struct Off {
    plain: f64,
    peers: Vec<(Peer, f64)>,
}

#[allow(clippy::cast_precision_loss)] // call counts far below 2^52
fn measure_off(settings: &Settings) -> Off {
    eprintln!("off: {} calls x {} runs", settings.calls, settings.runs);
    let ns_per_call =
        |call| per_call(call, settings.calls).as_nanos() as f64 / settings.calls as f64;
    let mut plain_runs = Vec::new();
    let mut peer_runs: Vec<Vec<f64>> = vec![Vec::new(); Peer::ALL.len()];
    // Warm up once, then interleave so drift in the machine's load hits all alike.
    for run in 0..=settings.runs {
        let plain_ns = ns_per_call(plain);
        let peers_ns: Vec<f64> = Peer::ALL
            .iter()
            .map(|peer| ns_per_call(peer.off_fn()))
            .collect();
        if run > 0 {
            plain_runs.push(plain_ns);
            for (runs, ns) in peer_runs.iter_mut().zip(peers_ns) {
                runs.push(ns);
            }
        }
    }
    Off {
        plain: median(plain_runs),
        peers: Peer::ALL
            .iter()
            .copied()
            .zip(peer_runs.into_iter().map(median))
            .collect(),
    }
}

/// Medians over the runs, and every span created and delivered.
#[derive(Default)]
struct Cell {
    calling: f64,
    process: f64,
    cpu: Option<f64>,
    /// Whether the flushes of every timed run delivered every span: if not,
    /// the whole-process times are lower bounds.
    complete: bool,
    created: u64,
    delivered: u64,
}

/// Spans over the whole run of one pipeline, after a last flush.
struct Total {
    peers: &'static [Peer],
    created: u64,
    delivered: u64,
    dropped: Option<u64>,
}

/// One entry per pipeline; the traced peers share theirs.
const PIPELINES: [&[Peer]; 4] = [
    &[Peer::TracedAttribute, Peer::TracedMacro],
    &[Peer::OtelSdk],
    &[Peer::Tracing],
    &[Peer::Fastrace],
];

struct Results {
    cells: HashMap<(Scenario, Peer), Cell>,
    totals: Vec<Total>,
}

fn measure_on(settings: &Settings) -> Results {
    let mut cells = HashMap::new();
    for scenario in Scenario::ALL {
        let iterations = (settings.spans / scenario.spans()).max(1);
        eprintln!(
            "{scenario}: {iterations} iterations ({} spans) x {} runs",
            iterations * scenario.spans(),
            settings.runs
        );
        let mut runs: HashMap<Peer, Vec<Measurement>> = HashMap::new();
        for run in 0..=settings.runs {
            for peer in Peer::ALL {
                // The first round warms up (and installs the pipelines); its
                // spans still count as created and delivered.
                let measured = measure(peer, scenario, if run == 0 { 1 } else { iterations });
                runs.entry(peer).or_default().push(measured);
            }
        }
        for (peer, measured) in runs {
            let timed = &measured[1..];
            let cell = Cell {
                calling: median(timed.iter().map(Measurement::calling_ns_per_span).collect()),
                process: median(timed.iter().map(Measurement::process_ns_per_span).collect()),
                cpu: timed
                    .iter()
                    .map(Measurement::cpu_ns_per_span)
                    .collect::<Option<Vec<f64>>>()
                    .map(median),
                complete: timed.iter().all(Measurement::all_delivered),
                created: measured.iter().map(|m| m.created).sum(),
                delivered: measured.iter().map(|m| m.delivered).sum(),
            };
            cells.insert((scenario, peer), cell);
        }
    }
    let totals = PIPELINES
        .iter()
        .map(|&peers| {
            let pipeline = peers[0].pipeline();
            pipeline.flush();
            Total {
                peers,
                created: cells
                    .iter()
                    .filter(|((_, peer), _)| peers.contains(peer))
                    .map(|(_, cell)| cell.created)
                    .sum(),
                delivered: pipeline.delivered(),
                dropped: pipeline.dropped(),
            }
        })
        .collect();
    Results { cells, totals }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// One number of a [`Cell`], with the title of its table.
struct Metric {
    title: &'static str,
    of: fn(&Cell) -> Option<f64>,
}

const METRICS: [Metric; 3] = [
    Metric {
        title: "Calling thread, ns per span (target for traced: ≤ 50)",
        of: |c| Some(c.calling),
    },
    Metric {
        title: "Whole process, wall ns per span until flushed to the exporter (target for traced: ≤ 200)",
        of: |c| Some(c.process),
    },
    Metric {
        title: "Whole process, CPU ns per span over all threads (the same runs as above)",
        of: |c| c.cpu,
    },
];

fn render(settings: &Settings, load: [Option<String>; 2], off: &Off, on: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}; {} CPUs. Medians of {} runs; {} spans per run (off: {} calls per run).",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        settings.runs,
        settings.spans,
        settings.calls,
    );
    if let [Some(before), Some(after)] = load {
        // Other work on the machine shows in the numbers, the 2-thread ones most.
        let _ = writeln!(
            out,
            "Load average (1, 5, 15 min) before: {before}; after: {after}."
        );
    }
    out.push('\n');
    render_off(&mut out, off);
    for metric in &METRICS {
        render_metric(&mut out, metric, &on.cells);
    }
    render_delivered(&mut out, on);
    out
}

fn peers_header(out: &mut String, first: &str) {
    let _ = write!(out, "| {first} |");
    for peer in Peer::ALL {
        let _ = write!(out, " {peer} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(Peer::ALL.len()));
    out.push('\n');
}

fn render_off(out: &mut String, off: &Off) {
    out.push_str(
        "### Off: no pipeline installed, ns per call (target for traced: ≤ 2 ns over un-annotated)\n\n",
    );
    out.push_str("| | un-annotated |");
    for (peer, _) in &off.peers {
        let _ = write!(out, " {peer} |");
    }
    out.push_str("\n|---|---:|");
    out.push_str(&"---:|".repeat(off.peers.len()));
    let _ = write!(out, "\n| ns per call | {:.2} |", off.plain);
    for (_, ns) in &off.peers {
        let _ = write!(out, " {ns:.2} |");
    }
    out.push_str("\n| over un-annotated | |");
    for (_, ns) in &off.peers {
        let _ = write!(out, " {:+.2} |", ns - off.plain);
    }
    out.push_str("\n\n");
}

fn render_metric(out: &mut String, metric: &Metric, cells: &HashMap<(Scenario, Peer), Cell>) {
    let _ = writeln!(out, "### {}\n", metric.title);
    out.push_str(
        "(×N) after a peer's time is that time divided by traced `#[traced]`'s: above 1, traced is faster.\n\n",
    );
    peers_header(out, "scenario");
    let mut incomplete = false;
    for scenario in Scenario::ALL {
        let base = (metric.of)(&cells[&(scenario, Peer::TracedAttribute)]);
        let _ = write!(out, "| {scenario} |");
        for peer in Peer::ALL {
            let cell = &cells[&(scenario, peer)];
            let mark = if cell.complete { "" } else { " †" };
            incomplete |= !cell.complete;
            match ((metric.of)(cell), base) {
                (Some(ns), Some(base)) if peer != Peer::TracedAttribute => {
                    let _ = write!(out, " {}{mark} (×{:.1}) |", format_ns(ns), ns / base);
                }
                (Some(ns), _) => {
                    let _ = write!(out, " {}{mark} |", format_ns(ns));
                }
                (None, _) => out.push_str(" n/a |"),
            }
        }
        out.push('\n');
    }
    out.push('\n');
    if incomplete {
        out.push_str(
            "† In some runs not every span made had reached the exporter when the flush returned (dropped, or delivered late), so the whole-process times are lower bounds.\n\n",
        );
    }
}

fn render_delivered(out: &mut String, on: &Results) {
    out.push_str(
        "### Spans delivered / created\n\nPer scenario: what the exporter had received when each run's flush returned (warm-ups included; spans that arrive late are counted in a later run). Last row: the whole run, after one more flush.\n\n",
    );
    peers_header(out, "scenario");
    let share = |delivered: u64, created: u64| {
        if delivered == created {
            format!("{delivered} / {created} (100 %)")
        } else {
            #[allow(clippy::cast_precision_loss)] // span counts far below 2^52
            let percent = delivered as f64 * 100.0 / created.max(1) as f64;
            format!("{delivered} / {created} (**{percent:.2} %**)")
        }
    };
    for scenario in Scenario::ALL {
        let _ = write!(out, "| {scenario} |");
        for peer in Peer::ALL {
            let cell = &on.cells[&(scenario, peer)];
            let _ = write!(out, " {} |", share(cell.delivered, cell.created));
        }
        out.push('\n');
    }
    out.push_str("| whole run |");
    for total in &on.totals {
        let _ = write!(out, " {} |", share(total.delivered, total.created));
        for _ in &total.peers[1..] {
            out.push_str(" (one pipeline with the column before) |");
        }
    }
    out.push_str("\n\n");
    for total in &on.totals {
        if let Some(dropped) = total.dropped {
            let _ = writeln!(
                out,
                "traced reported {dropped} spans dropped (`PipelineGuard::stats()`)."
            );
        }
    }
}

fn format_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

/// The first three fields of `/proc/loadavg`, where there is one.
fn load_average() -> Option<String> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}
