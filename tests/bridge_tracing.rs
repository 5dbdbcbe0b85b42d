//! `traced::bridge::tracing_layer()`: `tracing` spans and events recorded
//! as traced spans, nested with traced's own both ways, in sync code,
//! across `.await` on a multi-thread runtime, and across threads.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use traced::bridge::{tracing_layer, TracingLayer};
use traced::{span, traced, Span};
use traced_tests::{assert_child_of, assert_root, attribute, capture, names, one};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// Runs `f` with a registry and `layer` as this thread's subscriber.
fn with_layer<R>(layer: TracingLayer, f: impl FnOnce() -> R) -> R {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f)
}

fn attr(span: &SpanData, key: &str) -> Value {
    attribute(span, key)
        .unwrap_or_else(|| {
            panic!(
                "{} has no attribute {key}: {:?}",
                span.name, span.attributes
            )
        })
        .clone()
}

#[traced]
fn traced_leaf() {}

#[traced]
fn traced_root() {
    let middle = tracing::info_span!(
        "middle",
        user.id = 7_u64,
        big = u64::MAX,
        delta = -3_i64,
        ratio = 0.5,
        ok = true,
        name = "ann",
        shown = %"display",
        debugged = ?vec![1, 2],
    );
    let _entered = middle.enter();
    traced_leaf();
}

#[test]
fn traced_tracing_traced_nest_with_typed_fields() {
    let ((), spans) = capture(|| with_layer(tracing_layer(), traced_root));
    assert_eq!(names(&spans), ["traced_leaf", "middle", "traced_root"]);
    let (root, middle, leaf) = (
        one(&spans, "traced_root"),
        one(&spans, "middle"),
        one(&spans, "traced_leaf"),
    );
    assert_root(root);
    assert_child_of(middle, root);
    assert_child_of(leaf, middle);
    assert_eq!(attr(middle, "user.id"), Value::I64(7));
    assert_eq!(attr(middle, "big"), Value::from(u64::MAX.to_string()));
    assert_eq!(attr(middle, "delta"), Value::I64(-3));
    assert_eq!(attr(middle, "ratio"), Value::F64(0.5));
    assert_eq!(attr(middle, "ok"), Value::Bool(true));
    assert_eq!(attr(middle, "name"), Value::from("ann"));
    assert_eq!(attr(middle, "shown"), Value::from("display"));
    assert_eq!(attr(middle, "debugged"), Value::from("[1, 2]"));
    assert_eq!(middle.span_kind, SpanKind::Internal);
    assert_eq!(middle.instrumentation_scope.name(), "bridge_tracing");
    assert!(
        attribute(middle, "code.file.path").is_none(),
        "code location is opt-in"
    );
}

#[test]
fn tracing_spans_nest_under_each_other_and_explicit_parents() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            let outer = tracing::info_span!("outer");
            outer.in_scope(|| {
                let _inner = tracing::info_span!("inner").entered();
                span!("traced_inside", {});
            });
            let _detached = tracing::info_span!(parent: None, "detached").entered();
            let _explicit = tracing::info_span!(parent: &outer, "explicit").entered();
        });
    });
    let outer = one(&spans, "outer");
    assert_root(outer);
    assert_child_of(one(&spans, "inner"), outer);
    assert_child_of(one(&spans, "traced_inside"), one(&spans, "inner"));
    assert_root(one(&spans, "detached"));
    // `parent: &outer` wins over the entered `detached`.
    assert_eq!(
        one(&spans, "explicit").parent_span_id,
        outer.span_context.span_id()
    );
}

#[test]
fn fields_recorded_later_and_otel_fields() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer().with_code_location(true), || {
            let span = tracing::info_span!(
                "request",
                otel.name = "GET /items",
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
                later = tracing::field::Empty,
                never = tracing::field::Empty,
            );
            span.record("later", 5);
            span.record("later", 6);
            span.record("otel.status_code", "error");
            span.record("otel.status_description", "boom");
        });
    });
    let span = one(&spans, "GET /items");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(attr(span, "later"), Value::I64(6));
    assert!(attribute(span, "never").is_none());
    assert!(span
        .attributes
        .iter()
        .all(|kv| !kv.key.as_str().starts_with("otel.")));
    assert_eq!(span.status, Status::error("boom"));
    assert!(attr(span, "code.file.path")
        .as_str()
        .ends_with("bridge_tracing.rs"));
    assert!(matches!(attr(span, "code.line.number"), Value::I64(line) if line > 0));
    assert_eq!(
        attr(span, "code.function.name"),
        Value::from("bridge_tracing::request")
    );
}

#[test]
fn events_become_span_events_of_the_current_span() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            let _work = tracing::info_span!("work").entered();
            tracing::info!(rows = 3, "query done");
            tracing::error!("failed but handled");
            span!("traced_child", {
                tracing::warn!(retry = true, "inside traced");
            });
        });
    });
    let work = one(&spans, "work");
    let events: Vec<_> = work.events.events.iter().collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].name, "query done");
    let attrs = &events[0].attributes;
    assert!(attrs.contains(&opentelemetry::KeyValue::new("rows", 3_i64)));
    assert!(attrs.contains(&opentelemetry::KeyValue::new("level", "INFO")));
    assert!(attrs.contains(&opentelemetry::KeyValue::new("target", "bridge_tracing")));
    assert!(!attrs.iter().any(|kv| kv.key.as_str() == "message"));
    assert_eq!(events[1].name, "failed but handled");
    assert_eq!(
        work.status,
        Status::Unset,
        "ERROR events set status only when asked"
    );
    let child = one(&spans, "traced_child");
    assert_eq!(child.events.events.len(), 1);
    assert_eq!(child.events.events[0].name, "inside traced");
}

#[test]
fn error_events_set_status_when_asked() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer().with_error_events_set_status(true), || {
            let _work = tracing::info_span!("work").entered();
            tracing::error!("disk full");
        });
    });
    assert_eq!(one(&spans, "work").status, Status::error("disk full"));
}

#[test]
fn a_span_never_entered_is_recorded_under_its_creation_context() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            span!("root", {
                drop(tracing::info_span!("never_entered"));
                span!("after", {});
            });
        });
    });
    let root = one(&spans, "root");
    assert_child_of(one(&spans, "never_entered"), root);
    assert_child_of(one(&spans, "after"), root);
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn an_instrumented_future_dropped_unfinished_ends_its_spans_and_restores_context() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            span!("root", {
                let root = Span::current().span_id();
                {
                    let mut yielded = false;
                    let future = async move {
                        let _held = span!("held_across_await");
                        std::future::poll_fn(|_| {
                            if yielded {
                                Poll::Ready(())
                            } else {
                                yielded = true;
                                Poll::Pending
                            }
                        })
                        .await;
                    }
                    .instrument(tracing::info_span!("cancelled"));
                    let mut future = pin!(future);
                    assert!(poll_once(future.as_mut()).is_pending());
                    // Between polls the task's guard is not current here.
                    assert_eq!(Span::current().span_id(), root);
                }
                assert_eq!(Span::current().span_id(), root);
                span!("after", {});
            });
        });
    });
    let root = one(&spans, "root");
    let cancelled = one(&spans, "cancelled");
    assert_child_of(cancelled, root);
    assert_child_of(one(&spans, "held_across_await"), cancelled);
    assert_child_of(one(&spans, "after"), root);
}

#[test]
fn a_span_created_on_one_thread_is_entered_on_another() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            span!("origin", {
                let moved = tracing::info_span!("moved");
                let dispatch = tracing::dispatcher::get_default(Clone::clone);
                std::thread::spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        moved.in_scope(|| span!("on_other_thread", {}));
                        assert!(Span::current().is_none(), "exit restores the thread");
                    });
                })
                .join()
                .unwrap();
            });
        });
    });
    let origin = one(&spans, "origin");
    let moved = one(&spans, "moved");
    assert_child_of(moved, origin);
    assert_child_of(one(&spans, "on_other_thread"), moved);
}

#[traced]
async fn traced_step(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n
}

#[tracing::instrument]
async fn fetch(id: u64) -> u64 {
    tokio::task::yield_now().await;
    let held = span!("held", id = id);
    tokio::task::yield_now().await;
    let n = traced_step(id).await;
    drop(held);
    tokio::task::yield_now().await;
    n + traced_step(id).await
}

#[traced]
async fn serve(id: u64) -> u64 {
    fetch(id).await
}

fn install_global_subscriber() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(tracing_layer()),
        )
        .unwrap();
    });
}

#[test]
fn instrumented_async_fns_nest_across_awaits_on_a_multi_thread_runtime() {
    install_global_subscriber();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (sums, spans) = capture(|| {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..8).map(|id| tokio::spawn(serve(id))).collect();
            let mut sums = Vec::new();
            for task in tasks {
                sums.push(task.await.unwrap());
            }
            sums
        })
    });
    assert_eq!(sums, (0..8).map(|id| 2 * id).collect::<Vec<_>>());
    let serves: Vec<_> = spans.iter().filter(|s| s.name == "serve").collect();
    assert_eq!(serves.len(), 8);
    for serve in serves {
        assert_root(serve);
        let in_trace = |name: &str| {
            let found: Vec<&SpanData> = spans
                .iter()
                .filter(|s| {
                    s.name == name && s.span_context.trace_id() == serve.span_context.trace_id()
                })
                .collect();
            found
        };
        let fetch = in_trace("fetch");
        assert_eq!(fetch.len(), 1);
        assert_child_of(fetch[0], serve);
        let id = attr(fetch[0], "id");
        let held = in_trace("held");
        assert_eq!(held.len(), 1);
        assert_child_of(held[0], fetch[0]);
        assert_eq!(attr(held[0], "id"), id);
        let steps = in_trace("traced_step");
        assert_eq!(steps.len(), 2);
        let under_held = steps
            .iter()
            .filter(|s| s.parent_span_id == held[0].span_context.span_id());
        let under_fetch = steps
            .iter()
            .filter(|s| s.parent_span_id == fetch[0].span_context.span_id());
        assert_eq!((under_held.count(), under_fetch.count()), (1, 1));
    }
}

#[test]
fn a_span_entered_again_while_entered_stays_current_until_its_first_enter_exits() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            span!("outer", {
                let again = tracing::info_span!("again");
                let first = again.enter();
                span!("in_first", {});
                let second = again.enter();
                span!("in_second", {});
                drop(second);
                span!("after_second_exit", {});
                drop(first);
                span!("after_first_exit", {});
            });
        });
    });
    let outer = one(&spans, "outer");
    let again = one(&spans, "again");
    assert_child_of(again, outer);
    for inside in ["in_first", "in_second", "after_second_exit"] {
        assert_child_of(one(&spans, inside), again);
    }
    assert_child_of(one(&spans, "after_first_exit"), outer);
}

#[test]
fn a_span_entered_on_two_threads_at_once_exits_on_each_in_any_order() {
    let ((), spans) = capture(|| {
        with_layer(tracing_layer(), || {
            span!("outer", {
                let shared = tracing::info_span!("shared");
                let dispatch = tracing::dispatcher::get_default(Clone::clone);
                let both_in = std::sync::Barrier::new(2);
                let main_out = std::sync::Barrier::new(2);
                std::thread::scope(|scope| {
                    let entered = shared.enter();
                    scope.spawn(|| {
                        tracing::dispatcher::with_default(&dispatch, || {
                            let on_other = shared.enter();
                            both_in.wait();
                            main_out.wait();
                            // The first enter (the main thread's) has
                            // exited; this one still holds the span.
                            span!("other_inside", {});
                            drop(on_other);
                            assert!(Span::current().is_none(), "exit restores the thread");
                        });
                    });
                    both_in.wait();
                    span!("main_inside", {});
                    drop(entered);
                    span!("main_after", {});
                    main_out.wait();
                });
            });
        });
    });
    let outer = one(&spans, "outer");
    let shared = one(&spans, "shared");
    assert_child_of(shared, outer);
    assert_child_of(one(&spans, "main_inside"), shared);
    assert_child_of(one(&spans, "other_inside"), shared);
    assert_child_of(one(&spans, "main_after"), outer);
}
