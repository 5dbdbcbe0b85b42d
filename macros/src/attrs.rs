//! Attribute lists (`key = value, ...`) and the options both macros share.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Token};

use crate::fallback::Errors;

/// One `key = value` attribute.
pub(crate) struct Attribute {
    pub(crate) key: String,
    pub(crate) value: Value,
}

/// How the value is recorded.
pub(crate) enum Value {
    /// `key = expr`: typed (integers, floats, bool, strings).
    Typed(Expr),
    /// `key = %expr`: the `Display` form.
    Display(Expr),
    /// `key = ?expr`: the `Debug` form.
    Debug(Expr),
}

/// `ident`, `a.b.c` (raw identifiers allowed) or `"any.key"`.
pub(crate) fn parse_key(input: ParseStream<'_>, usage: &str) -> syn::Result<(String, Span)> {
    parse_key_form(input, usage).map(|(key, span, _)| (key, span))
}

/// Like [`parse_key`], also saying whether the key was a string literal.
pub(crate) fn parse_key_form(
    input: ParseStream<'_>,
    usage: &str,
) -> syn::Result<(String, Span, bool)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                "attribute keys must not be empty",
            ));
        }
        return Ok((lit.value(), lit.span(), true));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error(format!(
            "expected an attribute key (`key`, `http.method` or \"any.key\"): {usage}"
        )));
    }
    let first = input.call(Ident::parse_any)?;
    let span = first.span();
    let mut key = unraw(&first);
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        if !input.peek(Ident::peek_any) {
            return Err(input.error(
                "expected an identifier after `.` in a dotted attribute key such as `http.method`",
            ));
        }
        let part = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&unraw(&part));
    }
    if input.peek(Token![-]) {
        let mut written = key.clone();
        let fork = input.fork();
        while fork.peek(Token![-]) && fork.peek2(Ident::peek_any) {
            fork.parse::<Token![-]>()?;
            written.push('-');
            written.push_str(&unraw(&fork.call(Ident::parse_any)?));
        }
        return Err(syn::Error::new(
            span,
            format!("an attribute key with `-` must be a string: write \"{written}\" = value"),
        ));
    }
    Ok((key, span, false))
}

/// `= value`, `= %value` or `= ?value` after a key.
pub(crate) fn parse_value(
    input: ParseStream<'_>,
    key: &str,
    key_span: Span,
    usage: &str,
) -> syn::Result<Value> {
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key_span,
            format!("the attribute `{key}` needs a value: {usage}"),
        ));
    }
    input.parse::<Token![=]>()?;
    if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        return Ok(Value::Display(input.parse()?));
    }
    if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        return Ok(Value::Debug(input.parse()?));
    }
    Ok(Value::Typed(input.parse()?))
}

/// Reports a key given twice.
pub(crate) fn check_duplicate(
    attributes: &[Attribute],
    key: &str,
    key_span: Span,
    errors: &mut Errors,
) {
    if attributes.iter().any(|a| a.key == key) {
        errors.push(given_twice(
            key_span,
            &format!("attribute `{key}`"),
            &format!("`{key} = …` earlier in the list"),
        ));
    }
}

/// The one error for anything given twice, at the second occurrence. Stable
/// proc macros cannot attach a note pointing at the first, so the message
/// says where it was: `first` describes it.
pub(crate) fn given_twice(second: Span, what: &str, first: &str) -> syn::Error {
    syn::Error::new(
        second,
        format!("duplicate {what}: it was first given as {first}; give it once"),
    )
}

pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}

/// The span kind for `kind = ident` / `kind: ident`.
pub(crate) fn parse_kind(ident: &Ident, krate: &TokenStream) -> syn::Result<TokenStream> {
    let variant = match unraw(ident).as_str() {
        "internal" => quote!(Internal),
        "server" => quote!(Server),
        "client" => quote!(Client),
        "producer" => quote!(Producer),
        "consumer" => quote!(Consumer),
        other => {
            return Err(syn::Error::new(
                ident.span(),
                format!("unknown span kind `{other}`; expected one of: internal, server, client, producer, consumer"),
            ))
        }
    };
    Ok(quote!(#krate::__private::Kind::#variant))
}

/// What the span records at its start: a name made at run time, attributes
/// and links, written to `sink` (a `__private::Sink`) only when the span is
/// recorded, so the expressions are not evaluated otherwise.
pub(crate) fn record_at_start(
    krate: &TokenStream,
    sink: &TokenStream,
    name: Option<&Expr>,
    attributes: &[Attribute],
    links: &[Expr],
) -> TokenStream {
    if name.is_none() && attributes.is_empty() && links.is_empty() {
        return TokenStream::new();
    }
    let rename = name.map(|name| {
        let name = quote_spanned!(name.span()=> #krate::__private::span_name(#name));
        quote!(#krate::__private::Sink::rename(&mut __traced_sink, #name);)
    });
    let sets = attributes.iter().map(|a| {
        let key = &a.key;
        // Spanned at the value, so a type that cannot be recorded is
        // reported there.
        let value = match &a.value {
            // A string literal is recorded as a `&'static str`: no copy.
            Value::Typed(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            })) => {
                quote_spanned!(lit.span()=> #krate::__private::Value::from(#lit))
            }
            Value::Typed(e) => quote_spanned!(e.span()=> #krate::__private::to_value(&(#e))),
            Value::Display(e) => quote_spanned!(e.span()=> #krate::__private::display(&(#e))),
            Value::Debug(e) => quote_spanned!(e.span()=> #krate::__private::debug(&(#e))),
        };
        quote!(#krate::__private::Sink::set_attribute(&mut __traced_sink, #key, #value);)
    });
    let links = links.iter().map(|link| {
        let target = quote_spanned!(link.span()=> #krate::__private::span_ref(&(#link)));
        quote!(#krate::__private::Sink::add_link(&mut __traced_sink, #target);)
    });
    quote! {
        {
            let mut __traced_sink = #sink;
            if #krate::__private::Sink::is_recording(&__traced_sink) {
                #rename
                #(#sets)*
                #(#links)*
            }
        }
    }
}
