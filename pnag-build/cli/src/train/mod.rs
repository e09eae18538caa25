//! Training with tch (feature `train`; libtorch from `scripts/setup/libtorch.sh`). Every
//! result is written in a format whose inference is pure Rust (`pnag-build`), so nothing
//! downstream links libtorch.
//!
//! - [`predictor`]: the learned latency / accuracy predictors (`pnag train-predictor`).
//! - [`generator`]: PNAG for one device — evaluator, then generator (`pnag train`).
//! - [`device_conditioned`]: one generator for every device, conditioned on its reference
//!   latencies (`pnag train-conditioned`); it reuses the generator's REINFORCE pieces.

pub mod device_conditioned;
pub mod generator;
pub mod predictor;

/// The setup every training starts with: libtorch's global RNG seeded (same seed, same
/// result) and its intra-op thread count fixed.
pub(crate) fn start(seed: u64, threads: usize) {
    tch::manual_seed(seed as i64);
    tch::set_num_threads(threads as i32);
}
