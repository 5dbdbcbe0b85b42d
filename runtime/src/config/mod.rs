//! Configuration: the `OTEL_*` environment, the builder, `init()`.

mod builder;
pub(crate) mod env;
mod limits;
pub(crate) mod vars;
pub(crate) mod warn;

pub use builder::{builder, init, Builder};
