//! Data owned by the calling thread: the clock and the id generator.
//!
//! Nothing here takes a lock or touches an atomic on the hot path.

pub(crate) mod buffer;
pub(crate) mod clock;
pub(crate) mod ids;
mod ring;
