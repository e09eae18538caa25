//! `pnag-build`: what a PNAG-rs application's `build.rs` compiles.
//!
//! [`Config::compile`] reads the app's `targets/<device>.toml` ([`Targets`]), runs the
//! trained budget-conditioned generator for every budget (pure Rust, the shipped models
//! embedded), scores its candidates with the device's cost model and the accuracy model,
//! takes each chosen subnet's weights (extracted from an OFA supernet, a subnet file, or
//! seeded synthetic ones) and writes the [`Selection`] `pnag_macros::network!` reads.
//!
//! Nothing here runs a network: tract, clap and libtorch are not dependencies. Training,
//! profiling, plots, reports and benchmarks live in the `pnag` CLI (`pnag-cli`).
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), pnag_build::BuildError> {
//!     pnag_build::Config::new().targets("targets/host.toml").compile()?;
//!     Ok(())
//! }
//! ```
//!
//! # The public API
//!
//! What is documented here is the whole promise: the build [`Config`] and its errors, the
//! parsed [`Targets`] file with its devices, the [`Selection`] it produces, and the
//! generator for library users who want answers without a build ([`Generator`],
//! [`Objective`]). `scripts/ci/public-api.sh` fails CI when an item appears that is not
//! in `pnag-build/public-api.txt`, so growing this list is a reviewed decision.
//!
//! The modules below are public only for the `pnag` CLI and this workspace's tests (as
//! serde's `__private`): they are hidden from the documentation and carry no semver
//! promise. Read them in pipeline order: [`targets`](self) → `cost` / `accuracy` →
//! `objective` → `generator` → `weights` → `config`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The pipeline, in the order a budget flows through it.
#[doc(hidden)]
pub mod accuracy;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod constraints;
#[doc(hidden)]
pub mod cost;
#[doc(hidden)]
pub mod device;
#[doc(hidden)]
pub mod generator;
#[doc(hidden)]
pub mod objective;
#[doc(hidden)]
pub mod predictor;
#[doc(hidden)]
pub mod targets;
#[doc(hidden)]
pub mod weights;
// Shared helpers.
mod fxhash;
#[doc(hidden)]
pub mod rng;
#[doc(hidden)]
pub mod sample;
#[doc(hidden)]
pub mod stats;

pub use config::{BudgetError, BuildError, BuildProblem, Config, TARGETS_ENV};
pub use cost::BuiltinDevice;
pub use generator::{GenerateOptions, Generated, Generator, GeneratorError};
pub use objective::{Objective, ObjectiveError};
pub use pnag_runtime::selection::Selection;
pub use targets::{Budget, TargetDevice, Targets, TargetsError, WeightsDtype, WeightsPlan};
