//! `pnag bench frontier`: PNAG's generator against per-budget searches and RL
//! baselines on one device's cost and accuracy models, at budgets spread over
//! the device's range. Writes `frontier.md`, `frontier.json` and `frontier.svg`.
//!
//! Methods always measured: the generator (shipped or `--model`), random
//! search, and OFA's evolutionary search (the oracle for regret). With the
//! `train` feature the paper's ablations are trained first, into
//! `<out>/models/` (reused on the next run).

#[cfg(feature = "train")]
mod ablations;
mod method;

use method::{generator_method, hypervolume, point, Ablation, Answering, Method};

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::generator::{GenerateOptions, Generator, GRID_SEARCHES};
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_cli::plot::frontier_svg;
use pnag_cli::search::{evolution, random_search, EvolutionConfig};
use pnag_runtime::files::write_atomic;

#[derive(Debug, clap::Args)]
pub struct FrontierArgs {
    /// Device (see `pnag devices`).
    #[arg(long)]
    device: String,
    /// Generator to evaluate (default: the shipped one).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Samples random search may score per budget.
    #[arg(value_parser = crate::args::count(1, 10_000_000), long, default_value_t = 1000)]
    random_samples: usize,
    /// Evolution iterations (OFA: 500).
    #[arg(value_parser = crate::args::count(1, 1_000_000), long, default_value_t = 500)]
    evolution_iterations: usize,
    /// Also train and measure the paper's ablations (needs the `train` feature).
    #[arg(long)]
    ablations: bool,
    /// Where the ablations' trained generators are kept and reused (default `<out>/models`).
    #[arg(long, requires = "ablations")]
    ablation_models: Option<PathBuf>,
    /// Give every ablation generator PNAG's refinement too (default: their samples only,
    /// which compares the generators themselves).
    #[arg(long, requires = "ablations")]
    refine_ablations: bool,
    /// Only these ablations (comma-separated); default all.
    #[arg(long, requires = "ablations", value_enum, value_delimiter = ',')]
    only: Vec<Ablation>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Generator sampling temperature.
    #[arg(long, default_value_t = GenerateOptions::default().temperature)]
    temperature: f32,
    #[command(flatten)]
    inference: crate::args::InferenceArgs,
    /// Output directory.
    #[arg(long, default_value = "bench-out/frontier")]
    out: PathBuf,
}

/// The bench budgets as fractions of the device's range: the paper's five
/// (10/30/50/70/90 %) and five in between or below them.
pub const FRACTIONS: [f64; 10] = [0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90];

pub fn frontier(a: &FrontierArgs) -> Result<()> {
    let objective = Objective::new(&a.device, DEFAULT_WIDTH, DEFAULT_RESOLUTION)?;
    let generator = match &a.model {
        Some(dir) => Generator::load(dir)?,
        None => Generator::embedded(&a.device)?,
    };
    let [lo, hi] = generator.manifest.range;
    let budgets: Vec<f64> = FRACTIONS.iter().map(|f| lo + f * (hi - lo)).collect();
    let unit = objective.unit().label();
    let gen_opts = GenerateOptions {
        seed: a.seed,
        temperature: a.temperature,
        ..a.inference.options()
    };

    let trained = format!(
        "{} reward, K = {}",
        generator.manifest.reward,
        generator.manifest.budgets.len()
    );
    let mut methods = vec![generator_method(
        "PNAG",
        format!(
            "{trained}; {} samples, hill climb from the best {}",
            gen_opts.samples, gen_opts.refine_starts
        ),
        &generator,
        &objective,
        &budgets,
        &gen_opts,
        Answering::Monotone,
    )?];
    methods.push(generator_method(
        "PNAG, per-budget search",
        format!("{trained}; each budget's own search, not monotone"),
        &generator,
        &objective,
        &budgets,
        &gen_opts,
        Answering::PerBudget,
    )?);
    // The paper's ablations compare generators: their own samples, unrefined.
    let samples_only = GenerateOptions {
        samples: 100,
        refine_steps: 0,
        ..gen_opts
    };
    if gen_opts.refine_steps > 0 {
        methods.push(generator_method(
            "PNAG, samples only",
            format!("{trained}; best of 100 samples (Section 3.5)"),
            &generator,
            &objective,
            &budgets,
            &samples_only,
            Answering::PerBudget,
        )?);
    }
    if a.ablations {
        #[cfg(feature = "train")]
        methods.extend(ablations::train_and_measure(
            &objective,
            &budgets,
            &a.ablation_models
                .clone()
                .unwrap_or_else(|| a.out.join("models")),
            if a.refine_ablations {
                &gen_opts
            } else {
                &samples_only
            },
            &a.only,
        )?);
        #[cfg(not(feature = "train"))]
        anyhow::bail!("--ablations trains generators: build with `--features train` (see scripts/setup/libtorch.sh)");
    }

    let bar = ProgressBar::new(2 * budgets.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} searches, eta {eta}")?
            .progress_chars("=> "),
    );
    let evo_cfg = EvolutionConfig {
        iterations: a.evolution_iterations,
        ..Default::default()
    };
    let (mut random, mut evo) = (Vec::new(), Vec::new());
    let mut evo_evals = 0;
    for &b in &budgets {
        bar.set_message("random search");
        let t = Instant::now();
        let f = random_search(&objective, b, a.random_samples, a.seed)?;
        random.push(point(b, f.best, t.elapsed().as_secs_f64()));
        bar.inc(1);
        bar.set_message("evolution");
        let t = Instant::now();
        let f = evolution(&objective, b, &evo_cfg, a.seed)?;
        evo_evals = evo_evals.max(f.evaluations);
        evo.push(point(b, f.best, t.elapsed().as_secs_f64()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    methods.push(Method {
        name: "Random search".into(),
        note: format!("{} samples per budget", a.random_samples),
        train_seconds: None,
        points: random,
    });
    methods.push(Method {
        name: "OFA evolution (oracle)".into(),
        note: format!(
            "population 100, {} iterations, ≤ {evo_evals} distinct archs scored per budget",
            a.evolution_iterations
        ),
        train_seconds: None,
        points: evo,
    });

    let oracle = methods.last().expect("evolution").points.clone();
    let ref_top1 = objective.top1(pnag_runtime::Arch::smallest())? - 1.0;
    let mut md = format!(
        "# Frontier benchmark: `{}` (w{} r{})\n\nGenerated by `pnag bench frontier --device {}{}`. Costs and top-1 are the device's cost model and the width's accuracy model (predictions, not new measurements). Budgets at {} % of the range {lo:.2}–{hi:.2} {unit}.\n\n",
        objective.device,
        objective.width,
        objective.resolution,
        a.device,
        match (a.ablations, a.refine_ablations) {
            (false, _) => String::new(),
            (true, refine) => format!(
                " --ablations{}{}",
                if a.only.is_empty() {
                    String::new()
                } else {
                    let names: Vec<_> = a.only.iter().map(|o| o.dir()).collect();
                    format!(" --only {}", names.join(","))
                },
                if refine { " --refine-ablations" } else { "" }
            ),
        },
        FRACTIONS.iter().map(|f| format!("{:.0}", f * 100.0)).collect::<Vec<_>>().join(" / ")
    );
    md += &format!("## Top-1 (%) per budget; `cost {unit}` in parentheses, ✗ = nothing feasible found\n\n| method |");
    for b in &budgets {
        md += &format!(" ≤ {b:.1} |");
    }
    md += "\n|---|";
    md += &"---:|".repeat(budgets.len());
    md += "\n";
    for m in &methods {
        md += &format!("| {} |", m.name);
        for p in &m.points {
            md += &match (p.top1, p.cost) {
                (Some(t), Some(c)) if c <= p.budget + 1e-9 => format!(" {t:.2} ({c:.1}) |"),
                _ => " ✗ |".into(),
            };
        }
        md += "\n";
    }
    md += &format!("\n## Summary\n\nRegret = oracle top-1 − method top-1, averaged over budgets where both found a feasible arch. Hypervolume of the feasible (cost, top-1) points against ({hi:.2} {unit}, {ref_top1:.2} %), in {unit}·%.\n\n| method | feasible | mean regret (points) | worst regret | hypervolume | generation / search per budget (ms) | training (s) | notes |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    let mut summary = Vec::new();
    for m in &methods {
        let regrets: Vec<f64> = m
            .points
            .iter()
            .zip(&oracle)
            .filter_map(|(p, o)| {
                Some(
                    o.top1?
                        - p.top1
                            .filter(|_| p.cost.is_some_and(|c| c <= p.budget + 1e-9))?,
                )
            })
            .collect();
        let mean = regrets.iter().sum::<f64>() / regrets.len().max(1) as f64;
        let worst = regrets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let hv = hypervolume(&m.points, hi, ref_top1);
        let ms = 1e3 * m.points.iter().map(|p| p.seconds).sum::<f64>() / m.points.len() as f64;
        let train = m.train_seconds.map_or("–".into(), |s| format!("{s:.0}"));
        md += &format!(
            "| {} | {}/{} | {mean:.3} | {worst:.3} | {hv:.1} | {ms:.1} | {train} | {} |\n",
            m.name,
            m.feasible(),
            m.points.len(),
            m.note
        );
        summary.push(serde_json::json!({"name": m.name, "feasible": m.feasible(), "mean_regret": mean, "worst_regret": worst, "hypervolume": hv, "ms_per_budget": ms}));
    }
    md += &format!("\nGeneration time is the median of three runs over all the budgets after a warm-up run, divided by the number of budgets, on one core (sampling, costing and scoring the candidates, refinement); search time is the whole per-budget search. \"PNAG\" is what `pnag generate` and `pnag-build` return: the monotone answer, the most accurate subnet under the budget among everything the generator's searches at {GRID_SEARCHES} grid budgets up to the first one above it found (each search: samples refined by hill climbing, `--refine-starts`, `--refine-steps`; all ten budgets share one grid). \"PNAG, per-budget search\" is each budget's own search alone (not monotone across budgets); \"PNAG, samples only\" is the paper's Section 3.5 inference alone (the best of 100 samples per round, no refinement).\n");
    std::fs::create_dir_all(&a.out)?;
    write_atomic(&a.out.join("frontier.md"), md.as_bytes())?;
    let json = serde_json::json!({"device": objective.device, "unit": unit, "budgets": budgets, "methods": methods, "summary": summary});
    write_atomic(
        &a.out.join("frontier.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    let series: Vec<(String, Vec<(f64, f64)>)> = methods
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.points
                    .iter()
                    .filter_map(|p| Some((p.cost.filter(|&c| c <= p.budget + 1e-9)?, p.top1?)))
                    .collect(),
            )
        })
        .collect();
    let svg = frontier_svg(
        &format!("Frontiers on {} (predicted)", objective.device),
        unit,
        &series,
    );
    write_atomic(&a.out.join("frontier.svg"), svg.as_bytes())?;
    out!("{md}");
    eprintln!("wrote {}/frontier.{{md,json,svg}}", a.out.display());
    Ok(())
}
