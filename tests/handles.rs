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

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// Returns `Pending` at its first poll (waking its task), `Ready` at the next.
async fn suspend_once() {
    let mut suspended = false;
    std::future::poll_fn(|cx| {
        if suspended {
            std::task::Poll::Ready(())
        } else {
            suspended = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[test]
fn annotations_in_a_carried_context_reach_its_span_when_the_future_completes_or_is_dropped() {
    let ((), spans) = capture(|| {
        let _outer = span!("outer");
        let completed = async {
            Span::current().set_attribute("before", 1_i64);
            suspend_once().await;
            Span::current().set_attribute("completed", true);
        }
        .in_current_span();
        futures::executor::block_on(completed);
        let mut dropped = Box::pin(
            async {
                Span::current().set_attribute("dropped", true);
                suspend_once().await;
                unreachable!("polled once only");
            }
            .in_current_span(),
        );
        assert!(poll_once(dropped.as_mut()).is_pending());
        drop(dropped);
    });
    let outer = one(&spans, "outer");
    assert_eq!(attribute(outer, "before"), Some(&Value::I64(1)));
    assert_eq!(attribute(outer, "completed"), Some(&Value::Bool(true)));
    assert_eq!(attribute(outer, "dropped"), Some(&Value::Bool(true)));
    assert_eq!(attribute(outer, "traced.cancelled"), None);
}

/// Polls `future` to completion, then once more: that poll must panic.
fn poll_after_completion<F: std::future::Future<Output = u32>>(future: F, value: u32) {
    let mut future = Box::pin(future);
    assert_eq!(poll_once(future.as_mut()), std::task::Poll::Ready(value));
    let again =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(future.as_mut())));
    let message = again.expect_err("a second poll panics");
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"`Instrumented` polled after completion")
    );
}

#[test]
fn an_instrumented_future_polled_after_completion_panics() {
    let ((), spans) = capture(|| {
        // A future with a span of its own, and one with a carried context.
        poll_after_completion(span!("spanned", async { 1 }), 1);
        let _outer = span!("outer");
        poll_after_completion(async { 2 }.in_current_span(), 2);
    });
    assert_eq!(spans.len(), 2, "each span ends once");
    assert_eq!(attribute(one(&spans, "spanned"), "traced.cancelled"), None);
}
