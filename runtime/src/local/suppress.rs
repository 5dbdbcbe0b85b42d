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
