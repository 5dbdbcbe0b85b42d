//! The resting size of what `#[traced]` and `span!` add: a sync fn's guard
//! and the future of a traced `async fn` (built, never polled), pinned so
//! that a change which makes every traced call heavier is seen. The
//! comparison with un-annotated code, `tracing` and `fastrace` is in
//! BENCHMARKS.md (`cargo run -p traced-benches --release --bin compile_cost`).

use std::mem::{size_of, size_of_val};

use traced::{span, traced, SpanGuard};

/// The message of every size check: what to do when a change is meant.
const UPDATE: &str = "a traced future or guard changed size; if that is intended, update the \
                      number here and the future sizes in BENCHMARKS.md (run \
                      `cargo run -p traced-benches --release --bin compile_cost`)";

#[allow(clippy::unused_async)] // the un-annotated twin of `leaf`
async fn bare_leaf(x: u64) -> u64 {
    x + 1
}

#[traced]
async fn leaf(x: u64) -> u64 {
    x + 1
}

#[traced(attrs(x = x, kind = "leaf", even = x.is_multiple_of(2)))]
async fn leaf_with_attributes(x: u64) -> u64 {
    x + 1
}

#[traced]
async fn unit_leaf(x: u64) {
    std::hint::black_box(x);
}

#[allow(clippy::unused_async)] // the un-annotated twin of `fallible`
async fn bare_fallible(x: u64) -> Result<u64, String> {
    x.checked_add(1).ok_or_else(|| "overflow".to_owned())
}

/// `Err` is recorded (the default): by a hook that takes no room, not by a
/// second async block around the body.
#[traced]
async fn fallible(x: u64) -> Result<u64, String> {
    x.checked_add(1).ok_or_else(|| "overflow".to_owned())
}

#[allow(clippy::unused_async)] // the un-annotated twin of `large`
async fn bare_large(words: [u64; 32]) -> u64 {
    words.iter().sum()
}

/// A 256-byte argument.
#[traced]
async fn large(words: [u64; 32]) -> u64 {
    words.iter().sum()
}

#[allow(clippy::unused_async)] // the un-annotated twin of `bytes`
async fn bare_bytes(bytes: [u8; 256]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

#[traced]
async fn bytes(bytes: [u8; 256]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

async fn bare_mid(x: u64) -> u64 {
    bare_leaf(x).await + 1
}

async fn bare_top(x: u64) -> u64 {
    bare_mid(x).await + 1
}

#[traced]
async fn mid(x: u64) -> u64 {
    leaf(x).await + 1
}

#[traced]
async fn top(x: u64) -> u64 {
    mid(x).await + 1
}

#[test]
fn sync_guard() {
    assert_eq!(size_of::<SpanGuard>(), 368, "{UPDATE}");
    let guard = span!("sized");
    assert_eq!(size_of_val(&guard), size_of::<SpanGuard>(), "{UPDATE}");
}

#[test]
fn async_fn() {
    assert_eq!(size_of_val(&bare_leaf(1)), 16, "{UPDATE}");
    assert_eq!(size_of_val(&leaf(1)), 80, "{UPDATE}");
    assert_eq!(size_of_val(&unit_leaf(1)), 80, "{UPDATE}");
}

#[test]
fn async_fn_recording_err_adds_the_same() {
    let added = size_of_val(&leaf(1)) - size_of_val(&bare_leaf(1));
    assert_eq!(added, 64, "{UPDATE}");
    assert_eq!(
        size_of_val(&fallible(1)) - size_of_val(&bare_fallible(1)),
        added,
        "{UPDATE}"
    );
}

#[test]
fn async_fn_with_3_attributes() {
    assert_eq!(size_of_val(&leaf_with_attributes(1)), 80, "{UPDATE}");
}

#[test]
fn async_chain_of_3() {
    assert_eq!(size_of_val(&bare_top(1)), 48, "{UPDATE}");
    assert_eq!(size_of_val(&top(1)), 240, "{UPDATE}");
}

/// The arguments are the body's, moved into it: a traced fn adds the same
/// 64 bytes whatever they weigh (an `async fn` around the instrumented
/// body would keep them a second time, outside it).
#[test]
fn async_fn_with_a_large_argument_adds_the_same() {
    assert_eq!(size_of_val(&bare_large([1; 32])), 264, "{UPDATE}");
    assert_eq!(size_of_val(&large([1; 32])), 264 + 64, "{UPDATE}");
}

/// A future aligned to less than 8 is padded to 8 around the span's state:
/// 257 bytes (256 and the state tag) become 257 + 64, rounded up to 328.
#[test]
fn async_fn_with_a_byte_array_pads_to_8() {
    assert_eq!(size_of_val(&bare_bytes([1; 256])), 257, "{UPDATE}");
    assert_eq!(size_of_val(&bytes([1; 256])), 328, "{UPDATE}");
}
