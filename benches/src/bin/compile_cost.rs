//! What an attribute on every function costs at build time and in future
//! sizes: writes four variant crates with the same bodies (200 sync fns
//! returning `Result` with `?`, 200 async fns in chains of 4), annotated
//! with nothing, `#[traced]`, `#[tracing::instrument(skip_all)]` and
//! `#[fastrace::trace]`; builds each in debug and release (offline, with
//! this workspace's `Cargo.lock`); and prints a markdown table of the
//! compile time the attribute adds (rebuild of the crate alone, median of
//! `--runs`, minus the un-annotated crate's), LLVM IR lines
//! (`--emit=llvm-ir`), rlib size and the size of a few unpolled futures.
//!
//! ```sh
//! cargo run -p traced-benches --release --bin compile_cost [-- --runs N] [--dir DIR] [--keep]
//! ```
//!
//! `--runtime DIR` measures another copy of the `traced` crate (an older
//! commit's `runtime/`); `--sizes` only builds and prints the future sizes;
//! `--breakdown N` also prints, for every variant and profile, the `N`
//! items with the most IR lines: functions grouped by name with the
//! generic arguments and hashes left out and the generated fns' numbers
//! replaced (`sN`, `aC_K`), so each row sums a function's instances.
//!
//! The crates go to `DIR` (default `$CARGO_TARGET_DIR/compile_cost`, else
//! `target/compile_cost`) and are deleted afterwards unless `--keep`. Not
//! run in CI: it takes minutes.

// Counts, sizes and times here are far below 2^52: the casts are exact.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Sync fns and async fns per crate.
const FNS: usize = 200;
/// Async fns per chain (each awaits the one before).
const CHAIN: usize = 4;

#[derive(Clone, Copy)]
struct Variant {
    name: &'static str,
    label: &'static str,
    dependency: &'static str,
    /// The attribute on the sync and async fns.
    plain: &'static str,
    /// The attribute with three attributes (`x`, `kind`, `even`).
    attributes: &'static str,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "cc_bare",
        label: "bare",
        dependency: "",
        plain: "",
        attributes: "",
    },
    Variant {
        name: "cc_traced",
        label: "traced `#[traced]`",
        dependency: "traced = { path = \"RUNTIME\", default-features = false }",
        plain: "#[traced::traced]",
        attributes: "#[traced::traced(attrs(x = x, kind = \"leaf\", even = x % 2 == 0))]",
    },
    Variant {
        name: "cc_tracing",
        label: "tracing `#[instrument(skip_all)]`",
        dependency: "tracing = { version = \"0.1.44\", default-features = false, features = [\"std\", \"attributes\"] }",
        plain: "#[tracing::instrument(skip_all)]",
        attributes: "#[tracing::instrument(skip_all, fields(x = x, kind = \"leaf\", even = x % 2 == 0))]",
    },
    Variant {
        name: "cc_fastrace",
        label: "fastrace `#[trace]`",
        dependency: "fastrace = { version = \"0.7.19\", features = [\"enable\"] }",
        plain: "#[fastrace::trace]",
        attributes: "#[fastrace::trace(properties = { \"x\": \"{x}\", \"kind\": \"leaf\", \"even\": \"{x:?}\" })]",
    },
];

/// The variant crate's library: the measured bodies, then the futures
/// whose sizes are reported.
fn library(v: &Variant) -> String {
    let a = v.plain;
    let mut s = String::from("#![allow(clippy::all, unused)]\n\n");
    writeln!(
        s,
        "pub fn s0(x: u64) -> Result<u64, std::num::ParseIntError> {{"
    )
    .unwrap();
    writeln!(
        s,
        "    let y: u64 = \"7\".parse()?;\n    Ok(x.wrapping_add(y))\n}}"
    )
    .unwrap();
    for i in 1..FNS {
        writeln!(
            s,
            "{a}\npub fn s{i}(x: u64) -> Result<u64, std::num::ParseIntError> {{\n    let y = s{}(x)?;\n    Ok(y.wrapping_mul({i}))\n}}",
            i - 1
        )
        .unwrap();
    }
    for c in 0..FNS / CHAIN {
        writeln!(
            s,
            "{a}\npub async fn a{c}_0(x: u64) -> u64 {{\n    x.wrapping_add({c})\n}}"
        )
        .unwrap();
        for k in 1..CHAIN {
            writeln!(
                s,
                "{a}\npub async fn a{c}_{k}(x: u64) -> u64 {{\n    a{c}_{}(x).await.wrapping_add({k})\n}}",
                k - 1
            )
            .unwrap();
        }
    }
    let attrs = v.attributes;
    let last_sync = FNS - 1;
    write!(
        s,
        "
{a}
pub async fn leaf(x: u64) -> u64 {{
    x + 1
}}

{attrs}
pub async fn leaf_with_attributes(x: u64) -> u64 {{
    x + 1
}}

{a}
pub async fn mid(x: u64) -> u64 {{
    leaf(x).await + 1
}}

{a}
pub async fn top(x: u64) -> u64 {{
    mid(x).await + 1
}}

/// `leaf`, `leaf_with_attributes` and `top` (leaf in mid in top), unpolled.
pub fn future_sizes() -> [usize; 3] {{
    [
        std::mem::size_of_val(&leaf(1)),
        std::mem::size_of_val(&leaf_with_attributes(1)),
        std::mem::size_of_val(&top(1)),
    ]
}}

/// Polls a future once, so its body is compiled in this crate. Not inlined:
/// each chain is polled from a function of its own, as an executor polls
/// each spawned task (or a framework each boxed handler) from its own
/// instance, rather than all of them from one function.
#[inline(never)]
fn poll_once<F: std::future::Future<Output = u64>>(future: F) -> u64 {{
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::future::Future::poll(std::pin::pin!(future), &mut cx) {{
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => 0,
    }}
}}

/// Reaches every measured fn from one exported fn that is not inlined, so
/// that a release build compiles them all here: without it, small
/// non-generic fns are left to be compiled in their callers' crates and an
/// async fn's body in the crate that polls it, and the release IR counts
/// little more than the signatures.
#[inline(never)]
pub fn reach_all(x: u64) -> u64 {{
    let mut total = s{last_sync}(x).unwrap_or(0);
"
    )
    .unwrap();
    for c in 0..FNS / CHAIN {
        writeln!(
            s,
            "    total = total.wrapping_add(poll_once(a{c}_{}(x)));",
            CHAIN - 1
        )
        .unwrap();
    }
    s.push_str(
        "    total = total.wrapping_add(poll_once(leaf_with_attributes(x)));\n    total.wrapping_add(poll_once(top(x)))\n}\n",
    );
    s
}

fn manifest(v: &Variant, runtime: &Path) -> String {
    let dependency = v
        .dependency
        .replace("RUNTIME", &runtime.display().to_string());
    format!(
        "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n{dependency}\n",
        v.name
    )
}

const SIZES_BIN: &str = "fn main() {\n    let [leaf, attributes, chain] = NAME::future_sizes();\n    println!(\"{leaf} {attributes} {chain}\");\n}\n";

struct Args {
    runs: usize,
    dir: PathBuf,
    keep: bool,
    runtime: PathBuf,
    sizes_only: bool,
    /// Items of the IR breakdown to print (none: no breakdown).
    breakdown: usize,
}

fn args(workspace: &Path) -> Args {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    let mut parsed = Args {
        runs: 3,
        dir: target.join("compile_cost"),
        keep: false,
        runtime: workspace.join("runtime"),
        sizes_only: false,
        breakdown: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => parsed.runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--dir" => parsed.dir = PathBuf::from(args.next().expect("--dir DIR")),
            "--keep" => parsed.keep = true,
            "--runtime" => parsed.runtime = PathBuf::from(args.next().expect("--runtime DIR")),
            "--sizes" => parsed.sizes_only = true,
            "--breakdown" => {
                parsed.breakdown = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--breakdown N");
            }
            other => panic!(
                "unknown argument {other}; usage: compile_cost [--runs N] [--dir DIR] [--keep] [--runtime DIR] [--sizes] [--breakdown N]"
            ),
        }
    }
    parsed
}

fn cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env("CARGO_INCREMENTAL", "0");
    cmd
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn profile_args(release: bool) -> &'static [&'static str] {
    if release {
        &["--release"]
    } else {
        &[]
    }
}

/// The command that builds the variant's library alone (its dependencies
/// built).
fn build_command(dir: &Path, v: &Variant, release: bool) -> Command {
    let mut cmd = cargo(dir);
    cmd.args(["build", "--offline", "--lib", "-p", v.name]);
    cmd.args(profile_args(release));
    cmd
}

/// Gives the variant's library a new modification time, so the next build
/// rebuilds that crate only.
fn touch(dir: &Path, v: &Variant) {
    let lib = dir.join(v.name).join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text).unwrap();
}

/// Rebuilds of every variant's library, `runs` rounds, the variants
/// interleaved within each round (so a change of load on the machine falls
/// on all of them alike): the median wall and CPU seconds (user + system of
/// cargo and the rustc it runs) per variant, `[variant] -> (wall, cpu)`.
fn build_times(dir: &Path, release: bool, runs: usize) -> Vec<(f64, f64)> {
    for v in &VARIANTS {
        run(build_command(dir, v, release));
    }
    let mut wall = vec![Vec::new(); VARIANTS.len()];
    let mut cpu = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..runs {
        for (i, v) in VARIANTS.iter().enumerate() {
            touch(dir, v);
            let cpu_before = children_cpu();
            let start = Instant::now();
            run(build_command(dir, v, release));
            wall[i].push(start.elapsed().as_secs_f64());
            cpu[i].push(children_cpu() - cpu_before);
        }
    }
    let median = |mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    wall.into_iter()
        .zip(cpu)
        .map(|(wall, cpu)| (median(wall), median(cpu)))
        .collect()
}

/// User + system seconds of every child process waited for so far (and of
/// theirs).
fn children_cpu() -> f64 {
    // SAFETY: `getrusage` writes into the struct it is given and nothing
    // else; a zeroed `rusage` is a valid value of it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage), 0);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Lines of LLVM IR of the variant's library, the size of its rlib, and the
/// IR's items with the most lines (see [`breakdown`]).
fn ir_and_rlib(dir: &Path, v: &Variant, release: bool) -> (usize, u64, Vec<Item>) {
    let profile = if release { "release" } else { "debug" };
    let deps = dir.join("target").join(profile).join("deps");
    let ll_files = |deps: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(deps)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension().is_some_and(|e| e == "ll")
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with(v.name))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for old in ll_files(&deps) {
        std::fs::remove_file(old).unwrap();
    }
    let mut cmd = cargo(dir);
    cmd.args(["rustc", "--offline", "--lib", "-p", v.name]);
    cmd.args(profile_args(release));
    cmd.args(["--", "--emit=llvm-ir,link,metadata"]);
    run(cmd);
    let mut lines = 0;
    let mut items = Vec::new();
    for ll in ll_files(&deps) {
        let text = std::fs::read_to_string(&ll).unwrap();
        lines += text.lines().count();
        items.extend(breakdown(&text));
        std::fs::remove_file(ll).unwrap();
    }
    // A plain build again, so the rlib measured is the ordinary one.
    touch(dir, v);
    run(build_command(dir, v, release));
    let rlib = dir
        .join("target")
        .join(profile)
        .join(format!("lib{}.rlib", v.name));
    (lines, std::fs::metadata(rlib).expect("rlib").len(), items)
}

/// `sN` for a path segment `s12`, `aC_K` for `a3_1`, else the segment.
fn generated_fn(segment: &str) -> &str {
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if segment.strip_prefix('s').is_some_and(digits) {
        return "sN";
    }
    match segment.strip_prefix('a').and_then(|p| p.split_once('_')) {
        Some((c, k)) if digits(c) && digits(k) => "aC_K",
        _ => segment,
    }
}

/// One row of the IR breakdown: a function's instances.
struct Item {
    name: String,
    lines: usize,
    instances: usize,
}

/// The functions defined in `ll`, grouped by [`item_name`], most lines
/// first.
fn breakdown(ll: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for line in ll.lines() {
        if line.starts_with("define ") {
            let symbol = line
                .split('@')
                .nth(1)
                .and_then(|rest| rest.split('(').next())
                .unwrap_or("?");
            open = Some((item_name(symbol.trim_matches('"')), 0));
        }
        if let Some((_, lines)) = &mut open {
            *lines += 1;
            if line.starts_with('}') {
                let (name, lines) = open.take().expect("open");
                match items.iter_mut().find(|item| item.name == name) {
                    Some(item) => {
                        item.lines += lines;
                        item.instances += 1;
                    }
                    None => items.push(Item {
                        name,
                        lines,
                        instances: 1,
                    }),
                }
            }
        }
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.lines));
    items
}

/// A legacy-mangled symbol's path without its hash, with the generated
/// fns' numbers replaced (`s12` is `sN`, `a3_1` is `aC_K`); other symbols
/// as they are.
fn item_name(symbol: &str) -> String {
    let Some(mut rest) = symbol.strip_prefix("_ZN") else {
        return symbol.to_string();
    };
    let mut parts = Vec::new();
    while let Some(len_end) = rest.find(|c: char| !c.is_ascii_digit()).filter(|&n| n > 0) {
        let len: usize = rest[..len_end].parse().expect("a length");
        let Some(part) = rest.get(len_end..len_end + len) else {
            break;
        };
        parts.push(part);
        rest = &rest[len_end + len..];
    }
    let is_hash = |p: &str| {
        p.len() == 17 && p.starts_with('h') && p[1..].bytes().all(|b| b.is_ascii_hexdigit())
    };
    if parts.last().is_some_and(|p| is_hash(p)) {
        parts.pop();
    }
    let mut name = parts
        .into_iter()
        .map(generated_fn)
        .collect::<Vec<_>>()
        .join("::");
    for (code, text) in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$u20$", " "),
        ("$RF$", "&"),
        ("$C$", ","),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$BP$", "*"),
        ("..", "::"),
    ] {
        name = name.replace(code, text);
    }
    name
}

fn future_sizes(dir: &Path, v: &Variant) -> [usize; 3] {
    let mut cmd = cargo(dir);
    cmd.args([
        "run",
        "--offline",
        "--release",
        "-q",
        "-p",
        v.name,
        "--bin",
        "sizes",
    ]);
    let out = run(cmd);
    let sizes: Vec<usize> = out
        .split_whitespace()
        .map(|n| n.parse().expect("a size"))
        .collect();
    [sizes[0], sizes[1], sizes[2]]
}

struct Row {
    /// Wall seconds to rebuild, `[debug, release]`.
    time: [f64; 2],
    /// CPU seconds (user + system) to rebuild.
    cpu: [f64; 2],
    ir: [usize; 2],
    items: [Vec<Item>; 2],
    rlib: [u64; 2],
    sizes: [usize; 3],
}

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let args = args(&workspace);
    let dir = &args.dir;
    std::fs::create_dir_all(dir).unwrap();
    let members: Vec<String> = VARIANTS.iter().map(|v| format!("\"{}\"", v.name)).collect();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[workspace]\nmembers = [{}]\nresolver = \"2\"\n",
            members.join(", ")
        ),
    )
    .unwrap();
    // The workspace's lock: every crate is one already resolved and cached.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for v in &VARIANTS {
        let src = dir.join(v.name).join("src");
        std::fs::create_dir_all(src.join("bin")).unwrap();
        std::fs::write(
            dir.join(v.name).join("Cargo.toml"),
            manifest(v, &args.runtime),
        )
        .unwrap();
        std::fs::write(src.join("lib.rs"), library(v)).unwrap();
        std::fs::write(src.join("bin/sizes.rs"), SIZES_BIN.replace("NAME", v.name)).unwrap();
    }
    let rustc = run({
        let mut cmd = Command::new("rustc");
        cmd.arg("--version");
        cmd
    });
    if args.sizes_only {
        for v in &VARIANTS {
            println!("{}: {:?}", v.label, future_sizes(dir, v));
        }
        if !args.keep {
            std::fs::remove_dir_all(dir).unwrap();
        }
        return;
    }
    let mut rows = Vec::new();
    for v in &VARIANTS {
        eprintln!("{}: building", v.name);
        let mut row = Row {
            time: [0.0; 2],
            cpu: [0.0; 2],
            ir: [0; 2],
            items: [Vec::new(), Vec::new()],
            rlib: [0; 2],
            sizes: [0; 3],
        };
        for (i, release) in [false, true].into_iter().enumerate() {
            (row.ir[i], row.rlib[i], row.items[i]) = ir_and_rlib(dir, v, release);
        }
        row.sizes = future_sizes(dir, v);
        rows.push(row);
    }
    for (i, release) in [false, true].into_iter().enumerate() {
        eprintln!(
            "timing {} rebuilds, {} rounds",
            if release { "release" } else { "debug" },
            args.runs
        );
        for (row, (wall, cpu)) in rows.iter_mut().zip(build_times(dir, release, args.runs)) {
            row.time[i] = wall;
            row.cpu[i] = cpu;
        }
    }
    print_table(&rows, rustc.trim(), args.runs);
    if args.breakdown > 0 {
        print_breakdown(&rows, args.breakdown);
    }
    if !args.keep {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

fn print_table(rows: &[Row], rustc: &str, runs: usize) {
    let bare = &rows[0];
    let fastrace = &rows[3];
    let tracing = &rows[2];
    println!(
        "{FNS} sync fns returning `Result` with `?` and {FNS} async fns in chains of {CHAIN}; {rustc}; build times: rebuild of the crate alone, wall and CPU (user + system), median of {runs} rounds with the variants interleaved.\n"
    );
    println!("| | {} |", VARIANTS.map(|v| v.label).join(" | "));
    println!("|---|{}", "---:|".repeat(VARIANTS.len()));
    let line = |what: &str, cell: &dyn Fn(&Row) -> String| {
        let cells: Vec<String> = rows.iter().map(cell).collect();
        println!("| {what} | {} |", cells.join(" | "));
    };
    for (i, profile) in ["debug", "release"].into_iter().enumerate() {
        line(&format!("{profile}: build time, s"), &|r| {
            format!("{:.2}", r.time[i])
        });
        line(&format!("{profile}: added by the attribute, s"), &|r| {
            added_time(r.time[i], bare.time[i], tracing.time[i], fastrace.time[i])
        });
        line(&format!("{profile}: build CPU time, s"), &|r| {
            format!("{:.2}", r.cpu[i])
        });
        line(&format!("{profile}: CPU time added, s"), &|r| {
            added_time(r.cpu[i], bare.cpu[i], tracing.cpu[i], fastrace.cpu[i])
        });
        line(&format!("{profile}: LLVM IR lines"), &|r| {
            r.ir[i].to_string()
        });
        line(&format!("{profile}: IR lines added"), &|r| {
            added_count(r.ir[i], bare.ir[i], tracing.ir[i], fastrace.ir[i])
        });
        line(&format!("{profile}: rlib, KB"), &|r| {
            format!("{:.0}", r.rlib[i] as f64 / 1000.0)
        });
    }
    let names = [
        "`leaf` future, bytes",
        "`leaf` with 3 attributes",
        "3-level chain",
    ];
    for (i, name) in names.into_iter().enumerate() {
        line(name, &|r| {
            let added = r.sizes[i] as i64 - bare.sizes[i] as i64;
            if added == 0 {
                r.sizes[i].to_string()
            } else {
                format!("{} (+{added})", r.sizes[i])
            }
        });
    }
    println!("\n(×t, ×f): the added amount over tracing's and over fastrace's.");
}

fn print_breakdown(rows: &[Row], top: usize) {
    for (v, row) in VARIANTS.iter().zip(rows) {
        for (i, profile) in ["debug", "release"].into_iter().enumerate() {
            println!(
                "\n{} {profile}: the {top} items with the most IR lines\n",
                v.name
            );
            println!("| lines | instances | item |\n|---:|---:|---|");
            for item in row.items[i].iter().take(top) {
                println!("| {} | {} | `{}` |", item.lines, item.instances, item.name);
            }
        }
    }
}

fn added_time(value: f64, bare: f64, tracing: f64, fastrace: f64) -> String {
    let added = value - bare;
    if added.abs() < f64::EPSILON {
        return String::new();
    }
    format!(
        "{added:.2} (×t {:.2}, ×f {:.2})",
        added / (tracing - bare),
        added / (fastrace - bare)
    )
}

fn added_count(value: usize, bare: usize, tracing: usize, fastrace: usize) -> String {
    let added = value as f64 - bare as f64;
    if added == 0.0 {
        return String::new();
    }
    format!(
        "{added:.0} (×t {:.2}, ×f {:.2})",
        added / (tracing as f64 - bare as f64),
        added / (fastrace as f64 - bare as f64)
    )
}
