//! One module per `pnag` subcommand, named as the command (`pnag profile-device` is
//! `profile_device.rs`; `pnag device add` is `device/add.rs`). Each holds its arguments
//! and the function that runs them.

pub mod arch;
pub mod device;
pub mod devices;
pub mod extract;
pub mod generate;
pub mod infer;
pub mod predict;
pub mod profile;
pub mod profile_device;
pub mod report;
pub mod targets;
pub mod train;
pub mod train_conditioned;
pub mod train_predictor;
