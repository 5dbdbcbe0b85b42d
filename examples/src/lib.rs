//! Code shared by the examples.

pub mod storage_sdk;
