//! `pnag device …`: add a device from a probe run, or relearn the device space.

mod add;
mod space;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Calibrate the closest built-in cost model to a probe file and write `<dir>/<name>.json`.
    Add(add::DeviceAddArgs),
    /// Learn the device space from every known device (writes the shipped `space.json`).
    Space(space::DeviceSpaceArgs),
}

/// Runs one `pnag device` subcommand.
pub fn run(command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Add(a) => add::add(&a),
        DeviceCommand::Space(a) => space::space(&a),
    }
}
