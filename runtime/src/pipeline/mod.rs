//! From ended spans to exporters: sampling, processors, the global pipeline.

mod batch;
pub(crate) mod block_on;
pub(crate) mod exporters;
mod install;
pub(crate) mod limits;
mod record;
mod sampler;

pub use batch::BatchConfig;
pub(crate) use batch::BatchProcessor;
pub use install::{flush, PipelineGuard, PipelineStats};
pub(crate) use install::{install, mode, submit, Mode, Pipeline, Processor};
pub use limits::SpanLimits;
pub(crate) use record::{RecordHead, SpanRecord};
pub(crate) use sampler::sample;
pub use sampler::Sampler;
