//! `pnag-runtime`: what a PNAG-rs application links to run its chosen subnet.
//!
//! - [`arch`]: the OFA MobileNetV3 search space and the PNAG arch string.
//! - [`encoding`]: PNAG's 120-d one-hot and the OFA accuracy predictor's 128-d features.
//! - [`hash`]: the project's one content hash (FNV-1a 64).
//! - [`kinds`]: typed values the selection hands to the app ([`RuntimeKind`], [`CostUnit`]).
//! - [`spec`]: the layer plan of one subnet (channels, strides, MACs, params).
//! - [`weights`]: OFA-named safetensors weights and a seeded *untrained* initializer.
//! - [`graph`] / [`network`]: the tract graph and the runnable [`Network`].
//! - [`depthwise`]: depthwise convs specialized by kernel size and stride (a tract op).
//! - [`pointwise`]: 1x1 convs with bias, activation and residual fused (a tract op).
//! - [`references`] / [`probe`]: the reference subnets a device is described by, and
//!   measuring them (the `pnag-probe` binary).
//!
//! - [`selection`] (feature `selection`): what `pnag-build` hands the `network!` macro.
//!
//! With `default-features = false` only `arch`, `encoding` and `spec` are compiled (no tract):
//! what the proc macro uses. Feature `weights` adds [`weights`] and [`error`] without tract:
//! what `pnag-build` (inside an app's `build.rs`) uses.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arch;
pub mod encoding;
pub mod hash;
pub mod kinds;
pub mod references;
pub mod spec;

#[cfg(feature = "selection")]
pub mod selection;

#[cfg(feature = "engine")]
pub mod depthwise;
#[cfg(feature = "weights")]
pub mod error;
#[cfg(feature = "engine")]
pub mod graph;
#[cfg(feature = "engine")]
pub mod network;
#[cfg(feature = "engine")]
mod ops;
#[cfg(feature = "engine")]
pub mod pointwise;
#[cfg(feature = "engine")]
pub mod probe;
#[cfg(feature = "engine")]
mod simd;
#[cfg(feature = "engine")]
mod threads;
#[cfg(feature = "weights")]
pub mod weights;

pub use arch::{Arch, ArchError, Width};
pub use kinds::{CostUnit, RuntimeKind};
pub use spec::{Activation, BlockSpec, NetworkSpec};

#[cfg(feature = "weights")]
pub use error::RuntimeError;
#[cfg(feature = "engine")]
pub use network::{Device, Kernels, Logits, Network, NetworkOptions};
#[cfg(feature = "engine")]
pub use simd::Simd;
#[cfg(feature = "weights")]
pub use weights::{Weights, WeightsSource};
