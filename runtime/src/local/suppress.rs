//! Whether this thread records spans at all.

use std::cell::Cell;

thread_local! {
    /// Set while this thread exports spans (and for the whole life of the
    /// batch worker): spans opened by exporter code are not recorded, so an
    /// exporter that calls traced code neither deadlocks nor feeds itself.
    static SUPPRESSED: Cell<bool> = const { Cell::new(false) };
}

/// Whether spans opened on this thread are suppressed.
#[inline]
pub(crate) fn suppressed() -> bool {
    SUPPRESSED.with(Cell::get)
}

/// Suppresses (or stops suppressing) spans on this thread; returns the
/// previous setting.
pub(crate) fn set_suppressed(on: bool) -> bool {
    SUPPRESSED.with(|s| s.replace(on))
}

/// Suppresses spans on this thread until the returned value is dropped,
/// which puts the previous setting back, also when the code in between
/// panics: a thread left suppressed would lose every later span silently.
pub(crate) fn suppress() -> Suppressed {
    Suppressed {
        was: set_suppressed(true),
    }
}

/// The scope of [`suppress`].
#[derive(Debug)]
#[must_use = "spans are suppressed only while this value lives"]
pub(crate) struct Suppressed {
    was: bool,
}

impl Drop for Suppressed {
    fn drop(&mut self) {
        // `try_with`: this may run while the thread's locals are destroyed.
        let _ = SUPPRESSED.try_with(|s| s.set(self.was));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_setting_comes_back_after_a_panic() {
        assert!(!suppressed());
        let caught = std::panic::catch_unwind(|| {
            let _scope = suppress();
            assert!(suppressed());
            panic!("inside the suppressed scope");
        });
        assert!(caught.is_err());
        assert!(!suppressed());
    }
}
