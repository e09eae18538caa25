//! `pnag-runtime`: what a PNAG-rs application links to run its chosen subnet.
//!
//! - [`arch`]: the OFA MobileNetV3 search space and the PNAG arch string.
//! - [`encoding`]: PNAG's 120-d one-hot and the OFA accuracy predictor's 128-d features.
//! - [`hash`]: the project's one content hash (FNV-1a 64).
//! - [`kinds`]: typed values the selection hands to the app ([`RuntimeKind`], [`CostUnit`]).
//! - [`spec`]: the layer plan of one subnet (channels, strides, MACs, params).
//! - [`weights`]: OFA-named safetensors weights and a seeded *untrained* initializer.
//! - [`Network`] ([`network`]): one subnet built in tract and run; [`NetworkOptions`]
//!   ([`options`]): batch, threads, device, kernels.
//! - [`ops`]: our tract ops — depthwise per kernel size and stride, the fused 1×1 conv,
//!   the stem, squeeze-excite and the head's matrix-vector.
//! - [`references`] / [`probe`]: the reference subnets a device is described by, and
//!   measuring them (the `pnag-probe` binary); [`stats`]: the one quantile.
//!
//! - [`selection`] (feature `selection`): what `pnag-build` hands the `network!` macro.
//!
//! With `default-features = false` only `arch`, `encoding` and `spec` are compiled (no tract):
//! what the proc macro uses. Feature `weights` adds [`weights`] and [`RuntimeError`] without tract:
//! what `pnag-build` (inside an app's `build.rs`) uses.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arch;
pub mod encoding;
pub mod hash;
pub mod kinds;
pub mod memory;
pub mod references;
pub mod spec;
pub mod stats;

#[cfg(feature = "selection")]
pub mod selection;

#[cfg(feature = "weights")]
mod error;
pub mod files;
#[cfg(feature = "engine")]
mod graph;
#[cfg(feature = "engine")]
pub mod network;
#[cfg(feature = "engine")]
pub mod ops;
#[cfg(feature = "engine")]
pub mod options;
#[cfg(feature = "engine")]
pub mod probe;
#[cfg(feature = "engine")]
mod simd;
#[cfg(feature = "engine")]
mod threads;
#[cfg(feature = "weights")]
pub mod weights;

pub use arch::{Arch, ArchError, Width};
pub use kinds::{CostUnit, RuntimeKind, MAX_THREADS};
pub use spec::{Activation, BlockSpec, NetworkSpec};

#[cfg(feature = "weights")]
pub use error::RuntimeError;
#[cfg(feature = "engine")]
pub use network::{Logits, Network};
#[cfg(feature = "engine")]
pub use options::{Device, Kernels, NetworkOptions};
#[cfg(feature = "engine")]
pub use simd::{Simd, SimdPath};
#[cfg(feature = "weights")]
pub use weights::{Weights, WeightsSource};

/// What `pnag_macros::network!` expands into and the `pnag` CLI's single-layer benchmarks
/// build on: not part of the API (no semver promise), as serde's `__private`.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "engine")]
    pub use crate::error::tract_err;
    #[cfg(feature = "engine")]
    pub use crate::graph::{depthwise_layer, pointwise_layer, SubnetGraph};
}
