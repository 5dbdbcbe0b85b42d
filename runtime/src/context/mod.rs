//! Which span is current: a small value per thread.
//!
//! See [`current`] for the mechanism.

pub(crate) mod current;

pub(crate) use current::{Pending, Saved, SpanCtx};
