//! Entry points for the code `#[traced]` and `span!` generate. Not a public
//! API: names and signatures change without notice.

use std::fmt::{Debug, Display};

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

/// The outcome of a traced call, inspected by autoref specialization: the
/// generated code calls `(&&&Outcome(&ret)).__traced_record(&mut guard)` and
/// method resolution picks the most specific of the three traits below whose
/// bounds hold. A `Result` is recognised by its type, so aliases such as
/// `io::Result<T>` work, whatever the spelling.
#[derive(Debug)]
pub struct Outcome<'a, T>(pub &'a T);

/// `Result<T, E>` with `E: Display`: `Err` is recorded with its message.
pub trait RecordDisplayError {
    fn __traced_record(&self, guard: &mut SpanGuard);
}

impl<T, E: Display> RecordDisplayError for &&Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record(&self, guard: &mut SpanGuard) {
        if let Err(error) = self.0 {
            record_err(guard, std::any::type_name::<E>(), &error.to_string());
        }
    }
}

/// `Result<T, E>` with `E: Debug` only: `Err` is recorded with its `Debug`.
pub trait RecordDebugError {
    fn __traced_record(&self, guard: &mut SpanGuard);
}

impl<T, E: Debug> RecordDebugError for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record(&self, guard: &mut SpanGuard) {
        if let Err(error) = self.0 {
            record_err(guard, std::any::type_name::<E>(), &format!("{error:?}"));
        }
    }
}

/// Every other type: nothing to record.
pub trait RecordNothing {
    fn __traced_record(&self, guard: &mut SpanGuard);
}

impl<T> RecordNothing for Outcome<'_, T> {
    #[inline]
    fn __traced_record(&self, _guard: &mut SpanGuard) {}
}

#[cold]
fn record_err(guard: &mut SpanGuard, type_name: &str, message: &str) {
    guard.record_exception(type_name, message);
}
