//! `pnag-macros`: procedural macros that turn a PNAG architecture into code
//! at compile time, so a bad architecture is a compile error, not a runtime one.
//!
//! - [`network!`]: one chosen subnet as a module — consts describing it, its
//!   weights embedded with `include_bytes!` (only its tensors) and an unrolled
//!   tract builder. The arch comes from the selection a `build.rs` wrote with
//!   `pnag_build::Config` (by budget name), or from an explicit literal.
//! - [`arch!`]: a compile-time-validated [`pnag_runtime::Arch`].

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod network;

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
        Err(err) => syn::Error::new(lit.span(), err.to_string())
            .to_compile_error()
            .into(),
    }
}

/// One chosen subnet as a module.
///
/// By budget name, from the targets TOML the crate's `build.rs` compiled:
///
/// ```ignore
/// pnag_macros::network!(pub mod fast, budget = "fast");
/// let net = fast::build(fast::options())?; // a pnag_runtime::Network
/// println!("{} predicted {} {} on {}", fast::ARCH, fast::PREDICTED_COST, fast::COST_UNIT, fast::DEVICE);
/// ```
///
/// Or an explicit arch (no build.rs needed); weights are a safetensors file
/// relative to the crate (`weights = "w.safetensors"`) or, by default, seeded
/// synthetic UNTRAINED ones (`seed = 0`):
///
/// ```
/// pnag_macros::network!(mod small, arch = "2,2,2,2,2:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0", width = 1.0, resolution = 128);
///
/// assert!(small::UNTRAINED); // synthetic weights: the logits mean nothing
/// assert_eq!(small::DEPTHS, [2; 5]);
/// let net = small::build(small::options())?; // a pnag_runtime::Network (tract)
/// let shape = net.input_shape();
/// let logits = net.run(&shape, &vec![0.1; shape.iter().product()])?;
/// assert_eq!(logits.row(0).len(), 1000);
/// # Ok::<(), pnag_runtime::RuntimeError>(())
/// ```
///
/// The module holds `ARCH`, `DEPTHS`, `KERNELS`, `EXPANDS`, `WIDTH`, `RESOLUTION`,
/// `MACS`, `PARAMS`, `UNTRAINED`, `WEIGHTS_ORIGIN`, `BLOCKS` (every block's kernel,
/// stride and widths as literals), `WEIGHTS` (embedded bytes), and with a budget
/// also `DEVICE`, `BUDGET`, `COST_UNIT`, `PREDICTED_COST`, `PREDICTED_TOP1`,
/// `THREADS`, `RUNTIME`; functions `arch()`, `spec()`, `weights()`, `options()`,
/// `build(options)`. The crate must depend on `pnag-runtime`.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as network::NetworkInput);
    match network::expand(input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
