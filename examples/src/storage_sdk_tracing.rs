//! The storage SDK of [`storage_sdk`](crate::storage_sdk) as a library
//! built on `tracing` would write it: `#[tracing::instrument]` on every
//! operation, `tracing::info!` events, `err` to log a failure. It depends on
//! `tracing` only, not on traced; an application that installs
//! `traced::bridge::tracing_layer()` gets its spans in traced's traces,
//! under the application's own spans (`storage_app --tracing-sdk`).
//!
//! `otel.kind` is the field tracing-opentelemetry users already write to
//! set a span's kind; the bridge reads it the same way.

use tracing::{info, instrument};

use crate::storage_sdk::Account;
pub use crate::storage_sdk::StorageError;

/// A client of the blob service.
#[derive(Debug, Default)]
pub struct BlobServiceClient {
    account: Account,
}

impl BlobServiceClient {
    /// A client with an empty account.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fetches an access token (a span of its own, under each operation).
    #[instrument(name = "auth.get_token", skip_all, fields(otel.kind = "client"))]
    fn token() -> String {
        String::from("token")
    }

    /// Creates a container.
    #[instrument(
        name = "storage.create_container",
        skip_all,
        fields(otel.kind = "client", container = name),
        err
    )]
    pub fn create_container(&self, name: &str) -> Result<(), StorageError> {
        let _token = Self::token();
        self.account.create_container(name)?;
        info!("container created");
        Ok(())
    }

    /// Uploads a blob; returns its size.
    #[instrument(
        name = "storage.upload_blob",
        skip_all,
        fields(otel.kind = "client", container, blob = name, size = data.len()),
        err
    )]
    pub fn upload_blob(
        &self,
        container: &str,
        name: &str,
        data: &[u8],
    ) -> Result<usize, StorageError> {
        let _token = Self::token();
        let size = self.account.upload_blob(container, name, data)?;
        info!(bytes = size, "blob stored");
        Ok(size)
    }
}
