//! Panic messages for the spans a panic unwinds through.
//!
//! A span learns of a panic in its destructor (`std::thread::panicking()`),
//! which does not see the panic's message. When a pipeline is installed,
//! traced adds a panic hook, chained before the one already set, that keeps
//! the message and location of the thread's panic in progress.

use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

use crate::model::Annotations;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the hook once per process.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let message = describe(info);
            let _ = LAST_PANIC.try_with(|last| *last.borrow_mut() = Some(message));
            previous(info);
        }));
    });
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    match info.location() {
        Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
        None => message.to_owned(),
    }
}

/// Marks `pending` Error with an `exception` event for the panic unwinding
/// through its span.
pub(crate) fn record_panic(pending: &mut Annotations) {
    let message = LAST_PANIC
        .try_with(|last| last.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| "the operation panicked".to_owned());
    super::handle::record_exception(pending, "panic", &message);
}
