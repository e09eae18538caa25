//! `pnag-macros`: procedural macros that turn a PNAG architecture into code
//! at compile time, so a bad architecture is a compile error, not a runtime one.
//!
//! Today: [`arch!`], a compile-time-validated [`pnag_runtime::Arch`]. The
//! deployment macro that emits a whole specialized network builds on it.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, LitStr};

/// `arch!("d1,..,d5:k1,..,k20:e1,..,e20")` — a `pnag_runtime::Arch` checked at
/// compile time; an invalid string is a compile error pointing at the literal.
///
/// ```
/// let a = pnag_macros::arch!("2,2,2,2,2:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0");
/// assert_eq!(a, pnag_runtime::Arch::smallest());
/// ```
#[proc_macro]
pub fn arch(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    match pnag_runtime::Arch::parse(&lit.value()) {
        Ok(a) => {
            let (d, k, e) = (a.depths(), a.kernels(), a.expands());
            quote! {
                match ::pnag_runtime::Arch::new([#(#d),*], [#(#k),*], [#(#e),*]) {
                    ::core::result::Result::Ok(arch) => arch,
                    ::core::result::Result::Err(_) => ::core::unreachable!("validated by pnag_macros::arch!"),
                }
            }
            .into()
        }
        Err(err) => syn::Error::new(lit.span(), err.to_string()).to_compile_error().into(),
    }
}
