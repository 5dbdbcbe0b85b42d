//! Decoding OTLP trace messages into the viewer's model: the JSON encoding (file lines and JSON
//! POSTs) and the protobuf encoding (protobuf POSTs).

mod base64;
pub mod json;
pub mod protobuf;

use std::fmt;

/// Why a message could not be decoded at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
}

impl DecodeError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}
