//! `pnag generate`: the Pareto-optimal subnet for each budget from a trained or shipped
//! generator (pure-Rust inference; added devices too).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use pnag_build::constraints::{bytes_of_mb, mb, Footprints, Limits};
use pnag_build::generator::resolutions::{objectives_at, resolution_grid, Resolutions};
use pnag_build::generator::{GenerateOptions, Generated, Generator};
use pnag_build::objective::Objective;

use crate::args::{DeviceArg, InferenceArgs};

#[derive(Args)]
pub struct GenerateArgs {
    /// Device (see `pnag devices`).
    #[arg(long)]
    device: DeviceArg,
    /// Latency budget in the device's unit (ms; MMACs for `macs`); repeat for several.
    #[arg(long = "budget", required = true, allow_negative_numbers = true)]
    budgets: Vec<f64>,
    /// A trained generator directory (default: the one shipped for the device).
    #[arg(long)]
    model: Option<PathBuf>,
    #[command(flatten)]
    inference: InferenceArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Where added devices live (`pnag device add`).
    #[arg(long, default_value = crate::added::DEFAULT_DIR)]
    devices_dir: PathBuf,
    /// Added devices: shrink each budget by this fraction before generating (default:
    /// the device's own margin at each budget, from its references' leave-one-out errors).
    #[arg(long, allow_negative_numbers = true)]
    margin: Option<f64>,
    /// Embedded-weights limit for every budget, in MB (f32 safetensors with synthetic
    /// weights' header; a targets file counts its own dtype and weights).
    #[arg(long, allow_negative_numbers = true)]
    weights_mb: Option<f64>,
    /// Peak activation memory limit for every budget, in MB (one run, 1 thread).
    #[arg(long, allow_negative_numbers = true)]
    peak_memory_mb: Option<f64>,
    /// Input resolution(s) each budget may pick from: `auto` (the device's whole grid), a
    /// number, or a comma-separated list (default: the generator's, 224 px).
    #[arg(long)]
    resolution: Option<String>,
}

impl GenerateArgs {
    /// The `--weights-mb` / `--peak-memory-mb` limits, checked.
    fn limits(&self) -> Result<Limits> {
        let bytes = |v: Option<f64>, flag: &str| -> Result<Option<u64>> {
            match v {
                Some(v) if !(v.is_finite() && v > 0.0) => {
                    bail!("--{flag} {v}: expected a positive number of megabytes")
                }
                v => Ok(v.map(bytes_of_mb)),
            }
        };
        Ok(Limits {
            weights_bytes: bytes(self.weights_mb, "weights-mb")?,
            peak_bytes: bytes(self.peak_memory_mb, "peak-memory-mb")?,
        })
    }
}

/// What `pnag generate`'s limits are counted for: f32 weights with the synthetic
/// weights' header, 1 thread.
pub(crate) fn footprints(objective: &Objective) -> Footprints {
    let origin = pnag_runtime::WeightsSource::Synthetic { seed: 0 }.origin();
    Footprints::new(objective.width, objective.resolution, false, &origin, 1)
}

pub fn generate(a: GenerateArgs) -> Result<()> {
    let builtin = match &a.device {
        DeviceArg::BuiltIn(d) => *d,
        DeviceArg::Added(name) => return generate_added(&a, name),
    };
    if a.margin.is_some() {
        bail!("--margin applies to added devices (built-in `{builtin}` has its own model)");
    }
    let generator = match &a.model {
        Some(dir) => Generator::load(dir)?,
        None => Generator::embedded(builtin.name())?,
    };
    // `Generator::generate` refuses a model trained for another device or model version.
    let width = generator
        .manifest
        .width
        .parse()
        .context("generator manifest width")?;
    let resolutions = match a.resolution.as_deref() {
        None => vec![generator.manifest.resolution],
        Some("auto") => match resolution_grid(builtin.name(), width).as_slice() {
            [only] => bail!(
                "--resolution auto: device `{builtin}`'s cost model covers {only} px only, so there is \
                 nothing to choose from; leave the flag out"
            ),
            grid => grid.to_vec(),
        },
        Some(list) => list
            .split(',')
            .map(|r| {
                r.trim().parse::<u32>().map_err(|_| {
                    anyhow::anyhow!(
                        "--resolution {list}: expected `auto`, a number or a comma-separated list"
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    let objectives = objectives_at(builtin.name(), width, &resolutions)?;
    let limits = a.limits()?;
    let opts = GenerateOptions {
        seed: a.seed,
        frugal: !limits.is_empty(),
        ..a.inference.options()
    };
    if let Some(b) = a
        .budgets
        .iter()
        .enumerate()
        .find_map(|(i, b)| a.budgets[..i].contains(b).then_some(b))
    {
        bail!("--budget {b} is given twice (each budget gets one answer)");
    }
    let footprints: Vec<Footprints> = objectives.iter().map(footprints).collect();
    let mut frontier = Resolutions::new(&generator, &objectives, &opts)?;
    let results: Vec<Generated> = a
        .budgets
        .iter()
        .map(|&b| {
            frontier
                .answer_within(b, &limits, &footprints)
                .map(|(g, _)| g)
        })
        .collect::<Result<_, _>>()?;
    for r in &results {
        if let Some(w) = &r.warning {
            eprintln!("warning: {w}");
        }
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    let unit = generator.manifest.unit.label();
    outln!(
        "device {} (w{} r{}), reward {}; cost and top-1 are model predictions",
        a.device,
        generator.manifest.width,
        resolutions
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        generator.manifest.reward
    );
    print_table(&results, unit);
    Ok(())
}

/// `pnag generate` for a device added with `pnag device add`.
fn generate_added(a: &GenerateArgs, name: &str) -> Result<()> {
    let device = crate::added::open(&a.devices_dir, name)?;
    let limits = a.limits()?;
    let opts = GenerateOptions {
        seed: a.seed,
        frugal: !limits.is_empty(),
        ..a.inference.options()
    };
    let results = crate::added::generate(&device, &a.budgets, a.margin, &limits, &opts)?;
    for w in results.iter().filter_map(|r| r.warning.as_ref()) {
        eprintln!("warning: {w}");
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    outln!(
        "device {} (added: {}, `{}` generator, margin {}); cost and top-1 are model predictions",
        device.name,
        device.method,
        device.generator_name(),
        a.margin
            .map_or("the device's own per budget".into(), |m| format!(
                "{:.1} %",
                m * 100.0
            ))
    );
    print_table(&results, "ms");
    Ok(())
}

fn print_table(results: &[Generated], unit: &str) {
    outln!(
        "{:>10}  {:>10}  {:>5}  {:>7}  {:>7}  {:>7}  {:>10}  {:>9}  {:>11}  arch",
        format!("budget {unit}"),
        format!("cost {unit}"),
        "px",
        "top-1 %",
        "MMACs",
        "params M",
        "weights MB",
        "memory MB",
        "binds"
    );
    for r in results {
        let budget = if r.budget.abs() < 1e6 {
            format!("{:.2}", r.budget)
        } else {
            pnag_build::generator::num(r.budget)
        };
        let (weights, memory) = r.footprint.map_or((f64::NAN, f64::NAN), |f| {
            (mb(f.weights_bytes), mb(f.peak_bytes))
        });
        outln!(
            "{:>10}  {:>10.2}  {:>5}  {:>7.2}  {:>7.0}  {:>7.2}  {:>10.2}  {:>9.2}  {:>11}  {}",
            budget,
            r.cost,
            r.resolution,
            r.top1,
            r.mmacs,
            r.params_m,
            weights,
            memory,
            r.binding.map_or(String::new(), |b| b.to_string()),
            r.arch
        );
    }
}
