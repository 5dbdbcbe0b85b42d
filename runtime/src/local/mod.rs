//! Data owned by the calling thread: the clock, the id generator, its ring
//! of ended spans, whether it records at all.
//!
//! Nothing here takes a lock or touches an atomic on the hot path.

pub(crate) mod buffer;
mod chain;
pub(crate) mod clock;
pub(crate) mod ids;
mod ring;
pub(crate) mod suppress;
