//! `pnag`: the PNAG-rs command line.
//!
//! One file per subcommand under `commands/` (its arguments and the function that runs
//! it), the benchmarks under `bench/`, arguments several commands share in `args.rs`, the
//! added-devices directory in `added.rs`. This file only parses and dispatches.

#[macro_use]
mod output;

mod added;
mod args;
mod bench;
mod commands;
mod counting_alloc;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::*;

#[derive(Parser)]
#[command(
    name = "pnag",
    version,
    about = "PNAG-rs: Pareto-optimal OFA MobileNetV3 subnets, built into tract"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a subnet's blocks, MACs and parameters.
    Arch(arch::ArchArgs),
    /// Run a subnet on a NumPy image batch and write its logits.
    Infer(infer::InferArgs),
    /// Measure real tract latency of subnets on this machine.
    Profile(profile::ProfileArgs),
    /// Extract one subnet's weights from an OFA supernet checkpoint (safetensors or torch.save).
    Extract(extract::ExtractArgs),
    /// List the devices with a cost model (built-in and added).
    Devices(devices::DevicesArgs),
    /// Add a device from a `pnag-probe` run (no training).
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Reports that check models against held-out measurements.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Build a device's latency model from real measurements (today: `host`, with tract).
    ProfileDevice(profile_device::ProfileDeviceArgs),
    /// Train a learned latency / accuracy predictor (needs the `train` feature).
    TrainPredictor(train_predictor::TrainPredictorArgs),
    /// Predict a subnet's latency on a device, its top-1, MACs and params.
    Predict(predict::PredictArgs),
    /// Train PNAG for a device: Pareto evaluator, then the budget-conditioned generator (needs `train`).
    Train(train::TrainArgs),
    /// Train one generator for every device, conditioned on its reference latencies (needs `train`).
    TrainConditioned(train_conditioned::TrainConditionedArgs),
    /// The Pareto-optimal subnet for each budget, from a trained generator.
    Generate(generate::GenerateArgs),
    /// Check a targets TOML and show the network each budget gets (what an app's build.rs embeds).
    Targets(targets::TargetsArgs),
    /// Benchmarks that write reports.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", report_error(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: our error types already quote
/// their source (`weights file `x`: No such file …`), so a cause whose text is already in the
/// message is not repeated.
fn report_error(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Arch(a) => arch::arch(a),
        Command::Infer(a) => infer::infer(a),
        Command::Profile(a) => profile::profile(a),
        Command::Extract(a) => extract::extract(a),
        Command::Devices(a) => devices::devices(a),
        Command::Device(c) => device::run(c),
        Command::Report(c) => report::run(c),
        Command::ProfileDevice(a) => profile_device::profile_device(a),
        Command::TrainPredictor(a) => train_predictor::train_predictor(a),
        Command::Predict(a) => predict::predict(a),
        Command::Train(a) => train::train(a),
        Command::TrainConditioned(a) => train_conditioned::train(a),
        Command::Generate(a) => generate::generate(a),
        Command::Targets(a) => targets::targets(a),
        Command::Bench(c) => bench::run(c),
    }
}
