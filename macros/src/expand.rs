//! `#[traced]` on a function: validation and code generation.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{ItemFn, ReturnType, Type};

use crate::args::TracedArgs;
use crate::fallback::{item_with_errors, Errors};
use crate::site::{default_crate, site_static};

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
    if let Some(asyncness) = &func.sig.asyncness {
        errors.push(syn::Error::new_spanned(
            asyncness,
            "#[traced] on `async fn` is not supported by this version of traced; until it is, open the span inside the body: `let _span = traced::span!(\"name\");`",
        ));
    }
    match (errors.finish(), args) {
        (Ok(()), Some(args)) => expand(&args, func),
        (Err(errors), _) => item_with_errors(&errors, item),
        (Ok(()), None) => unreachable!("argument errors are collected"),
    }
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
    let what = syn::parse2::<syn::Item>(item.clone()).ok().map(|item| describe(&item));
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
        other => (other.to_token_stream().into_iter().take(2).collect(), "this item"),
    }
}

fn expand(args: &TracedArgs, func: ItemFn) -> TokenStream {
    let krate = default_crate();
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
        .map_or_else(|| sig.ident.unraw_string(), syn::LitStr::value);
    let kind = quote!(#krate::__private::Kind::Internal);
    let site = site_static(&krate, &name, &kind);

    let body = match inspected_return_type(&sig.output) {
        // The value is inspected for `Err`: run the body as a closure so
        // `return` and `?` inside it produce the value here. The closure's
        // return type is spelled out so coercions (`Box<E>` to
        // `Box<dyn Error>`) happen inside the body as they did before.
        Some(ty) => quote! {
            #site
            let mut __traced_guard = #krate::__private::enter(&__TRACED_SITE);
            let __traced_ret: #ty = #krate::__private::call(move || -> #ty #block);
            {
                #[allow(unused_imports)]
                use #krate::__private::{RecordDebugError as _, RecordDisplayError as _, RecordNothing as _};
                (&&&#krate::__private::Outcome(&__traced_ret)).__traced_record(&mut __traced_guard);
            }
            __traced_ret
        },
        // Nothing to inspect: the body's statements stay as written, after
        // the guard, which ends the span however the function exits.
        None => {
            let stmts = &block.stmts;
            quote! {
                #site
                let __traced_guard = #krate::__private::enter(&__TRACED_SITE);
                #(#stmts)*
            }
        }
    };
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// The return type when it can hold an error to record: not `()`, not `!`,
/// not an `impl Trait` (which cannot be named in a `let`).
fn inspected_return_type(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    match &**ty {
        Type::Never(_) => None,
        Type::Tuple(t) if t.elems.is_empty() => None,
        ty if mentions_impl(ty.to_token_stream()) => None,
        ty => Some(ty),
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
    }
}
