//! One span lifecycle (start, annotate, finish into a record) and the
//! holders that use it: the guard of sync scopes, instrumented futures, the
//! handle to a span in progress, parents and links, and carrying a context
//! to other threads and tasks.

mod carry;
mod guard;
mod handle;
mod opened;
mod panic;
mod parent;
pub(crate) mod task;

pub use carry::{spawn, Context, ContextGuard, FutureExt};
pub use guard::SpanGuard;
pub use handle::Span;
pub use parent::{AsSpanRef, SpanRef};
pub use task::Instrumented;

pub(crate) use opened::Opened;
pub(crate) use panic::install_hook;
