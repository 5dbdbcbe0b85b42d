//! The viewer driven as a person drives it: in a real terminal (tmux), by keys, reading the
//! screen. Skipped, saying so, where tmux is not installed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of this test's own (its own socket), ended when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Option<Self> {
        let tmux = Self {
            socket: format!("traced-view-test-{}", std::process::id()),
        };
        let started = tmux
            .run(&[
                "new-session",
                "-d",
                "-s",
                "view",
                "-x",
                "120",
                "-y",
                "32",
                command,
            ])
            .ok()?;
        started.status.success().then_some(tmux)
    }

    fn run(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            // One key at a time: an Esc followed at once by a letter would read as Alt+letter.
            self.run(&["send-keys", "-t", "view", key]).unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-t", "view"]).unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The screen once it shows `needle`; fails after 10 s.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared on\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn session_alive(&self) -> bool {
        self.run(&["has-session", "-t", "view"])
            .is_ok_and(|output| output.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn browse_a_file_with_keys() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let command = format!(
        "{} {} {}",
        env!("CARGO_BIN_EXE_traced-view"),
        fixtures.join("checkout.jsonl").display(),
        fixtures.join("truncated.jsonl").display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        eprintln!("skipped: tmux is not installed or could not start");
        return;
    };

    let list = tmux.wait_for("GET /checkout");
    assert!(
        list.contains("traced-view · 2 traces · 10 spans · 2 lines skipped"),
        "{list}"
    );
    assert!(list.find("GET /stock").unwrap() < list.find("GET /checkout").unwrap());

    tmux.keys(&["j", "Enter"]);
    let waterfall = tmux.wait_for("trace 4bf92f3577b34da6a3ce929d0e0e4736 · 8 spans");
    let bar_start = |name: &str| {
        let line = waterfall.lines().find(|line| line.contains(name)).unwrap();
        line.chars().position(|c| c == '█').unwrap()
    };
    assert_eq!(
        bar_start("lock sku-1"),
        bar_start("lock sku-2"),
        "{waterfall}"
    );
    assert!(
        bar_start("load cart") < bar_start("reserve stock"),
        "{waterfall}"
    );
    assert!(
        waterfall.contains("http.request.method = GET"),
        "{waterfall}"
    );

    tmux.keys(&["G", "k"]);
    let detail = tmux.wait_for("status error: sku-3 out of stock");
    assert!(
        detail.contains("exception  exception.type=OutOfStock"),
        "{detail}"
    );

    tmux.keys(&["Escape", "/", "s", "e", "l", "e", "c", "t", "Enter"]);
    let filtered = tmux.wait_for("filter: select  (1 of 2 traces)");
    assert!(
        filtered.contains("GET /stock") && !filtered.contains("GET /checkout"),
        "{filtered}"
    );

    tmux.keys(&["Escape", "q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.session_alive() {
        assert!(
            Instant::now() < deadline,
            "q did not quit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
