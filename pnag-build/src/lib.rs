//! `pnag-build`: everything that happens at build or tool time, never in the
//! shipped binary: arch reports, seeded arch sampling, NumPy I/O and latency
//! profiling with tract, behind the `pnag` CLI
//! (whose `bench` module also drives the engine comparison).

pub mod accuracy;
pub mod cost;
pub mod datasets;
pub mod dense;
pub mod deploy;
pub mod describe;
pub mod extract;
pub mod generator;
pub mod host;
pub mod metrics;
pub mod npy;
pub mod objective;
pub mod plot;
pub mod predictor;
pub mod profile;
pub mod sample;
pub mod search;
pub mod targets;
#[cfg(feature = "train")]
pub mod train;
#[cfg(feature = "train")]
pub mod train_generator;

pub use deploy::{BuildError, Config};
pub use targets::{Targets, TargetsError};
