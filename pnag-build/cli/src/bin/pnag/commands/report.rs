//! `pnag report models`: every latency and accuracy model against measured data
//! it never saw — RMSE, MAPE, share within ±10 %, Kendall τ, Spearman ρ — with
//! an SVG scatter per learned model. Writes `models.md`, `models.json`, `*.svg`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use pnag_build::accuracy::{AccuracyModel, OfaPredictor};
use pnag_build::predictor::{embedded, LearnedPredictor};
use pnag_build::stats::metrics::Metrics;
use pnag_cli::datasets::{moofa_top1, split};
use pnag_cli::plot::scatter_svg;
use pnag_runtime::files::write_atomic;
use pnag_runtime::Width;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct ModelsReportArgs {
    /// Output directory.
    #[arg(long, default_value = "bench-out/models")]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Row {
    model: String,
    kind: &'static str,
    held_out: String,
    metrics: Option<Metrics>,
    note: String,
    plot: Option<String>,
}

/// Evaluates a learned predictor on its own held-out test split.
fn learned_row(
    p: &LearnedPredictor,
    data: &pnag_cli::datasets::Dataset,
    out: &std::path::Path,
) -> Result<Row> {
    let m = &p.manifest;
    let (_, _, test) = split(data.samples.len(), m.seed);
    let measured: Vec<f64> = test.iter().map(|&i| data.samples[i].value).collect();
    let predicted: Vec<f64> = test
        .iter()
        .map(|&i| p.predict(&data.samples[i].arch, data.samples[i].resolution))
        .collect();
    let svg = format!("{}.svg", m.name);
    let unit = if m.kind == "latency" { "ms" } else { "top-1 %" };
    write_atomic(
        &out.join(&svg),
        scatter_svg(
            &format!("{} — held-out test split (n={})", m.name, test.len()),
            unit,
            &measured,
            &predicted,
        )
        .as_bytes(),
    )?;
    Ok(Row {
        model: m.name.clone(),
        kind: if m.kind == "latency" {
            "latency"
        } else {
            "accuracy"
        },
        held_out: format!(
            "seeded test split of {} ({} of {})",
            data.name,
            test.len(),
            data.samples.len()
        ),
        metrics: Some(Metrics::new(&predicted, &measured)),
        note: format!(
            "{}, trained {:.0} s on {} samples; {}",
            if m.hidden.is_empty() {
                "linear (beat the 512-512 MLP on validation)".to_string()
            } else {
                format!("MLP {:?}", m.hidden)
            },
            m.train_seconds,
            m.split[0],
            m.unit
        ),
        plot: Some(svg),
    })
}

pub fn models(a: &ModelsReportArgs) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut rows = Vec::new();
    rows.push(learned_row(
        &embedded("titan-xp")?,
        &pnag_cli::datasets::help_titan_xp(),
        &a.out,
    )?);
    let moofa = moofa_top1();
    rows.push(learned_row(&embedded("moofa-w1.0")?, &moofa, &a.out)?);

    // OFA's official predictor is w1.2; the only measured top-1 set is w1.0, so only ranks compare.
    let ofa = OfaPredictor::embedded()?;
    let (mut p, mut m) = (Vec::new(), Vec::new());
    for s in moofa.samples.iter().filter(|s| s.resolution >= 160) {
        p.push(ofa.top1(s.arch, Width::W1_2, s.resolution)?);
        m.push(s.value);
    }
    rows.push(Row {
        model: "ofa-predictor".into(),
        kind: "accuracy",
        held_out: format!("all {} measured w1.0 subnets at r ≥ 160 (never seen by it)", m.len()),
        metrics: Some(Metrics::new(&p, &m)),
        note: "w1.2 predictor vs w1.0 measurements: only Kendall τ / Spearman ρ are meaningful (values differ by width and by holdout set)".into(),
        plot: None,
    });
    let host = pnag_build::cost::Host::new()?;
    let h = host.model();
    let (hp, hm): (Vec<f64>, Vec<f64>) = h
        .validation
        .iter()
        .map(|v| (v.predicted_ms, v.measured_ms))
        .unzip();
    write_atomic(
        &a.out.join("host.svg"),
        scatter_svg(
            &format!("host — {} held-out archs", hm.len()),
            "ms",
            &hm,
            &hp,
        )
        .as_bytes(),
    )?;
    rows.push(Row {
        model: "host".into(),
        kind: "latency",
        held_out: format!(
            "{} random archs measured with tract, never fitted",
            hm.len()
        ),
        metrics: Some(Metrics::new(&hp, &hm)),
        note: format!(
            "{}; w{} r{} {} thread(s); fitted on {} archs, median over {} passes of the run-by-run ratio to a reference subnet",
            h.machine, h.width, h.resolution, h.threads, h.fit_archs, h.passes
        ),
        plot: Some("host.svg".into()),
    });
    for (name, source) in [
        ("note10", "OFA Note10 LUT"),
        ("i7-8700k", "nsganetv2 i7-8700K LUT"),
    ] {
        rows.push(Row {
            model: name.into(),
            kind: "latency",
            held_out: "—".into(),
            metrics: None,
            note: format!("{source}: reproduces the published table sums exactly (tests); no public end-to-end measurements exist to hold out"),
            plot: None,
        });
    }

    let mut md = String::from("| model | kind | held-out data | n | RMSE | MAPE % | within ±10 % | Kendall τ | Spearman ρ | notes |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for r in &rows {
        let cells = match r.metrics {
            Some(m) => format!(
                "{} | {:.3} | {:.2} | {:.1} % | {:.3} | {:.3}",
                m.n, m.rmse, m.mape, m.within_10pct, m.kendall_tau, m.spearman_rho
            ),
            None => "— | — | — | — | — | —".into(),
        };
        let plot = r
            .plot
            .as_ref()
            .map(|p| format!(" (plot: `{p}`)"))
            .unwrap_or_default();
        md.push_str(&format!(
            "| {} | {} | {} | {cells} | {}{plot} |\n",
            r.model, r.kind, r.held_out, r.note
        ));
    }
    crate::bench::common::write_report(&a.out, "models", &md, &rows)
}

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Every latency and accuracy model on held-out data: RMSE, MAPE, ±10 %, Kendall τ, Spearman ρ, SVG scatters.
    Models(ModelsReportArgs),
}

/// Runs one `pnag report` subcommand.
pub fn run(command: ReportCommand) -> Result<()> {
    match command {
        ReportCommand::Models(a) => models(&a),
    }
}
