//! Configuration: the `OTEL_*` environment, the builder, `init()`.

mod builder;
pub(crate) mod env;
pub(crate) mod warn;

pub use builder::{builder, init, Builder};
