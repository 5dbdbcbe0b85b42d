//! The `static` describing a call site, shared by both macros.

use proc_macro2::TokenStream;
use quote::quote;

/// A `static __TRACED_SITE` item for a span named `name`.
pub(crate) fn site_static(krate: &TokenStream, name: &str, kind: &TokenStream) -> TokenStream {
    quote! {
        static __TRACED_SITE: #krate::__private::Site = #krate::__private::Site {
            name: #name,
            kind: #kind,
            scope_name: match ::core::option_env!("CARGO_PKG_NAME") {
                ::core::option::Option::Some(name) => name,
                ::core::option::Option::None => "unknown",
            },
            scope_version: match ::core::option_env!("CARGO_PKG_VERSION") {
                ::core::option::Option::Some(version) => version,
                ::core::option::Option::None => "",
            },
            module_path: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
        };
    }
}

/// The path of the runtime crate in generated code.
pub(crate) fn default_crate() -> TokenStream {
    quote!(::traced)
}
