//! `--print`: golden waterfalls, and skipped lines counted.

use std::path::Path;
use std::process::Command;

use traced_view::input::read_file;
use traced_view::print::{print_store, PrintOptions};
use traced_view::store::TraceStore;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

#[test]
fn sequential_and_parallel_children_across_two_services() {
    let mut store = TraceStore::new();
    let report = read_file(&fixture("checkout.jsonl"), &mut store).unwrap();
    assert_eq!((report.spans, report.skipped.len()), (10, 0));
    for (ascii, expected) in [(false, "checkout.txt"), (true, "checkout-ascii.txt")] {
        let options = PrintOptions {
            ascii,
            bar_width: 40,
        };
        // The binary ends the output with a newline of its own.
        assert_eq!(
            print_store(&store, &options) + "\n",
            golden(expected),
            "{expected}"
        );
    }
}

#[test]
fn binary_prints_one_trace_and_counts_skipped_lines() {
    let output = Command::new(env!("CARGO_BIN_EXE_traced-view"))
        .args([
            "--print",
            "--ascii",
            "--trace",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ])
        .arg(fixture("checkout.jsonl"))
        .arg(fixture("truncated.jsonl"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    // The truncated file repeats the inventory spans: each is shown once.
    assert!(stdout.starts_with("trace 4bf92f3577b34da6a3ce929d0e0e4736  8 spans"));
    assert_eq!(stdout.matches("lock sku-1").count(), 1);
    assert!(!stdout.contains("0af7651916cd43dd8448eb211c80319c"));
    assert!(
        stderr.contains("truncated.jsonl:2: line skipped: not JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("truncated.jsonl:3: line skipped: not JSON: EOF"),
        "{stderr}"
    );
    assert!(stderr.contains("2 lines skipped in all"), "{stderr}");
    assert!(stderr.contains("4 spans read twice"), "{stderr}");
}

#[test]
fn binary_rejects_unknown_trace_and_bad_usage() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_traced-view"))
            .args(args)
            .output()
            .unwrap()
    };
    let checkout = fixture("checkout.jsonl");
    let checkout = checkout.to_str().unwrap();
    let missing = run(&["--print", "--trace", &"ab".repeat(16), checkout]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not in the input"));
    let usage = run(&["--print"]);
    assert_eq!(usage.status.code(), Some(2));
    let no_terminal = run(&[checkout]);
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("needs a terminal"));
}

#[test]
fn python_sdk_request_in_the_generic_protobuf_json_mapping() {
    // Written by the Python SDK's OTLP encoder and protobuf's `MessageToJson`: base64 ids and
    // enum names, not OTLP's hex ids and integers.
    let mut store = TraceStore::new();
    let report = read_file(&fixture("python-sdk.jsonl"), &mut store).unwrap();
    assert_eq!((report.spans, report.rejected_spans), (3, 0));
    let options = PrintOptions {
        ascii: true,
        bar_width: 20,
    };
    assert_eq!(
        print_store(&store, &options),
        "trace e9aaf210ff69f8d5d7800a9c2ea889e6  3 spans  services: py-worker  duration 15.6ms  errors: 1\n\
         job      py-worker    15.6ms  ####################\n\
         \x20 fetch  py-worker    10.1ms  #############-------\n\
         \x20 store  py-worker    5.20ms  -------------#######  ERROR: disk full\n"
    );
}

#[test]
fn binary_reads_standard_input_as_dash() {
    use std::io::Write as _;
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_traced-view"))
        .args(["--print", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = std::fs::read(fixture("checkout.jsonl")).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        golden("checkout.txt")
    );
}
