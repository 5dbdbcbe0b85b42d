//! Carrying the current span into other threads and tasks.

use std::future::Future;
use std::marker::PhantomData;
use std::thread::{self, JoinHandle};

use super::task::Instrumented;
use super::Span;
use crate::context::current::{self, Saved, SpanCtx};
use crate::model::{self, Baggage, Carried, CarriedRef};

/// A captured current span, to make current again elsewhere: on another
/// thread, or around a future that another task will poll.
///
/// ```
/// use traced::{span, Context};
///
/// span!("parent", {
///     let context = Context::current();
///     std::thread::spawn(move || {
///         let _attached = context.attach();
///         span!("child", {}); // a child of "parent"
///     })
///     .join()
///     .unwrap();
/// });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    ctx: Option<SpanCtx>,
    /// What the context carries besides the span: the trace state and
    /// baggage of the request it belongs to, shared.
    carried: CarriedRef,
}

impl Context {
    /// The current context of this thread or task: its span, and what it
    /// carries (baggage, trace state).
    pub fn current() -> Self {
        Context {
            ctx: current::current(),
            carried: current::carried(),
        }
    }

    /// The span this context refers to.
    pub fn span(&self) -> Span {
        Span::new(self.ctx, self.carried.clone())
    }

    /// The context's baggage: what the request brought, with the entries
    /// added in this process.
    pub fn baggage(&self) -> Baggage {
        Baggage::of(&self.carried)
    }

    /// This context with baggage entry `key` set to `value` (replacing an
    /// earlier one), for [`attach`](Context::attach),
    /// [`in_scope`](Context::in_scope) or a future's
    /// [`with_context`](FutureExt::with_context). A key that is not an
    /// RFC 7230 token is ignored. See the `traced::baggage` module.
    #[must_use]
    pub fn with_baggage(self, key: &str, value: &str) -> Context {
        self.with_baggage_properties(key, value, "")
    }

    /// [`with_baggage`](Context::with_baggage) with W3C Baggage properties
    /// (`ttl=60;flag`), passed on with the entry.
    #[must_use]
    pub fn with_baggage_properties(self, key: &str, value: &str, properties: &str) -> Context {
        if !model::valid_baggage_key(key) {
            return self;
        }
        self.change(|carried| carried.set_baggage(key, value, properties))
    }

    /// This context without baggage entry `key`.
    #[must_use]
    pub fn without_baggage(self, key: &str) -> Context {
        self.change(|carried| carried.remove_baggage(key))
    }

    /// This context with no baggage at all.
    #[must_use]
    pub fn without_all_baggage(self) -> Context {
        self.change(|carried| carried.baggage.clear())
    }

    fn change(self, f: impl FnOnce(&mut Carried)) -> Context {
        let mut carried = Carried::of(&self.carried);
        f(&mut carried);
        Context {
            ctx: self.ctx,
            carried: carried.into_ref(),
        }
    }

    /// The OpenTelemetry form of this context, for libraries that take one:
    /// its span (ids, flags, trace state) and its baggage. A span of this
    /// process that is being recorded stays reachable through it:
    /// `set_attribute`, `add_event`, `add_link`, `set_status` and
    /// `update_name` on `context.span()` annotate the traced span (as a
    /// [`Span`] handle does, until the span ends); `end` does nothing, the
    /// span ends where traced opened it. A remote or unsampled span is a
    /// non-recording span.
    pub fn to_opentelemetry(&self) -> opentelemetry::Context {
        use opentelemetry::baggage::BaggageExt;
        use opentelemetry::trace::TraceContextExt;
        let mut context = opentelemetry::Context::new();
        if let Some(ctx) = self.ctx {
            context = if ctx.is_recording() {
                let handle = Span::new(Some(ctx), self.carried.clone());
                context.with_span(super::handle::OpenTelemetryView::new(handle))
            } else {
                context.with_remote_span_context(model::to_otel(ctx, &self.carried))
            };
        }
        let baggage = self
            .carried
            .as_deref()
            .map(|c| &c.baggage[..])
            .unwrap_or_default();
        if baggage.is_empty() {
            return context;
        }
        context.with_baggage(baggage.iter().map(|m| {
            opentelemetry::baggage::KeyValueMetadata::new(
                m.key.clone(),
                m.value.clone(),
                m.properties.as_str(),
            )
        }))
    }

    /// Makes this context current on this thread until the returned guard
    /// drops. Spans opened meanwhile become children of the captured span
    /// and carry its baggage and trace state.
    pub fn attach(self) -> ContextGuard {
        ContextGuard {
            saved: Some(current::attach(self.ctx, self.carried)),
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this context current.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _attached = self.attach();
        f()
    }

    /// Wraps `future` so it runs with this context current whichever thread
    /// polls it.
    pub fn wrap<F: Future>(self, future: F) -> Instrumented<F> {
        Instrumented::with_context(self.ctx, self.carried, future)
    }
}

/// Keeps a [`Context`] attached; dropping it restores what was current.
/// It belongs to the thread it was made on (it is not `Send`).
#[derive(Debug)]
#[must_use = "the context is detached when this guard drops"]
pub struct ContextGuard {
    saved: Option<Saved>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            current::detach(saved);
        }
    }
}

/// Spawns a thread that starts with the current span as its current span,
/// like `std::thread::spawn`.
///
/// Other ways of starting threads (`std::thread::scope`, `thread::Builder`,
/// a thread pool) carry the span the same way, with [`Context::in_scope`]:
///
/// ```
/// use traced::{span, Context};
///
/// span!("parent", {
///     std::thread::scope(|s| {
///         let context = Context::current();
///         s.spawn(move || context.in_scope(|| span!("child on a scoped thread", {})));
///     });
/// });
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let context = Context::current();
    thread::spawn(move || context.in_scope(f))
}

/// Context propagation for futures.
pub trait FutureExt: Future + Sized {
    /// Runs this future with the span that is current now as its current
    /// span, whichever thread or task polls it: use it on futures handed to
    /// `tokio::spawn` or another executor so their spans nest under the
    /// spawner's.
    ///
    /// The future also gets a context of its own: a `span!` guard it holds
    /// across `.await` is never seen by other tasks.
    ///
    /// ```
    /// use traced::{span, FutureExt};
    ///
    /// # async fn work() {}
    /// // `task` may be polled on any thread; spans inside nest under "request".
    /// let request = span!("request");
    /// let task = work().in_current_span();
    /// drop(request);
    /// # drop(task);
    /// ```
    ///
    /// To give a future a span of its own, wrap its body: `span!("name",
    /// async move { .. })`, or make it a `#[traced] async fn`.
    fn in_current_span(self) -> Instrumented<Self> {
        Context::current().wrap(self)
    }

    /// Runs this future with `context` current.
    fn with_context(self, context: Context) -> Instrumented<Self> {
        context.wrap(self)
    }
}

impl<F: Future> FutureExt for F {}
