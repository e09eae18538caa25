//! `pnag-cli`: the tool side of PNAG-rs, behind the `pnag` binary — everything that never
//! runs in an app's `build.rs`: the training data and training itself (feature `train`,
//! tch), latency profiling with tract, OFA's evolutionary search baseline, NumPy I/O,
//! arch reports and SVG plots. Inference-time pieces (generator, cost and accuracy
//! models, targets files) come from `pnag-build`.

pub mod datasets;
pub mod describe;
pub mod device_bank;
pub mod npy;
pub mod plot;
pub mod profile;
pub mod search;
#[cfg(feature = "train")]
pub mod train;
#[cfg(feature = "train")]
pub mod train_conditioned;
#[cfg(feature = "train")]
pub mod train_generator;
