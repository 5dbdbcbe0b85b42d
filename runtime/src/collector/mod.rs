//! The process-wide collector: the installed pipeline (one value, swapped
//! whole), the copies of it that calling threads read (mode, sampler ratio,
//! count limits), the processors and the batch worker that drains the
//! per-thread rings into the exporters.

mod batch;
pub(crate) mod block_on;
mod drain;
pub(crate) mod exporters;
mod install;
mod limits;
mod propagators;
mod sampler;
mod send;

pub use batch::BatchConfig;
pub(crate) use batch::BatchProcessor;
pub use install::{flush, stats, PipelineGuard, PipelineStats};
pub(crate) use install::{install, mode, submit, Mode, Pipeline, Processor};
pub(crate) use limits::{annotations, recording_attributes, recording_limits};
pub(crate) use propagators::{enabled_propagators, set_propagators};
pub(crate) use sampler::sample;
pub use sampler::Sampler;
