//! The `static` describing a call site, shared by both macros.

use proc_macro2::TokenStream;
use quote::quote;

/// A `static __TRACED_SITE` item for a span named `name`.
pub(crate) fn site_static(krate: &TokenStream, name: &str, kind: &TokenStream) -> TokenStream {
    quote! {
        static __TRACED_SITE: #krate::__private::Site = #krate::__private::Site::new(
            #name,
            #kind,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
    }
}

/// The path of the runtime crate in generated code.
pub(crate) fn default_crate() -> TokenStream {
    quote!(::traced)
}
