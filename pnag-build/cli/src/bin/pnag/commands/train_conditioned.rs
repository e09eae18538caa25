//! `pnag train-conditioned`: the device-conditioned generator, trained over the
//! known devices of the shipped device space (their additive models are the
//! cost models, their reference latencies the device vectors). `--hold-out`
//! makes a leave-out fold for `pnag bench devices`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

/// Where `pnag bench devices` looks for the leave-out folds (`without-<device>`).
pub const FOLDS_DIR: &str = "pnag-build/cli/data/conditioned";

#[derive(Args)]
pub struct TrainConditionedArgs {
    /// A device to keep out of training, with its same-hardware siblings (a leave-out fold; repeatable).
    #[arg(long = "hold-out")]
    hold_out: Vec<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// REINFORCE iterations (each draws `--devices-per-iteration` devices × K budgets × `--samples`).
    #[arg(value_parser = crate::args::count(0, 1_000_000), long, default_value_t = 1500)]
    iterations: usize,
    /// Archs sampled per budget per device per iteration.
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = 16)]
    samples: usize,
    /// Training devices drawn per iteration.
    #[arg(value_parser = crate::args::count(0, 1_000), long, default_value_t = 4)]
    devices_per_iteration: usize,
    /// Output directory (default: the shipped `pnag-build/models/device-conditioned`, or
    /// `pnag-build/cli/data/conditioned/without-<device>` with `--hold-out`).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[cfg(not(feature = "train"))]
pub fn train(_: TrainConditionedArgs) -> Result<()> {
    bail!(
        "this pnag was built without the `train` feature; run `bash scripts/setup/libtorch.sh`, then \
         `LIBTORCH=$HOME/.local/libtorch-2.13/torch cargo run --release -p pnag-cli --features train --bin pnag -- train-conditioned ...`"
    )
}

#[cfg(feature = "train")]
pub fn train(a: TrainConditionedArgs) -> Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    use pnag_build::device::reference_archs;
    use pnag_build::device::space::{additive, AdditiveCost, DeviceSpace};
    use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
    use pnag_cli::device_bank::same_hardware;
    use pnag_cli::train::device_conditioned::{
        train_conditioned, ConditionedConfig, TrainingDevice,
    };

    let space = DeviceSpace::embedded()?;
    for h in &a.hold_out {
        if !space.known.iter().any(|k| &k.name == h) {
            let names: Vec<&str> = space.known.iter().map(|k| k.name.as_str()).collect();
            bail!(
                "--hold-out `{h}` is not a device of the shipped space; expected one of {}",
                names.join(", ")
            );
        }
    }
    if a.iterations == 0 || a.samples < 2 || a.devices_per_iteration == 0 {
        bail!("--iterations and --devices-per-iteration must be ≥ 1, --samples ≥ 2");
    }
    let held_out: Vec<String> = a.hold_out.iter().flat_map(|h| same_hardware(h)).collect();
    let refs = reference_archs();
    let mut devices = Vec::new();
    for k in space.known.iter().filter(|k| !held_out.contains(&k.name)) {
        let cost = AdditiveCost {
            thetas: vec![k.theta.clone()],
            width: DEFAULT_WIDTH,
            resolution: DEFAULT_RESOLUTION,
        };
        devices.push(TrainingDevice {
            objective: Objective::custom(
                k.name.clone(),
                Box::new(cost),
                DEFAULT_WIDTH,
                DEFAULT_RESOLUTION,
            )?,
            reference_ms: refs.iter().map(|r| additive(&k.theta, r)).collect(),
        });
    }
    let cfg = ConditionedConfig {
        seed: a.seed,
        iterations: a.iterations,
        samples_per_budget: a.samples,
        devices_per_iteration: a.devices_per_iteration,
        ..Default::default()
    };
    let out = a.out.unwrap_or_else(|| match a.hold_out.first() {
        Some(h) => PathBuf::from(FOLDS_DIR).join(format!("without-{h}")),
        None => PathBuf::from("pnag-build/models/device-conditioned"),
    });
    let bar = ProgressBar::new(cfg.iterations as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len}, eta {eta}")?
            .progress_chars("=> "),
    );
    bar.set_message("generator iterations");
    let g = train_conditioned(&devices, &held_out, &cfg, Some(&out), &mut |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let t = &g.manifest.training;
    let feasible: Vec<String> = t
        .feasible_rate
        .iter()
        .map(|r| format!("{:.0}", r * 100.0))
        .collect();
    eprintln!(
        "trained the device-conditioned generator on {} devices (held out: {}) in {:.0} s; feasible samples per budget position (%, mean over devices): {} -> {}",
        devices.len(),
        if held_out.is_empty() { "none".into() } else { held_out.join(", ") },
        t.seconds,
        feasible.join(" "),
        out.display()
    );
    Ok(())
}
