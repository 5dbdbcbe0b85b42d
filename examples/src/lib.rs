//! Code shared by the examples.

pub mod http;
pub mod storage_sdk;
pub mod storage_sdk_tracing;
