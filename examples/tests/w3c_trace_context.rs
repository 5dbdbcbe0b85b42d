//! The official W3C Trace Context test suite (vendored in `tests/w3c`, see
//! its README) against the `w3c_service` example: every test of levels 1
//! and 2, strict, on 127.0.0.1, must pass.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The suite's one requirement, pinned so a run is reproducible.
const AIOHTTP: &str = "aiohttp==3.14.5";

/// How many tests the vendored suite has with `STRICT_LEVEL=2` and
/// `SPEC_LEVEL=2`: fewer means the harness broke, not that traced passed.
const SUITE_TESTS: usize = 41;

/// The whole suite takes about a second; this only bounds a hang.
const SUITE_TIMEOUT: Duration = Duration::from_mins(2);

/// The suite's folder in the source tree.
fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/w3c/trace-context")
}

/// A virtualenv with [`AIOHTTP`] in the test's `CARGO_TARGET_TMPDIR`, made
/// on first use (and again when the pin changes); test binaries running
/// at once wait for the one making it.
fn venv() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join("w3c-trace-context-venv");
    let ready = dir.join("ready");
    std::fs::create_dir_all(tmp).unwrap();
    let lock = File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(AIOHTTP) {
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .expect("python3 to create a venv");
        assert!(status.success(), "python3 -m venv failed");
        let output = Command::new(dir.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--retries",
                "10",
                "--timeout",
                "60",
                AIOHTTP,
            ])
            .output()
            .expect("pip to run");
        assert!(
            output.status.success(),
            "pip install failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&ready, AIOHTTP).unwrap();
    }
    dir
}

/// A child process, killed if the test gives up on it before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything `stream` writes, once it closes.
fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts the service on a free port; returns it, its `/test` endpoint,
/// and what it writes on stderr (its spans as trees, printed every 100 ms
/// so that they are there when it is killed), readable once it is.
fn start_service() -> (Running, String, JoinHandle<String>) {
    let mut command = common::example(env!("CARGO_BIN_EXE_w3c_service"));
    command
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its callbacks go to the harness on 127.0.0.1, never through a proxy.
    for proxy in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        command.env_remove(proxy);
    }
    let mut service = Running(command.spawn().unwrap());
    let stdout = service.0.stdout.take().unwrap();
    let stderr = collect(service.0.stderr.take().unwrap());
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the service prints its address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (service, format!("{url}/test"), stderr)
}

/// What one run of the suite printed.
struct SuiteRun {
    success: bool,
    output: String,
}

/// Runs the suite against `endpoint` with its harness on 127.0.0.1:`port`.
fn run_suite(python: &Path, endpoint: &str, port: u16) -> SuiteRun {
    let port = port.to_string();
    let mut command = Command::new(python);
    command
        .arg("test.py")
        .arg(endpoint)
        .current_dir(suite_dir())
        .env_remove("HARNESS_DEBUG")
        .env("STRICT_LEVEL", "2")
        .env("SPEC_LEVEL", "2")
        .env("HARNESS_HOST", "127.0.0.1")
        .env("HARNESS_BIND_HOST", "127.0.0.1")
        .env("HARNESS_PORT", &port)
        .env("HARNESS_BIND_PORT", &port)
        // No `__pycache__` in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut suite = Running(command.spawn().expect("the venv's python to run"));
    let stdout = collect(suite.0.stdout.take().unwrap());
    let stderr = collect(suite.0.stderr.take().unwrap());
    let deadline = Instant::now() + SUITE_TIMEOUT;
    let status = loop {
        if let Some(status) = suite.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = suite.0.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    let Some(status) = status else {
        panic!("the suite did not finish in {SUITE_TIMEOUT:?}:\n{output}");
    };
    SuiteRun {
        success: status.success(),
        output,
    }
}

/// A port that was free a moment ago: the harness takes its port from the
/// environment and cannot be asked for port 0.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// unittest's verdicts (verbosity 2): how many ran, how many passed, and
/// the names of those that failed or errored.
struct Verdicts {
    ran: Option<usize>,
    passed: usize,
    failed: Vec<String>,
}

fn verdicts(output: &str) -> Verdicts {
    let mut parsed = Verdicts {
        ran: None,
        passed: 0,
        failed: Vec::new(),
    };
    for line in output.lines() {
        if line.ends_with(" ... ok") {
            parsed.passed += 1;
        } else if let Some(rest) = line
            .strip_prefix("FAIL: ")
            .or_else(|| line.strip_prefix("ERROR: "))
        {
            parsed
                .failed
                .push(rest.split(' ').next().unwrap_or(rest).to_owned());
        } else if let Some(rest) = line.strip_prefix("Ran ") {
            parsed.ran = rest.split(' ').next().and_then(|n| n.parse().ok());
        }
    }
    parsed
}

#[test]
fn the_w3c_trace_context_suite_passes() {
    let python = venv().join("bin/python");
    let (service, endpoint, service_stderr) = start_service();

    // Another process may take the harness's port between our look and its
    // bind; that shows as a bind error before any test runs, so try again.
    let mut run = run_suite(&python, &endpoint, free_port());
    for _ in 0..2 {
        if !run.output.contains("address already in use") {
            break;
        }
        run = run_suite(&python, &endpoint, free_port());
    }
    drop(service);
    let found = verdicts(&run.output);
    if !run.success || !found.failed.is_empty() || found.passed != SUITE_TESTS {
        let spans = service_stderr.join().unwrap_or_default();
        let start = (spans.len().saturating_sub(8000)..spans.len())
            .find(|&i| spans.is_char_boundary(i))
            .unwrap_or_default();
        let tail = &spans[start..];
        panic!(
            "{} of {SUITE_TESTS} W3C tests passed; failing: {:?}\n\
             ---- suite output ----\n{}\n---- service stderr (last 8000 bytes) ----\n{tail}",
            found.passed, found.failed, run.output
        );
    }
    assert_eq!(found.ran, Some(SUITE_TESTS), "{}", run.output);
}
