//! Span handles used where their span is not current: from another thread,
//! from another task, below a child span; and after the span ended.

use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use traced::{span, Context, FutureExt, Sampler, Span};
use traced_tests::{attribute, capture, lock, one};

fn event_names(span: &opentelemetry_sdk::trace::SpanData) -> Vec<&str> {
    span.events.events.iter().map(|e| e.name.as_ref()).collect()
}

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn a_handle_annotates_its_span_from_another_thread() {
    let ((), spans) = capture(|| {
        span!("request", {
            let span = Span::current();
            span.set_attribute("from.self", true);
            std::thread::spawn(move || {
                span.set_attribute("from.thread", true);
                span.add_event("thread.event", [KeyValue::new("n", 1)]);
                span.set_status(Status::error("failed in a thread"));
            })
            .join()
            .unwrap();
            Span::current().add_event("self.event", []);
        });
    });
    let request = one(&spans, "request");
    assert_eq!(attribute(request, "from.self"), Some(&Value::Bool(true)));
    assert_eq!(attribute(request, "from.thread"), Some(&Value::Bool(true)));
    assert_eq!(event_names(request), ["thread.event", "self.event"]);
    assert_eq!(request.events.events[0].attributes, [KeyValue::new("n", 1)]);
    assert_eq!(request.status, Status::error("failed in a thread"));
}

#[test]
fn a_handle_annotates_its_span_from_tokio_tasks_and_threads() {
    let ((), spans) = capture(|| {
        multi_thread_runtime().block_on(async {
            span!("request", async move {
                let s = Span::current();
                let for_thread = s.clone();
                std::thread::spawn(move || for_thread.set_attribute("from.thread", true))
                    .join()
                    .unwrap();
                let for_task = s.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    for_task.add_event("from.task", []);
                    for_task.record_error(&std::fmt::Error);
                })
                .await
                .unwrap();
                s.set_attribute("from.self", true);
            })
            .await;
        });
    });
    let request = one(&spans, "request");
    assert_eq!(attribute(request, "from.thread"), Some(&Value::Bool(true)));
    assert_eq!(attribute(request, "from.self"), Some(&Value::Bool(true)));
    assert_eq!(event_names(request), ["from.task", "exception"]);
    assert!(
        matches!(&request.status, Status::Error { description } if description.starts_with("fmt::Error: ")),
        "{:?}",
        request.status
    );
}

#[test]
fn a_guard_held_across_await_takes_annotations_from_other_tasks() {
    let ((), spans) = capture(|| {
        multi_thread_runtime().block_on(async {
            tokio::spawn(
                async {
                    let guard = span!("held");
                    let handle = guard.span();
                    for i in 0..4 {
                        let handle = handle.clone();
                        tokio::spawn(async move {
                            handle.add_event("from.task", [KeyValue::new("i", i)]);
                        })
                        .await
                        .unwrap();
                        tokio::task::yield_now().await;
                    }
                    // Ended on whichever worker thread polls the task now.
                    drop(guard);
                }
                .in_current_span(),
            )
            .await
            .unwrap();
        });
    });
    let held = one(&spans, "held");
    assert_eq!(event_names(held), ["from.task"; 4]);
}

#[test]
fn a_handle_annotates_its_span_below_a_child_span() {
    let ((), spans) = capture(|| {
        let mut outer = span!("outer");
        let handle = outer.span();
        {
            let _inner = span!("inner");
            handle.set_attribute("k", 1);
            handle.add_event("while.inner", []);
            {
                let _deeper = span!("deeper");
                handle.set_attribute("depth", 2);
            }
        }
        outer.set_attribute("guard", true);
        handle.set_attribute("current.again", true);
    });
    let outer = one(&spans, "outer");
    assert_eq!(attribute(outer, "k"), Some(&Value::I64(1)));
    assert_eq!(attribute(outer, "depth"), Some(&Value::I64(2)));
    assert_eq!(attribute(outer, "guard"), Some(&Value::Bool(true)));
    assert_eq!(attribute(outer, "current.again"), Some(&Value::Bool(true)));
    assert_eq!(event_names(outer), ["while.inner"]);
    for child in ["inner", "deeper"] {
        let child = one(&spans, child);
        assert_eq!(attribute(child, "k"), None);
        assert_eq!(attribute(child, "depth"), None);
        assert!(child.events.events.is_empty());
    }
}

#[test]
fn annotations_through_an_attached_context_reach_the_span() {
    let ((), spans) = capture(|| {
        span!("request", {
            let context = Context::current();
            let for_thread = context.clone();
            std::thread::spawn(move || {
                let _attached = for_thread.attach();
                Span::current().set_attribute("attached.thread", true);
            })
            .join()
            .unwrap();
            traced::spawn(|| Span::current().add_event("traced.spawn", []))
                .join()
                .unwrap();
            multi_thread_runtime().block_on(async {
                tokio::spawn(
                    async { Span::current().set_attribute("in.current.span", true) }
                        .with_context(context),
                )
                .await
                .unwrap();
            });
        });
    });
    let request = one(&spans, "request");
    assert_eq!(
        attribute(request, "attached.thread"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        attribute(request, "in.current.span"),
        Some(&Value::Bool(true))
    );
    assert_eq!(event_names(request), ["traced.spawn"]);
}

#[test]
fn annotations_after_the_end_are_ignored_and_kept_bounded() {
    let ((), spans) = capture(|| {
        // A handle used before and after the end: what comes after is
        // ignored at once and takes no room.
        let kept = span!("kept", {
            let span = Span::current();
            let for_thread = span.clone();
            std::thread::spawn(move || for_thread.set_attribute("before.end", true))
                .join()
                .unwrap();
            span
        });
        let waiting = traced::__private::deferred_spans();
        let for_thread = kept.clone();
        std::thread::spawn(move || {
            for_thread.set_attribute("after.end", true);
            for_thread.add_event("after.end", []);
        })
        .join()
        .unwrap();
        kept.set_attribute("after.end.here", true);
        assert_eq!(traced::__private::deferred_spans(), waiting);

        // Handles used only after their spans ended: their annotations can
        // never be exported, and the side table stays bounded.
        let handles: Vec<Span> = (0..2000)
            .map(|_| span!("ended", { Span::current() }))
            .collect();
        for handle in &handles {
            handle.set_attribute("after.end", true);
            for _ in 0..130 {
                handle.add_event("after.end", []);
            }
        }
        assert!(
            traced::__private::deferred_spans() <= 1024,
            "{} spans waiting",
            traced::__private::deferred_spans()
        );
    });
    let kept = one(&spans, "kept");
    assert_eq!(attribute(kept, "before.end"), Some(&Value::Bool(true)));
    assert_eq!(attribute(kept, "after.end"), None);
    assert_eq!(attribute(kept, "after.end.here"), None);
    assert!(kept.events.events.is_empty());
    for ended in spans.iter().filter(|s| s.name == "ended") {
        assert!(ended.attributes.is_empty() && ended.events.events.is_empty());
    }
}

#[test]
fn a_span_ended_on_another_thread_takes_its_annotations() {
    let ((), spans) = capture(|| {
        let guard = span!("moved");
        let handle = guard.span();
        let _child = span!("child");
        handle.set_attribute("below.child", true);
        std::thread::spawn(move || {
            handle.add_event("from.its.thread", []);
            drop(guard);
        })
        .join()
        .unwrap();
    });
    let moved = one(&spans, "moved");
    assert_eq!(attribute(moved, "below.child"), Some(&Value::Bool(true)));
    assert_eq!(event_names(moved), ["from.its.thread"]);
}

#[test]
fn handles_to_unsampled_spans_record_nothing_anywhere() {
    let _lock = lock();
    let (exporter, spans) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_sampler(Sampler::AlwaysOff)
        .install();
    let waiting = traced::__private::deferred_spans();
    span!("unsampled", {
        let span = Span::current();
        assert!(!span.is_recording());
        let for_thread = span.clone();
        std::thread::spawn(move || for_thread.set_attribute("from.thread", true))
            .join()
            .unwrap();
        span!("child", { span.set_attribute("below.child", true) });
        assert_eq!(traced::__private::deferred_spans(), waiting);
    });
    drop(guard);
    assert!(spans.spans().is_empty());
}
