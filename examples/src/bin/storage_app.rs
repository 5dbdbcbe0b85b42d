//! An application using the `storage_sdk` library, which is annotated with
//! `#[traced]` but installs nothing itself.
//!
//! ```text
//! cargo run -p traced-examples --bin storage_app
//! cargo run -p traced-examples --bin storage_app -- --untraced
//! cargo run -p traced-examples --bin storage_app -- --tracing-sdk
//! ```
//! The first run installs a pipeline (`traced::init()`, so `OTEL_*` apply)
//! and prints a tree: `backup` with the SDK's `storage.create_container` and
//! `storage.upload_blob` spans, each with its `auth.get_token` child; the
//! upload into a missing container is marked ERROR with an `exception`
//! event. The second installs nothing: the same calls run, and nothing is
//! recorded or printed. The third uses `storage_sdk_tracing`, the same SDK
//! instrumented with `tracing`: the application adds
//! `traced::bridge::tracing_layer()` to a `tracing` registry, and the
//! library's `tracing` spans and events land under `backup` in the same
//! tree.

use traced::span;
use traced_examples::{storage_sdk, storage_sdk_tracing};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The application's work, the same whichever SDK `$client` is.
macro_rules! backup {
    ($client:expr) => {{
        let client = $client;
        span!("backup", {
            client.create_container("photos").expect("a new container");
            let size = client
                .upload_blob("photos", "cat.jpg", b"jpeg bytes")
                .expect("an upload");
            println!("uploaded {size} bytes");
            let missing = client.upload_blob("videos", "dog.mp4", b"mp4 bytes");
            println!("upload to a missing container: {}", missing.unwrap_err());
        });
    }};
}

fn main() {
    let untraced = std::env::args().any(|a| a == "--untraced");
    let tracing_sdk = std::env::args().any(|a| a == "--tracing-sdk");
    let _traced = (!untraced).then(traced::init);
    if tracing_sdk {
        // `err` in the library logs a failure as an ERROR event; with this
        // option it also marks the span's status, as an `Err` does under
        // `#[traced]`.
        tracing_subscriber::registry()
            .with(traced::bridge::tracing_layer().with_error_events_set_status(true))
            .init();
        backup!(storage_sdk_tracing::BlobServiceClient::new());
    } else {
        backup!(storage_sdk::BlobServiceClient::new());
    }
}
