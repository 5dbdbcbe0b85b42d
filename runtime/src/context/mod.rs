//! Which span is current: a small value per thread.
//!
//! See [`current`] for the mechanism, `task` for futures and `carry` for
//! moving context between threads and tasks.

mod carry;
pub(crate) mod current;
mod task;

pub use carry::{spawn, Context, ContextGuard, FutureExt};
pub use task::Instrumented;

pub(crate) use current::{Pending, PendingBox, Saved, SpanCtx};
