//! The methods `pnag bench frontier` compares — the generator (per budget or as one
//! monotone frontier), the searches and the ablations — and the points each answers with.

use std::time::Instant;

use anyhow::Result;
use pnag_build::generator::{GenerateOptions, Generated, Generator};
use pnag_build::objective::{Objective, Scored};
use serde::Serialize;

/// The paper's ablations `--ablations` trains (each is also its model directory's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ablation {
    /// Eq. 6's exact order as the reward, no learned evaluator.
    ParetoExact,
    /// RL with the MnasNet reward.
    Mnas,
    /// RL with the TuNAS absolute reward.
    Tunas,
    /// Pareto dominance without the accuracy rule.
    ParetoNoAcc,
    /// PNAG with K = 2 / 5 / 30 budget embeddings.
    K2,
    K5,
    K30,
    /// One generator per bench budget.
    Independent,
}

impl Ablation {
    pub fn dir(self) -> &'static str {
        match self {
            Ablation::ParetoExact => "pareto-exact",
            Ablation::Mnas => "mnas",
            Ablation::Tunas => "tunas",
            Ablation::ParetoNoAcc => "pareto-no-acc",
            Ablation::K2 => "k2",
            Ablation::K5 => "k5",
            Ablation::K30 => "k30",
            Ablation::Independent => "independent",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub budget: f64,
    pub arch: Option<String>,
    pub cost: Option<f64>,
    pub top1: Option<f64>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub name: String,
    pub note: String,
    pub train_seconds: Option<f64>,
    pub points: Vec<Point>,
}

impl Method {
    pub fn feasible(&self) -> usize {
        self.points
            .iter()
            .filter(|p| p.cost.is_some_and(|c| c <= p.budget + 1e-9))
            .count()
    }
}

pub fn point(budget: f64, found: Option<Scored>, seconds: f64) -> Point {
    Point {
        budget,
        arch: found.map(|s| s.arch.to_string()),
        cost: found.map(|s| s.cost),
        top1: found.map(|s| s.top1),
        seconds,
    }
}

/// How a generator method answers the bench budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// What users get: one [`pnag_build::generator::Frontier`] for all budgets
    /// (monotone; time per budget = the whole set's time, grid searches
    /// included, divided by the number of budgets).
    Monotone,
    /// Each budget's own search ([`Generator::search`]): the paper's Section
    /// 3.5 per budget, used to compare generators (ablations).
    PerBudget,
}

pub fn generator_method(
    name: &str,
    note: String,
    g: &Generator,
    objective: &Objective,
    budgets: &[f64],
    opts: &GenerateOptions,
    answering: Answering,
) -> Result<Method> {
    let answer_all = || -> Result<Vec<Option<Generated>>> {
        let mut out = Vec::new();
        match answering {
            Answering::Monotone => {
                let mut frontier = g.frontier(objective, opts)?;
                for &b in budgets {
                    out.push(frontier.answer(b).ok());
                }
            }
            Answering::PerBudget => {
                for &b in budgets {
                    out.push(g.search(objective, b, opts).ok());
                }
            }
        }
        Ok(out)
    };
    // Median of three identical runs after a warm-up: a single run is at the
    // mercy of this VM's noise; the answers are the same every time (seeded).
    let mut answers = answer_all()?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        answers = answer_all()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let seconds = times[1] / budgets.len().max(1) as f64;
    let points = budgets
        .iter()
        .zip(answers)
        .map(|(&budget, r)| Point {
            budget,
            arch: r.as_ref().map(|r| r.arch.clone()),
            cost: r.as_ref().map(|r| r.cost),
            top1: r.as_ref().map(|r| r.top1),
            seconds,
        })
        .collect();
    Ok(Method {
        name: name.into(),
        note,
        train_seconds: Some(g.manifest.training.seconds),
        points,
    })
}

/// 2-D hypervolume (cost ↓, top-1 ↑) of the feasible points against `(ref_cost, ref_top1)`.
pub fn hypervolume(points: &[Point], ref_cost: f64, ref_top1: f64) -> f64 {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.cost?, p.top1?)))
        .filter(|&(c, t)| c <= ref_cost && t >= ref_top1)
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut hv, mut best) = (0.0, ref_top1);
    for (i, &(c, t)) in pts.iter().enumerate() {
        best = best.max(t);
        let next = pts.get(i + 1).map_or(ref_cost, |p| p.0);
        hv += (next - c) * (best - ref_top1);
    }
    hv
}
