//! `#[traced] async fn` is expanded as a plain fn returning the instrumented
//! future. What an `async fn` does is kept: every signature shape compiles
//! as before (patterns, receivers, generics, lifetimes named, elided and
//! hidden), the arguments drop when and in the order they did, the span
//! starts at the first poll under the span current then, and a future never
//! polled records nothing.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![allow(
    clippy::unused_async,
    clippy::needless_pass_by_value,
    clippy::unused_self,
    clippy::too_many_arguments
)]

use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use traced::{span, traced, Span};
use traced_tests::{assert_child_of, assert_root, attribute, capture, names, one};

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    future.poll(&mut TaskContext::from_waker(&waker))
}

/// Returns `Pending` once.
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

// ---------------------------------------------------------------------------
// Drop order: the traced fn against the same un-annotated `async fn`.

thread_local! {
    static DROPPED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// Records its name when dropped.
struct D(&'static str);

impl Drop for D {
    fn drop(&mut self) {
        DROPPED.with(|d| d.borrow_mut().push(self.0));
    }
}

impl D {
    /// A temporary in the body's last expression.
    fn temporary(&self) -> D {
        D("temporary")
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn dropped() -> Vec<&'static str> {
    DROPPED.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

struct Pair {
    first: D,
    /// Left in the hidden argument by `Pair { first, .. }`.
    #[allow(dead_code)]
    second: D,
}

macro_rules! twins {
    ($(#[$attr:meta])* fn $name:ident $($rest:tt)*) => {
        mod $name {
            use super::*;
            #[traced]
            $(#[$attr])*
            pub(crate) async fn traced $($rest)*
            $(#[$attr])*
            pub(crate) async fn bare $($rest)*
        }
    };
}

/// The same method twice, traced and not, on `Owner`.
macro_rules! twins_methods {
    (async fn consume $($rest:tt)*) => {
        impl Owner {
            #[traced]
            async fn traced $($rest)*
            async fn bare $($rest)*
        }
    };
}

twins! {
    fn many_patterns(
        x: D,
        _: D,
        _y: D,
        (a, b): (D, D),
        mut m: D,
        unused: D,
        Pair { first, .. }: Pair,
        r#type: D,
    ) -> usize {
        let _ = &unused;
        let local = D("local");
        yield_now().await;
        let before = m.len();
        m = D("reassigned");
        before + x.len() + a.len() + b.len() + first.len() + local.len() + r#type.len() + m.temporary().len()
    }
}

fn run_to_end<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

fn arguments() -> (D, D, D, (D, D), D, D, Pair, D) {
    (
        D("x"),
        D("_"),
        D("_y"),
        (D("a"), D("b")),
        D("m"),
        D("unused"),
        Pair {
            first: D("first"),
            second: D("second"),
        },
        D("type"),
    )
}

macro_rules! call {
    ($f:path) => {{
        let (x, u, y, ab, m, unused, pair, ty) = arguments();
        $f(x, u, y, ab, m, unused, pair, ty)
    }};
}

#[test]
fn arguments_drop_in_the_order_of_an_async_fn_when_it_completes() {
    assert_eq!(run_to_end(call!(many_patterns::bare)), 27);
    let bare = dropped();
    let (value, spans) = capture(|| run_to_end(call!(many_patterns::traced)));
    assert_eq!(value, 27);
    assert_eq!(dropped(), bare);
    // The body's locals, then the temporary of its last expression, then
    // the arguments from the last, each after what its pattern bound.
    assert_eq!(
        bare,
        [
            "m",
            "local",
            "temporary",
            "type",
            "first",
            "second",
            "unused",
            "reassigned",
            "b",
            "a",
            "_y",
            "_",
            "x"
        ]
    );
    assert_eq!(names(&spans), ["traced"]);
}

#[test]
fn arguments_drop_in_the_order_of_an_async_fn_when_it_is_dropped_suspended() {
    let mut bare = Box::pin(call!(many_patterns::bare));
    assert!(poll_once(bare.as_mut()).is_pending());
    assert_eq!(dropped(), Vec::<&str>::new());
    drop(bare);
    let bare = dropped();
    let ((), spans) = capture(|| {
        let mut traced = Box::pin(call!(many_patterns::traced));
        assert!(poll_once(traced.as_mut()).is_pending());
        assert_eq!(dropped(), Vec::<&str>::new());
        drop(traced);
    });
    assert_eq!(dropped(), bare);
    assert_eq!(names(&spans), ["traced"]);
    assert_eq!(
        attribute(&spans[0], "traced.cancelled"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn a_future_dropped_before_its_first_poll_drops_its_arguments_and_records_nothing() {
    drop(call!(many_patterns::bare));
    let bare = dropped();
    let ((), spans) = capture(|| drop(call!(many_patterns::traced)));
    assert_eq!(dropped(), bare);
    assert_eq!(bare.len(), 10, "{bare:?}");
    assert!(spans.is_empty(), "the body never ran: {:?}", names(&spans));
}

// ---------------------------------------------------------------------------
// When the span starts, and under which parent.

#[traced]
async fn child() -> u32 {
    yield_now().await;
    1
}

#[test]
fn the_span_starts_at_the_first_poll_under_the_span_current_then() {
    let ((), spans) = capture(|| {
        let future = span!("made here", { child() });
        span!("polled here", {
            assert_eq!(run_to_end(future), 1);
        });
    });
    assert_eq!(names(&spans), ["made here", "child", "polled here"]);
    assert_child_of(&spans[1], &spans[2]);
    assert_root(&spans[0]);
}

#[traced(parent = parent)]
async fn under(parent: Span, n: u32) -> u32 {
    yield_now().await;
    n
}

#[test]
fn an_explicit_parent_is_named_at_the_call_and_the_span_starts_at_the_first_poll() {
    let ((), spans) = capture(|| {
        let chosen = span!("chosen", { Span::current() });
        let future = under(chosen, 7);
        drop(under(Span::current(), 8));
        span!("polled here", {
            assert_eq!(run_to_end(future), 7);
        });
    });
    // The future dropped unpolled recorded nothing.
    assert_eq!(names(&spans), ["chosen", "under", "polled here"]);
    assert_parent(&spans[1], &spans[0]);
}

/// An explicit parent that names a binding of a pattern argument: that
/// binding exists only in the body, so the fn stays an `async fn` and the
/// parent is named at the first poll.
#[traced(parent = handle)]
async fn under_a_pattern((handle, n): (Span, u32)) -> u32 {
    n
}

#[test]
fn an_explicit_parent_from_a_pattern_argument_works() {
    let ((), spans) = capture(|| {
        let chosen = span!("chosen", { Span::current() });
        assert_eq!(run_to_end(under_a_pattern((chosen, 3))), 3);
    });
    assert_eq!(names(&spans), ["chosen", "under_a_pattern"]);
    assert_parent(&spans[1], &spans[0]);
}

/// `child`'s parent is `parent` (which may have ended before it started).
fn assert_parent(child: &SpanData, parent: &SpanData) {
    assert_eq!(child.parent_span_id, parent.span_context.span_id());
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id()
    );
}

// ---------------------------------------------------------------------------
// Options.

#[traced(name = format!("job {n}"), attrs(n = n), ret)]
async fn options(n: u32, fail: bool) -> Result<u32, String> {
    yield_now().await;
    if fail {
        return Err(format!("job {n} failed"));
    }
    Ok(n * 2)
}

#[test]
fn options_are_recorded() {
    let ((ok, err), spans) =
        capture(|| (run_to_end(options(2, false)), run_to_end(options(3, true))));
    assert_eq!((ok, err), (Ok(4), Err("job 3 failed".to_owned())));
    assert_eq!(names(&spans), ["job 2", "job 3"]);
    assert_eq!(attribute(&spans[0], "n"), Some(&Value::I64(2)));
    assert_eq!(attribute(&spans[1], "n"), Some(&Value::I64(3)));
    assert_eq!(spans[0].status, Status::Unset);
    assert_eq!(
        spans[1].status,
        Status::Error {
            description: "String: job 3 failed".into()
        }
    );
}

/// `impl Future<Output = !>` is not stable: this one stays an `async fn`.
#[traced]
async fn diverges() -> ! {
    yield_now().await;
    panic!("never returns")
}

#[traced]
async fn returns_impl_trait(n: u32) -> impl Display {
    yield_now().await;
    n
}

#[test]
fn diverging_and_impl_trait_outputs() {
    let (shown, spans) = capture(|| run_to_end(returns_impl_trait(5)).to_string());
    assert_eq!(shown, "5");
    assert_eq!(names(&spans), ["returns_impl_trait"]);
    let (caught, spans) = capture(|| std::panic::catch_unwind(|| run_to_end(diverges())).is_err());
    assert!(caught);
    assert_eq!(names(&spans), ["diverges"]);
    assert!(matches!(spans[0].status, Status::Error { .. }));
}

// ---------------------------------------------------------------------------
// Signatures.

/// A struct with a lifetime, written with and without `<'_>`.
struct Borrowed<'a>(&'a str);

#[traced]
async fn elided(a: &str, b: Borrowed<'_>) -> usize {
    yield_now().await;
    a.len() + b.0.len()
}

#[traced]
#[allow(elided_lifetimes_in_paths)]
async fn hidden_lifetime(b: Borrowed) -> usize {
    yield_now().await;
    b.0.len()
}

#[traced]
async fn named<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    yield_now().await;
    if a.len() > b.len() {
        a
    } else {
        b
    }
}

#[traced]
async fn generic<T, U: Clone>(t: T, u: &U, shown: impl Display) -> (T, U, String)
where
    T: Send + 'static,
{
    yield_now().await;
    (t, u.clone(), shown.to_string())
}

/// Documented, with other attributes.
#[traced]
#[must_use = "a future does nothing unless polled"]
#[inline]
pub(crate) async fn documented(n: u32) -> u32 {
    n
}

/// # Safety
/// `p` points to a readable `u32`.
#[traced]
async unsafe fn read(p: *const u32) -> u32 {
    // SAFETY: the caller's promise.
    unsafe { p.read() }
}

/// A no-op on an `async fn` (rustc warns); the expanded fn is a plain fn.
#[traced]
#[track_caller]
async fn tracked(n: u32) -> u32 {
    n
}

/// `Option<&str>`: the hook's argument is `&Option<&str>`, which clippy
/// would flag if the expansion wrote it out.
#[traced(ret)]
async fn first_word(text: &str) -> Option<&str> {
    yield_now().await;
    text.split(' ').next()
}

#[traced]
async fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        Box::pin(fib(n - 1)).await + Box::pin(fib(n - 2)).await
    }
}

#[test]
fn functions_of_every_shape_compile_and_run() {
    let text = String::from("longer");
    let (values, spans) = capture(|| {
        run_to_end(async {
            let value = 9;
            (
                elided("ab", Borrowed("cde")).await,
                hidden_lifetime(Borrowed("xy")).await,
                named(&text, "x").await.len(),
                generic(1_u8, &2_u16, 3).await,
                documented(4).await,
                // SAFETY: `value` is a live `u32`.
                unsafe { read(&raw const value) }.await,
                tracked(5).await,
                fib(5).await,
                first_word(&text).await.map(str::len),
            )
        })
    });
    assert_eq!(
        values,
        (5, 2, 6, (1, 2, "3".to_owned()), 4, 9, 5, 5, Some(6))
    );
    let word = one(&spans, "first_word");
    assert_eq!(
        attribute(word, "return"),
        Some(&Value::from("Some(\"longer\")"))
    );
    assert_eq!(
        names(&spans)[..7],
        [
            "elided",
            "hidden_lifetime",
            "named",
            "generic",
            "documented",
            "read",
            "tracked"
        ]
    );
    // fib(5) calls fib 15 times, each nested in its caller's span.
    let fibs: Vec<_> = spans.iter().filter(|s| s.name == "fib").collect();
    assert_eq!(fibs.len(), 15);
    assert_eq!(
        fibs.iter()
            .filter(|s| s.parent_span_id == fibs[14].span_context.span_id())
            .count(),
        2
    );
}

struct Service {
    name: String,
    calls: u32,
}

impl Service {
    #[traced]
    async fn by_ref(&self, key: &str) -> &str {
        yield_now().await;
        if key.is_empty() {
            ""
        } else {
            &self.name
        }
    }

    #[traced]
    async fn by_mut(&mut self) -> &mut u32 {
        yield_now().await;
        self.calls += 1;
        &mut self.calls
    }

    #[traced]
    async fn by_value(self) -> String {
        yield_now().await;
        self.name
    }

    #[traced]
    async fn by_mut_value(mut self) -> u32 {
        yield_now().await;
        self.calls += 10;
        self.calls
    }

    #[traced]
    async fn pinned(self: Pin<&mut Self>) -> u32 {
        yield_now().await;
        self.calls
    }

    #[traced]
    async fn boxed(self: Box<Self>, extra: u32) -> u32 {
        self.calls + extra
    }
}

#[test]
fn methods_with_every_receiver() {
    let (values, spans) = capture(|| {
        run_to_end(async {
            let mut service = Service {
                name: "svc".to_owned(),
                calls: 0,
            };
            let name = service.by_ref("k").await.to_owned();
            *service.by_mut().await += 1;
            let pinned = Pin::new(&mut service).pinned().await;
            let calls = Service {
                name: "b".to_owned(),
                calls: 1,
            }
            .by_mut_value()
            .await;
            let boxed = Box::new(Service {
                name: "c".to_owned(),
                calls: 2,
            })
            .boxed(3)
            .await;
            (name, pinned, calls, boxed, service.by_value().await)
        })
    });
    assert_eq!(values, ("svc".to_owned(), 2, 11, 5, "svc".to_owned()));
    assert_eq!(
        names(&spans),
        [
            "by_ref",
            "by_mut",
            "pinned",
            "by_mut_value",
            "boxed",
            "by_value"
        ]
    );
}

/// A trait declared with `async fn`: a traced implementation is not a
/// refinement (denied warnings would catch `refining_impl_trait`).
pub trait Store {
    #[allow(async_fn_in_trait)]
    async fn get(&self, key: &str) -> Option<String>;

    /// A traced default method.
    #[traced]
    #[allow(async_fn_in_trait)]
    async fn get_or(&self, key: &str, default: &str) -> String {
        self.get(key).await.unwrap_or_else(|| default.to_owned())
    }
}

/// A trait declaring `-> impl Future + Send`, implemented by a traced
/// `async fn` whose future is `Send`.
pub trait SendStore {
    fn fetch(&self, key: u32) -> impl Future<Output = u32> + Send;
}

struct Memory;

impl Store for Memory {
    #[traced]
    async fn get(&self, key: &str) -> Option<String> {
        yield_now().await;
        (key == "k").then(|| "v".to_owned())
    }
}

impl SendStore for Memory {
    #[traced]
    async fn fetch(&self, key: u32) -> u32 {
        yield_now().await;
        key + 1
    }
}

#[test]
fn trait_methods_and_defaults_are_traced() {
    let (values, spans) = capture(|| {
        run_to_end(async {
            (
                Memory.get_or("k", "d").await,
                Memory.get_or("x", "d").await,
                Memory.fetch(1).await,
            )
        })
    });
    assert_eq!(values, ("v".to_owned(), "d".to_owned(), 2));
    assert_eq!(names(&spans), ["get", "get_or", "get", "get_or", "fetch"]);
    assert_child_of(&spans[0], &spans[1]);
}

/// Tells `Send` values from others at run time: the inherent method (on
/// `Send` types only) wins over the trait's, which every type has.
struct Probe<T>(PhantomData<T>);

trait NotSend {
    fn is_send(&self) -> bool {
        false
    }
}

impl<T> NotSend for Probe<T> {}

impl<T: Send> Probe<T> {
    fn is_send(&self) -> bool {
        true
    }
}

fn probe<T>(_: &T) -> Probe<T> {
    Probe(PhantomData)
}

#[traced]
async fn holds_an_rc_across_an_await() -> usize {
    let shared = Rc::new(1);
    yield_now().await;
    *shared
}

#[test]
fn send_is_kept_and_not_added() {
    let send = generic(1_u8, &2_u16, 3);
    assert!(probe(&send).is_send());
    let not_send = holds_an_rc_across_an_await();
    assert!(!probe(&not_send).is_send());
    drop((send, not_send));
    let ((), spans) = capture(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .block_on(async {
                let handle = tokio::spawn(Memory.fetch(41));
                assert_eq!(handle.await.unwrap(), 42);
            });
    });
    assert_eq!(names(&spans), ["fetch"]);
    assert_root(one(&spans, "fetch"));
}

/// Records when it is dropped, as `self`.
struct Owner(&'static str);

impl Drop for Owner {
    fn drop(&mut self) {
        DROPPED.with(|d| d.borrow_mut().push(self.0));
    }
}

twins_methods! {
    async fn consume(self, other: D, #[allow(unused_variables)] unused: D) -> usize {
        let local = D("local");
        yield_now().await;
        self.0.len() + other.len() + local.len()
    }
}

#[test]
fn self_by_value_drops_where_it_does_in_an_async_fn() {
    assert_eq!(run_to_end(Owner("self").bare(D("other"), D("unused"))), 14);
    let bare = dropped();
    let (value, _) = capture(|| run_to_end(Owner("self").traced(D("other"), D("unused"))));
    assert_eq!(value, 14);
    assert_eq!(dropped(), bare);
    let mut future = Box::pin(Owner("self").bare(D("other"), D("unused")));
    assert!(poll_once(future.as_mut()).is_pending());
    drop(future);
    let bare = dropped();
    capture(|| {
        let mut future = Box::pin(Owner("self").traced(D("other"), D("unused")));
        assert!(poll_once(future.as_mut()).is_pending());
    });
    assert_eq!(dropped(), bare);
    drop(Owner("self").bare(D("other"), D("unused")));
    let bare = dropped();
    capture(|| drop(Owner("self").traced(D("other"), D("unused"))));
    assert_eq!(dropped(), bare);
}
