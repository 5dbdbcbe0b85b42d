//! `fastrace`: `#[trace]` functions under a `Span::root`, reported through
//! `fastrace-opentelemetry` to the same kind of exporter.

use std::borrow::Cow;
use std::hint::black_box;
use std::sync::OnceLock;

use fastrace::collector::{Config, SpanContext};
use fastrace::future::FutureExt as _;
use fastrace::{trace, Span};
use fastrace_opentelemetry::OpenTelemetryReporter;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;

use super::Pipeline;
use crate::executor::{block_on, YieldOnce};
use crate::exporter::CountingExporter;
use crate::scenario::{Work, CHILDREN, DEPTH};

pub(super) fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = CountingExporter::new();
        let reporter = OpenTelemetryReporter::new(
            exporter.clone(),
            Cow::Owned(Resource::builder_empty().build()),
            InstrumentationScope::builder("traced-benches").build(),
        );
        fastrace::set_reporter(reporter, Config::default());
        Pipeline {
            exporter,
            flush: || {
                fastrace::flush();
                true
            },
            dropped: || None,
        }
    })
}

/// fastrace-opentelemetry's reporter in front of `exporter`, fastrace's
/// default settings; returns its flush.
pub(super) fn install_otlp(exporter: opentelemetry_otlp::SpanExporter) -> fn() -> bool {
    let reporter = OpenTelemetryReporter::new(
        exporter,
        Cow::Owned(Resource::builder_empty().build()),
        InstrumentationScope::builder("traced-benches").build(),
    );
    fastrace::set_reporter(reporter, Config::default());
    || {
        fastrace::flush();
        true
    }
}

pub(super) fn run(work: Work) -> i64 {
    match work {
        Work::RootChildren => root(),
        Work::Attributes => root_attributes(),
        // The root is one of the ten.
        Work::Depth => {
            let root = Span::root("nest", SpanContext::random());
            let _parent = root.set_local_parent();
            nest(DEPTH - 1) + 1
        }
        Work::Async => block_on(async_root().in_span(Span::root("root", SpanContext::random()))),
    }
}

#[trace]
#[inline(never)]
pub(super) fn work(i: i64) -> i64 {
    i.wrapping_mul(3)
}

/// fastrace has no attribute for a root: a root is always made by hand.
#[inline(never)]
fn root() -> i64 {
    let root = Span::root("root", SpanContext::random());
    let _parent = root.set_local_parent();
    (0..CHILDREN).map(|i| child(black_box(i))).sum()
}

#[trace(name = "child")]
#[inline(never)]
fn child(i: i64) -> i64 {
    i
}

#[inline(never)]
fn root_attributes() -> i64 {
    let root = Span::root("root", SpanContext::random()).with_properties(|| {
        [
            ("index", CHILDREN.to_string()),
            ("kind", "root".to_owned()),
            ("even", true.to_string()),
        ]
    });
    let _parent = root.set_local_parent();
    (0..CHILDREN)
        .map(|i| child_attributes(black_box(i), super::is_even(i)))
        .sum()
}

// fastrace properties are strings, formatted from the arguments.
#[trace(name = "child", properties = { "index": "{i}", "kind": "child", "even": "{even}" })]
#[inline(never)]
fn child_attributes(i: i64, even: bool) -> i64 {
    i
}

#[trace(name = "nest")]
#[inline(never)]
fn nest(depth: u32) -> i64 {
    if depth > 1 {
        nest(depth - 1) + 1
    } else {
        1
    }
}

async fn async_root() -> i64 {
    let mut sum = 0;
    for i in 0..CHILDREN {
        sum += async_child(black_box(i)).await;
    }
    sum
}

#[trace(name = "child")]
async fn async_child(i: i64) -> i64 {
    YieldOnce::default().await;
    i
}
