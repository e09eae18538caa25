//! `pnag-build`: everything that happens at build or tool time, never in the
//! shipped binary: arch reports, seeded arch sampling, NumPy I/O, latency
//! profiling with tract, and the engine benchmark behind the `pnag` CLI.

pub mod bench;
pub mod describe;
pub mod npy;
pub mod profile;
pub mod sample;
