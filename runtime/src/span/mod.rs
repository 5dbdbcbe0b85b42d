//! Spans: the guard that times one, the handle to the current one, and the
//! static description of each call site.

mod attributes;
mod guard;
mod handle;
mod opened;
mod panic;
mod parent;
mod site;
mod value;

pub use guard::SpanGuard;
pub use handle::Span;
pub use parent::{AsSpanRef, SpanRef};
pub use site::{Kind, Site};
pub use value::{ArrayItem, ToValue};

pub(crate) use attributes::InlineAttributes;
pub(crate) use handle::readable_type_name;
pub(crate) use opened::Opened;
pub(crate) use panic::install_hook;
