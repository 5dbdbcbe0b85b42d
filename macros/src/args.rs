//! Arguments of `#[traced(...)]`: parsed loosely first, then validated so
//! that every mistake is reported at its own tokens, all at once.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitBool, LitStr, Path, Token};

use crate::attrs::{self, Attribute};
use crate::fallback::Errors;

/// What the attribute accepts, for error messages.
pub(crate) const EXPECTED: &str = "expected one of: a span name (\"name\" or name = \"name\"), \
kind = server|client|producer|consumer|internal, attrs(key = value, ...), ret, err = false, \
parent = expr, links(expr, ...), crate = path";

const ATTRS_USAGE: &str = "#[traced(attrs(key = value, http.method = %method, debug = ?value))]";

/// One comma-separated argument, before validation.
enum RawArg {
    /// `"name"` (or a literal of another type, refused later).
    Lit(Lit),
    /// `key = value`.
    KeyValue(Ident, Expr),
    /// `key(...)`.
    List(Ident, TokenStream),
    /// `key`.
    Flag(Ident),
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Lit) {
            return Ok(RawArg::Lit(input.parse()?));
        }
        if input.peek(Ident::peek_any) {
            let key = input.call(Ident::parse_any)?;
            if input.peek(Token![:]) && !input.peek(Token![::]) {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "in #[traced] options are written with `=`: #[traced({key} = ...)] \
                         (`{key}: ...` is how span! writes them)"
                    ),
                ));
            }
            if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                return Ok(RawArg::KeyValue(key, input.parse()?));
            }
            if input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in input);
                return Ok(RawArg::List(key, content.parse()?));
            }
            return Ok(RawArg::Flag(key));
        }
        Err(input.error(EXPECTED))
    }
}

impl RawArg {
    fn key(&self) -> Option<&Ident> {
        match self {
            RawArg::Lit(_) => None,
            RawArg::KeyValue(key, _) | RawArg::List(key, _) | RawArg::Flag(key) => Some(key),
        }
    }
}

/// Validated arguments.
pub(crate) struct TracedArgs {
    pub(crate) name: Option<LitStr>,
    /// `name = expr`: a name made at run time, when the span is recorded.
    pub(crate) dynamic_name: Option<Expr>,
    pub(crate) kind: Option<Ident>,
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) ret: bool,
    pub(crate) err: bool,
    pub(crate) parent: Option<Expr>,
    pub(crate) links: Vec<Expr>,
    pub(crate) krate: Option<Path>,
}

impl TracedArgs {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let raw = Punctuated::<RawArg, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = TracedArgs {
            name: None,
            dynamic_name: None,
            kind: None,
            attributes: Vec::new(),
            ret: false,
            err: true,
            parent: None,
            links: Vec::new(),
            krate: None,
        };
        let mut errors = Errors::default();
        // Each option seen, with how it was first written.
        let mut seen: Vec<(String, String)> = Vec::new();
        for arg in raw {
            // One check for every option given twice.
            let option = match &arg {
                RawArg::Lit(lit) => Some((
                    "name".to_owned(),
                    lit.span(),
                    format!("`{}` at the start", lit.to_token_stream()),
                )),
                other => other.key().map(|k| {
                    let key = attrs::unraw(k);
                    let written = format!("`{key}` earlier in #[traced(..)]");
                    (key, k.span(), written)
                }),
            };
            if let Some((option, span, written)) = option {
                if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == option) {
                    errors.push(attrs::given_twice(span, &format!("`{option}`"), first));
                    continue;
                }
                seen.push((option, written));
            }
            if let Err(e) = args.apply(arg) {
                errors.push(e);
            }
        }
        errors.finish().map(|()| args)
    }

    fn apply(&mut self, arg: RawArg) -> syn::Result<()> {
        match arg {
            RawArg::Lit(Lit::Str(lit)) => self.name = Some(name(lit, "#[traced(\"load_user\")]")?),
            RawArg::Lit(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    "the span name must be a string literal: #[traced(\"name\")]; for a name made at run time, \
                     write #[traced(name = format!(..))]",
                ))
            }
            RawArg::KeyValue(key, value) => match attrs::unraw(&key).as_str() {
                "name" => match value {
                    Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => {
                        self.name = Some(name(lit, "#[traced(name = \"load_user\")]")?);
                    }
                    Expr::Lit(other) => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`name` takes a string literal, or an expression giving a String or &'static str: #[traced(name = format!(..))]",
                        ))
                    }
                    other => self.dynamic_name = Some(other),
                },
                "kind" => match value {
                    Expr::Path(p) if p.path.get_ident().is_some() && p.qself.is_none() => {
                        self.kind = p.path.get_ident().cloned();
                    }
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`kind` takes one of: internal, server, client, producer, consumer: #[traced(kind = server)]",
                        ))
                    }
                },
                "err" => match value {
                    Expr::Lit(syn::ExprLit { lit: Lit::Bool(LitBool { value, .. }), .. }) => self.err = value,
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`err` takes `true` or `false`: #[traced(err = false)] stops recording `Err` returns as errors",
                        ))
                    }
                },
                "parent" => self.parent = Some(value),
                "crate" => match value {
                    Expr::Path(p) if p.qself.is_none() => self.krate = Some(p.path),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`crate` takes the path under which `traced` is reachable: #[traced(crate = ::my_crate::traced)]",
                        ))
                    }
                },
                "attrs" | "links" | "ret" => return Err(misused(&key)),
                _ => return Err(unknown(&key, Form::KeyValue)),
            },
            RawArg::List(key, tokens) => match attrs::unraw(&key).as_str() {
                "attrs" => self.attributes = parse_attributes.parse2(tokens)?,
                "links" => {
                    self.links = Punctuated::<Expr, Token![,]>::parse_terminated
                        .parse2(tokens)?
                        .into_iter()
                        .collect();
                }
                "name" | "kind" | "err" | "parent" | "crate" | "ret" => return Err(misused(&key)),
                _ => return Err(unknown(&key, Form::List)),
            },
            RawArg::Flag(key) => match attrs::unraw(&key).as_str() {
                "ret" => self.ret = true,
                "err" => self.err = true,
                "name" | "kind" | "attrs" | "parent" | "links" | "crate" => return Err(misused(&key)),
                _ => {
                    let named = self.name.is_some() || self.dynamic_name.is_some();
                    return Err(unknown(&key, Form::Flag { named }));
                }
            },
        }
        Ok(())
    }
}

fn name(lit: LitStr, example: &str) -> syn::Result<LitStr> {
    if lit.value().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("the span name is empty: write a name such as {example}, or #[traced] to use the function's name"),
        ));
    }
    Ok(lit)
}

/// `attrs(key = value, ...)`.
fn parse_attributes(input: ParseStream<'_>) -> syn::Result<Vec<Attribute>> {
    let mut attributes = Vec::new();
    let mut errors = Errors::default();
    while !input.is_empty() {
        let (key, key_span) = attrs::parse_key(input, ATTRS_USAGE)?;
        let value = attrs::parse_value(input, &key, key_span, ATTRS_USAGE)?;
        attrs::check_duplicate(&attributes, &key, key_span, &mut errors);
        attributes.push(Attribute { key, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    errors.finish().map(|()| attributes)
}

/// The error for a known option written in the wrong form.
fn misused(key: &Ident) -> syn::Error {
    let usage = match attrs::unraw(key).as_str() {
        "name" => "#[traced(name = \"name\")] or #[traced(\"name\")]",
        "kind" => "#[traced(kind = server)]",
        "attrs" => ATTRS_USAGE,
        "ret" => "#[traced(ret)] (it takes no value)",
        "err" => "#[traced(err = false)]",
        "parent" => "#[traced(parent = expr)]",
        "links" => "#[traced(links(expr, expr))]",
        _ => "#[traced(crate = ::my_crate::traced)]",
    };
    syn::Error::new(key.span(), format!("write `{key}` as {usage}"))
}

/// How an unknown option was written: `key`, `key = value` or `key(..)`.
enum Form {
    /// Whether the span was already given a name.
    Flag {
        named: bool,
    },
    KeyValue,
    List,
}

fn unknown(key: &Ident, form: Form) -> syn::Error {
    let hint = match (key.to_string().as_str(), form) {
        ("fields", _) => " (attributes are written attrs(key = value))".to_owned(),
        ("skip" | "skip_all", _) => {
            " (arguments are never recorded unless listed in attrs(..))".to_owned()
        }
        ("level" | "target", _) => " (spans have no level or target)".to_owned(),
        (other, Form::Flag { named: false }) => {
            format!(" (to name the span `{other}`, write #[traced(\"{other}\")])")
        }
        (other, Form::KeyValue) => {
            format!(" (to record an attribute `{other}`, write attrs({other} = ..))")
        }
        (_, Form::Flag { named: true } | Form::List) => String::new(),
    };
    syn::Error::new(
        key.span(),
        format!("unknown argument `{key}`{hint}; {EXPECTED}"),
    )
}
