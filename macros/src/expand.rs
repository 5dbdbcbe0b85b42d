//! `#[traced]` on a function: validation and code generation.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::Token;
use syn::{
    Block, Expr, ExprAsync, GenericArgument, ItemFn, PathArguments, ReturnType, Stmt, Type,
    TypeParamBound,
};

use crate::args::TracedArgs;
use crate::attrs::{self, record_at_start};
use crate::fallback::{item_with_errors, Errors};
use crate::site::{default_crate, site_static};

// A path, so that `tests/expand.rs`, which loads this file by its path,
// finds it too.
#[path = "expand/async_fn.rs"]
mod async_fn;

/// Entry point of the attribute.
pub(crate) fn traced(args: TokenStream, item: &TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match TracedArgs::parse(args) {
        Ok(args) => Some(args),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let Ok(func) = syn::parse2::<ItemFn>(item.clone()) else {
        errors.push(not_a_function(item));
        return item_with_errors(&errors.finish().unwrap_err(), item);
    };
    if let Some(constness) = &func.sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "#[traced] cannot trace a `const fn`: a span reads the clock and the current context at run time, which const evaluation cannot do; remove `const`, or trace the non-const functions that call it",
        ));
    }
    if func.sig.ident == "main" {
        if let Some(init) = find_install(func.block.to_token_stream()) {
            errors.push(syn::Error::new_spanned(
                init,
                "#[traced] on `main` opens the `main` span before this call installs tracing, so that span is never recorded and every span inside becomes a root; install tracing first: call it in `main` without #[traced] and put the traced work in a `#[traced]` fn that `main` calls",
            ));
        }
    }
    let krate = args
        .as_ref()
        .and_then(|a| a.krate.as_ref())
        .map_or_else(default_crate, ToTokens::to_token_stream);
    let kind = match args.as_ref().and_then(|a| a.kind.as_ref()) {
        Some(ident) => match attrs::parse_kind(ident, &krate) {
            Ok(kind) => kind,
            Err(e) => {
                errors.push(e);
                TokenStream::new()
            }
        },
        None => quote!(#krate::__private::Kind::Internal),
    };
    match (errors.finish(), args) {
        (Ok(()), Some(args)) => expand(&args, &kind, krate, func),
        (Err(errors), _) => item_with_errors(&errors, item),
        (Ok(()), None) => unreachable!("argument errors are collected"),
    }
}

/// The first `traced::init` or `traced::builder` path in `tokens`, at any
/// depth: a call that installs tracing.
fn find_install(tokens: TokenStream) -> Option<TokenStream> {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                if let Some(found) = find_install(group.stream()) {
                    return Some(found);
                }
            }
            TokenTree::Ident(ident) if ident == "traced" => {
                let path = trees.get(i + 1..i + 4);
                if let Some([TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(f)]) = path
                {
                    if a.as_char() == ':' && b.as_char() == ':' && (f == "init" || f == "builder") {
                        return Some(trees[i..i + 4].iter().cloned().collect());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The error for an item that is not a function with a body.
fn not_a_function(item: &TokenStream) -> syn::Error {
    if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if method.default.is_none() {
            return syn::Error::new_spanned(
                &method.sig,
                "#[traced] needs a function body to trace; put it on the implementations of this method instead",
            );
        }
    }
    let what = syn::parse2::<syn::Item>(item.clone())
        .ok()
        .map(|item| describe(&item));
    let (tokens, what): (TokenStream, &str) = match what {
        Some((tokens, what)) => (tokens, what),
        None => (item.clone().into_iter().take(2).collect(), "this item"),
    };
    syn::Error::new_spanned(
        tokens,
        format!("#[traced] can only be applied to functions and methods, not to {what}; to trace what it does, put #[traced] on its functions or methods"),
    )
}

/// The keyword and name of an item, and what to call it.
fn describe(item: &syn::Item) -> (TokenStream, &'static str) {
    fn pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
        let mut tokens = a.to_token_stream();
        b.to_tokens(&mut tokens);
        tokens
    }
    match item {
        syn::Item::Struct(s) => (pair(&s.struct_token, &s.ident), "a struct"),
        syn::Item::Enum(e) => (pair(&e.enum_token, &e.ident), "an enum"),
        syn::Item::Union(u) => (pair(&u.union_token, &u.ident), "a union"),
        syn::Item::Impl(i) => (i.impl_token.to_token_stream(), "an impl block"),
        syn::Item::Trait(t) => (pair(&t.trait_token, &t.ident), "a trait"),
        syn::Item::Mod(m) => (pair(&m.mod_token, &m.ident), "a module"),
        syn::Item::Const(c) => (pair(&c.const_token, &c.ident), "a constant"),
        syn::Item::Static(s) => (pair(&s.static_token, &s.ident), "a static"),
        syn::Item::Type(t) => (pair(&t.type_token, &t.ident), "a type alias"),
        syn::Item::Use(u) => (u.use_token.to_token_stream(), "a use declaration"),
        other => (
            other.to_token_stream().into_iter().take(2).collect(),
            "this item",
        ),
    }
}

/// Everything the body generators need besides the body.
struct Plan<'a> {
    krate: TokenStream,
    args: &'a TracedArgs,
    /// `static __TRACED_SITE`.
    site: TokenStream,
}

impl Plan<'_> {
    /// Opens the guard of a sync function.
    fn enter(&self) -> TokenStream {
        let krate = &self.krate;
        match &self.args.parent {
            Some(parent) => {
                let parent =
                    quote_spanned!(parent.span()=> #krate::__private::span_ref(&(#parent)));
                quote!(#krate::__private::enter_with_parent(&__TRACED_SITE, #parent))
            }
            None => quote!(#krate::__private::enter(&__TRACED_SITE)),
        }
    }

    /// Wraps an async body in its span; `inspect` (a closure that captures
    /// nothing, so it takes no room in the future) runs on the output while
    /// the span is current.
    fn instrument(&self, body: &TokenStream, inspect: Option<&TokenStream>) -> TokenStream {
        let krate = &self.krate;
        let parent =
            self.args.parent.as_ref().map(
                |parent| quote_spanned!(parent.span()=> #krate::__private::span_ref(&(#parent))),
            );
        match (parent, inspect) {
            (Some(parent), Some(inspect)) => quote!(
                #krate::__private::instrument_with_parent_inspected(&__TRACED_SITE, #parent, #body, #inspect)
            ),
            (Some(parent), None) => {
                quote!(#krate::__private::instrument_with_parent(&__TRACED_SITE, #parent, #body))
            }
            (None, Some(inspect)) => {
                quote!(#krate::__private::instrument_inspected(&__TRACED_SITE, #body, #inspect))
            }
            (None, None) => quote!(#krate::__private::instrument(&__TRACED_SITE, #body)),
        }
    }

    /// The closure recording what is inspected of an output of type `ty`.
    fn inspector(&self, ty: &Type) -> TokenStream {
        let end = self.record_output(&self.current_span(), &quote!(__traced_ret));
        quote!(|__traced_ret: &#ty| { #end })
    }

    /// Attributes and links recorded at the start, on `sink`.
    fn at_start(&self, sink: &TokenStream) -> TokenStream {
        record_at_start(
            &self.krate,
            sink,
            self.args.dynamic_name.as_ref(),
            &self.args.attributes,
            &self.args.links,
        )
    }

    /// Whether the return value has to be looked at.
    fn inspects(&self) -> bool {
        self.args.err || self.args.ret
    }

    /// What is recorded from `__traced_ret` on `sink`.
    fn at_end(&self, sink: &TokenStream) -> TokenStream {
        self.record_output(sink, &quote!(&__traced_ret))
    }

    /// What is recorded on `sink` from the output `value` refers to.
    fn record_output(&self, sink: &TokenStream, value: &TokenStream) -> TokenStream {
        let krate = &self.krate;
        let err = self.args.err.then(|| {
            quote! {
                {
                    #[allow(unused_imports)]
                    use #krate::__private::{RecordDebugError as _, RecordDisplayError as _, RecordNothing as _};
                    (&&&#krate::__private::Outcome(#value)).__traced_record(#sink);
                }
            }
        });
        let ret = self.args.ret.then(|| {
            quote! {
                {
                    #[allow(unused_imports)]
                    use #krate::__private::{RecordDebugReturn as _, RecordTypedReturn as _};
                    (&&#krate::__private::Outcome(#value)).__traced_ret(#sink);
                }
            }
        });
        quote!(#err #ret)
    }

    fn current_span(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private::CurrentSpan)
    }
}

fn expand(args: &TracedArgs, kind: &TokenStream, krate: TokenStream, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        modifiers,
        sig,
        block,
    } = func;
    let defaultness = modifiers.defaultness;
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let name = args
        .name
        .as_ref()
        .map_or_else(|| attrs::unraw(&sig.ident), syn::LitStr::value);
    let plan = Plan {
        site: site_static(&krate, &name, kind),
        krate,
        args,
    };
    // `Location::caller()` must keep seeing the caller: no closure around
    // the body of a `#[track_caller]` fn (its `Err` is then not inspected).
    let track_caller = outer_attrs
        .iter()
        .any(|a| a.path().is_ident("track_caller"));
    let lazy = sig
        .asyncness
        .and_then(|_| async_fn::expand(&plan, &outer_attrs, &sig, &block));
    let (sig, body) = match lazy {
        // Nothing of the user's is evaluated in the fn's own block.
        Some((sig, body)) => (sig, body),
        // The user's statements are inside the block, in the user's braces.
        None => (
            sig.clone(),
            braced(&block, body(&plan, &sig, &block, track_caller)),
        ),
    };
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// `content` in braces spanned as the user's `block`'s. Generated code is
/// spanned in this crate, whose edition (2024) would otherwise decide when
/// the temporaries of the last expression of the user's statements drop
/// (the fn's own braces stay this crate's: lints skip generated code, and
/// the block they hold has no locals).
fn braced(block: &Block, content: TokenStream) -> TokenStream {
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, content);
    group.set_span(block.brace_token.span.join());
    group.into_token_stream()
}

/// The body of a traced function that stays as declared.
fn body(plan: &Plan<'_>, sig: &syn::Signature, block: &Block, track_caller: bool) -> TokenStream {
    if sig.asyncness.is_some() {
        async_fn_body(plan, &sig.output, block)
    } else if track_caller {
        sync_body(plan, &ReturnType::Default, block)
    } else if let Some(tail) = AsyncTail::find(&sig.output, block) {
        tail.expand(plan)
    } else {
        sync_body(plan, &sig.output, block)
    }
}

/// A sync function: the guard is the span.
fn sync_body(plan: &Plan<'_>, output: &ReturnType, block: &Block) -> TokenStream {
    let site = &plan.site;
    let krate = &plan.krate;
    let enter = plan.enter();
    let sink = quote!(&mut __traced_guard);
    let start = plan.at_start(&sink);
    match inspected_return_type(output).filter(|_| plan.inspects()) {
        // The value is inspected: run the body as a closure so `return` and
        // `?` inside it produce the value here. The closure's return type is
        // spelled out so coercions (`Box<E>` to `Box<dyn Error>`) happen
        // inside the body as they did before.
        Some(ty) => {
            let end = plan.at_end(&sink);
            quote! {
                #site
                let mut __traced_guard = #enter;
                #start
                let __traced_ret: #ty = #krate::__private::call(move || -> #ty #block);
                #end
                __traced_ret
            }
        }
        // Nothing to inspect: the body's statements stay as written, after
        // the guard, which ends the span however the function exits.
        None => {
            let stmts = &block.stmts;
            let binding = if start.is_empty() {
                quote!(let __traced_guard)
            } else {
                quote!(let mut __traced_guard)
            };
            quote! {
                #site
                #binding = #enter;
                #start
                #(#stmts)*
            }
        }
    }
}

/// `async fn`: the body runs in an instrumented future, so the span is the
/// task's current span across every `.await`. It starts at the first poll,
/// when the body starts running.
fn async_fn_body(plan: &Plan<'_>, output: &ReturnType, block: &Block) -> TokenStream {
    let site = &plan.site;
    let stmts = &block.stmts;
    let current = plan.current_span();
    let start = plan.at_start(&current);
    let instrumented = match inspected_return_type(output).filter(|_| plan.inspects()) {
        // The output is inspected by a hook the wrapper runs, not by a
        // second async block around the body: no extra state in the future.
        Some(ty) => {
            // Fixes the block's return type before the body is checked, so
            // `return` and `?` coerce as in the fn; spanned at the return
            // type so a mismatch is explained there.
            let edge = quote_spanned! {ty.span()=>
                if let ::core::option::Option::Some(__traced_never) = ::core::option::Option::None::<#ty> {
                    return __traced_never;
                }
            };
            let body = braced(block, quote!(#start #edge #(#stmts)*));
            plan.instrument(&quote!(async move #body), Some(&plan.inspector(&ty)))
        }
        None => {
            let body = braced(block, quote!(#start #(#stmts)*));
            plan.instrument(&quote!(async move #body), None)
        }
    };
    quote! {
        #site
        #instrumented.await
    }
}

/// A sync function that returns a future: `-> impl Future<..>` (any last
/// expression), `-> Pin<Box<dyn Future<..>>>` (any last expression), or a
/// last expression `Box::pin(async move { .. })` (what `#[async_trait]`
/// generates, whatever the return type is called). The future is
/// instrumented, so the span covers it until it completes; the span starts
/// when the function is called.
struct AsyncTail<'a> {
    prefix: &'a [Stmt],
    future: TailFuture<'a>,
    output: Option<Type>,
}

enum TailFuture<'a> {
    /// `async { .. }`, possibly inside `wrapper(..)` (`Box::pin`).
    Block(&'a ExprAsync, Option<&'a Expr>),
    /// Any expression producing the future; `boxed` when the function
    /// returns `Pin<Box<dyn Future>>`.
    Expr(&'a Expr, bool),
}

impl<'a> AsyncTail<'a> {
    fn find(output: &ReturnType, block: &'a Block) -> Option<Self> {
        let ReturnType::Type(_, ty) = output else {
            return None;
        };
        let (last, prefix) = block.stmts.split_last()?;
        let Stmt::Expr(tail, None) = last else {
            return None;
        };
        let impl_future = is_impl_future(ty);
        let future = match tail {
            Expr::Async(async_block) if impl_future => TailFuture::Block(async_block, None),
            Expr::Call(call) if call.args.len() == 1 && is_pin_call(&call.func) => {
                match &call.args[0] {
                    Expr::Async(async_block) => TailFuture::Block(async_block, Some(&*call.func)),
                    _ if is_pin_box_dyn_future(ty) => TailFuture::Expr(tail, true),
                    _ => return None,
                }
            }
            _ if impl_future => TailFuture::Expr(tail, false),
            _ if is_pin_box_dyn_future(ty) => TailFuture::Expr(tail, true),
            _ => return None,
        };
        Some(AsyncTail {
            prefix,
            future,
            output: future_output(ty).filter(|ty| !mentions_impl(ty.to_token_stream())),
        })
    }

    fn expand(&self, plan: &Plan<'_>) -> TokenStream {
        let site = &plan.site;
        let prefix = self.prefix;
        let current = plan.current_span();
        let start = plan.at_start(&current);
        // The future to await, and how it is made: an async block is built
        // inside the instrumented block (building it has no effects); any
        // other expression runs now, at the call, as it did before.
        let (made_now, awaited, wrapper, boxed) = match &self.future {
            TailFuture::Block(block, wrapper) => (None, quote!(#block), *wrapper, false),
            TailFuture::Expr(expr, boxed) => (
                Some(quote!(let __traced_future = #expr;)),
                quote!(__traced_future),
                None,
                *boxed,
            ),
        };
        let body = if start.is_empty() {
            awaited
        } else {
            quote!(async move { #start #awaited.await })
        };
        // The output is inspected by a hook the wrapper runs while the span
        // is current: no async block around the future just for that.
        let inspect = self
            .output
            .as_ref()
            .filter(|_| plan.inspects())
            .map(|ty| plan.inspector(ty));
        let instrumented = plan.instrument(&body, inspect.as_ref());
        let tail = match (wrapper, boxed) {
            (Some(wrapper), _) => quote!(#wrapper(#instrumented)),
            (None, true) => quote!(::std::boxed::Box::pin(#instrumented)),
            (None, false) => instrumented,
        };
        quote! {
            #site
            #(#prefix)*
            #made_now
            #tail
        }
    }
}

/// `impl Future<..>` (with any other bounds).
fn is_impl_future(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(t) => t.bounds.iter().any(|bound| {
            matches!(bound, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future"))
        }),
        Type::Paren(t) => is_impl_future(&t.elem),
        Type::Group(t) => is_impl_future(&t.elem),
        _ => false,
    }
}

/// `Pin<Box<dyn Future<..> + ..>>`, spelled out.
fn is_pin_box_dyn_future(ty: &Type) -> bool {
    let Type::Path(p) = ty else {
        return false;
    };
    let Some(pin) = p.path.segments.last().filter(|s| s.ident == "Pin") else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &pin.arguments else {
        return false;
    };
    let Some(GenericArgument::Type(Type::Path(boxed))) = args.args.first() else {
        return false;
    };
    let Some(boxed) = boxed.path.segments.last().filter(|s| s.ident == "Box") else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &boxed.arguments else {
        return false;
    };
    matches!(args.args.first(), Some(GenericArgument::Type(Type::TraitObject(t)))
        if t.bounds.iter().any(|b| matches!(b, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future"))))
}

/// `Box::pin`, `::std::boxed::Box::pin`, `Pin::from`... : a path ending in `pin`.
fn is_pin_call(func: &Expr) -> bool {
    matches!(func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "pin"))
}

/// `R` in a type mentioning `Future<Output = R>` anywhere (`impl Future<..>`,
/// `Pin<Box<dyn Future<..> + Send>>`).
fn future_output(ty: &Type) -> Option<Type> {
    match ty {
        Type::ImplTrait(t) => bounds_output(t.bounds.iter()),
        Type::TraitObject(t) => bounds_output(t.bounds.iter()),
        Type::Paren(t) => future_output(&t.elem),
        Type::Group(t) => future_output(&t.elem),
        Type::Path(p) => p
            .path
            .segments
            .iter()
            .find_map(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ty) => future_output(ty),
                    _ => None,
                }),
                _ => None,
            }),
        _ => None,
    }
}

fn bounds_output<'a>(mut bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<Type> {
    bounds.find_map(|bound| {
        let TypeParamBound::Trait(t) = bound else {
            return None;
        };
        let segment = t.path.segments.last()?;
        if segment.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// The return type when it can hold an error to record: not `()`, not `!`,
/// not a bare `impl Trait`. An `impl Trait` inside it (`Result<impl Display,
/// E>`) becomes `_`, which a `let` and a closure's return type accept.
fn inspected_return_type(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    match &**ty {
        Type::Never(_) | Type::ImplTrait(_) => None,
        Type::Tuple(t) if t.elems.is_empty() => None,
        ty => Some(infer_impl_types(ty.clone())),
    }
}

/// Replaces every `impl Trait` in `ty` with `_`.
fn infer_impl_types(mut ty: Type) -> Type {
    struct Infer;
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(t) = ty {
                let span = t.impl_token.span;
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: Token![_](span),
                });
            } else {
                visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    Infer.visit_type_mut(&mut ty);
    ty
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}
