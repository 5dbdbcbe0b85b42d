//! Shared by the example tests.

use std::process::Command;

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
