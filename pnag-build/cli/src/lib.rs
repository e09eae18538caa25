//! `pnag-cli`: the tool side of PNAG-rs, behind the `pnag` binary — everything that never
//! runs in an app's `build.rs`: the training data and training itself ([`train`], feature
//! `train`, tch), latency profiling with tract, the known devices, OFA's evolutionary
//! search baseline, NumPy I/O, arch reports and SVG plots. Inference-time pieces
//! (generator, cost and accuracy models, targets files) come from `pnag-build`.

pub mod arch_report;
pub mod datasets;
pub mod device_bank;
pub mod npy;
pub mod plot;
pub mod profile;
pub mod search;
#[cfg(feature = "train")]
pub mod train;
