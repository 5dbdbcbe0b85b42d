//! An application using the `storage_sdk` library, which is annotated with
//! `#[traced]` but installs nothing itself.
//!
//! ```text
//! cargo run -p traced-examples --bin storage_app
//! cargo run -p traced-examples --bin storage_app -- --untraced
//! ```
//! The first run installs a pipeline (`traced::init()`, so `OTEL_*` apply)
//! and prints a tree: `backup` with the SDK's `storage.create_container` and
//! `storage.upload_blob` spans, each with its `auth.get_token` child; the
//! upload into a missing container is marked ERROR with an `exception`
//! event. The second installs nothing: the same calls run, and nothing is
//! recorded or printed.

use traced::span;
use traced_examples::storage_sdk::BlobServiceClient;

fn main() {
    let untraced = std::env::args().any(|a| a == "--untraced");
    let _traced = (!untraced).then(traced::init);
    let client = BlobServiceClient::new();
    span!("backup", {
        client.create_container("photos").expect("a new container");
        let size = client
            .upload_blob("photos", "cat.jpg", b"jpeg bytes")
            .expect("an upload");
        println!("uploaded {size} bytes");
        let missing = client.upload_blob("videos", "dog.mp4", b"mp4 bytes");
        println!("upload to a missing container: {}", missing.unwrap_err());
    });
}
