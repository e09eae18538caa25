//! `pnag-build`: what a PNAG-rs application's `build.rs` compiles.
//!
//! [`Config::compile`] reads the app's `targets/<device>.toml` ([`targets`]), runs the
//! trained budget-conditioned generator for every budget ([`generator`], pure Rust, the
//! shipped models embedded), scores its candidates with the device's cost model
//! ([`cost`]) and the accuracy model ([`accuracy`]) through one [`objective::Objective`],
//! takes that subnet's weights ([`extract`] from an OFA supernet, a subnet file, or
//! seeded synthetic ones) and writes the selection `pnag_macros::network!` reads.
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

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod accuracy;
pub mod checkpoint;
pub mod cost;
pub mod dense;
pub mod deploy;
pub mod device;
pub mod device_space;
pub mod extract;
pub mod generator;
pub mod host;
pub mod metrics;
pub mod objective;
pub mod predictor;
pub mod sample;
pub mod targets;

pub use deploy::{BuildError, Config};
pub use targets::{Targets, TargetsError};
