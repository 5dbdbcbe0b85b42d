//! A handle to a span in progress, for annotating it from anywhere inside.

use std::borrow::Cow;

use opentelemetry::trace::{Event, SpanContext, SpanId, Status, TraceId};
use opentelemetry::{Key, KeyValue};

use crate::context::{current, deferred, SpanCtx};
use crate::local::clock;
use crate::model::Annotations;
use crate::model::ToValue;
use crate::model::{self, CarriedRef};

/// A handle to a span: the current one ([`Span::current`]) or the one a
/// [`SpanGuard`](crate::SpanGuard) times ([`SpanGuard::span`](crate::SpanGuard::span)).
///
/// A handle is a copy of the span's ids: keep it, move it to another thread
/// or task, and annotate the span from there until it ends, as with an
/// OpenTelemetry span. Annotations made after the span ended are ignored,
/// and so are those on a handle to no span or to a span that is not
/// recorded. This is the counterpart of Python's
/// `trace.get_current_span()`.
///
/// Annotating the span that is current where the call is made is the fast
/// case: the annotations go to a per-thread cell. Anywhere else (another
/// thread, another task, or below a child span) they take a lock on a
/// process-wide side table that the span empties when it ends; see the
/// crate docs' *Context* section for its bounds. When the same attribute is
/// set both ways, the value set elsewhere wins.
///
/// ```
/// use traced::{span, Span};
///
/// span!("checkout", {
///     let span = Span::current();
///     span.set_attribute("cart.items", 3);
///     span.add_event("payment.authorized", [traced::KeyValue::new("amount", 12.5)]);
/// });
///
/// // A handle works from other threads too, until its span ends.
/// span!("fan-out", {
///     let span = Span::current();
///     std::thread::spawn(move || span.set_attribute("worker.done", true))
///         .join()
///         .unwrap();
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    ctx: Option<SpanCtx>,
    /// What the span's context carries (trace state, baggage): what
    /// `propagation::inject_span` writes with it.
    carried: CarriedRef,
}

impl Span {
    pub(crate) const fn new(ctx: Option<SpanCtx>, carried: CarriedRef) -> Self {
        Span { ctx, carried }
    }

    pub(crate) const fn ctx(&self) -> Option<SpanCtx> {
        self.ctx
    }

    pub(crate) fn carried(&self) -> &CarriedRef {
        &self.carried
    }

    /// The current span of this thread or task; a no-op handle when there is
    /// none.
    pub fn current() -> Span {
        Span::new(current::current(), current::carried())
    }

    /// A handle that refers to no span.
    pub const fn none() -> Span {
        Span {
            ctx: None,
            carried: None,
        }
    }

    /// Whether this handle refers to no span.
    pub fn is_none(&self) -> bool {
        self.ctx.is_none()
    }

    /// Whether the span is being recorded (it exists, was sampled, and is a
    /// span of this process rather than a remote parent carried through).
    pub fn is_recording(&self) -> bool {
        self.ctx.is_some_and(SpanCtx::is_recording)
    }

    /// The trace id, or [`TraceId::INVALID`] for no span.
    pub fn trace_id(&self) -> TraceId {
        self.ctx
            .map_or(TraceId::INVALID, |c| TraceId::from(c.trace_id))
    }

    /// The span id, or [`SpanId::INVALID`] for no span.
    pub fn span_id(&self) -> SpanId {
        self.ctx
            .map_or(SpanId::INVALID, |c| SpanId::from(c.span_id))
    }

    /// The OpenTelemetry span context: ids, flags (sampled, random), remote
    /// or not, and the W3C trace state; invalid for no span.
    pub fn span_context(&self) -> SpanContext {
        match self.ctx {
            None => SpanContext::empty_context(),
            Some(c) => model::to_otel(c, &self.carried),
        }
    }

    /// The value of the span's W3C `tracestate` entry `key` (as it came from
    /// the caller, or as this process set it).
    pub fn trace_state(&self, key: &str) -> Option<String> {
        self.carried
            .as_ref()?
            .trace_state_value(key)
            .map(str::to_owned)
    }

    /// Sets this process's `tracestate` entry `key` on the span, as the W3C
    /// spec's "mutating" rules ask of the vendor that updates it: the entry
    /// moves to the front of the list, and the right-most entry is dropped
    /// when 32 are already there. The span's children and
    /// `traced::propagation::inject` send it from now on, and the
    /// span is exported with it (OTLP `trace_state`).
    ///
    /// A key or value outside the W3C grammar is refused, and so is a
    /// change to a span that is not the current span where the call is made
    /// (the trace state belongs to the context, which a handle elsewhere
    /// cannot reach): both return `false` and change nothing.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use traced::{propagation, span, Span};
    ///
    /// let incoming = HashMap::from([
    ///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
    ///     ("tracestate".to_owned(), "other=1,ours=old".to_owned()),
    /// ]);
    /// let mut outgoing = HashMap::new();
    /// span!("handle", kind: server, parent: propagation::extract(&incoming), {
    ///     assert!(Span::current().set_trace_state("ours", "new"));
    ///     propagation::inject(&mut outgoing);
    /// });
    /// assert_eq!(outgoing["tracestate"], "ours=new,other=1");
    /// ```
    pub fn set_trace_state(&self, key: &str, value: &str) -> bool {
        let Some(ctx) = self.ctx else {
            return false;
        };
        let mut valid = false;
        let not_current = current::update_carried(ctx.span_id, |carried| {
            valid = carried.update_trace_state(key, value);
        });
        not_current.is_none() && valid
    }

    #[inline]
    pub(crate) fn annotate(&self, f: impl FnOnce(&mut Annotations)) {
        if let Some(ctx) = self.ctx {
            if ctx.is_recording() {
                if let Some(f) = current::annotate(ctx.span_id, f) {
                    deferred::annotate(ctx, f);
                }
            }
        }
    }

    /// Sets an attribute; a later value for the same key wins. Values are
    /// integers (any width), floats, `bool`, strings, arrays of those, or an
    /// OpenTelemetry `Value` ([`ToValue`](crate::ToValue)).
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl ToValue) {
        self.annotate(|p| p.set_attribute(KeyValue::new(key, value.to_value())));
    }

    /// Adds a timestamped event with attributes.
    pub fn add_event(
        &self,
        name: impl Into<Cow<'static, str>>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        self.annotate(|p| {
            p.add_event(Event::new(
                name,
                clock::to_system_time(clock::now()),
                attributes.into_iter().collect(),
                0,
            ));
        });
    }

    /// Sets the status. `Ok` is final; `Unset` never overrides; `Error`
    /// replaces an earlier `Error` (OpenTelemetry's rules).
    pub fn set_status(&self, status: Status) {
        self.annotate(|p| p.set_status(status));
    }

    /// Renames the span.
    pub fn update_name(&self, name: impl Into<Cow<'static, str>>) {
        self.annotate(|p| p.name = Some(name.into()));
    }

    /// Records an error: an `exception` event with `exception.type` (the
    /// error's Rust type) and `exception.message` (its `Display`), and
    /// status Error with description `Type: message`.
    pub fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        self.annotate(|p| record_exception(p, std::any::type_name::<E>(), &error.to_string()));
    }
}

impl Span {
    /// Links this span to another (for generated code).
    pub(crate) fn add_link_parts(&self, link: opentelemetry::trace::Link) {
        self.annotate(|p| p.add_link(link));
    }

    /// Sets an attribute whose value is built already (for generated code:
    /// moved in, not cloned through [`ToValue`]).
    pub(crate) fn set_attribute_value(&self, key: Key, value: opentelemetry::Value) {
        self.annotate(|p| p.set_attribute(KeyValue::new(key, value)));
    }

    /// Records an exception from its parts (for generated code).
    pub(crate) fn record_exception_parts(&self, type_name: &str, message: &str) {
        self.annotate(|p| record_exception(p, type_name, message));
    }
}

/// A traced span seen through OpenTelemetry's `Span` trait: what
/// [`Context::to_opentelemetry`](crate::Context::to_opentelemetry) puts in
/// the OpenTelemetry context for a span of this process, so that
/// `opentelemetry::Context::current().span().set_attribute(..)` (and events,
/// links, status, name) annotate the traced span. It does not end the span:
/// the guard or future that opened it does.
#[derive(Debug)]
pub(crate) struct OpenTelemetryView {
    handle: Span,
    context: SpanContext,
}

impl OpenTelemetryView {
    pub(crate) fn new(handle: Span) -> Self {
        let context = handle.span_context();
        OpenTelemetryView { handle, context }
    }
}

impl opentelemetry::trace::Span for OpenTelemetryView {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: std::time::SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.handle
            .annotate(|p| p.add_event(Event::new(name, timestamp, attributes, 0)));
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.handle.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.handle.annotate(|p| p.set_attribute(attribute));
    }

    fn set_status(&mut self, status: Status) {
        self.handle.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.handle.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.handle
            .add_link_parts(opentelemetry::trace::Link::new(span_context, attributes, 0));
    }

    /// The span ends where traced opened it; ending it through
    /// OpenTelemetry changes nothing.
    fn end_with_timestamp(&mut self, _timestamp: std::time::SystemTime) {}
}

pub(crate) fn record_exception(pending: &mut Annotations, type_name: &str, message: &str) {
    pending.set_status(Status::error(format!(
        "{}: {message}",
        model::readable_type_name(type_name, false)
    )));
    pending.add_event(Event::new(
        "exception",
        clock::to_system_time(clock::now()),
        vec![
            KeyValue::new("exception.type", model::readable_type_name(type_name, true)),
            KeyValue::new("exception.message", message.to_owned()),
        ],
        0,
    ));
}
