//! One process, two `tracing` subscribers: the `tracing` peers (through
//! tracing-opentelemetry, and through traced's layer) run the same
//! `#[instrument]` functions, and only the subscriber behind them differs.

use tracing::dispatcher::{self, Dispatch};

/// A `tracing` subscriber for one peer: the process's global default if it
/// was the first one installed, otherwise set as this thread's default for
/// the length of each run. The profile bin runs one peer per process, so
/// the counts it gives are for the global default, the usual setup; in
/// the criterion benches and the smoke test the second peer measured pays
/// the scoped lookup as well.
pub(super) struct Subscriber {
    dispatch: Dispatch,
    global: bool,
}

impl Subscriber {
    pub(super) fn install(dispatch: Dispatch) -> Self {
        let global = dispatcher::set_global_default(dispatch.clone()).is_ok();
        Self { dispatch, global }
    }

    /// Runs `f` with this subscriber recording its `tracing` spans.
    pub(super) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.global {
            f()
        } else {
            dispatcher::with_default(&self.dispatch, f)
        }
    }
}
