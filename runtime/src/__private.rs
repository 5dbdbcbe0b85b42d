//! Entry points for the code `#[traced]` and `span!` generate. Not a public
//! API: names and signatures change without notice.

use std::fmt::{Debug, Display};
use std::future::Future;

pub use crate::context::Instrumented;
pub use crate::span::{Kind, Site, SpanGuard, ToValue};
pub use opentelemetry::Value;

/// Opens a span for a call site; the span ends when the guard drops.
#[inline]
pub fn enter(site: &'static Site) -> SpanGuard {
    SpanGuard::open(site)
}

/// Runs a traced function's body. Taking the closure as `FnOnce` makes the
/// compiler treat it as one, so a body that returns a borrow of a captured
/// `&mut self` compiles exactly as it did without the attribute.
#[inline]
pub fn call<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

/// An attribute value from an expression, taken by reference.
#[inline]
pub fn to_value<T: ToValue + ?Sized>(value: &T) -> Value {
    value.to_value()
}

/// Runs an async body in a span that starts now and ends when the body
/// completes (or is dropped).
#[inline]
pub fn instrument<F: Future>(site: &'static Site, body: F) -> Instrumented<F> {
    Instrumented::with_span(site, body)
}

/// Where a traced call's error is recorded.
pub trait ErrorSink {
    fn is_recording(&self) -> bool;
    fn record(&mut self, type_name: &str, message: &str);
}

/// A sync function's span: its guard.
impl ErrorSink for &mut SpanGuard {
    #[inline]
    fn is_recording(&self) -> bool {
        SpanGuard::is_recording(self)
    }

    fn record(&mut self, type_name: &str, message: &str) {
        self.record_exception(type_name, message);
    }
}

/// An async body's span: the current span when the body's value is known.
#[derive(Debug)]
pub struct CurrentSpan;

impl ErrorSink for CurrentSpan {
    #[inline]
    fn is_recording(&self) -> bool {
        crate::Span::current().is_recording()
    }

    fn record(&mut self, type_name: &str, message: &str) {
        crate::Span::current().record_exception_parts(type_name, message);
    }
}

/// The outcome of a traced call, inspected by autoref specialization: the
/// generated code calls `(&&&Outcome(&ret)).__traced_record(sink)` and
/// method resolution picks the most specific of the three traits below whose
/// bounds hold. A `Result` is recognised by its type, so aliases such as
/// `io::Result<T>` work, whatever the spelling.
#[derive(Debug)]
pub struct Outcome<'a, T>(pub &'a T);

/// `Result<T, E>` with `E: Display`: `Err` is recorded with its message.
pub trait RecordDisplayError {
    fn __traced_record<S: ErrorSink>(&self, sink: S);
}

impl<T, E: Display> RecordDisplayError for &&Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record<S: ErrorSink>(&self, mut sink: S) {
        if let Err(error) = self.0 {
            if sink.is_recording() {
                sink.record(std::any::type_name::<E>(), &error.to_string());
            }
        }
    }
}

/// `Result<T, E>` with `E: Debug` only: `Err` is recorded with its `Debug`.
pub trait RecordDebugError {
    fn __traced_record<S: ErrorSink>(&self, sink: S);
}

impl<T, E: Debug> RecordDebugError for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record<S: ErrorSink>(&self, mut sink: S) {
        if let Err(error) = self.0 {
            if sink.is_recording() {
                sink.record(std::any::type_name::<E>(), &format!("{error:?}"));
            }
        }
    }
}

/// Every other type: nothing to record.
pub trait RecordNothing {
    fn __traced_record<S: ErrorSink>(&self, sink: S);
}

impl<T> RecordNothing for Outcome<'_, T> {
    #[inline]
    fn __traced_record<S: ErrorSink>(&self, _sink: S) {}
}
