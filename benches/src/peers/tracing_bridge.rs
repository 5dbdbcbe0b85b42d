//! `tracing` spans recorded by traced: the `#[instrument]` functions of
//! the `tracing` peer, under a `Registry` with
//! `traced::bridge::tracing_layer()`, into traced's pipeline (the one the
//! `#[traced]` peers use).

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt as _;

use super::dispatch::Subscriber;
use super::{traced_peer, tracing_otel, Pipeline};
use crate::scenario::Work;

static SUBSCRIBER: OnceLock<Subscriber> = OnceLock::new();

pub(super) fn pipeline() -> &'static Pipeline {
    let pipeline = traced_peer::pipeline();
    SUBSCRIBER.get_or_init(|| {
        Subscriber::install(
            tracing_subscriber::registry()
                .with(traced::bridge::tracing_layer())
                .into(),
        )
    });
    pipeline
}

pub(super) fn run(work: Work) -> i64 {
    SUBSCRIBER
        .get()
        .expect("install the tracing bridge pipeline (Peer::pipeline) before running its work")
        .run(|| tracing_otel::instrumented(work))
}
