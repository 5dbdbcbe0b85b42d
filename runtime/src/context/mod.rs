//! Which context is current: a small value per thread (the span's ids, what
//! its request brought, the annotations of the current span), and the side
//! table for annotations made through a handle where its span is not
//! current.
//!
//! See [`current`] for the mechanism and [`deferred`] for the side table.

pub(crate) mod current;
pub(crate) mod deferred;
pub(crate) mod foreign;

pub(crate) use current::{Saved, SpanCtx};
