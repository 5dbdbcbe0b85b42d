//! In-process W3C Baggage, as Python's `opentelemetry.baggage` has it:
//! entries that belong to the current context, go out with every
//! [`inject`](crate::propagation::inject) in it, and never reach another
//! request.
//!
//! Baggage arrives with a request (a span opened under
//! [`extract`](crate::propagation::extract)ed headers carries the caller's)
//! and is changed for a scope, never in place: make a [`Context`] with the
//! entries you want and run code in it, synchronous or async. Spans opened
//! in that scope, the tasks and threads it hands its context to, and the
//! calls it makes see exactly that baggage.
//!
//! ```
//! use std::collections::HashMap;
//! use traced::{baggage, propagation, span, Context, FutureExt};
//!
//! let incoming = HashMap::from([
//!     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
//!     ("baggage".to_owned(), "tenant=acme".to_owned()),
//! ]);
//! span!("handle", kind: server, parent: propagation::extract(&incoming), {
//!     assert_eq!(baggage::get("tenant").as_deref(), Some("acme"));
//!
//!     // A scope with one more entry (sync).
//!     let mut outgoing = HashMap::new();
//!     baggage::scope([("user.id", "u1")], || propagation::inject(&mut outgoing));
//!     assert_eq!(outgoing["baggage"], "tenant=acme,user.id=u1");
//!
//!     // Outside the scope the entry is gone.
//!     assert_eq!(baggage::get("user.id"), None);
//!
//!     // The same for a future, whichever thread polls it.
//!     let context = Context::current().with_baggage("user.id", "u2").without_baggage("tenant");
//!     let task = async { baggage::get("user.id") }.with_context(context);
//!     # let _ = task;
//! });
//! ```
//!
//! Entries are kept within the W3C Baggage limits when sent: members that
//! would take the header past 180 members or 8192 bytes are left out whole.
//! To copy chosen entries onto every span as attributes (what other
//! languages' baggage span processors do), see
//! [`Builder::with_baggage_attributes`](crate::Builder::with_baggage_attributes).

pub use crate::model::Baggage;
use crate::span::Context;

/// The current context's baggage.
pub fn current() -> Baggage {
    Context::current().baggage()
}

/// The value of the current context's baggage entry `key`.
pub fn get(key: &str) -> Option<String> {
    current().get(key).map(str::to_owned)
}

/// Runs `f` with `entries` set in the current context's baggage (each
/// replacing an entry of the same key); they are gone when `f` returns.
/// Keys that are not RFC 7230 tokens are ignored.
pub fn scope<'a, R>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    f: impl FnOnce() -> R,
) -> R {
    let mut context = Context::current();
    for (key, value) in entries {
        context = context.with_baggage(key, value);
    }
    context.in_scope(f)
}

/// Runs `f` with entry `key` removed from the current context's baggage.
pub fn scope_without<R>(key: &str, f: impl FnOnce() -> R) -> R {
    Context::current().without_baggage(key).in_scope(f)
}
