//! Async code: spans of `#[traced] async fn` and async blocks belong to
//! their task, nest across `.await`, survive interleaving on one thread and
//! moves between threads, and end when the future completes or is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::Value;
use traced::{span, traced, FutureExt, Span};
use traced_tests::{assert_child_of, assert_root, attribute, capture, names, one};

/// Returns `Pending` once, so the task is suspended at this point.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

#[traced]
async fn leaf(n: u32) -> u32 {
    yield_now().await;
    n
}

#[traced]
async fn parent(label: &'static str) -> u32 {
    Span::current().set_attribute("label", label);
    let a = leaf(1).await;
    yield_now().await;
    let b = span!("block", {
        // A guard held across `.await`.
        let _inner = span!("guard");
        yield_now().await;
        leaf(2).await
    });
    a + b
}

#[test]
fn an_async_fn_span_covers_its_awaits_and_parents_its_children() {
    let (value, spans) = capture(|| futures::executor::block_on(parent("solo")));
    assert_eq!(value, 3);
    assert_eq!(names(&spans), ["leaf", "leaf", "guard", "block", "parent"]);
    let root = one(&spans, "parent");
    assert_root(root);
    assert_eq!(attribute(root, "label"), Some(&Value::from("solo")));
    assert_child_of(&spans[0], root);
    assert_child_of(&spans[3], root);
    assert_child_of(&spans[2], &spans[3]);
    assert_child_of(&spans[1], &spans[2]);
    assert!(Span::current().is_none());
}

#[test]
fn two_tasks_interleaved_on_one_thread_never_see_each_others_spans() {
    let (values, spans) =
        capture(|| futures::executor::block_on(async { futures::join!(parent("a"), parent("b")) }));
    assert_eq!(values, (3, 3));
    assert_eq!(spans.len(), 10);
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "parent").collect();
    assert_eq!(roots.len(), 2);
    assert_ne!(
        roots[0].span_context.trace_id(),
        roots[1].span_context.trace_id()
    );
    for root in roots {
        assert_root(root);
        let trace = root.span_context.trace_id();
        let mine: Vec<_> = spans
            .iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        assert_eq!(mine.len(), 5, "each task has its own five spans");
        let block = mine.iter().find(|s| s.name == "block").unwrap();
        let guard = mine.iter().find(|s| s.name == "guard").unwrap();
        assert_child_of(block, root);
        assert_child_of(guard, block);
        let leaves: Vec<_> = mine.iter().filter(|s| s.name == "leaf").collect();
        assert_child_of(leaves[0], root);
        assert_child_of(leaves[1], guard);
    }
}

#[test]
fn suspended_time_counts_inside_the_span() {
    #[traced]
    async fn sleepy() {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let ((), spans) = capture(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(sleepy());
    });
    let s = one(&spans, "sleepy");
    let duration = s.end_time.duration_since(s.start_time).unwrap();
    assert!(duration >= Duration::from_millis(30), "{duration:?}");
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn traced_futures_are_send_and_run_on_a_multi_thread_runtime() {
    let ((), spans) = capture(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            let handles: Vec<_> = (0..4)
                .map(|i| tokio::spawn(assert_send(parent(if i % 2 == 0 { "even" } else { "odd" }))))
                .collect();
            for handle in handles {
                assert_eq!(handle.await.unwrap(), 3);
            }
        });
    });
    assert_eq!(spans.len(), 20);
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "parent").collect();
    assert_eq!(roots.len(), 4);
    for root in roots {
        assert_root(root);
        let children = spans
            .iter()
            .filter(|s| s.parent_span_id == root.span_context.span_id())
            .count();
        assert_eq!(children, 2, "leaf and block under each parent");
    }
}

#[test]
fn a_dropped_future_ends_its_span_as_cancelled() {
    #[traced]
    async fn never_finishes() {
        let _guard = span!("inner");
        std::future::pending::<()>().await;
    }
    let ((), spans) = capture(|| {
        let mut future = Box::pin(never_finishes());
        let waker = futures::task::noop_waker();
        let mut cx = TaskContext::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(
            Span::current().is_none(),
            "the task's spans are not current outside its polls"
        );
        drop(future);
        assert!(Span::current().is_none());
    });
    assert_eq!(names(&spans), ["inner", "never_finishes"]);
    let outer = &spans[1];
    assert_eq!(
        attribute(outer, "traced.cancelled"),
        Some(&Value::Bool(true))
    );
    assert_child_of(&spans[0], outer);
}

#[traced]
async fn fallible(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    yield_now().await;
    if fail {
        return Err("async failure".into());
    }
    let n: u8 = "7".parse()?;
    Ok(n)
}

#[test]
fn an_async_err_marks_the_span_error() {
    let (results, spans) = capture(|| {
        futures::executor::block_on(async {
            (fallible(true).await.is_err(), fallible(false).await.ok())
        })
    });
    assert_eq!(results, (true, Some(7)));
    assert!(
        matches!(&spans[0].status, Status::Error { description } if description.ends_with("async failure"))
    );
    assert_eq!(spans[0].events.events[0].name, "exception");
    assert_eq!(spans[1].status, Status::Unset);
}

#[test]
fn a_panic_in_an_async_fn_marks_the_span_and_propagates() {
    #[traced]
    async fn explode() -> u8 {
        yield_now().await;
        panic!("async boom")
    }
    let (caught, spans) =
        capture(|| std::panic::catch_unwind(|| futures::executor::block_on(explode())).is_err());
    assert!(caught);
    let s = one(&spans, "explode");
    assert!(
        matches!(&s.status, Status::Error { description } if description.contains("async boom")),
        "{:?}",
        s.status
    );
    assert!(Span::current().is_none());
}

#[traced]
fn returns_future(n: u32) -> impl Future<Output = u32> {
    let doubled = n * 2;
    async move {
        yield_now().await;
        leaf(doubled).await
    }
}

#[test]
fn fn_returning_impl_future_starts_its_span_at_the_call() {
    let (value, spans) = capture(|| {
        let future = span!("caller", { returns_future(2) });
        // Polled after the caller's span ended: the span still nests under it.
        futures::executor::block_on(future)
    });
    assert_eq!(value, 4);
    assert_eq!(names(&spans), ["caller", "leaf", "returns_future"]);
    assert_eq!(spans[2].parent_span_id, spans[0].span_context.span_id());
    assert_child_of(&spans[1], &spans[2]);
}

#[async_trait::async_trait]
trait Store {
    async fn get(&self, key: &str) -> Option<String>;
    async fn put(&mut self, key: String, value: String) -> Result<(), String>;
}

struct MemoryStore(Vec<(String, String)>);

#[async_trait::async_trait]
impl Store for MemoryStore {
    #[traced("store.get")]
    async fn get(&self, key: &str) -> Option<String> {
        yield_now().await;
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    #[traced]
    async fn put(&mut self, key: String, value: String) -> Result<(), String> {
        if key.is_empty() {
            return Err("empty key".into());
        }
        leaf(0).await;
        self.0.push((key, value));
        Ok(())
    }
}

trait NativeStore {
    async fn fetch(&self) -> u32;
}

struct Native;

impl NativeStore for Native {
    #[traced]
    async fn fetch(&self) -> u32 {
        leaf(5).await
    }
}

struct Generic<T>(T);

impl<T: Clone + Send + Sync> Generic<T> {
    #[traced]
    async fn get(&self) -> T {
        yield_now().await;
        self.0.clone()
    }
}

#[test]
fn async_trait_native_trait_and_generic_methods_are_traced() {
    let (out, spans) = capture(|| {
        futures::executor::block_on(async {
            let mut store = MemoryStore(Vec::new());
            let put = store.put("k".into(), "v".into()).await;
            let failed = store.put(String::new(), "v".into()).await;
            let got = store.get("k").await;
            let native = Native.fetch().await;
            let generic = Generic("g").get().await;
            (put, failed, got, native, generic)
        })
    });
    assert_eq!(
        out,
        (Ok(()), Err("empty key".into()), Some("v".into()), 5, "g")
    );
    assert_eq!(
        names(&spans),
        ["leaf", "put", "put", "store.get", "leaf", "fetch", "get"]
    );
    assert_child_of(&spans[0], &spans[1]);
    assert!(matches!(spans[2].status, Status::Error { .. }));
    assert_child_of(&spans[4], &spans[5]);
}

#[test]
fn in_current_span_carries_the_spawners_span_into_spawned_tasks() {
    let ((), spans) = capture(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            let handle = span!("spawner", { tokio::spawn(leaf(1).in_current_span()) });
            assert_eq!(handle.await.unwrap(), 1);
            // Without the extension, the spawned task starts with nothing current.
            let plain = span!("spawner2", { tokio::spawn(leaf(2)) });
            assert_eq!(plain.await.unwrap(), 2);
        });
    });
    let spawner = one(&spans, "spawner");
    let leaves: Vec<_> = spans.iter().filter(|s| s.name == "leaf").collect();
    assert_eq!(leaves.len(), 2);
    let nested = leaves
        .iter()
        .find(|s| s.parent_span_id == spawner.span_context.span_id());
    assert!(
        nested.is_some(),
        "the in_current_span leaf nests under the spawner"
    );
    assert!(leaves
        .iter()
        .any(|s| s.parent_span_id == opentelemetry::trace::SpanId::INVALID));
}

#[test]
fn spawn_carries_the_current_span_into_a_thread() {
    let ((), spans) = capture(|| {
        span!("main", {
            traced::spawn(|| span!("worker", {})).join().unwrap();
        });
    });
    assert_eq!(names(&spans), ["worker", "main"]);
    assert_child_of(&spans[0], &spans[1]);
}

#[test]
fn in_current_span_isolates_tasks_even_with_no_span_current() {
    let ((), spans) = capture(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let a = tokio::spawn(
                async {
                    let _guard = span!("task-a", id = 1);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                .in_current_span(),
            );
            let b = tokio::spawn(
                async {
                    let _guard = span!("task-b", id = 2);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                .in_current_span(),
            );
            a.await.unwrap();
            b.await.unwrap();
        });
    });
    assert_eq!(names(&spans), ["task-a", "task-b"]);
    for s in &spans {
        assert_root(s);
    }
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
    assert_eq!(attribute(&spans[0], "id"), Some(&Value::I64(1)));
    assert_eq!(attribute(&spans[1], "id"), Some(&Value::I64(2)));
}

#[traced]
fn future_from_a_call() -> impl Future<Output = u32> {
    leaf(7)
}

#[traced]
fn boxed_future_from_a_call() -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async { Err::<u32, String>("boxed failure".into()) })
}

#[test]
fn futures_returned_from_any_expression_are_covered_by_the_span() {
    let ((), spans) = capture(|| {
        futures::executor::block_on(async {
            assert_eq!(future_from_a_call().await, 7);
            assert!(boxed_future_from_a_call().await.is_err());
        });
    });
    assert_eq!(
        names(&spans),
        ["leaf", "future_from_a_call", "boxed_future_from_a_call"]
    );
    assert_child_of(&spans[0], &spans[1]);
    assert!(
        matches!(&spans[2].status, Status::Error { description } if description.ends_with("boxed failure"))
    );
}

#[test]
fn span_macro_with_an_async_block_covers_the_block() {
    let (value, spans) = capture(|| {
        let future = span!("async block", n = 2, async {
            yield_now().await;
            leaf(2).await
        });
        futures::executor::block_on(future)
    });
    assert_eq!(value, 2);
    assert_eq!(names(&spans), ["leaf", "async block"]);
    assert_child_of(&spans[0], &spans[1]);
    assert_eq!(attribute(&spans[1], "n"), Some(&Value::I64(2)));
}

#[traced]
async fn async_impl_in_result(fail: bool) -> Result<impl std::fmt::Display, std::io::Error> {
    yield_now().await;
    if fail {
        return Err(std::io::Error::other("no display"));
    }
    Ok(5)
}

#[test]
fn err_is_recorded_when_the_ok_type_is_an_impl_trait() {
    let ((), spans) = capture(|| {
        let _ = futures::executor::block_on(async_impl_in_result(true));
    });
    assert!(
        matches!(&spans[0].status, Status::Error { description } if description.ends_with("no display"))
    );
}

#[traced(attrs(task = label))]
async fn annotated(label: &'static str, fail: bool) -> Result<u32, String> {
    Span::current().set_attribute("before", label);
    yield_now().await;
    {
        let _guard = span!("inner");
        Span::current().set_attribute("inner.before", label);
        yield_now().await;
        Span::current().set_attribute("inner.after", label);
    }
    yield_now().await;
    Span::current().set_attribute("after", label);
    if fail {
        return Err(format!("{label} failed"));
    }
    Ok(1)
}

#[test]
fn annotations_on_either_side_of_awaits_stay_with_their_own_span() {
    let (results, spans) = capture(|| {
        futures::executor::block_on(async {
            futures::join!(annotated("a", false), annotated("b", true))
        })
    });
    assert_eq!(results, (Ok(1), Err("b failed".to_owned())));
    assert_eq!(names(&spans), ["inner", "inner", "annotated", "annotated"]);
    for label in ["a", "b"] {
        let value = Value::from(label);
        let outer = spans
            .iter()
            .find(|s| s.name == "annotated" && attribute(s, "task") == Some(&value))
            .unwrap();
        let inner = spans
            .iter()
            .find(|s| s.name == "inner" && attribute(s, "inner.before") == Some(&value))
            .unwrap();
        assert_child_of(inner, outer);
        assert_eq!(attribute(outer, "before"), Some(&value));
        assert_eq!(attribute(outer, "after"), Some(&value));
        assert_eq!(attribute(outer, "inner.before"), None);
        assert_eq!(attribute(outer, "inner.after"), None);
        assert_eq!(attribute(inner, "inner.after"), Some(&value));
        assert_eq!(attribute(inner, "before"), None);
        assert_eq!(attribute(inner, "after"), None);
        assert_eq!(attribute(inner, "task"), None);
        assert_eq!(inner.status, Status::Unset);
    }
    let failed = spans
        .iter()
        .find(|s| s.name == "annotated" && attribute(s, "task") == Some(&Value::from("b")))
        .unwrap();
    assert!(
        matches!(&failed.status, Status::Error { description } if description.ends_with("b failed"))
    );
    let ok = spans
        .iter()
        .find(|s| s.name == "annotated" && attribute(s, "task") == Some(&Value::from("a")))
        .unwrap();
    assert_eq!(ok.status, Status::Unset);
}
