//! `#[traced] async fn` as a plain fn returning its instrumented future.
//!
//! An `async fn` wrapping an instrumented async block costs its future the
//! wrapper's room twice over: the outer coroutine keeps every argument in
//! its prefix (never overlapped with the awaited future) and a state tag of
//! its own. So the attribute rewrites
//!
//! ```text
//! async fn leaf(x: u64, (a, b): (u8, u8)) -> u64 { body }
//! ```
//!
//! as
//!
//! ```text
//! fn leaf(x: u64, __traced_arg1: (u8, u8)) -> impl Future<Output = u64> {
//!     static __TRACED_SITE: Site = ..;
//!     instrument_lazy(&__TRACED_SITE, async move {
//!         let x = x;
//!         let __traced_arg1 = __traced_arg1;
//!         let (a, b) = __traced_arg1;
//!         { body }
//!     })
//! }
//! ```
//!
//! whose future is the instrumented body and nothing else. What the
//! `async fn` did is kept: the arguments are moved into the future at the
//! call and rebound as rustc's lowering of `async fn` rebinds them, so they
//! drop at the same points in the same order (after the body's locals and
//! the temporaries of its last expression, in reverse order); the span
//! starts at the first poll, under the span current then. The `impl` of the
//! return type is spanned in this crate (edition 2024), so it captures every
//! lifetime in scope, elided ones included, as an `async fn` does, whatever
//! the edition of the crate it is used in. The user's statements stay in
//! the user's braces, whose edition decides when the temporaries of their
//! last expression drop relative to the body's locals; the async block
//! around them is this crate's, so those temporaries drop before the
//! arguments.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, Block, FnArg, Pat, ReturnType, Signature, Type};

use super::{inspected_return_type, Plan};

/// The signature and body of `sig`'s function, or `None` when it keeps the
/// `async fn` expansion (see [`keeps_async`]).
pub(super) fn expand(
    plan: &Plan<'_>,
    outer_attrs: &[Attribute],
    sig: &Signature,
    block: &Block,
) -> Option<(Signature, TokenStream)> {
    if keeps_async(plan, outer_attrs, sig) {
        return None;
    }
    let mut sig = sig.clone();
    sig.asyncness = None;
    let mut rebind = Vec::with_capacity(sig.inputs.len());
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        let arg = match input {
            FnArg::Typed(arg) => arg,
            // `self` cannot be rebound: the async block captures it whole
            // (not only the fields the body uses, which would leave the
            // rest to drop at the call), and it drops after the body's
            // locals and the other arguments, as in an `async fn`. The
            // receiver's own token, which resolves where it was written.
            FnArg::Receiver(receiver) => {
                let self_token = receiver.self_token;
                rebind.push(quote!(let _ = &#self_token;));
                continue;
            }
        };
        // `#[allow(unused_variables)]` on an argument is about the binding
        // the body sees.
        let lints = arg.attrs.iter().filter(|a| is_lint_level(a));
        let lints = quote!(#(#lints)*);
        match &mut *arg.pat {
            // `x` and `mut x`: `let mut x = x;`, the mutability moved inside
            // (the argument itself is only moved).
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                let mutability = ident.mutability.take();
                let binding = &ident.ident;
                // An argument `parent = expr` names is used, at the call,
                // whether the body uses it or not.
                let named_by_parent = plan
                    .args
                    .parent
                    .as_ref()
                    .is_some_and(|parent| mentions(parent.to_token_stream(), binding));
                let allow = if named_by_parent {
                    quote!(#[allow(unused_variables)])
                } else if binding.to_string().starts_with('_') {
                    // `_x` is moved as rustc moves it, not used.
                    quote!(#[allow(clippy::used_underscore_binding)])
                } else {
                    TokenStream::new()
                };
                rebind.push(quote!(#lints #allow let #mutability #binding = #binding;));
            }
            // Any other pattern binds from a hidden argument, which is
            // moved first, as rustc does: `_` keeps the value to the end.
            pat => {
                let hidden = format_ident!("__traced_arg{}", i, span = Span::mixed_site());
                let pattern = std::mem::replace(pat, Pat::Verbatim(hidden.to_token_stream()));
                rebind.push(quote! {
                    let #hidden = #hidden;
                    #lints
                    let #pattern = #hidden;
                });
            }
        }
    }
    let declared = sig.output.clone();
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    // Spanned in this crate: rustc picks the lifetimes an `impl Trait` in
    // return position captures by the edition of this token, and from 2024
    // on it captures them all, as the `async fn` did.
    let future = quote_spanned!(Span::call_site()=> impl ::core::future::Future<Output = #output>);
    let arrow = match &sig.output {
        ReturnType::Type(arrow, _) => *arrow,
        ReturnType::Default => syn::Token![->](sig.paren_token.span.join()),
    };
    sig.output = ReturnType::Type(arrow, Box::new(Type::Verbatim(future)));

    let future = instrumented(plan, &declared, &rebind, block);
    let site = &plan.site;
    Some((
        sig,
        quote! {
            #site
            #future
        },
    ))
}

/// Whether the function stays an `async fn` (with the span opened inside
/// its body, as before): when an attribute macro after `#[traced]` may need
/// an `async fn` (`#[tokio::main]`), when it returns `!`, or when
/// `parent = expr`, which is
/// evaluated at the call, cannot be: it awaits, or names a binding of a
/// pattern argument, which exists only inside the body.
fn keeps_async(plan: &Plan<'_>, outer_attrs: &[Attribute], sig: &Signature) -> bool {
    if outer_attrs.iter().any(|a| !is_inert(a)) {
        return true;
    }
    // `impl Future<Output = !>` is unstable where `-> !` is not.
    if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) {
        return true;
    }
    let Some(parent) = &plan.args.parent else {
        return false;
    };
    mentions(parent.to_token_stream(), "await")
        || sig.inputs.iter().any(|input| match input {
            FnArg::Receiver(_) => false,
            FnArg::Typed(arg) => {
                !matches!(&*arg.pat, Pat::Ident(i) if i.by_ref.is_none() && i.subpat.is_none())
            }
        })
}

/// A built-in attribute, or a tool's (`clippy::`, `rustfmt::`): nothing
/// that rewrites the function. (`cfg_attr` is not: it may hold a macro.)
fn is_inert(attr: &Attribute) -> bool {
    const BUILT_IN: &[&str] = &[
        "doc",
        "allow",
        "warn",
        "deny",
        "forbid",
        "expect",
        "inline",
        "cold",
        "must_use",
        "deprecated",
        "track_caller",
        "cfg",
        "no_mangle",
        "export_name",
        "link_section",
        "target_feature",
        "unsafe",
    ];
    const TOOLS: &[&str] = &["clippy", "rustfmt", "diagnostic", "rust_analyzer"];
    let path = attr.path();
    match path.segments.len() {
        1 => BUILT_IN.iter().any(|name| path.is_ident(name)),
        _ => {
            path.leading_colon.is_none() && TOOLS.iter().any(|tool| path.segments[0].ident == tool)
        }
    }
}

/// `allow`, `warn`, `deny`, `forbid` or `expect`.
fn is_lint_level(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|level| attr.path().is_ident(level))
}

/// Whether `tokens` hold the identifier `name`, at any depth.
fn mentions<T: ?Sized>(tokens: TokenStream, name: &T) -> bool
where
    proc_macro2::Ident: PartialEq<T>,
{
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// The instrumented async block: arguments rebound, attributes recorded,
/// then the body, whose value is bound by a `let` so the temporaries of its
/// last expression drop before the arguments, as in an `async fn`.
fn instrumented(
    plan: &Plan<'_>,
    output: &ReturnType,
    rebind: &[TokenStream],
    block: &Block,
) -> TokenStream {
    let current = plan.current_span();
    let start = plan.at_start(&current);
    let ty = inspected_return_type(output);
    // Fixes the block's return type before the body is checked, so `return`
    // and `?` coerce as in the fn; spanned at the return type so a mismatch
    // is explained there.
    let edge = ty.as_ref().map(|ty| {
        quote_spanned! {ty.span()=>
            if let ::core::option::Option::Some(__traced_never) = ::core::option::Option::None::<#ty> {
                return __traced_never;
            }
        }
    });
    // The user's block, in the user's braces, is the last expression of an
    // async block in this crate's: the temporaries of the user's last
    // expression outlive the user's locals (as the user's edition says, if
    // it is 2021) and, this crate being 2024, drop before the arguments,
    // as rustc's lowering of an `async fn` drops them.
    let body = quote!(async move { #(#rebind)* #start #edge #block });
    let inspect = ty.as_ref().filter(|_| plan.inspects()).map(|_| {
        // The output's type comes from the hook's bound, not written
        // again: `&Option<&T>` written out is a clippy lint.
        let end = plan.record_output(&plan.current_span(), &quote!(__traced_ret));
        quote!(|__traced_ret: &_| { #end })
    });
    let krate = &plan.krate;
    let parent = plan
        .args
        .parent
        .as_ref()
        .map(|parent| quote_spanned!(parent.span()=> #krate::__private::span_ref(&(#parent))));
    match (parent, inspect) {
        (Some(parent), Some(inspect)) => quote!(
            #krate::__private::instrument_lazy_with_parent_inspected(&__TRACED_SITE, #parent, #body, #inspect)
        ),
        (Some(parent), None) => {
            quote!(#krate::__private::instrument_lazy_with_parent(&__TRACED_SITE, #parent, #body))
        }
        (None, Some(inspect)) => {
            quote!(#krate::__private::instrument_lazy_inspected(&__TRACED_SITE, #body, #inspect))
        }
        (None, None) => quote!(#krate::__private::instrument_lazy(&__TRACED_SITE, #body)),
    }
}
