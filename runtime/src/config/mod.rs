//! Configuration: the `OTEL_*` environment read into settings, the
//! builder, `init()`.

mod builder;
pub(crate) mod env;
mod limits;

pub use builder::{builder, init, Builder};

#[cfg(test)]
mod huge_values_tests;
