//! `pnag train-predictor`: a learned latency or accuracy predictor (feature `train`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

#[derive(Args)]
pub struct TrainPredictorArgs {
    /// Which predictor: `titan-xp` (HELP TITAN Xp latency) or `moofa-w1.0` (measured top-1, w1.0).
    #[arg(long)]
    model: String,
    /// Seed of the split and of the initialization.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training epochs (the epoch with the best validation loss is kept).
    #[arg(value_parser = crate::args::count(1, 100_000), long, default_value_t = 300)]
    epochs: usize,
    /// Hidden layers to try, e.g. `512,512`; `auto` tries PNAG's 512,512 MLP and a
    /// linear model and keeps the better on validation; `linear` is no hidden layer.
    #[arg(long, default_value = "auto")]
    hidden: String,
    /// Output directory.
    #[arg(long, default_value = "pnag-build/models/predictors")]
    out: PathBuf,
}

#[cfg(not(feature = "train"))]
pub fn train_predictor(_: TrainPredictorArgs) -> Result<()> {
    bail!("this pnag was built without the `train` feature; run `bash scripts/setup/libtorch.sh`, then \
           `LIBTORCH=$HOME/.local/libtorch-2.13/torch cargo run --release -p pnag-cli --features train --bin pnag -- train-predictor ...`")
}

#[cfg(feature = "train")]
pub fn train_predictor(a: TrainPredictorArgs) -> Result<()> {
    use anyhow::Context;
    use indicatif::{ProgressBar, ProgressStyle};
    use pnag_build::predictor::Target;
    use pnag_cli::train::predictor::{train_best, PredictorTask, TrainConfig};
    let task = match a.model.as_str() {
        "titan-xp" => PredictorTask {
            name: "titan-xp".into(),
            kind: "latency",
            unit: "ms per batch of 64 images, NVIDIA TITAN Xp (HELP)",
            width: "1.2",
            data: pnag_cli::datasets::help_titan_xp(),
            target: Target::Log,
        },
        "moofa-w1.0" => PredictorTask {
            name: "moofa-w1.0".into(),
            kind: "accuracy",
            unit: "ImageNet top-1 %, measured on a 12.5k-image val shard (w1.0)",
            width: "1.0",
            data: pnag_cli::datasets::moofa_top1(),
            target: Target::Identity,
        },
        other => bail!("unknown predictor `{other}` (expected titan-xp or moofa-w1.0)"),
    };
    let candidates: Vec<Vec<usize>> = match a.hidden.as_str() {
        "auto" => vec![vec![512, 512], vec![]],
        "linear" => vec![vec![]],
        list => vec![list
            .split(',')
            .map(|x| x.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--hidden `{list}`"))?],
    };
    let cfg = TrainConfig {
        seed: a.seed,
        epochs: a.epochs,
        ..Default::default()
    };
    let bar = ProgressBar::new((cfg.epochs * candidates.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] epoch {pos}/{len}, eta {eta}")?
            .progress_chars("=> "),
    );
    let p = train_best(task, &cfg, &candidates, &mut |_, loss| {
        bar.set_message(format!("val loss {loss:.4}"));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    p.save(&a.out)?;
    let m = &p.manifest;
    eprintln!(
        "{} (hidden {:?}): {:.0} s; test (n={}) RMSE {:.3}, MAPE {:.2} %, within ±10 % {:.1} %, Kendall τ {:.3}, Spearman ρ {:.3} -> {}",
        m.name, m.hidden, m.train_seconds, m.test.n, m.test.rmse, m.test.mape, m.test.within_10pct, m.test.kendall_tau, m.test.spearman_rho, a.out.display()
    );
    Ok(())
}
