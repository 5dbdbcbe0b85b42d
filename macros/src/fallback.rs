//! What to emit when the input is wrong: every error, plus the item
//! unchanged, so one mistake does not cascade into errors about the body.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn item_with_errors(errors: &syn::Error, item: &TokenStream) -> TokenStream {
    let errors = errors.to_compile_error();
    quote! {
        #errors
        #item
    }
}

/// Merges errors so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}
