//! OTLP over gRPC: `opentelemetry-otlp`'s tonic exporter, on a tokio runtime of its own.
//!
//! tonic needs a tokio runtime, and traced cannot borrow the application's: exports run on the
//! batch processor's thread, which has none, the application may have none at all, and a tokio
//! application may build the exporter and drop it from inside its runtime, where `block_on` and
//! dropping a runtime both panic. So the exporter starts one thread that creates a
//! current-thread runtime, drives it and drops it, all on that thread. Exports are spawned onto
//! the runtime and their `JoinHandle`s awaited by the caller: a `JoinHandle` is a plain future
//! that any executor can poll, traced's thread-parking one included.

use std::fmt;
use std::io;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use http::Uri;
use opentelemetry_otlp::{Compression, WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::{Builder, Handle};
use tokio::task::AbortHandle;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Endpoint;

use super::config::{OtlpBuildError, OtlpCompression, OtlpConfig};
use crate::diag::warn_once;
use crate::export::pipeline::Retry;

/// The tonic exporter and the runtime it runs on.
pub(crate) struct GrpcExporter {
    // Declared first, dropped first: the channel goes before its runtime.
    client: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: RuntimeThread,
    /// Whether the last failed export is worth sending again, until taken.
    retry: Mutex<Option<Retry>>,
}

impl GrpcExporter {
    /// Builds the channel and the exporter inside the exporter's runtime (tonic spawns the
    /// channel's worker task as the channel is made). Nothing connects yet: the first export
    /// does, so an absent collector is an export error, not a build error.
    pub(crate) fn build(config: &OtlpConfig, uri: &Uri) -> Result<Self, OtlpBuildError> {
        let metadata = metadata(&config.headers)?;
        let endpoint = Endpoint::from_shared(config.endpoint.clone())
            .map_err(|error| {
                OtlpBuildError::new(format!(
                    "invalid OTLP endpoint `{}`: {error}",
                    crate::diag::endpoint(&config.endpoint)
                ))
            })?
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        #[cfg(feature = "otlp-tls")]
        let endpoint = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let tls = super::tls::tonic_config(config)?;
            endpoint.tls_config(tls).map_err(|error| {
                OtlpBuildError::new(format!(
                    "cannot set up TLS for `{}`: {error}",
                    crate::diag::endpoint(&config.endpoint)
                ))
            })?
        } else {
            endpoint
        };
        config.warn_unused_certificates(uri);
        let runtime = RuntimeThread::start().map_err(|error| {
            OtlpBuildError::new(format!(
                "cannot start the thread of the OTLP/gRPC exporter: {error}"
            ))
        })?;
        let context = runtime.handle.enter();
        let builder = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_channel(endpoint.connect_lazy())
            .with_timeout(config.timeout)
            .with_metadata(metadata);
        let builder = match config.compression {
            OtlpCompression::None => builder,
            OtlpCompression::Gzip => builder.with_compression(Compression::Gzip),
        };
        let client = builder.build().map_err(OtlpBuildError::from_exporter)?;
        drop(context);
        Ok(Self {
            client: Arc::new(client),
            runtime,
            retry: Mutex::new(None),
        })
    }
}

impl GrpcExporter {
    /// Takes whether the last failed export is worth sending again (`None` after a success).
    pub(crate) fn take_retry(&self) -> Option<Retry> {
        (self.retry.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Whether an export that failed with `message` is worth sending again.
///
/// opentelemetry-otlp reports a failure as text only: "... export failed with gRPC code:
/// {code:?}", followed by ": {causes}" when tonic made the status itself (no connection, a
/// reset, an HTTP/2 error), not the collector. It has already retried, with its own backoff,
/// the codes the OTLP specification calls retryable, and `RESOURCE_EXHAUSTED` when the
/// collector sent `RetryInfo`. So:
/// - a status made locally is a transport failure, retried whatever its code (a collector that
///   restarts shows as `Unknown` or `Internal` with a connection error);
/// - a status the collector sent with a code the specification calls not retryable (including
///   `RESOURCE_EXHAUSTED`, which without `RetryInfo` says the request is too large or the
///   quota spent) is not retried;
/// - any other, and a message without a code, is retried.
///
/// `a_batch_refused_over_grpc_is_not_sent_again` (`tests/otlp_grpc.rs`) checks that the text
/// still has this form.
pub(crate) fn retry_for(message: &str) -> Retry {
    const MARK: &str = "with gRPC code: ";
    let Some(at) = message.find(MARK) else {
        return Retry::Yes { after: None };
    };
    let rest = &message[at + MARK.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (code, causes) = rest.split_at(end);
    if causes.starts_with(':') {
        return Retry::Yes { after: None };
    }
    match code {
        "Unknown" | "InvalidArgument" | "NotFound" | "AlreadyExists" | "PermissionDenied"
        | "ResourceExhausted" | "FailedPrecondition" | "Unimplemented" | "Internal"
        | "Unauthenticated" => Retry::No,
        _ => Retry::Yes { after: None },
    }
}

impl fmt::Debug for GrpcExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcExporter").finish_non_exhaustive()
    }
}

impl SpanExporter for GrpcExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let client = Arc::clone(&self.client);
        let task = (self.runtime.handle).spawn(async move { client.export(batch).await });
        // The task can only fail to finish if the runtime is gone: after a shutdown.
        let result = task.await.unwrap_or(Err(OTelSdkError::AlreadyShutdown));
        *(self.retry.lock()).unwrap_or_else(PoisonError::into_inner) = match &result {
            Ok(()) => None,
            Err(OTelSdkError::InternalFailure(message)) => Some(retry_for(message)),
            Err(_) => Some(Retry::Yes { after: None }),
        };
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.client.shutdown_with_timeout(timeout);
        if !self.runtime.stop(timeout) {
            return Err(OTelSdkError::Timeout(timeout));
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.client.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        match Arc::get_mut(&mut self.client) {
            Some(client) => client.set_resource(resource),
            // Only an export still running holds another reference; the pipeline sets the
            // resource before the first export.
            None => warn_once(
                "otlp-grpc-resource",
                "the OTLP/gRPC exporter's resource was not changed: an export was in progress",
            ),
        }
    }
}

/// Headers as gRPC metadata. Names from the environment are checked already; names set in
/// code might not be valid metadata keys (`-bin` keys carry binary values, not text).
fn metadata(headers: &[(String, String)]) -> Result<MetadataMap, OtlpBuildError> {
    let mut metadata = MetadataMap::new();
    for (name, value) in headers {
        let key = MetadataKey::from_bytes(name.as_bytes())
            .map_err(|_| OtlpBuildError::new(format!("`{name}` cannot be a gRPC metadata key")))?;
        // The value is not shown: it may hold a token.
        let value = MetadataValue::try_from(value.as_str()).map_err(|_| {
            OtlpBuildError::new(format!(
                "the value of header `{name}` cannot be gRPC metadata"
            ))
        })?;
        metadata.append(key, value);
    }
    Ok(metadata)
}

/// A current-thread tokio runtime that lives, runs and dies on a thread of its own.
struct RuntimeThread {
    handle: Handle,
    /// The task the thread's `block_on` waits for: aborting it lets the thread drop the runtime.
    keepalive: AbortHandle,
    /// Disconnected once the runtime is dropped.
    stopped: Mutex<mpsc::Receiver<()>>,
}

impl RuntimeThread {
    fn start() -> io::Result<Self> {
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        thread::Builder::new()
            .name("traced-otlp-grpc".to_owned())
            .spawn(move || {
                let runtime = match Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                let keepalive = runtime.spawn(std::future::pending::<()>());
                let _ = ready_tx.send(Ok((runtime.handle().clone(), keepalive.abort_handle())));
                let _ = runtime.block_on(keepalive);
                // Tasks still running are dropped; a name lookup stuck in the blocking pool is
                // left to finish on its own rather than hold up the shutdown.
                runtime.shutdown_background();
                drop(stopped_tx);
            })?;
        let (handle, keepalive) = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the runtime thread exited early"))??;
        Ok(Self {
            handle,
            keepalive,
            stopped: Mutex::new(stopped_rx),
        })
    }

    /// Stops the runtime; false if it is not gone within `timeout`.
    fn stop(&self, timeout: Duration) -> bool {
        self.keepalive.abort();
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        !matches!(
            stopped.recv_timeout(timeout),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        self.keepalive.abort();
    }
}

#[cfg(test)]
#[path = "grpc_tests.rs"]
mod tests;
