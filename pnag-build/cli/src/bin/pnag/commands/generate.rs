//! `pnag generate`: the Pareto-optimal subnet for each budget from a trained or shipped
//! generator (pure-Rust inference; added devices too).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
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
    let objective = Objective::new(builtin.name(), width, generator.manifest.resolution)?;
    let opts = GenerateOptions {
        seed: a.seed,
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
    let mut frontier = generator.frontier(&objective, &opts)?;
    let results: Vec<Generated> = a
        .budgets
        .iter()
        .map(|&b| frontier.answer(b))
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
        generator.manifest.resolution,
        generator.manifest.reward
    );
    print_table(&results, unit);
    Ok(())
}

/// `pnag generate` for a device added with `pnag device add`.
fn generate_added(a: &GenerateArgs, name: &str) -> Result<()> {
    let device = crate::added::open(&a.devices_dir, name)?;
    let opts = GenerateOptions {
        seed: a.seed,
        ..a.inference.options()
    };
    let results = crate::added::generate(&device, &a.budgets, a.margin, &opts)?;
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
        "{:>10}  {:>10}  {:>7}  {:>7}  {:>7}  arch",
        format!("budget {unit}"),
        format!("cost {unit}"),
        "top-1 %",
        "MMACs",
        "params M"
    );
    for r in results {
        let budget = if r.budget.abs() < 1e6 {
            format!("{:.2}", r.budget)
        } else {
            pnag_build::generator::num(r.budget)
        };
        outln!(
            "{:>10}  {:>10.2}  {:>7.2}  {:>7.0}  {:>7.2}  {}",
            budget,
            r.cost,
            r.top1,
            r.mmacs,
            r.params_m,
            r.arch
        );
    }
}
