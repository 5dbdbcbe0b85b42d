//! A small storage SDK, annotated the way a library author would (the Azure
//! SDK seed): every public operation is `#[traced]`, nothing else. The
//! library installs no pipeline: when the application installs none
//! either, each call costs one atomic load and records nothing; when it
//! does, the SDK's spans join the application's traces.
//!
//! The "service" is in memory so the example runs anywhere.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use traced::traced;

/// What the service can refuse.
#[derive(Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The container does not exist.
    ContainerNotFound(String),
    /// The container exists already.
    ContainerExists(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::ContainerNotFound(name) => write!(f, "container `{name}` not found"),
            StorageError::ContainerExists(name) => write!(f, "container `{name}` already exists"),
        }
    }
}

impl std::error::Error for StorageError {}

/// The in-memory service behind both variants of the SDK (this one and
/// [`storage_sdk_tracing`](crate::storage_sdk_tracing)), which differ only
/// in how they are instrumented.
#[derive(Debug, Default)]
pub(crate) struct Account {
    containers: Mutex<BTreeMap<String, BTreeMap<String, Vec<u8>>>>,
}

impl Account {
    pub(crate) fn create_container(&self, name: &str) -> Result<(), StorageError> {
        let mut containers = self
            .containers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if containers.contains_key(name) {
            return Err(StorageError::ContainerExists(name.to_owned()));
        }
        containers.insert(name.to_owned(), BTreeMap::new());
        Ok(())
    }

    pub(crate) fn upload_blob(
        &self,
        container: &str,
        name: &str,
        data: &[u8],
    ) -> Result<usize, StorageError> {
        let mut containers = self
            .containers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let blobs = containers
            .get_mut(container)
            .ok_or_else(|| StorageError::ContainerNotFound(container.to_owned()))?;
        blobs.insert(name.to_owned(), data.to_vec());
        Ok(data.len())
    }
}

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
    #[traced("auth.get_token", kind = client)]
    fn token(&self) -> String {
        String::from("token")
    }

    /// Creates a container.
    #[traced("storage.create_container", kind = client, attrs(container = name))]
    pub fn create_container(&self, name: &str) -> Result<(), StorageError> {
        let _token = self.token();
        self.account.create_container(name)
    }

    /// Uploads a blob; returns its size.
    #[traced("storage.upload_blob", kind = client, attrs(container = container, blob = name, size = data.len()))]
    pub fn upload_blob(
        &self,
        container: &str,
        name: &str,
        data: &[u8],
    ) -> Result<usize, StorageError> {
        let _token = self.token();
        self.account.upload_blob(container, name, data)
    }
}
