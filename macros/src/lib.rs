//! Procedural macros of [traced](https://docs.rs/traced): `#[traced]` and
//! `span!`. Depend on `traced` and use them from there; this crate is an
//! implementation detail pinned by `traced` at an exact version.

mod args;
mod attrs;
mod expand;
mod fallback;
mod scope;
mod site;

use proc_macro::TokenStream;

/// Traces every call of a function: the counterpart of Python's
/// `@tracer.start_as_current_span("name")`. See the `traced` crate for the
/// full documentation.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::traced(args.into(), &item.into()).into()
}

/// Opens a span around a block or for the rest of a scope: the counterpart
/// of Python's `with tracer.start_as_current_span("name"):`. See the `traced`
/// crate for the full documentation.
#[proc_macro]
pub fn span(input: TokenStream) -> TokenStream {
    scope::span(input.into()).into()
}
