//! `pnag bench resolution`: the input resolution searched with the architecture.
//! At ten budgets spread from the cheapest subnet at the device's smallest resolution to
//! the largest at 224 px, the generator at 224 px only (today's answers), the generator
//! over the device's resolution grid ([`Resolutions`]), and OFA's evolutionary search at
//! every resolution of the grid, best over resolutions (the oracle). Writes
//! `resolution.md`, `resolution.json` and `resolution.svg`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::constraints::{Footprints, Limits};
use pnag_build::generator::resolutions::{objectives_at, resolution_grid, Resolutions};
use pnag_build::generator::{GenerateOptions, Generator};
use pnag_build::objective::{DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_cli::search::{evolution, EvolutionConfig};
use pnag_runtime::Arch;
use serde::Serialize;

use super::frontier::FRACTIONS;

#[derive(Debug, clap::Args)]
pub struct ResolutionArgs {
    #[command(flatten)]
    search: super::common::SearchArgs,
    /// Output directory.
    #[arg(long, default_value = "bench-out/resolution")]
    out: PathBuf,
}

/// One budget's answer by one method.
#[derive(Debug, Clone, Copy, Serialize)]
struct Point {
    top1: Option<f64>,
    cost: Option<f64>,
    resolution: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Row {
    budget: f64,
    fixed_224: Point,
    searched: Point,
    evolution: Point,
}

pub fn resolution(a: &ResolutionArgs) -> Result<()> {
    let grid = resolution_grid(&a.search.device, DEFAULT_WIDTH);
    if grid.len() < 2 {
        bail!(
            "device `{}` has a cost model at {:?} px only: nothing to search",
            a.search.device,
            grid
        );
    }
    let generator = Generator::embedded(&a.search.device)?;
    let opts = GenerateOptions {
        seed: a.search.seed,
        ..Default::default()
    };
    let objectives = objectives_at(&a.search.device, DEFAULT_WIDTH, &grid)?;
    // Costed as `pnag generate` costs them (f32, synthetic weights' header, 1 thread).
    let footprints: Vec<Footprints> = objectives
        .iter()
        .map(crate::commands::generate::footprints)
        .collect();
    let at_224 = grid
        .iter()
        .position(|&r| r == DEFAULT_RESOLUTION)
        .expect("every shipped generator's resolution is in its device's grid");
    let lo = objectives[0].cost(Arch::smallest())?;
    let hi = generator.manifest.range[1];
    let budgets: Vec<f64> = FRACTIONS.iter().map(|f| lo + f * (hi - lo)).collect();
    let none = Limits::default();

    let start = Instant::now();
    let mut fixed = generator.frontier(&objectives[at_224], &opts)?;
    let fixed: Vec<Point> = budgets
        .iter()
        .map(|&b| point(fixed.answer(b).ok().map(|g| (g.top1, g.cost, g.resolution))))
        .collect();
    let fixed_ms = 1e3 * start.elapsed().as_secs_f64() / budgets.len() as f64;
    let start = Instant::now();
    let mut searched = Resolutions::new(&generator, &objectives, &opts)?;
    let searched: Vec<Point> = budgets
        .iter()
        .map(|&b| {
            let g = searched
                .answer_within(b, &none, &footprints)
                .ok()
                .map(|(g, _)| g);
            point(g.map(|g| (g.top1, g.cost, g.resolution)))
        })
        .collect();
    let searched_ms = 1e3 * start.elapsed().as_secs_f64() / budgets.len() as f64;

    let cfg = EvolutionConfig {
        iterations: a.search.evolution_iterations,
        ..Default::default()
    };
    let bar = ProgressBar::new((budgets.len() * grid.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("evolution [{bar:40}] {pos}/{len} searches, eta {eta}")?
            .progress_chars("=> "),
    );
    let start = Instant::now();
    let mut rows = Vec::new();
    for (i, &b) in budgets.iter().enumerate() {
        let mut best: Option<(f64, f64, u32)> = None;
        for o in &objectives {
            if let Some(s) = evolution(o, b, &cfg, a.search.seed)?.best {
                if best.is_none_or(|x| (s.top1, -s.cost) > (x.0, -x.1)) {
                    best = Some((s.top1, s.cost, o.resolution));
                }
            }
            bar.inc(1);
        }
        rows.push(Row {
            budget: b,
            fixed_224: fixed[i],
            searched: searched[i],
            evolution: point(best),
        });
    }
    bar.finish_and_clear();
    let evolution_ms = 1e3 * start.elapsed().as_secs_f64() / budgets.len() as f64;
    let md = markdown(a, &grid, &rows, [fixed_ms, searched_ms, evolution_ms]);
    std::fs::create_dir_all(&a.out)?;
    let method = |name: &str, get: fn(&Row) -> Point| {
        let points = rows
            .iter()
            .filter_map(|r| Some((get(r).cost?, get(r).top1?)))
            .collect();
        (name.to_string(), points)
    };
    let series: Vec<(String, Vec<(f64, f64)>)> = vec![
        method("PNAG, 224 px only", |r| r.fixed_224),
        method("PNAG, resolution searched", |r| r.searched),
        method("OFA evolution, best over resolutions", |r| r.evolution),
    ];
    let unit = objectives[0].unit().label();
    let svg = pnag_cli::plot::frontier_svg(
        &format!("{}: resolution searched (predicted)", a.search.device),
        unit,
        &series,
    );
    pnag_runtime::files::write_atomic(&a.out.join("resolution.svg"), svg.as_bytes())?;
    let json = serde_json::json!({"device": a.search.device, "resolutions": grid, "rows": rows,
        "ms_per_answer": {"fixed_224": fixed_ms, "searched": searched_ms, "evolution": evolution_ms}});
    super::common::write_report(&a.out, "resolution", &md, &json)
}

fn point(p: Option<(f64, f64, u32)>) -> Point {
    Point {
        top1: p.map(|p| p.0),
        cost: p.map(|p| p.1),
        resolution: p.map(|p| p.2),
    }
}

fn cell(p: &Point) -> String {
    match (p.top1, p.resolution) {
        (Some(t), Some(r)) => format!("{t:.2} @ {r}"),
        _ => "✗".into(),
    }
}

fn markdown(a: &ResolutionArgs, grid: &[u32], rows: &[Row], ms: [f64; 3]) -> String {
    let mut s = format!(
        "# Resolution searched with the architecture: `{}`\n\nGenerated by `pnag bench resolution --device {}`. \
         Resolutions {grid:?} px; predicted top-1 (%) @ the chosen resolution; ✗ = no answer (the budget is below \
         the cheapest subnet at 224 px). Regret = evolution − PNAG (points). Evolution: OFA's search at every \
         resolution, best over them.\n\n\
         | budget | PNAG, 224 px only | PNAG, resolution searched | OFA evolution (oracle) | regret | gain over 224 px |\n\
         |---:|---|---|---|---:|---:|\n",
        a.search.device, a.search.device
    );
    let (mut regrets, mut gains) = (Vec::new(), Vec::new());
    for r in rows {
        let regret = r.evolution.top1.zip(r.searched.top1).map(|(e, p)| e - p);
        let gain = r.searched.top1.zip(r.fixed_224.top1).map(|(p, f)| p - f);
        regrets.extend(regret);
        gains.extend(gain);
        s.push_str(&format!(
            "| {:.2} | {} | {} | {} | {} | {} |\n",
            r.budget,
            cell(&r.fixed_224),
            cell(&r.searched),
            cell(&r.evolution),
            regret.map_or("–".into(), |x| format!("{x:+.3}")),
            gain.map_or("–".into(), |x| format!("{x:+.3}")),
        ));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    s.push_str(&format!(
        "\nMean regret {:+.3} (worst {:+.3}) over {} budgets; mean gain over 224 px {:+.3} over the {} budgets 224 px answers, \
         and {} budgets only a smaller image answers. Time per answer (ten budgets sharing each frontier's grid searches): \
         224 px only {:.0} ms, resolution searched {:.0} ms, evolution {:.0} ms.\n\n{}\n",
        mean(&regrets),
        regrets.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        regrets.len(),
        mean(&gains),
        gains.len(),
        rows.iter().filter(|r| r.fixed_224.top1.is_none() && r.searched.top1.is_some()).count(),
        ms[0],
        ms[1],
        ms[2],
        super::common::host_line(),
    ));
    s
}
