//! `pnag bench constraints`: the generator's answers under several limits at once
//! (latency; latency + weights; latency + weights + peak memory) against OFA's
//! evolutionary search under the same limits, at ten budgets from the cheapest subnet at
//! the device's smallest resolution to the largest at 224 px, both searching every
//! resolution the device's models cover (`--fixed-224`: 224 px alone). The weight and
//! memory limits are set halfway between the smallest subnet's and the latency-only
//! answer's, so they bind. Writes `constraints.md` and `constraints.json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::constraints::{mb, Binding, Footprint, Footprints, Limits};
use pnag_build::generator::resolutions::{objectives_at, resolution_grid, Resolutions};
use pnag_build::generator::{GenerateOptions, Generated, Generator};
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_cli::search::{evolution_within, EvolutionConfig};
use pnag_runtime::Arch;
use serde::Serialize;

use super::frontier::FRACTIONS;

#[derive(Debug, clap::Args)]
pub struct ConstraintsArgs {
    #[command(flatten)]
    search: super::common::SearchArgs,
    /// Search 224 px only (default: every resolution the device's models cover).
    #[arg(long)]
    fixed_224: bool,
    /// Output directory.
    #[arg(long, default_value = "bench-out/constraints")]
    out: PathBuf,
}

/// Which limits a mix sets.
const MIXES: [(&str, bool, bool); 3] = [
    ("latency", false, false),
    ("latency + weights", true, false),
    ("latency + weights + memory", true, true),
];

#[derive(Debug, Serialize)]
struct Answer {
    budget: f64,
    weights_limit_mb: Option<f64>,
    peak_memory_limit_mb: Option<f64>,
    pnag_top1: Option<f64>,
    pnag_resolution: Option<u32>,
    pnag_meets_all: bool,
    pnag_binding: Option<String>,
    evolution_top1: Option<f64>,
    evolution_resolution: Option<u32>,
    evolution_meets_all: bool,
    evolution_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Mix {
    name: &'static str,
    answers: Vec<Answer>,
    /// A fresh frontier answering the ten budgets, divided by ten.
    pnag_ms_per_answer: f64,
}

/// Halfway between the smallest subnet's and `answer`'s.
fn halfway(smallest: u64, answer: u64) -> u64 {
    smallest + (answer.saturating_sub(smallest)) / 2
}

pub fn constraints(a: &ConstraintsArgs) -> Result<()> {
    let generator = Generator::embedded(&a.search.device)?;
    let opts = GenerateOptions {
        seed: a.search.seed,
        ..Default::default()
    };
    // Every resolution the device's models cover, unless asked for 224 px alone.
    let grid = if a.fixed_224 {
        vec![DEFAULT_RESOLUTION]
    } else {
        resolution_grid(&a.search.device, DEFAULT_WIDTH)
    };
    let objectives = objectives_at(&a.search.device, DEFAULT_WIDTH, &grid)?;
    // Costed as `pnag generate` costs them (f32, synthetic weights' header, 1 thread).
    let footprints: Vec<Footprints> = objectives
        .iter()
        .map(crate::commands::generate::footprints)
        .collect();
    let at = |r: u32| {
        grid.iter()
            .position(|&x| x == r)
            .expect("a grid resolution")
    };
    let fit = |g: &Generated| -> Result<Footprint> {
        let arch: Arch = g.arch.parse()?;
        footprints[at(g.resolution)]
            .of(arch)
            .ok_or_else(|| anyhow::anyhow!("no layer plan for {arch}"))
    };
    let smallest = footprints[0]
        .of(Arch::smallest())
        .expect("the smallest subnet has a plan");
    let lo = objectives[0].cost(Arch::smallest())?;
    let hi = generator.manifest.range[1];
    let budgets: Vec<f64> = FRACTIONS.iter().map(|f| lo + f * (hi - lo)).collect();
    // The latency-only answers set the binding limits of the other mixes.
    let none = Limits::default();
    let mut frontier = Resolutions::new(&generator, &objectives, &opts)?;
    let mut plain = Vec::new();
    for &b in &budgets {
        plain.push(fit(&frontier.answer_within(b, &none, &footprints)?.0)?);
    }
    let evo_cfg = EvolutionConfig {
        iterations: a.search.evolution_iterations,
        ..Default::default()
    };
    let bar = ProgressBar::new((MIXES.len() * budgets.len() * grid.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} evolutions, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut mixes = Vec::new();
    for (name, weights, memory) in MIXES {
        bar.set_message(name);
        let limits: Vec<Limits> = plain
            .iter()
            .map(|f| Limits {
                weights_bytes: weights.then(|| halfway(smallest.weights_bytes, f.weights_bytes)),
                peak_bytes: memory.then(|| halfway(smallest.peak_bytes, f.peak_bytes)),
            })
            .collect();
        // The generator: fresh frontiers answering the ten budgets (their searches included).
        let start = Instant::now();
        let mixed = GenerateOptions {
            frugal: weights || memory,
            ..opts
        };
        let mut frontier = Resolutions::new(&generator, &objectives, &mixed)?;
        let pnag: Vec<_> = budgets
            .iter()
            .zip(&limits)
            .map(|(&b, l)| frontier.answer_within(b, l, &footprints).ok())
            .collect();
        let pnag_ms_per_answer = 1e3 * start.elapsed().as_secs_f64() / budgets.len() as f64;
        let mut answers = Vec::new();
        for ((&budget, l), p) in budgets.iter().zip(&limits).zip(pnag) {
            // OFA's evolution at every resolution, the best of them.
            let start = Instant::now();
            let mut evo: Option<(f64, f64, u32, Footprint)> = None;
            for (o, fp) in objectives.iter().zip(&footprints) {
                let found = evolution_within(o, budget, l, Some(fp), &evo_cfg, a.search.seed)?;
                if let Some(s) = found.best {
                    let f = fp.of(s.arch).expect("a plan");
                    if evo.is_none_or(|e| (s.top1, -s.cost) > (e.0, -e.1)) {
                        evo = Some((s.top1, s.cost, o.resolution, f));
                    }
                }
                bar.inc(1);
            }
            let evolution_seconds = start.elapsed().as_secs_f64();
            let meets = |cost: f64, f: Footprint| cost <= budget && l.admit(f);
            answers.push(Answer {
                budget,
                weights_limit_mb: l.weights_bytes.map(mb),
                peak_memory_limit_mb: l.peak_bytes.map(mb),
                pnag_top1: p.as_ref().map(|(g, _)| g.top1),
                pnag_resolution: p.as_ref().map(|(g, _)| g.resolution),
                pnag_meets_all: p.as_ref().is_some_and(|(g, f)| meets(g.cost, *f)),
                pnag_binding: p
                    .as_ref()
                    .map(|(g, f)| Binding::of(g.cost, Some(budget), *f, l).to_string()),
                evolution_top1: evo.map(|e| e.0),
                evolution_resolution: evo.map(|e| e.2),
                evolution_meets_all: evo.is_some_and(|e| meets(e.1, e.3)),
                evolution_seconds,
            });
        }
        mixes.push(Mix {
            name,
            answers,
            pnag_ms_per_answer,
        });
    }
    bar.finish_and_clear();
    let md = markdown(a, &objectives[0], &grid, &mixes);
    std::fs::create_dir_all(&a.out)?;
    let json = serde_json::json!({"device": a.search.device, "resolutions": grid, "budgets": budgets, "mixes": mixes,
        "host": super::common::host_line()});
    super::common::write_report(&a.out, "constraints", &md, &json)
}

fn markdown(a: &ConstraintsArgs, objective: &Objective, grid: &[u32], mixes: &[Mix]) -> String {
    let mut s = format!(
        "# Several constraints per budget: `{}` (w{}, {grid:?} px)\n\nGenerated by `pnag bench constraints --device {}{}`. \
         Both methods search every resolution listed (evolution: at each, the best of them). \
         Ten latency budgets at the frontier benchmark's fractions of the device's range; in the mixes with \
         weights and memory, each limit sits halfway between the smallest subnet's value and the latency-only \
         answer's, so it binds. Regret = evolution's top-1 − PNAG's (points; negative: PNAG better), over budgets \
         both answered. PNAG's time: a fresh frontier answering all ten budgets (its grid searches included) / 10, \
         on this machine ({}).\n\n\
         | limits | PNAG meets all | evolution meets all | mean regret | worst regret | PNAG ms per answer | evolution ms per budget | binding (PNAG) |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
        objective.device,
        objective.width,
        a.search.device,
        if a.fixed_224 { " --fixed-224" } else { "" },
        super::common::host_line()
    );
    for m in mixes {
        let n = m.answers.len();
        let regrets: Vec<f64> = m
            .answers
            .iter()
            .filter_map(|x| Some(x.evolution_top1? - x.pnag_top1?))
            .collect();
        let mean = regrets.iter().sum::<f64>() / regrets.len().max(1) as f64;
        let worst = regrets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let evo_ms = 1e3 * m.answers.iter().map(|x| x.evolution_seconds).sum::<f64>() / n as f64;
        let mut binds: Vec<String> = Vec::new();
        for b in ["cost", "weights", "peak memory"] {
            let k = m
                .answers
                .iter()
                .filter(|x| x.pnag_binding.as_deref() == Some(b))
                .count();
            if k > 0 {
                binds.push(format!("{b} {k}"));
            }
        }
        s.push_str(&format!(
            "| {} | {}/{n} | {}/{n} | {mean:.3} | {worst:.3} | {:.1} | {evo_ms:.0} | {} |\n",
            m.name,
            m.answers.iter().filter(|x| x.pnag_meets_all).count(),
            m.answers.iter().filter(|x| x.evolution_meets_all).count(),
            m.pnag_ms_per_answer,
            binds.join(", ")
        ));
    }
    s
}
