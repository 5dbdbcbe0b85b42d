//! `span!`: a span around a block, or for the rest of a scope.
//!
//! ```text
//! span!("name")                              -> a guard; the span ends when it drops
//! span!("name", key = expr, a.b = %expr)     -> the same, with attributes
//! span!("name", kind: client, parent: p, key = expr, { ... })
//!                                            -> runs the block in the span, yields its value
//! span!("name", key = expr, async move { ... })
//!                                            -> a future running the block in the span
//! ```
//! `key = value` is always an attribute; options are written `option: value`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Block, Expr, ExprAsync, Ident, Lit, LitStr, Path, Token};

use crate::attrs::{self, record_at_start, Attribute};
use crate::fallback::Errors;
use crate::site::{default_crate, site_static};

const USAGE: &str = "write span!(\"name\"), span!(\"name\", key = value, ...) or span!(\"name\", key = value, { ... })";

/// How to name a span at run time, for the errors about names.
const DYNAMIC_NAME: &str =
    "a name made at run time is an expression giving a String or &'static str: span!(format!(..))";

const OPTIONS: &str =
    "parent: expr, kind: server|client|producer|consumer|internal, links: [expr, ...], crate: path";

/// What the span covers.
enum Body {
    /// The rest of the scope: the macro returns the guard.
    Guard,
    /// A block, run now.
    Block(Block),
    /// An `async` block: the macro returns a future that runs it in the span.
    Async(ExprAsync),
}

/// The span's name.
enum Name {
    /// `span!("name", ..)`: fixed at compile time.
    Literal(LitStr),
    /// `span!(format!(..), ..)`: evaluated when the span is recorded.
    Dynamic(Expr),
}

struct SpanInput {
    name: Name,
    kind: Option<Ident>,
    parent: Option<Expr>,
    links: Vec<Expr>,
    krate: Option<Path>,
    attributes: Vec<Attribute>,
    body: Body,
}

impl Parse for SpanInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut span = SpanInput {
            name: parse_name(input)?,
            kind: None,
            parent: None,
            links: Vec::new(),
            krate: None,
            attributes: Vec::new(),
            body: Body::Guard,
        };
        let mut errors = Errors::default();
        let mut seen_options: Vec<String> = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if input.peek(syn::token::Brace) || input.peek(Token![async]) {
                span.body = if input.peek(Token![async]) {
                    Body::Async(input.parse::<ExprAsync>()?)
                } else {
                    Body::Block(input.parse::<Block>()?)
                };
                if !input.is_empty() {
                    let rest: TokenStream = input.parse()?;
                    if rest.to_string() != "," {
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
                input.parse::<Token![:]>()?;
                let name = attrs::unraw(&option);
                if seen_options.contains(&name) {
                    errors.push(attrs::given_twice(
                        option.span(),
                        &format!("`{name}:`"),
                        &format!("`{name}: …` earlier in this span!"),
                    ));
                }
                seen_options.push(name.clone());
                if let Err(e) = span.option(&option, &name, input) {
                    errors.push(e);
                    // Skip the value so the rest is still checked.
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                }
                continue;
            }
            let (key, key_span, literal) = attrs::parse_key_form(input, USAGE)?;
            if !literal && !input.peek(Token![=]) {
                if let Some(hint) = option_hint(&key) {
                    return Err(syn::Error::new(key_span, hint));
                }
            }
            let value = attrs::parse_value(input, &key, key_span, "span!(\"name\", key = value)")?;
            if !literal {
                if let Some(error) = option_written_as_attribute(&key, key_span, &value) {
                    errors.push(error);
                }
            }
            attrs::check_duplicate(&span.attributes, &key, key_span, &mut errors);
            span.attributes.push(Attribute { key, value });
        }
        errors.finish()?;
        Ok(span)
    }
}

impl SpanInput {
    fn option(&mut self, option: &Ident, name: &str, input: ParseStream<'_>) -> syn::Result<()> {
        match name {
            "kind" => {
                let kind: Ident = input.call(Ident::parse_any).map_err(|e| {
                    syn::Error::new(e.span(), "`kind:` takes one of: internal, server, client, producer, consumer")
                })?;
                self.kind = Some(kind);
            }
            "parent" => self.parent = Some(input.parse()?),
            "links" => {
                if !input.peek(syn::token::Bracket) {
                    return Err(input.error("`links:` takes a list in brackets: span!(\"name\", links: [first, second])"));
                }
                let content;
                syn::bracketed!(content in input);
                self.links = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?
                    .into_iter()
                    .collect();
            }
            "crate" => self.krate = Some(input.call(Path::parse_mod_style)?),
            _ => {
                return Err(syn::Error::new(
                    option.span(),
                    format!("unknown span! option `{option}:`; expected one of: {OPTIONS} (attributes are written `key = value`)"),
                ))
            }
        }
        Ok(())
    }
}

/// `kind = client`, `parent = p`, `links = [..]`: options written the way
/// `#[traced(..)]` writes them. In `span!` that would be an attribute, which
/// is almost never what was meant.
fn option_written_as_attribute(
    key: &str,
    key_span: Span,
    value: &attrs::Value,
) -> Option<syn::Error> {
    let kind_like = matches!(value, attrs::Value::Typed(Expr::Path(p))
        if p.path.get_ident().is_some_and(|i| ["internal", "server", "client", "producer", "consumer"].contains(&i.to_string().as_str())));
    if key == "kind" && !kind_like {
        return None;
    }
    option_hint(key).map(|message| syn::Error::new(key_span, message))
}

/// How to write the span! option `key` (`kind`, `parent`, `links`), for a
/// key written some other way (`links = [a]`, `links(a)`, `kind server`).
fn option_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "kind" => "in span! options are written with `:`: span!(\"name\", kind: client, ...); to record an attribute named `kind`, write \"kind\" = value",
        "parent" => "in span! options are written with `:`: span!(\"name\", parent: expr, ...); to record an attribute named `parent`, write \"parent\" = value",
        "links" => "in span! options are written with `:`: span!(\"name\", links: [a, b], ...); to record an attribute named `links`, write \"links\" = value",
        _ => return None,
    })
}

fn parse_name(input: ParseStream<'_>) -> syn::Result<Name> {
    if input.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("span! needs a name: {USAGE}"),
        ));
    }
    if input.peek(syn::token::Brace) || input.peek(Token![async]) {
        return Err(input.error(format!("span! needs a name first: {USAGE}")));
    }
    if input.peek(Lit) {
        return match input.parse::<Lit>()? {
            Lit::Str(name) if name.value().is_empty() => Err(syn::Error::new(
                name.span(),
                "the span name is empty: write a name such as span!(\"load_user\")",
            )),
            Lit::Str(name) => Ok(Name::Literal(name)),
            other => Err(syn::Error::new(
                other.span(),
                format!("the span name must be a string: {USAGE}; {DYNAMIC_NAME}"),
            )),
        };
    }
    match input.parse::<Expr>()? {
        Expr::Assign(assign) => Err(syn::Error::new_spanned(
            assign,
            format!("span! needs a name before its attributes: {USAGE}"),
        )),
        Expr::Path(level) if is_level(&level.path) => Err(no_level(&level, input)),
        name => Ok(Name::Dynamic(name)),
    }
}

/// Whether `path` names one of `tracing`'s levels: `Level::INFO`,
/// `tracing::Level::DEBUG`, ...
fn is_level(path: &Path) -> bool {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(
        segments.as_slice(),
        [.., level, value]
            if level == "Level"
                && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&value.as_str())
    )
}

/// The error for `span!(Level::INFO, "name")`, a `tracing` habit: it says
/// what to write, with the name the user gave when there is one.
fn no_level(level: &syn::ExprPath, input: ParseStream<'_>) -> syn::Error {
    let fork = input.fork();
    let name = fork
        .parse::<Token![,]>()
        .and_then(|_| fork.parse::<LitStr>())
        .map_or_else(|_| "name".to_owned(), |name| name.value());
    syn::Error::new_spanned(
        level,
        format!(
            "span! takes no level: write span!({name:?}); levels belong to `tracing`'s macros \
             (tracing::info_span!), whose spans traced records through its `tracing` bridge"
        ),
    )
}

/// Entry point of `span!`.
pub(crate) fn span(input: TokenStream) -> TokenStream {
    match syn::parse2::<SpanInput>(input).and_then(expand) {
        Ok(tokens) => tokens,
        // A block, so several errors are several statements: the macro may
        // be in expression position.
        Err(e) => {
            let errors = e.to_compile_error();
            quote!({ #errors })
        }
    }
}

fn expand(input: SpanInput) -> syn::Result<TokenStream> {
    let krate = input
        .krate
        .as_ref()
        .map_or_else(default_crate, ToTokens::to_token_stream);
    let kind = match &input.kind {
        Some(kind) => attrs::parse_kind(kind, &krate)?,
        None => quote!(#krate::__private::Kind::Internal),
    };
    let (site_name, dynamic_name) = match &input.name {
        Name::Literal(name) => (name.value(), None),
        // The static name is only seen on spans that are not recorded.
        Name::Dynamic(name) => (name.to_token_stream().to_string(), Some(name)),
    };
    let site = site_static(&krate, &site_name, &kind);
    let parent = input
        .parent
        .as_ref()
        .map(|parent| quote_spanned!(parent.span()=> #krate::__private::span_ref(&(#parent))));
    if let Body::Async(block) = &input.body {
        let start = record_at_start(
            &krate,
            &quote!(#krate::__private::CurrentSpan),
            dynamic_name,
            &input.attributes,
            &input.links,
        );
        let body = if start.is_empty() {
            quote!(#block)
        } else {
            quote!(async move { #start #block.await })
        };
        let instrumented = match parent {
            Some(parent) => {
                quote!(#krate::__private::instrument_with_parent(&__TRACED_SITE, #parent, #body))
            }
            None => quote!(#krate::__private::instrument(&__TRACED_SITE, #body)),
        };
        return Ok(quote! {
            {
                #site
                #instrumented
            }
        });
    }
    let enter = match parent {
        Some(parent) => quote!(#krate::__private::enter_with_parent(&__TRACED_SITE, #parent)),
        None => quote!(#krate::__private::enter(&__TRACED_SITE)),
    };
    let start = record_at_start(
        &krate,
        &quote!(&mut __traced_guard),
        dynamic_name,
        &input.attributes,
        &input.links,
    );
    let binding = if start.is_empty() {
        quote!(let __traced_guard)
    } else {
        quote!(let mut __traced_guard)
    };
    Ok(match input.body {
        // The block's statements are spliced after the guard rather than
        // nested as a block, which keeps `unused_braces` quiet on
        // `span!("n", { expr })`.
        // The braces are the user's: their edition, not this crate's,
        // decides when the temporaries of the last expression drop.
        Body::Block(block) => {
            let stmts = &block.stmts;
            let mut body = proc_macro2::Group::new(
                proc_macro2::Delimiter::Brace,
                quote! {
                    #site
                    #binding = #enter;
                    #start
                    #(#stmts)*
                },
            );
            body.set_span(block.brace_token.span.join());
            body.into_token_stream()
        }
        Body::Guard | Body::Async(_) => quote! {
            {
                #site
                #binding = #enter;
                #start
                __traced_guard
            }
        },
    })
}
