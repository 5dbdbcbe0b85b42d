//! Which span is current: a small value per thread.
//!
//! See [`current`] for the mechanism, `task` for futures, `carry` for
//! moving context between threads and tasks, and [`deferred`] for
//! annotations made through a handle where its span is not current.

mod carry;
pub(crate) mod current;
pub(crate) mod deferred;
pub(crate) mod task;

pub use carry::{spawn, Context, ContextGuard, FutureExt};
pub use task::Instrumented;

pub(crate) use current::{Pending, PendingBox, Saved, SpanCtx};
