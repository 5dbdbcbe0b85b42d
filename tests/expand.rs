//! Expansion snapshots, without nightly: the macros' own expansion
//! functions (compiled into this test from `macros/src`) run on each
//! `expand/*.rs` file, and the result, pretty-printed, must equal the
//! file's `*.expanded.rs`. Set `UPDATE_EXPANDED=1` to rewrite the snapshots
//! after an intended change, and read the diff.

#![allow(clippy::all, clippy::pedantic)]

#[allow(dead_code)]
#[path = "../macros/src/args.rs"]
mod args;
#[allow(dead_code)]
#[path = "../macros/src/attrs.rs"]
mod attrs;
#[allow(dead_code)]
#[path = "../macros/src/expand.rs"]
mod expand;
#[allow(dead_code)]
#[path = "../macros/src/fallback.rs"]
mod fallback;
#[allow(dead_code)]
#[path = "../macros/src/scope.rs"]
mod scope;
#[allow(dead_code)]
#[path = "../macros/src/site.rs"]
mod site;

use std::fs;
use std::path::Path;

use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};

struct Expander;

fn take_traced(attrs: &mut Vec<syn::Attribute>) -> Option<proc_macro2::TokenStream> {
    let position = attrs.iter().position(|a| a.path().is_ident("traced"))?;
    let attr = attrs.remove(position);
    Some(match attr.meta {
        syn::Meta::Path(_) => proc_macro2::TokenStream::new(),
        syn::Meta::List(list) => list.tokens,
        syn::Meta::NameValue(nv) => panic!("unexpected #[traced = ..]: {}", nv.to_token_stream()),
    })
}

fn is_span_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| s.ident == "span")
}

impl VisitMut for Expander {
    fn visit_item_fn_mut(&mut self, item: &mut syn::ItemFn) {
        visit_mut::visit_item_fn_mut(self, item);
        if let Some(args) = take_traced(&mut item.attrs) {
            let expanded = expand::traced(args, &item.to_token_stream());
            *item = syn::parse2(expanded).expect("expansion parses as a fn");
        }
    }

    fn visit_impl_item_fn_mut(&mut self, item: &mut syn::ImplItemFn) {
        visit_mut::visit_impl_item_fn_mut(self, item);
        if let Some(args) = take_traced(&mut item.attrs) {
            let expanded = expand::traced(args, &item.to_token_stream());
            *item = syn::parse2(expanded).expect("expansion parses as a method");
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::Macro(m) = expr {
            if is_span_macro(&m.mac) {
                *expr = syn::parse2(scope::span(m.mac.tokens.clone()))
                    .expect("span! expands to an expression");
            }
        }
    }

    fn visit_stmt_mut(&mut self, stmt: &mut syn::Stmt) {
        visit_mut::visit_stmt_mut(self, stmt);
        if let syn::Stmt::Macro(m) = stmt {
            if is_span_macro(&m.mac) {
                let expr: syn::Expr = syn::parse2(scope::span(m.mac.tokens.clone()))
                    .expect("span! expands to an expression");
                *stmt = syn::Stmt::Expr(expr, m.semi_token);
            }
        }
    }
}

#[test]
fn expansions_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("expand");
    let update = std::env::var_os("UPDATE_EXPANDED").is_some();
    let mut checked = 0;
    let mut mismatched = Vec::new();
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    inputs.sort();
    for input in inputs {
        let source = fs::read_to_string(&input).unwrap();
        let mut file = syn::parse_file(&source).unwrap();
        Expander.visit_file_mut(&mut file);
        let expanded = prettyplease::unparse(&file);
        let snapshot = input.with_extension("expanded.rs");
        match fs::read_to_string(&snapshot) {
            Ok(existing) if existing == expanded => {}
            Ok(_) | Err(_) if update => fs::write(&snapshot, &expanded).unwrap(),
            Ok(_) => mismatched.push(snapshot.display().to_string()),
            Err(_) => panic!(
                "{} is missing; run with UPDATE_EXPANDED=1 to create it",
                snapshot.display()
            ),
        }
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected expansion inputs in {}",
        dir.display()
    );
    assert!(
        mismatched.is_empty(),
        "expansions changed (UPDATE_EXPANDED=1 rewrites them): {mismatched:?}"
    );
}
