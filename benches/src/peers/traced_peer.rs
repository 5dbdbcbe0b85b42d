//! traced: `#[traced]` functions and `span!` blocks, one shared pipeline
//! (`traced::builder().with_exporter(..).install()`, batch processor).

use std::sync::OnceLock;

use traced::{BatchConfig, PipelineGuard};

use super::{Pipeline, QUEUE_SIZE};
use crate::exporter::CountingExporter;

static GUARD: OnceLock<PipelineGuard> = OnceLock::new();

pub(super) fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let exporter = CountingExporter::new();
        let guard = traced::builder()
            .with_exporter(exporter.clone())
            .with_batch_processor(BatchConfig {
                max_queue_size: QUEUE_SIZE,
                ..BatchConfig::default()
            })
            .install();
        assert!(
            guard.is_active(),
            "traced installed no pipeline: unset OTEL_SDK_DISABLED"
        );
        assert!(GUARD.set(guard).is_ok(), "traced installed twice");
        Pipeline {
            exporter,
            flush: traced::flush,
            dropped: || GUARD.get().map(|guard| guard.stats().dropped),
        }
    })
}

/// traced's OTLP/HTTP exporter to `endpoint`, default settings but the
/// queue size if given; returns its flush.
pub(super) fn install_otlp(endpoint: &str, queue_size: Option<usize>) -> fn() -> bool {
    let exporter = traced::export::otlp::OtlpConfig {
        endpoint: endpoint.to_owned(),
        ..traced::export::otlp::OtlpConfig::default()
    }
    .build_exporter()
    .expect("traced's OTLP/HTTP exporter");
    let defaults = BatchConfig::default();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(BatchConfig {
            max_queue_size: queue_size.unwrap_or(defaults.max_queue_size),
            ..defaults
        })
        .install();
    assert!(
        guard.is_active(),
        "traced installed no pipeline: unset OTEL_SDK_DISABLED"
    );
    assert!(GUARD.set(guard).is_ok(), "traced installed twice");
    traced::flush
}

/// `#[traced]` on every function.
pub(super) mod attribute {
    use std::hint::black_box;

    use traced::traced;

    use super::super::is_even;
    use crate::executor::{block_on, YieldOnce};
    use crate::scenario::{Work, CHILDREN, DEPTH};

    pub(crate) fn run(work: Work) -> i64 {
        match work {
            Work::RootChildren => root(),
            Work::Attributes => root_attributes(),
            Work::Depth => nest(DEPTH),
            Work::Async => block_on(async_root()),
        }
    }

    #[traced]
    #[inline(never)]
    pub(crate) fn work(i: i64) -> i64 {
        i.wrapping_mul(3)
    }

    #[traced("root")]
    #[inline(never)]
    fn root() -> i64 {
        (0..CHILDREN).map(|i| child(black_box(i))).sum()
    }

    #[traced("child")]
    #[inline(never)]
    fn child(i: i64) -> i64 {
        i
    }

    #[traced("root", attrs(index = CHILDREN, kind = "root", even = true))]
    #[inline(never)]
    fn root_attributes() -> i64 {
        (0..CHILDREN).map(|i| child_attributes(black_box(i))).sum()
    }

    #[traced("child", attrs(index = i, kind = "child", even = is_even(i)))]
    #[inline(never)]
    fn child_attributes(i: i64) -> i64 {
        i
    }

    #[traced("nest")]
    #[inline(never)]
    fn nest(depth: u32) -> i64 {
        if depth > 1 {
            nest(depth - 1) + 1
        } else {
            1
        }
    }

    #[traced("root")]
    async fn async_root() -> i64 {
        let mut sum = 0;
        for i in 0..CHILDREN {
            sum += async_child(black_box(i)).await;
        }
        sum
    }

    #[traced("child")]
    async fn async_child(i: i64) -> i64 {
        YieldOnce::default().await;
        i
    }
}

/// `span!` around every body.
pub(super) mod scoped {
    use std::hint::black_box;

    use traced::{span, FutureExt};

    use super::super::is_even;
    use crate::executor::{block_on, YieldOnce};
    use crate::scenario::{Work, CHILDREN, DEPTH};

    pub(crate) fn run(work: Work) -> i64 {
        match work {
            Work::RootChildren => root(),
            Work::Attributes => root_attributes(),
            Work::Depth => nest(DEPTH),
            Work::Async => block_on(async_root()),
        }
    }

    #[inline(never)]
    pub(crate) fn work(i: i64) -> i64 {
        span!("work", { i.wrapping_mul(3) })
    }

    #[inline(never)]
    fn root() -> i64 {
        span!("root", { (0..CHILDREN).map(|i| child(black_box(i))).sum() })
    }

    #[inline(never)]
    fn child(i: i64) -> i64 {
        span!("child", { i })
    }

    #[inline(never)]
    fn root_attributes() -> i64 {
        span!("root", index = CHILDREN, kind = "root", even = true, {
            (0..CHILDREN).map(|i| child_attributes(black_box(i))).sum()
        })
    }

    #[inline(never)]
    fn child_attributes(i: i64) -> i64 {
        span!("child", index = i, kind = "child", even = is_even(i), { i })
    }

    #[inline(never)]
    fn nest(depth: u32) -> i64 {
        span!("nest", {
            if depth > 1 {
                nest(depth - 1) + 1
            } else {
                1
            }
        })
    }

    /// Guards held across `.await`, in futures carried with
    /// `in_current_span()`: the documented way to keep `span!` correct in
    /// async code.
    async fn async_root() -> i64 {
        async {
            let _root = span!("root");
            let mut sum = 0;
            for i in 0..CHILDREN {
                sum += async_child(black_box(i)).await;
            }
            sum
        }
        .in_current_span()
        .await
    }

    async fn async_child(i: i64) -> i64 {
        async move {
            let _child = span!("child");
            YieldOnce::default().await;
            i
        }
        .in_current_span()
        .await
    }
}
