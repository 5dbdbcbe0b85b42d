//! Diagnostics the runtime prints on stderr: warnings shown once per process, and errors. This
//! is the one place they are printed and deduplicated; nothing else in the runtime writes to
//! stderr except the exporters that are asked to (`tree`, `console`).
//!
//! A diagnostic never echoes an unbounded value: [`quote`] keeps at most [`QUOTE_MAX_CHARS`]
//! characters of what it quotes, [`key`] builds bounded once-only keys from such values, and a
//! line longer than [`LINE_MAX_CHARS`] is cut.
//!
//! Tracing must never take the application down, so nothing here panics: a poisoned lock is
//! recovered, and a failed write to stderr is ignored (`eprintln!` would panic instead).
//!
//! Unit tests can run code under `capture`, which collects the lines on the current thread
//! instead of printing them, with its own once-only memory so parallel tests don't interfere.

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Prints `traced: warning: {message}` on stderr the first time `key` is seen in this process.
///
/// `key` names the mistake, not the occurrence (for example a variable and its bad value), so a
/// mistake hit on every call is reported once. Keys should come from a bounded set: each one is
/// remembered until the process exits.
pub(crate) fn warn_once(key: &str, message: &str) {
    warn_once_with(key, || message.to_owned());
}

/// [`warn_once`], with the message built only the first time `key` is seen: for warnings
/// inside loops over the entries of a value.
pub(crate) fn warn_once_with(key: &str, message: impl FnOnce() -> String) {
    let mut message = Some(message);
    let mut make = || message.take().map(|f| f()).unwrap_or_default();
    #[cfg(test)]
    if test_sink::take(Some(key), "warning", &mut make) {
        return;
    }
    if first_time(key) {
        emit("warning", &make());
    }
}

/// The most characters of a value that a diagnostic quotes.
pub(crate) const QUOTE_MAX_CHARS: usize = 200;

/// The most characters of one diagnostic line.
pub(crate) const LINE_MAX_CHARS: usize = 2_000;

/// `value` as a diagnostic quotes it: control characters escaped, and cut after
/// [`QUOTE_MAX_CHARS`] characters with an ellipsis. Linear in what it keeps, not in `value`.
pub(crate) fn quote(value: &str) -> String {
    let mut quoted = String::new();
    let mut chars = value.chars();
    for c in chars.by_ref().take(QUOTE_MAX_CHARS) {
        quoted.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted
}

/// `url` as a diagnostic may show it: credentials never, so the userinfo (`user:secret@`)
/// becomes `***@` and the query and fragment (`?token=…`) are left out; then [`quote`]d. Works
/// on any text, so a URL too malformed to parse is redacted as well.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // Only network exporters have endpoints.
pub(crate) fn endpoint(url: &str) -> String {
    quote(&redact_url(url))
}

/// [`endpoint`] before quoting: `scheme://***@host/path`, for messages that quote it themselves.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url
        .find("://")
        .map_or(("", url), |i| (&url[..i + 3], &url[i + 3..]));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rfind('@') {
        Some(at) => format!("{scheme}***@{}{path}", &authority[at + 1..]),
        None => format!("{scheme}{authority}{path}"),
    }
}

/// A once-only key for a bad `value` of `var`, bounded whatever the value's length: its first
/// characters and its length.
pub(crate) fn key(var: &str, value: &str) -> String {
    format!("{var}={}#{}", quote(value), value.len())
}

/// Prints `traced: error: {message}` on stderr every time, for failures that can recur with
/// different causes, such as an export that did not reach the collector.
pub(crate) fn report(message: &str) {
    #[cfg(test)]
    if test_sink::take(None, "error", &mut || message.to_owned()) {
        return;
    }
    emit("error", message);
}

/// Records `key` and tells whether it is new to this process.
fn first_time(key: &str) -> bool {
    let mut seen = seen().lock().unwrap_or_else(PoisonError::into_inner);
    !seen.contains(key) && seen.insert(key.to_owned())
}

/// The keys warned about in this process.
fn seen() -> &'static Mutex<HashSet<String>> {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// Formats one diagnostic line, `traced: {level}: {message}`.
fn line(level: &str, message: &str) -> String {
    format!("traced: {level}: {message}")
}

/// Writes one line to stderr in a single call, so lines from several threads don't interleave.
fn emit(level: &str, message: &str) {
    let mut text = line(level, message);
    if let Some((cut, _)) = text.char_indices().nth(LINE_MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
pub(crate) use test_sink::capture;

/// The test-only sink: a per-thread collector that replaces stderr while it is installed.
#[cfg(test)]
mod test_sink {
    use std::cell::RefCell;
    use std::collections::HashSet;

    /// Lines collected on this thread, and the keys already warned about under this capture.
    #[derive(Debug, Default)]
    struct Capture {
        seen: HashSet<String>,
        lines: Vec<String>,
    }

    thread_local! {
        static ACTIVE: RefCell<Option<Capture>> = const { RefCell::new(None) };
    }

    /// Runs `f` with warnings and errors from this thread collected instead of printed, and
    /// returns its result with the lines, `traced: warning: …` or `traced: error: …`, in order.
    ///
    /// Keys warned about before the capture don't count: inside it, each key warns once again.
    pub(crate) fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
        /// Puts the enclosing capture back even if `f` panics.
        struct Restore(Option<Capture>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let outer = self.0.take();
                let _ = ACTIVE.try_with(|cell| cell.replace(outer));
            }
        }

        let restore = Restore(ACTIVE.with(|cell| cell.replace(Some(Capture::default()))));
        let result = f();
        let mine = ACTIVE.with(|cell| cell.replace(None));
        drop(restore);
        let lines = mine.map(|capture| capture.lines).unwrap_or_default();
        (result, lines)
    }

    /// Collects the line if a capture is installed on this thread; false means "print it".
    pub(super) fn take(
        key: Option<&str>,
        level: &str,
        message: &mut dyn FnMut() -> String,
    ) -> bool {
        ACTIVE.with(|cell| {
            let Ok(mut active) = cell.try_borrow_mut() else {
                return false;
            };
            let Some(capture) = active.as_mut() else {
                return false;
            };
            if key.is_none_or(|key| capture.seen.insert(key.to_owned())) {
                capture.lines.push(super::line(level, &message()));
            }
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_key() {
        let ((), lines) = capture(|| {
            for _ in 0..3 {
                warn_once("a", &format!("first {}", 1));
            }
            warn_once("b", "second");
            warn_once("a", "first again");
        });
        assert_eq!(
            lines,
            ["traced: warning: first 1", "traced: warning: second"]
        );
    }

    #[test]
    fn endpoints_are_shown_without_credentials_or_query() {
        assert_eq!(
            endpoint("http://user:SECRET@collector:4318/v1/traces?token=SECRET#x"),
            "http://***@collector:4318/v1/traces"
        );
        assert_eq!(endpoint("https://h/?token=SECRET"), "https://h/");
        assert_eq!(endpoint("http://h:1/a/b"), "http://h:1/a/b");
        assert_eq!(endpoint("user:SECRET@h"), "***@h");
        assert_eq!(endpoint("http://a@b@h/p@q"), "http://***@h/p@q");
    }

    #[test]
    fn reports_every_time() {
        let ((), lines) = capture(|| {
            report(&format!("export failed: {}", "timeout"));
            report("export failed: timeout");
        });
        assert_eq!(lines, ["traced: error: export failed: timeout"; 2]);
    }

    #[test]
    fn each_capture_starts_fresh_and_nests() {
        let ((), outer) = capture(|| {
            warn_once("k", "outer");
            let ((), inner) = capture(|| warn_once("k", "inner"));
            assert_eq!(inner, ["traced: warning: inner"]);
            warn_once("k", "outer again");
            warn_once("j", "after");
        });
        assert_eq!(outer, ["traced: warning: outer", "traced: warning: after"]);
    }

    #[test]
    fn process_memory_remembers_keys_and_survives_poisoning() {
        let key = "warn::tests::process-memory";
        assert!(first_time(key));
        assert!(!first_time(key));
        // Poison the lock: a thread panics while holding it.
        let _ = std::thread::spawn(|| {
            let _held = seen().lock();
            panic!("poisoning the lock on purpose");
        })
        .join();
        assert!(seen().is_poisoned());
        assert!(!first_time(key));
        assert!(first_time("warn::tests::after-poison"));
        // The real sink must not panic either (this line goes to the test's stderr).
        warn_once("warn::tests::stderr", "printed by a test");
    }
}
