//! The paper's ablations for `pnag bench frontier --ablations` (feature
//! `train`): generators trained with the MnasNet and TuNAS rewards, with
//! Pareto dominance minus the accuracy rule, with Eq. 6's exact order instead
//! of the learned evaluator, with K ∈ {2, 5, 30}, and
//! "independent search" — one generator per bench budget, together using
//! the same number of samples as one PNAG generator. Trained models are kept
//! in `<out>/models/<name>/` and reused by the next run.

use std::path::Path;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::generator::{GenerateOptions, Generator};
use pnag_build::objective::{Objective, RewardKind};
use pnag_cli::train::generator::{train, PnagConfig};

use super::method::{generator_method, Ablation, Answering, Method, Point};

fn trained(objective: &Objective, cfg: &PnagConfig, dir: &Path, label: &str) -> Result<Generator> {
    if let Ok(g) = Generator::load(dir) {
        if g.check(objective).is_ok()
            && g.manifest.reward == cfg.reward
            && g.manifest.seed == cfg.seed
        {
            return Ok(g);
        }
    }
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:30}] {pos}/{len}")?.progress_chars("=> "),
    );
    bar.set_message(format!("training {label}"));
    let g = train(objective, cfg, Some(dir), &mut |_, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok(g)
}

pub fn train_and_measure(
    objective: &Objective,
    budgets: &[f64],
    models: &Path,
    opts: &GenerateOptions,
    only: &[Ablation],
) -> Result<Vec<Method>> {
    let wanted = |a: Ablation| only.is_empty() || only.contains(&a);
    let base = PnagConfig {
        seed: opts.seed,
        ..Default::default()
    };
    let mut methods = Vec::new();
    let variants: [(&str, Ablation, PnagConfig); 7] = [
        (
            "Pareto order, no evaluator",
            Ablation::ParetoExact,
            PnagConfig {
                reward: RewardKind::ParetoExact,
                ..base.clone()
            },
        ),
        (
            "RL, MnasNet reward",
            Ablation::Mnas,
            PnagConfig {
                reward: RewardKind::Mnas,
                ..base.clone()
            },
        ),
        (
            "RL, TuNAS reward",
            Ablation::Tunas,
            PnagConfig {
                reward: RewardKind::Tunas,
                ..base.clone()
            },
        ),
        (
            "Pareto w/o accuracy rule",
            Ablation::ParetoNoAcc,
            PnagConfig {
                reward: RewardKind::ParetoNoAcc,
                ..base.clone()
            },
        ),
        (
            "PNAG, K = 2",
            Ablation::K2,
            PnagConfig {
                k: 2,
                ..base.clone()
            },
        ),
        (
            "PNAG, K = 5",
            Ablation::K5,
            PnagConfig {
                k: 5,
                ..base.clone()
            },
        ),
        (
            "PNAG, K = 30",
            Ablation::K30,
            PnagConfig {
                k: 30,
                ..base.clone()
            },
        ),
    ];
    for (name, which, cfg) in variants.into_iter().filter(|v| wanted(v.1)) {
        let g = trained(objective, &cfg, &models.join(which.dir()), name)?;
        methods.push(generator_method(
            name,
            format!("{} reward, K = {}", cfg.reward, g.manifest.budgets.len()),
            &g,
            objective,
            budgets,
            opts,
            Answering::PerBudget,
        )?);
    }
    if !wanted(Ablation::Independent) {
        return Ok(methods);
    }
    // Independent search: one K = 1 generator per budget, each with 1/len of the samples.
    let mut points: Vec<Point> = Vec::new();
    let mut seconds = 0.0;
    for (i, &b) in budgets.iter().enumerate() {
        let cfg = PnagConfig {
            budgets: Some(vec![b]),
            samples_per_budget: base.samples_per_budget * base.k / budgets.len(),
            ..base.clone()
        };
        let g = trained(
            objective,
            &cfg,
            &models.join(format!("independent-{i}")),
            &format!("independent {}/{}", i + 1, budgets.len()),
        )?;
        seconds += g.manifest.training.seconds;
        let m = generator_method(
            "",
            String::new(),
            &g,
            objective,
            &[b],
            opts,
            Answering::PerBudget,
        )?;
        points.extend(m.points);
    }
    methods.push(Method {
        name: "Independent search".into(),
        note: format!("{} generators (K = 1), same total samples", budgets.len()),
        train_seconds: Some(seconds),
        points,
    });
    Ok(methods)
}
