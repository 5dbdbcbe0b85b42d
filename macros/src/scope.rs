//! `span!`: a span around a block, or for the rest of a scope.
//!
//! ```text
//! span!("name")                              -> a guard; the span ends when it drops
//! span!("name", key = expr, a.b = expr)      -> the same, with attributes
//! span!("name", key = expr, { ... })         -> runs the block in the span, yields its value
//! ```
//! `key = expr` is always an attribute; options use `option: value`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Block, Expr, Ident, Lit, LitStr, Token};

use crate::fallback::Errors;
use crate::site::{default_crate, site_static};

const USAGE: &str = "write span!(\"name\"), span!(\"name\", key = value, ...) or span!(\"name\", key = value, { ... })";

struct Attribute {
    key: String,
    key_span: Span,
    value: Expr,
}

struct SpanInput {
    name: LitStr,
    attributes: Vec<Attribute>,
    block: Option<Block>,
}

impl Parse for SpanInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = parse_name(input)?;
        let mut attributes = Vec::new();
        let mut block = None;
        let mut errors = Errors::default();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if input.peek(syn::token::Brace) {
                block = Some(input.parse::<Block>()?);
                if !input.is_empty() {
                    let rest: TokenStream = input.parse()?;
                    let trailing_comma_only = rest.to_string() == ",";
                    if !trailing_comma_only {
                        errors.push(syn::Error::new_spanned(
                            rest,
                            format!("the block must come last in span!: {USAGE}"),
                        ));
                    }
                }
                break;
            }
            if input.peek(Ident::peek_any) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                let option = input.call(Ident::parse_any)?;
                errors.push(syn::Error::new(
                    option.span(),
                    format!("unknown span! option `{option}:`; this version of traced has no span! options (attributes are written `key = value`)"),
                ));
                input.parse::<Token![:]>()?;
                input.parse::<Expr>()?;
                continue;
            }
            let (key, key_span) = parse_key(input)?;
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key_span,
                    format!("the attribute `{key}` needs a value: span!(\"name\", {key} = value)"),
                ));
            }
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            if let Some(first) = attributes.iter().find(|a: &&Attribute| a.key == key) {
                let mut error = syn::Error::new(key_span, format!("duplicate attribute `{key}`: give each key once"));
                error.combine(syn::Error::new(first.key_span, "first given here"));
                errors.push(error);
            }
            attributes.push(Attribute { key, key_span, value });
        }
        errors.finish()?;
        Ok(SpanInput {
            name,
            attributes,
            block,
        })
    }
}

fn parse_name(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("span! needs a name: {USAGE}"),
        ));
    }
    if input.peek(syn::token::Brace) || input.peek(Ident::peek_any) {
        return Err(input.error(format!("span! needs a string literal name first: {USAGE}")));
    }
    match input.parse::<Lit>()? {
        Lit::Str(name) if name.value().is_empty() => Err(syn::Error::new(
            name.span(),
            "the span name is empty: write a name such as span!(\"load_user\")",
        )),
        Lit::Str(name) => Ok(name),
        other => Err(syn::Error::new(
            other.span(),
            format!("the span name must be a string literal: {USAGE}"),
        )),
    }
}

/// `ident`, `a.b.c` (raw identifiers allowed) or `"any.key"`.
fn parse_key(input: ParseStream<'_>) -> syn::Result<(String, Span)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(syn::Error::new(lit.span(), "attribute keys must not be empty"));
        }
        return Ok((lit.value(), lit.span()));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error(format!(
            "expected an attribute key (`key`, `http.method` or \"any.key\"): {USAGE}"
        )));
    }
    let first = input.call(Ident::parse_any)?;
    let span = first.span();
    let mut key = unraw(&first);
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected an identifier after `.` in a dotted attribute key such as `http.method`"));
        }
        let part = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&unraw(&part));
    }
    Ok((key, span))
}

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}

/// Entry point of `span!`.
pub(crate) fn span(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<SpanInput>(input) {
        Ok(input) => input,
        // A block, so several errors are several statements: the macro may
        // be in expression position.
        Err(e) => {
            let errors = e.to_compile_error();
            return quote!({ #errors });
        }
    };
    let krate = default_crate();
    let kind = quote!(#krate::__private::Kind::Internal);
    let site = site_static(&krate, &input.name.value(), &kind);
    let (binding, set_attributes) = if input.attributes.is_empty() {
        (quote!(let __traced_guard), quote!())
    } else {
        let sets = input.attributes.iter().map(|a| {
            let key = &a.key;
            let value = &a.value;
            // Spanned at the value, so a type that cannot be recorded is
            // reported there.
            let to_value = quote_spanned!(value.span()=> #krate::__private::to_value(&(#value)));
            quote! {
                __traced_guard.set_attribute(#key, #to_value);
            }
        });
        (
            quote!(let mut __traced_guard),
            quote! {
                if __traced_guard.is_recording() {
                    #(#sets)*
                }
            },
        )
    };
    match input.block {
        // The block's statements are spliced after the guard rather than
        // nested as a block, which keeps `unused_braces` quiet on
        // `span!("n", { expr })`.
        Some(block) => {
            let stmts = &block.stmts;
            quote! {
                {
                    #site
                    #binding = #krate::__private::enter(&__TRACED_SITE);
                    #set_attributes
                    #(#stmts)*
                }
            }
        }
        None => quote! {
            {
                #site
                #binding = #krate::__private::enter(&__TRACED_SITE);
                #set_attributes
                __traced_guard
            }
        },
    }
}
