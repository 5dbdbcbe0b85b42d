//! Arguments of `#[traced(...)]`: parsed loosely first, then validated so
//! that every mistake is reported at its own tokens, all at once.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitStr, Token};

use crate::fallback::Errors;

/// What the attribute accepts, for error messages.
pub(crate) const EXPECTED: &str =
    "expected a span name: #[traced], #[traced(\"name\")] or #[traced(name = \"name\")]";

/// One comma-separated argument, before validation.
enum RawArg {
    /// `"name"` (or a literal of another type, refused later).
    Lit(Lit),
    /// `key = value`.
    KeyValue(Ident, Expr),
    /// `key`, `key(...)` or anything else: refused later with a message.
    Other(Ident),
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Lit) {
            return Ok(RawArg::Lit(input.parse()?));
        }
        if input.peek(Ident::peek_any) {
            let key = input.call(Ident::parse_any)?;
            if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                return Ok(RawArg::KeyValue(key, input.parse()?));
            }
            // Skip whatever follows up to the next comma.
            input.step(|cursor| {
                let mut rest = *cursor;
                while let Some((tt, next)) = rest.token_tree() {
                    if let proc_macro2::TokenTree::Punct(p) = &tt {
                        if p.as_char() == ',' {
                            return Ok(((), rest));
                        }
                    }
                    rest = next;
                }
                Ok(((), rest))
            })?;
            return Ok(RawArg::Other(key));
        }
        Err(input.error(EXPECTED))
    }
}

/// Validated arguments.
#[derive(Default)]
pub(crate) struct TracedArgs {
    pub(crate) name: Option<LitStr>,
}

impl TracedArgs {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let raw = syn::parse::Parser::parse2(Punctuated::<RawArg, Token![,]>::parse_terminated, tokens)?;
        let mut args = TracedArgs::default();
        let mut errors = Errors::default();
        let mut name_at: Option<Span> = None;
        let mut set_name = |lit: LitStr, errors: &mut Errors| {
            if let Some(first) = name_at {
                let mut error = syn::Error::new(lit.span(), "duplicate span name: give the name once");
                error.combine(syn::Error::new(first, "the name was first given here"));
                errors.push(error);
            } else if lit.value().is_empty() {
                errors.push(syn::Error::new(
                    lit.span(),
                    "the span name is empty: write a name such as #[traced(\"load_user\")], or #[traced] to use the function's name",
                ));
            } else {
                name_at = Some(lit.span());
                args.name = Some(lit);
            }
        };
        for arg in raw {
            match arg {
                RawArg::Lit(Lit::Str(lit)) => set_name(lit, &mut errors),
                RawArg::Lit(other) => errors.push(syn::Error::new(
                    other.span(),
                    "the span name must be a string literal: #[traced(\"name\")]",
                )),
                RawArg::KeyValue(key, value) if key == "name" => match value {
                    Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => set_name(lit, &mut errors),
                    other => errors.push(syn::Error::new_spanned(
                        other,
                        "`name` takes a string literal: #[traced(name = \"name\")]",
                    )),
                },
                RawArg::KeyValue(key, _) | RawArg::Other(key) => errors.push(unknown(&key)),
            }
        }
        errors.finish().map(|()| args)
    }
}

fn unknown(key: &Ident) -> syn::Error {
    let hint = match key.to_string().as_str() {
        "kind" | "attrs" | "ret" | "err" | "parent" | "links" | "crate" | "fields" | "skip" | "level" => {
            format!("`{key}` is not supported by this version of #[traced]; ")
        }
        _ => format!("unknown argument `{key}`; "),
    };
    syn::Error::new(key.span(), format!("{hint}{EXPECTED}"))
}
