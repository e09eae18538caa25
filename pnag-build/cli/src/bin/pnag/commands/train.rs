//! `pnag train`: PNAG for one device — the Pareto evaluator, then the budget-conditioned
//! generator (feature `train`, libtorch).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pnag_build::objective::RewardKind;

/// Defaults equal `PnagConfig::default()` (what the shipped generators used).
#[derive(Args)]
pub struct TrainArgs {
    /// Device whose cost model the generator learns (see `pnag devices`).
    #[arg(long)]
    device: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// REINFORCE iterations (each samples N archs for every one of the K budgets).
    #[arg(value_parser = crate::args::count(0, 1_000_000), long, default_value_t = 1500)]
    iterations: usize,
    /// Number of budget embeddings K (evenly spaced over the device's cost range).
    #[arg(value_parser = crate::args::count(1, 1_000), long, default_value_t = 10)]
    k: usize,
    /// Archs sampled per budget per iteration (N).
    #[arg(value_parser = crate::args::count(1, 100_000), long, default_value_t = 32)]
    samples: usize,
    /// Archs sampled to train the evaluator (M).
    #[arg(value_parser = crate::args::count(1, 10_000_000), long, default_value_t = 16_000)]
    archs: usize,
    /// Evaluator training steps (batches of 256 archs, every pair compared).
    #[arg(value_parser = crate::args::count(0, 10_000_000), long, default_value_t = 2_000)]
    evaluator_steps: usize,
    /// Adam learning rate of the generator.
    #[arg(long, default_value_t = 5e-3)]
    lr: f64,
    /// Entropy bonus λ (Eq. 3).
    #[arg(long, default_value_t = 1e-2)]
    entropy: f64,
    /// Learn only from each budget's best share of samples (risk-seeking policy gradient).
    #[arg(long, default_value_t = 0.1)]
    elite: f64,
    /// Use the paper's moving-average baseline over all samples instead of `--elite`.
    #[arg(long)]
    moving_average: bool,
    /// Reward: PNAG's learned Pareto evaluator, or a baseline.
    #[arg(long, default_value_t = RewardKind::Pareto, value_parser = reward_parser())]
    reward: RewardKind,
    /// Output directory (default `pnag-build/models/<device>`, the shipped ones); checkpoints in `<out>/.train` make a rerun resume.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[cfg(not(feature = "train"))]
pub fn train(_: TrainArgs) -> Result<()> {
    bail!(
        "this pnag was built without the `train` feature; run `bash scripts/setup/libtorch.sh`, then \
         `LIBTORCH=$HOME/.local/libtorch-2.13/torch cargo run --release -p pnag-cli --features train --bin pnag -- train ...`"
    )
}

#[cfg(feature = "train")]
pub fn train(a: TrainArgs) -> Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    use pnag_cli::train::generator::{train, Phase, PnagConfig};

    use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
    let objective = Objective::new(&a.device, DEFAULT_WIDTH, DEFAULT_RESOLUTION)?;
    let cfg = PnagConfig {
        seed: a.seed,
        iterations: a.iterations,
        k: a.k,
        samples_per_budget: a.samples,
        archs: a.archs,
        evaluator_steps: a.evaluator_steps,
        reward: a.reward,
        learning_rate: a.lr,
        entropy_coeff: a.entropy,
        elite: (!a.moving_average).then_some(a.elite),
        ..Default::default()
    };
    if cfg.k < 2
        || cfg.samples_per_budget < 2
        || cfg.archs < 100
        || cfg.evaluator_steps == 0
        || !(a.elite > 0.0 && a.elite <= 1.0)
    {
        bail!("--k must be ≥ 2, --samples ≥ 2, --archs ≥ 100, --evaluator-steps ≥ 1 and --elite in (0, 1]");
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("pnag-build/models").join(&objective.device));
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len}, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut phase = None;
    let generator = train(&objective, &cfg, Some(&out), &mut |p, done, total| {
        if phase != Some(p) {
            phase = Some(p);
            bar.set_length(total as u64);
            bar.set_position(0);
            bar.set_message(match p {
                Phase::Sampling => "scoring archs",
                Phase::Evaluator => "evaluator steps",
                Phase::Generator => "generator iterations",
            });
        }
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let t = &generator.manifest.training;
    let feasible = t
        .feasible_rate
        .iter()
        .map(|r| format!("{:.0}", r * 100.0))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!(
        "trained `{}` ({} reward) in {:.0} s: evaluator pair accuracy {} on held-out pairs; feasible samples per budget (%): {feasible} -> {}",
        objective.device,
        generator.manifest.reward,
        t.seconds,
        t.evaluator_pair_accuracy.map_or("– (no evaluator)".into(), |a| format!("{:.1} %", a * 100.0)),
        out.display()
    );
    Ok(())
}

/// `--reward`'s parser: the names `RewardKind` displays as, listed in `--help`.
fn reward_parser() -> impl clap::builder::TypedValueParser<Value = RewardKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(RewardKind::ALL.map(RewardKind::name))
        .try_map(|s| s.parse::<RewardKind>())
}
