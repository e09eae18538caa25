//! `pnag bench …`: every benchmark that writes a report (`<out>/<name>.md` and `.json`).
//! Each names the CPU it ran on; timings live here, never in pass/fail tests.

pub mod common;
mod constraints;
mod depthwise;
mod devices;
mod engines;
mod extract;
mod f16;
pub mod frontier;
mod layers;
mod memory;
mod pointwise;
mod resolution;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// tract (ours) vs onnxruntime vs PyTorch on the same subnets, weights and threads.
    Engines(engines::EnginesArgs),
    /// Time supernet weight extraction (read + extract) for the largest arch.
    Extract(extract::ExtractBenchArgs),
    /// Half-precision weights against f32: embedded size, load time, logit deviation.
    F16(f16::F16BenchArgs),
    /// Devices never trained on: leave-one-out latency prediction from reference measurements and zero-shot generation.
    Devices(devices::DevicesBenchArgs),
    /// Every depthwise layer of the benchmarked subnets: tract's conv vs our kernels.
    Depthwise(depthwise::DepthwiseArgs),
    /// Every 1x1 conv of the benchmarked subnets: tract's conv vs our op.
    Pointwise(pointwise::PointwiseArgs),
    /// Peak memory of a run: predicted from the layer plan vs measured with a counting allocator.
    Memory(memory::MemoryArgs),
    /// The generator under latency, weight and peak-memory limits at once vs OFA's evolution under the same limits.
    Constraints(constraints::ConstraintsArgs),
    /// Input resolution searched with the architecture vs 224 px only vs OFA's evolution at every resolution.
    Resolution(resolution::ResolutionArgs),
    /// Compare the generator's frontier with search and RL baselines (the paper's Tables 2, 3, 5).
    Frontier(frontier::FrontierArgs),
}

/// Runs one benchmark.
pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Engines(a) => engines::engines(&a),
        BenchCommand::Extract(a) => extract::extract(&a),
        BenchCommand::F16(a) => f16::f16(&a),
        BenchCommand::Devices(a) => devices::devices(&a),
        BenchCommand::Depthwise(a) => depthwise::depthwise(&a),
        BenchCommand::Pointwise(a) => pointwise::pointwise(&a),
        BenchCommand::Frontier(a) => frontier::frontier(&a),
        BenchCommand::Memory(a) => memory::memory(&a),
        BenchCommand::Constraints(a) => constraints::constraints(&a),
        BenchCommand::Resolution(a) => resolution::resolution(&a),
    }
}
