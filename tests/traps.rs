//! Loud traps: mistakes that used to record nothing or nest unrelated work
//! silently now say so on stderr, and the pipeline's counters add up.
//!
//! Warnings are printed once per process, so the tests that read them run
//! a scenario in a child process (this test binary, run again with
//! `TRACED_TRAPS_CHILD` naming the scenario) and read its stderr.

use std::time::Duration;

use traced::span;
use traced_tests::{assert_root, batch_pipeline, lock, one};

const CHILD: &str = "TRACED_TRAPS_CHILD";

/// Runs `scenario` in a child process (see `child_scenarios`); returns its
/// stderr.
fn run_child(scenario: &str) -> String {
    let output = traced_tests::command_without_otel(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_scenarios",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .env("OTEL_TRACES_EXPORTER", "console")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child {scenario} failed: {stderr}");
    stderr
}

/// The scenarios the parent tests run; does nothing in the parent itself.
#[test]
fn child_scenarios() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "let-underscore" => {
            #[allow(clippy::let_underscore_must_use, let_underscore_drop)]
            let _ = traced::init();
            span!("after", {});
        }
        "bound" => {
            let _traced = traced::init();
            span!("work", {});
        }
        "out-of-order" => {
            let (exporter, _spans) = traced::export::MemoryExporter::new();
            let _traced = traced::builder()
                .with_exporter(exporter)
                .with_simple_processor()
                .install();
            let outer = span!("outer");
            let inner = span!("inner");
            drop(outer);
            drop(inner);
            let again = span!("again");
            drop(again);
            let again = span!("again");
            let later = span!("later");
            drop(again);
            drop(later);
        }
        other => panic!("unknown scenario {other}"),
    }
}

const BIND_IT: &str = "`let _traced = traced::init();`";

#[test]
fn a_guard_dropped_at_once_says_to_bind_it_to_a_name() {
    let stderr = run_child("let-underscore");
    assert_eq!(stderr.matches(BIND_IT).count(), 1, "{stderr}");
    assert!(stderr.contains("before any span was recorded"), "{stderr}");
}

#[test]
fn a_guard_kept_while_spans_are_recorded_gives_no_warning() {
    let stderr = run_child("bound");
    assert!(!stderr.contains(BIND_IT), "{stderr}");
}

#[test]
fn guards_ended_out_of_order_warn_once_with_the_fix() {
    let stderr = run_child("out-of-order");
    let warnings = stderr.matches("guards ended out of order").count();
    assert_eq!(warnings, 1, "{stderr}");
    assert!(
        stderr.contains("span!(\"name\", async move { .. })"),
        "{stderr}"
    );
    assert!(stderr.contains(".in_current_span()"), "{stderr}");
}

#[test]
fn sync_guards_ended_out_of_order_leave_no_ended_span_current() {
    let ((), spans) = traced_tests::capture(|| {
        let outer = span!("outer");
        let inner = span!("inner");
        drop(outer);
        drop(inner);
        span!("later", {});
    });
    // Opened inside it, `inner` stays the child of `outer`.
    assert_eq!(
        one(&spans, "inner").parent_span_id,
        one(&spans, "outer").span_context.span_id()
    );
    assert_root(one(&spans, "later"));
    assert_ne!(
        one(&spans, "later").span_context.trace_id(),
        one(&spans, "outer").span_context.trace_id()
    );
}

/// Three jobs, each holding a guard across `.await` in a plain spawned
/// async block on one thread (the trap), then one instrumented the right
/// way.
#[test]
fn guards_held_across_await_on_one_thread_leave_later_work_unnested() {
    let ((), spans) = traced_tests::capture(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let jobs: Vec<_> = (0..3u64)
                .map(|i| {
                    tokio::spawn(async move {
                        let _job = span!("trapped");
                        tokio::time::sleep(Duration::from_millis(10 * (i + 1))).await;
                    })
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
            let fixed: Vec<_> = (0..3)
                .map(|_| {
                    tokio::spawn(span!("fixed", async move {
                        tokio::task::yield_now().await;
                        span!("step", {});
                    }))
                })
                .collect();
            for job in fixed {
                job.await.unwrap();
            }
        });
        span!("later", {});
    });
    let trapped: Vec<_> = spans.iter().filter(|s| s.name == "trapped").collect();
    assert_eq!(trapped.len(), 3);
    let fixed: Vec<_> = spans.iter().filter(|s| s.name == "fixed").collect();
    assert_eq!(fixed.len(), 3);
    for span in &fixed {
        assert_root(span);
        assert!(
            trapped
                .iter()
                .all(|t| t.span_context.trace_id() != span.span_context.trace_id()),
            "work after the trapped jobs nested in one of them"
        );
    }
    for step in spans.iter().filter(|s| s.name == "step") {
        assert!(fixed
            .iter()
            .any(|f| f.span_context.span_id() == step.parent_span_id));
    }
    let traces: std::collections::HashSet<_> =
        fixed.iter().map(|s| s.span_context.trace_id()).collect();
    assert_eq!(traces.len(), 3, "three instrumented jobs, three traces");
    assert_root(one(&spans, "later"));
}

#[test]
fn stats_is_none_without_a_pipeline() {
    let _lock = lock();
    assert_eq!(traced::stats(), None);
}

#[test]
fn every_span_created_is_exported_dropped_failed_or_rejected_after_shutdown() {
    let _lock = lock();
    let (guard, spans) = batch_pipeline(traced::BatchConfig {
        max_queue_size: 64,
        scheduled_delay: Duration::from_hours(1),
        max_buffer_bytes: 64 * 1024,
        ..traced::BatchConfig::default()
    });
    for i in 0..20_000u32 {
        span!("work", { std::hint::black_box(i) });
    }
    // The worker runs meanwhile: counts read now are at most the final ones.
    let running = traced::stats().expect("a pipeline is installed");
    let stats = guard.shutdown();
    assert!(running.created <= stats.created, "{running:?} {stats:?}");
    assert!(running.exported <= stats.exported, "{running:?} {stats:?}");
    assert_eq!(stats.created, 20_000, "{stats:?}");
    assert_eq!(
        stats.created,
        stats.exported + stats.dropped + stats.failed + stats.rejected,
        "{stats:?}"
    );
    assert_eq!(stats.exported, spans.spans().len() as u64);
    assert!(stats.queue_high_water_bytes > 0, "{stats:?}");
    assert!(stats.queue_high_water_bytes <= 64 * 1024, "{stats:?}");
    assert_eq!(traced::stats(), None, "shut down: nothing installed");
}

#[test]
fn the_high_water_mark_follows_what_the_buffer_held() {
    let _lock = lock();
    let (guard, _spans) = batch_pipeline(traced::BatchConfig {
        scheduled_delay: Duration::from_hours(1),
        ..traced::BatchConfig::default()
    });
    assert_eq!(guard.stats().queue_high_water_bytes, 0);
    span!("one", {});
    assert!(guard.flush());
    let one = guard.stats().queue_high_water_bytes;
    assert!(one > 0);
    for _ in 0..100 {
        span!("many", {});
    }
    assert!(guard.flush());
    let after = traced::stats().unwrap();
    assert!(after.queue_high_water_bytes > one, "{after:?} vs {one}");
    assert_eq!(after.created, 101);
    assert_eq!(after.exported, 101);
}
