//! `pnag bench devices`: every known device held out in turn — the device space
//! is learned without it, then its latency is predicted from n reference
//! measurements (device-space fit vs the closest known model, calibrated), and
//! the built-in devices get zero-shot generation judged under their true model.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::device::space::{additive, DeviceSpace, KnownModel};
use pnag_build::device::{describe, predict, reference_archs as references, ProbeFile};
use pnag_build::generator::device_conditioned::ConditionedGenerator;
use pnag_build::generator::{GenerateOptions, Generator, MANIFEST_FILE};
use pnag_build::objective::{DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_build::stats::metrics::Metrics;
use pnag_build::stats::{mean, quantile_nearest};
use pnag_cli::device_bank::{
    additive_model, fit_archs, known_devices, reference_set, Group, KnownDevice,
};
use pnag_cli::plot::frontier_svg;
use pnag_cli::search::{evolution, EvolutionConfig};
use pnag_runtime::files::write_atomic;
use pnag_runtime::Arch;
use serde::Serialize;

use super::frontier::FRACTIONS;

#[derive(Debug, Args)]
pub struct DevicesBenchArgs {
    /// Reference counts to compare (≤ 20: a spread of the probe's; more: extra archs).
    #[arg(value_parser = crate::args::count(1, 10_000), long, value_delimiter = ',', default_value = "5,10,20,40")]
    references: Vec<usize>,
    /// Output directory (leave-out.md, leave-out.json, SVGs).
    #[arg(long, default_value = "docs/devices")]
    out: PathBuf,
    /// Skip the zero-shot generation study (latency prediction only).
    #[arg(long)]
    no_generation: bool,
    /// Evolution iterations (the oracle and the zero-shot evolution baseline).
    #[arg(value_parser = crate::args::count(1, 1_000_000), long, default_value_t = 500)]
    evolution_iterations: usize,
    /// Seed of the searches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The device-conditioned generator's leave-out folds (`without-<device>/`, from
    /// `pnag train-conditioned --hold-out <device>`); a missing fold skips its row.
    #[arg(long, default_value = crate::commands::train_conditioned::FOLDS_DIR)]
    conditioned: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
struct PredictionRow {
    device: String,
    group: &'static str,
    references: usize,
    method: &'static str,
    /// For the calibrated method: the base chosen.
    base: String,
    test_archs: usize,
    test_measured: bool,
    metrics: Metrics,
    /// 90th percentile of the leave-one-out relative errors over the references.
    loo_p90: f64,
}

#[derive(Debug, Clone, Serialize)]
struct GenerationRow {
    device: String,
    method: String,
    budget: f64,
    /// Predicted-model budget after the margin.
    asked: f64,
    arch: Option<String>,
    true_cost: Option<f64>,
    feasible: bool,
    top1: Option<f64>,
    oracle_top1: f64,
    regret: Option<f64>,
    ms: f64,
    /// The margin used (`DeviceFile::margin_at`).
    margin: f64,
    /// `device add`'s time to describe the device (ms).
    describe_ms: f64,
}

/// One zero-shot method's answer for the budget being judged.
type Answer<'a> = Box<dyn FnMut() -> Result<Option<Arch>> + 'a>;

const SPACE: &str = "device space";
const CALIBRATED: &str = "closest known, calibrated";
const CHOSEN: &str = "chosen by LOO error (what `device add` does)";

pub fn devices(a: &DevicesBenchArgs) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let t0 = Instant::now();
    eprintln!("fitting the known devices' models …");
    let devices = known_devices();
    let archs = fit_archs();
    let thetas: Vec<Vec<f64>> = devices.iter().map(|d| additive_model(d, &archs)).collect();
    let bar = bar(devices.len() * a.references.len(), "held out")?;
    let mut rows = Vec::new();
    let mut spaces = Vec::new();
    for (h, held) in devices.iter().enumerate() {
        let others: Vec<usize> = (0..devices.len()).filter(|&i| i != h).collect();
        let named: Vec<KnownModel> = others
            .iter()
            .map(|&i| KnownModel {
                name: devices[i].name.clone(),
                origin: devices[i].origin.clone(),
                theta: thetas[i].clone(),
            })
            .collect();
        let space = DeviceSpace::learn(&named, &references(), DEFAULT_RESOLUTION);
        for &n in &a.references {
            bar.set_message(format!("{} n={n}", held.name));
            let refs = reference_set(n);
            let y: Vec<f64> = refs.iter().map(|r| held.latency(r)).collect();
            let measured: Vec<f64> = held.test.iter().map(|t| t.1).collect();
            let row = |method, base: String, predicted: Vec<f64>, loo: Vec<f64>| PredictionRow {
                device: held.name.clone(),
                group: held.group.label(),
                references: refs.len(),
                method,
                base,
                test_archs: measured.len(),
                test_measured: held.test_measured,
                metrics: Metrics::new(&predicted, &measured),
                loo_p90: quantile_nearest(loo, 0.9),
            };
            let both = predict(&space, &refs, &y, &[])?.context("no known device calibrates")?;
            let (fit, c) = (&both.space, &both.closest);
            let by_space: Vec<f64> = held.test.iter().map(|t| fit.latency(&t.0)).collect();
            let by_base: Vec<f64> = held.test.iter().map(|t| additive(&c.theta, &t.0)).collect();
            let (base, loo) = (c.name.clone(), c.loo_errors.clone());
            // What `pnag device add` does (`Predictions::space_wins`).
            rows.push(if both.space_wins() {
                row(
                    CHOSEN,
                    "device space".into(),
                    by_space.clone(),
                    fit.loo_errors.clone(),
                )
            } else {
                row(CHOSEN, base.clone(), by_base.clone(), loo.clone())
            });
            rows.push(row(SPACE, String::new(), by_space, fit.loo_errors.clone()));
            rows.push(row(CALIBRATED, base, by_base, loo));
            bar.inc(1);
        }
        spaces.push(space);
    }
    bar.finish_and_clear();
    let mut generation = Vec::new();
    if !a.no_generation {
        generation = zero_shot(a, &devices, &spaces)?;
    }
    let ceilings: Vec<f64> = devices
        .iter()
        .zip(&thetas)
        .map(|(d, t)| {
            let p: Vec<f64> = d.test.iter().map(|x| additive(t, &x.0)).collect();
            let m: Vec<f64> = d.test.iter().map(|x| x.1).collect();
            Metrics::new(&p, &m).within_10pct
        })
        .collect();
    let report = render(a, &devices, &ceilings, &rows, &generation);
    write_atomic(&a.out.join("leave-out.md"), report.as_bytes())?;
    write_atomic(
        &a.out.join("leave-out.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "prediction": rows, "generation": generation
        }))?
        .as_bytes(),
    )?;
    for method in [SPACE, CALIBRATED] {
        let series: Vec<(String, Vec<(f64, f64)>)> =
            [Group::Cpu, Group::GpuBatched, Group::GpuBatch1]
                .iter()
                .map(|g| {
                    let pts = a
                        .references
                        .iter()
                        .map(|&n| {
                            let v: Vec<f64> = rows
                                .iter()
                                .filter(|r| {
                                    r.method == method
                                        && r.group == g.label()
                                        && r.references == reference_set(n).len()
                                })
                                .map(|r| r.metrics.spearman_rho)
                                .collect();
                            (reference_set(n).len() as f64, quantile_nearest(v, 0.5))
                        })
                        .collect();
                    (g.label().to_string(), pts)
                })
                .collect();
        let file = if method == SPACE {
            "spearman-space.svg"
        } else {
            "spearman-calibrated.svg"
        };
        let svg = frontier_svg(
            &format!("{method}: median Spearman ρ over held-out devices"),
            "references",
            &series,
        );
        write_atomic(&a.out.join(file), svg.as_bytes())?;
    }
    outln!("{report}");
    eprintln!(
        "wrote {} in {:.0} s",
        a.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bar(n: usize, what: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg:>24}} [{{bar:40}}] {{pos}}/{{len}} {what}, eta {{eta}}"
        ))?
        .progress_chars("=> "),
    );
    Ok(bar)
}

/// Zero-shot generation on each held-out built-in device, exactly as `pnag
/// device add` + `pnag generate` would do it from its 20 reference latencies
/// (space learned without it, its own model and generator excluded): the
/// chosen prediction, the transferred generator, the local margin. Against:
/// evolution on the same prediction (zero-shot too) and the device's own
/// generator on its true model — all judged under the true model against
/// evolution on the true model.
fn zero_shot(
    a: &DevicesBenchArgs,
    devices: &[KnownDevice],
    spaces: &[DeviceSpace],
) -> Result<Vec<GenerationRow>> {
    let opts = GenerateOptions {
        seed: a.seed,
        ..GenerateOptions::default()
    };
    let evo = EvolutionConfig {
        iterations: a.evolution_iterations,
        ..Default::default()
    };
    let held: Vec<usize> = (0..devices.len())
        .filter(|&i| devices[i].generator.is_some())
        .collect();
    let bar = bar(held.len() * FRACTIONS.len(), "budgets")?;
    let refs = references();
    let mut out = Vec::new();
    for &h in &held {
        let d = &devices[h];
        let truth = d.objective().expect("built-in");
        let probe = ProbeFile {
            threads: 1,
            width: DEFAULT_WIDTH,
            resolution: DEFAULT_RESOLUTION,
            tool: "true model".into(),
            machine: d.name.clone(),
            latency_ms: refs.iter().map(|r| d.latency(r)).collect(),
        };
        let t = Instant::now();
        let added = describe(
            &format!("{}-held-out", d.name),
            &probe,
            &spaces[h],
            &[&d.name],
        )?;
        let describe_ms = t.elapsed().as_secs_f64() * 1e3;
        let predicted = added.objective()?;
        let transferred = added.generator(&predicted)?;
        let own = Generator::embedded(d.generator.expect("built-in"))?;
        let mut zero = transferred.frontier(&predicted, &opts)?;
        let mut mine = own.frontier(truth, &opts)?;
        let conditioned = conditioned_fold(a, &d.name)?
            .map(|c| c.for_device(&predicted, &probe.latency_ms))
            .transpose()?;
        let mut conditioned = conditioned
            .as_ref()
            .map(|g| g.frontier(&predicted, &opts))
            .transpose()?;
        let has_fold = conditioned.is_some();
        let (lo, hi) = (truth.cost(Arch::smallest())?, truth.cost(Arch::largest())?);
        let zero_name = format!(
            "zero-shot: {}, `{}` generator",
            added.method, added.generator
        );
        for f in FRACTIONS {
            let b = lo + f * (hi - lo);
            bar.set_message(format!("{} {b:.1}", d.name));
            let oracle = evolution(truth, b, &evo, a.seed)?
                .best
                .map_or(f64::NAN, |s| s.top1);
            let margin = added.margin_at(b);
            let judge = |method: String,
                         asked: f64,
                         arch: Option<Arch>,
                         ms: f64|
             -> Result<GenerationRow> {
                let true_cost = arch.map(|x| truth.cost(x)).transpose()?;
                let top1 = arch.map(|x| truth.top1(x)).transpose()?;
                let feasible = true_cost.is_some_and(|c| c <= b);
                Ok(GenerationRow {
                    device: d.name.clone(),
                    method,
                    budget: b,
                    asked,
                    arch: arch.map(|x| x.to_string()),
                    true_cost,
                    feasible,
                    top1,
                    oracle_top1: oracle,
                    regret: top1.filter(|_| feasible).map(|t| oracle - t),
                    ms,
                    margin,
                    describe_ms,
                })
            };
            let asked = b * (1.0 - margin);
            let mut answers: Vec<(String, f64, Answer)> = vec![
                (
                    zero_name.clone(),
                    asked,
                    Box::new(|| {
                        zero.answer(asked)
                            .ok()
                            .map(|g| Arch::parse(&g.arch))
                            .transpose()
                            .map_err(Into::into)
                    }),
                ),
                (
                    "zero-shot: evolution on the same prediction".into(),
                    asked,
                    Box::new(|| {
                        Ok(evolution(&predicted, asked, &evo, a.seed)?
                            .best
                            .map(|s| s.arch))
                    }),
                ),
                (
                    "own generator, true model (not zero-shot)".into(),
                    b,
                    Box::new(|| {
                        mine.answer(b)
                            .ok()
                            .map(|g| Arch::parse(&g.arch))
                            .transpose()
                            .map_err(Into::into)
                    }),
                ),
            ];
            let conditioned_answer = || -> Result<Option<Arch>> {
                let f = conditioned.as_mut().expect("only listed with a fold");
                f.answer(asked)
                    .ok()
                    .map(|g| Arch::parse(&g.arch))
                    .transpose()
                    .map_err(Into::into)
            };
            if has_fold {
                answers.insert(
                    1,
                    (
                        "zero-shot: device-conditioned generator (trained without it)".into(),
                        asked,
                        Box::new(conditioned_answer),
                    ),
                );
            }
            for (method, asked, mut answer) in answers {
                let t = Instant::now();
                let arch = answer()?;
                out.push(judge(method, asked, arch, t.elapsed().as_secs_f64() * 1e3)?);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The conditioned generator's fold that never saw `device`, if trained.
fn conditioned_fold(a: &DevicesBenchArgs, device: &str) -> Result<Option<ConditionedGenerator>> {
    let dir = a.conditioned.join(format!("without-{device}"));
    if !dir.join(MANIFEST_FILE).is_file() {
        eprintln!(
            "no device-conditioned fold at {} (train it: `pnag train-conditioned --hold-out {device}`); its row is skipped",
            dir.display()
        );
        return Ok(None);
    }
    let g = ConditionedGenerator::load(&dir)?;
    if !g.conditioning.held_out.iter().any(|h| h == device) {
        anyhow::bail!(
            "{}: this fold was trained with `{device}` (held out: {:?})",
            dir.display(),
            g.conditioning.held_out
        );
    }
    Ok(Some(g))
}

fn render(
    a: &DevicesBenchArgs,
    devices: &[KnownDevice],
    ceilings: &[f64],
    rows: &[PredictionRow],
    generation: &[GenerationRow],
) -> String {
    let mut s = String::new();
    s.push_str("# Devices never trained on: leave-one-out over the 21 known devices\n\n");
    s.push_str(&format!(
        "Regenerate: `cargo run --release -p pnag-cli --bin pnag -- bench devices --references {} --out {}` (pure Rust, no libtorch).\n\n",
        a.references.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
        a.out.display()
    ));
    s.push_str("Each device is held out in turn: the device space is learned from the other 20, then the held-out device's latency is predicted from its reference latencies alone. **device space**: the fit described in `pnag_build::device::space`; **closest known, calibrated**: the other device whose model, fit as `scale × model + offset` to the references, has the smallest leave-one-out error. References come from the device's true model (a stand-in predictor for measured sets, labelled in the device list); the test set is real measurements at 224 px where the data has them.\n\n");
    s.push_str("## Summary (median over held-out devices)\n\n| group | references | method | devices | Spearman ρ | Kendall τ | MAPE % | within ±10 % | devices with ≥ 90 % within ±10 % |\n|---|---|---|---|---|---|---|---|---|\n");
    for g in [Group::Cpu, Group::GpuBatched, Group::GpuBatch1] {
        for &n in &a.references {
            let n = reference_set(n).len();
            for method in [CHOSEN, SPACE, CALIBRATED] {
                let sel: Vec<&PredictionRow> = rows
                    .iter()
                    .filter(|r| r.group == g.label() && r.references == n && r.method == method)
                    .collect();
                let med = |f: &dyn Fn(&PredictionRow) -> f64| {
                    quantile_nearest(sel.iter().map(|r| f(r)).collect(), 0.5)
                };
                let good = sel
                    .iter()
                    .filter(|r| r.metrics.within_10pct >= 90.0)
                    .count();
                s.push_str(&format!(
                    "| {} | {n} | {method} | {} | {:.3} | {:.3} | {:.1} | {:.1} % | {good}/{} |\n",
                    g.label(),
                    sel.len(),
                    med(&|r| r.metrics.spearman_rho),
                    med(&|r| r.metrics.kendall_tau),
                    med(&|r| r.metrics.mape),
                    med(&|r| r.metrics.within_10pct),
                    sel.len()
                ));
            }
        }
    }
    s.push_str("\n![median Spearman, device space](spearman-space.svg) ![median Spearman, calibrated](spearman-calibrated.svg)\n\n");
    s.push_str("## Per device\n\n| device | group | references | method | base | test archs | Spearman ρ | Kendall τ | MAPE % | within ±10 % | LOO p90 % |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {}{} | {:.3} | {:.3} | {:.1} | {:.1} % | {:.1} |\n",
            r.device,
            r.group,
            r.references,
            r.method,
            r.base,
            r.test_archs,
            if r.test_measured {
                " measured"
            } else {
                " model"
            },
            r.metrics.spearman_rho,
            r.metrics.kendall_tau,
            r.metrics.mape,
            r.metrics.within_10pct,
            r.loo_p90 * 100.0
        ));
    }
    if !generation.is_empty() {
        s.push_str("\n## Zero-shot generation (20 references, 10 budgets per held-out built-in device)\n\nJudged under the device's true model; regret = top-1 of OFA evolution on the true model minus the answer's (feasible answers only). `pnag device add` is run on the device's 20 reference latencies (from its true model) with the device left out of the space, of the calibration candidates and of the generators; its margin at a budget is the largest leave-one-out error among the 5 references predicted closest to it (at least the p90 over all 20), and a budget is asked as `budget × (1 − margin)` of the larger of the two predictions. The **device-conditioned generator** row is the fold of `pnag train-conditioned --hold-out <device>` (trained on the space's other devices, the held-out one and its same-hardware settings excluded), instantiated from the same reference latencies and prediction, with the same margin and the same frontier. Time per budget: ten budgets sharing one frontier, its grid searches on all cores.\n\n| device | method | feasible | mean regret (points) | worst regret | ms per budget |\n|---|---|---|---|---|---|\n");
        let mut keys: Vec<(String, String)> = Vec::new();
        for g in generation {
            let k = (g.device.clone(), g.method.clone());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (d, m) in keys {
            let sel: Vec<&GenerationRow> = generation
                .iter()
                .filter(|g| g.device == d && g.method == m)
                .collect();
            let regrets: Vec<f64> = sel.iter().filter_map(|g| g.regret).collect();
            s.push_str(&format!(
                "| {d} | {m} | {}/{} | {:.3} | {:.3} | {:.0} |\n",
                sel.iter().filter(|g| g.feasible).count(),
                sel.len(),
                mean(&regrets),
                regrets.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                mean(&sel.iter().map(|g| g.ms).collect::<Vec<_>>())
            ));
        }
    }
    s.push_str("\n## The known devices\n\n*Additive ceiling*: the device's own additive model (fit on its true model) on its test set, within ±10 % — the best the device-space form can do there.\n\n| device | group | width | true model | test set | additive ceiling |\n|---|---|---|---|---|---|\n");
    for (d, c) in devices.iter().zip(ceilings) {
        s.push_str(&format!(
            "| {} | {} | w{} | {} | {} archs at 224 px, {} | {c:.1} % |\n",
            d.name,
            d.group.label(),
            d.width,
            d.origin,
            d.test.len(),
            if d.test_measured {
                "measured"
            } else {
                "from the model"
            }
        ));
    }
    s
}
