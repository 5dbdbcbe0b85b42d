//! Shared by the example tests.

use std::process::{Command, Output};

/// A command running example `program` that inherits no `OTEL_*` variable
/// from the test environment, so each test sets exactly what it checks.
pub fn example(program: &str) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs `command` to completion and asserts that it succeeded (showing its
/// stderr if not).
#[allow(dead_code)] // `grocery` waits for its programs with a deadline instead
pub fn succeed(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
