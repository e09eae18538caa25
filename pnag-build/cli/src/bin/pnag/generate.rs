//! `pnag train` (evaluator + generator, feature `train`), `pnag generate`
//! (pure-Rust inference from a trained or shipped generator) and `pnag targets`
//! (what a downstream build.rs would choose for a targets TOML).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use pnag_build::generator::{GenerateOptions, Generated, Generator};
use pnag_build::objective::{Objective, RewardKind};

/// Defaults equal `PnagConfig::default()` (what the shipped generators used).
#[derive(Args)]
pub struct TrainArgs {
    /// Device whose cost model the generator learns (see `pnag devices`).
    #[arg(long)]
    device: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// REINFORCE iterations (each samples N archs for every one of the K budgets).
    #[arg(long, default_value_t = 1500)]
    iterations: usize,
    /// Number of budget embeddings K (evenly spaced over the device's cost range).
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Archs sampled per budget per iteration (N).
    #[arg(long, default_value_t = 32)]
    samples: usize,
    /// Archs sampled to train the evaluator (M).
    #[arg(long, default_value_t = 16_000)]
    archs: usize,
    /// Evaluator training steps (batches of 256 archs, every pair compared).
    #[arg(long, default_value_t = 2_000)]
    evaluator_steps: usize,
    /// Adam learning rate of the generator.
    #[arg(long, default_value_t = 5e-3)]
    lr: f64,
    /// Entropy bonus λ (Eq. 3).
    #[arg(long, default_value_t = 1e-2)]
    entropy: f64,
    /// Learn only from each budget's best share of samples (risk-seeking policy gradient).
    #[arg(long, default_value_t = 0.1)]
    elite: f64,
    /// Use the paper's moving-average baseline over all samples instead of `--elite`.
    #[arg(long)]
    moving_average: bool,
    /// Reward: PNAG's learned Pareto evaluator, or a baseline.
    #[arg(long, default_value_t = RewardKind::Pareto, value_parser = reward_parser())]
    reward: RewardKind,
    /// Output directory (default `pnag-build/models/<device>`, the shipped ones); checkpoints in `<out>/.train` make a rerun resume.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Device (see `pnag devices`).
    #[arg(long)]
    device: String,
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
    #[arg(long, default_value = super::added_devices::DEFAULT_DIR)]
    devices_dir: PathBuf,
    /// Added devices: shrink each budget by this fraction before generating (default:
    /// the device's own margin at each budget, from its references' leave-one-out errors).
    #[arg(long)]
    margin: Option<f64>,
}

/// How the generator answers (shared by `generate` and `bench frontier`).
#[derive(Debug, clap::Args)]
pub struct InferenceArgs {
    /// Candidates sampled per round (at least 1).
    #[arg(long, default_value_t = GenerateOptions::default().samples, value_parser = parse_samples)]
    samples: usize,
    /// Hill-climbing moves after sampling (0 = the paper's inference alone: the best sample).
    #[arg(long, default_value_t = GenerateOptions::default().refine_steps)]
    refine_steps: usize,
    /// Best sampled candidates the refinement starts from.
    #[arg(long, default_value_t = GenerateOptions::default().refine_starts)]
    refine_starts: usize,
}

impl InferenceArgs {
    pub fn options(&self) -> GenerateOptions {
        GenerateOptions {
            samples: self.samples,
            refine_steps: self.refine_steps,
            refine_starts: self.refine_starts,
            ..Default::default()
        }
    }
}

#[cfg(not(feature = "train"))]
pub fn train(_: TrainArgs) -> Result<()> {
    bail!(
        "this pnag was built without the `train` feature; run `bash scripts/setup-libtorch.sh`, then \
         `LIBTORCH=$HOME/.local/libtorch-2.13/torch cargo run --release -p pnag-cli --features train --bin pnag -- train ...`"
    )
}

#[cfg(feature = "train")]
pub fn train(a: TrainArgs) -> Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    use pnag_cli::train_generator::{train, Phase, PnagConfig};

    use pnag_build::objective::{DEFAULT_RESOLUTION, DEFAULT_WIDTH};
    let objective = Objective::new(&a.device, DEFAULT_WIDTH, DEFAULT_RESOLUTION)?;
    let cfg = PnagConfig {
        seed: a.seed,
        iterations: a.iterations,
        k: a.k,
        samples_per_budget: a.samples,
        archs: a.archs,
        evaluator_steps: a.evaluator_steps,
        reward: a.reward,
        learning_rate: a.lr,
        entropy_coeff: a.entropy,
        elite: (!a.moving_average).then_some(a.elite),
        ..Default::default()
    };
    if cfg.k < 2
        || cfg.samples_per_budget < 2
        || cfg.archs < 100
        || cfg.evaluator_steps == 0
        || !(a.elite > 0.0 && a.elite <= 1.0)
    {
        bail!("--k must be ≥ 2, --samples ≥ 2, --archs ≥ 100, --evaluator-steps ≥ 1 and --elite in (0, 1]");
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("pnag-build/models").join(&objective.device));
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len}, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut phase = None;
    let generator = train(&objective, &cfg, Some(&out), &mut |p, done, total| {
        if phase != Some(p) {
            phase = Some(p);
            bar.set_length(total as u64);
            bar.set_position(0);
            bar.set_message(match p {
                Phase::Sampling => "scoring archs",
                Phase::Evaluator => "evaluator steps",
                Phase::Generator => "generator iterations",
            });
        }
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let t = &generator.manifest.training;
    let feasible = t
        .feasible_rate
        .iter()
        .map(|r| format!("{:.0}", r * 100.0))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!(
        "trained `{}` ({} reward) in {:.0} s: evaluator pair accuracy {} on held-out pairs; feasible samples per budget (%): {feasible} -> {}",
        objective.device,
        generator.manifest.reward,
        t.seconds,
        t.evaluator_pair_accuracy.map_or("– (no evaluator)".into(), |a| format!("{:.1} %", a * 100.0)),
        out.display()
    );
    Ok(())
}

pub fn generate(a: GenerateArgs) -> Result<()> {
    if pnag_build::cost::device(&a.device).is_err() {
        let device = super::added_devices::open(&a.devices_dir, &a.device)?;
        let opts = GenerateOptions {
            seed: a.seed,
            ..a.inference.options()
        };
        let results = super::added_devices::generate(&device, &a.budgets, a.margin, &opts)?;
        for w in results.iter().filter_map(|r| r.warning.as_ref()) {
            eprintln!("warning: {w}");
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&results)?);
            return Ok(());
        }
        println!(
            "device {} (added: {}, `{}` generator, margin {}); cost and top-1 are model predictions",
            device.name,
            device.method,
            device.generator_name(),
            a.margin.map_or("the device's own per budget".into(), |m| format!("{:.1} %", m * 100.0))
        );
        print_table(&results, "ms");
        return Ok(());
    }
    if a.margin.is_some() {
        bail!(
            "--margin applies to added devices (built-in `{}` has its own model)",
            a.device
        );
    }
    let generator = match &a.model {
        Some(dir) => Generator::load(dir)?,
        None => Generator::embedded(&a.device)?,
    };
    // `Generator::generate` refuses a model trained for another device or model version.
    let width = generator
        .manifest
        .width
        .parse()
        .context("generator manifest width")?;
    let objective = Objective::new(&a.device, width, generator.manifest.resolution)?;
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
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    let unit = generator.manifest.unit.label();
    println!(
        "device {} (w{} r{}), reward {}; cost and top-1 are model predictions",
        a.device,
        generator.manifest.width,
        generator.manifest.resolution,
        generator.manifest.reward
    );
    print_table(&results, unit);
    Ok(())
}

fn print_table(results: &[Generated], unit: &str) {
    println!(
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
        println!(
            "{:>10}  {:>10.2}  {:>7.2}  {:>7.0}  {:>7.2}  {}",
            budget, r.cost, r.top1, r.mmacs, r.params_m, r.arch
        );
    }
}

#[derive(Args)]
pub struct TargetsArgs {
    /// A targets TOML (`targets/<device>.toml`).
    file: PathBuf,
    /// Keep the selection and weights a build.rs would write here (default: a temporary directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the selection as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs exactly what a downstream build.rs runs, and shows what each budget gets.
pub fn targets(a: TargetsArgs) -> Result<()> {
    remove_dead_runs_temporaries();
    let tmp = std::env::temp_dir().join(format!("pnag-targets-{}", std::process::id()));
    let out = a.out.clone().unwrap_or_else(|| tmp.clone());
    if a.out.is_none() {
        // Ctrl-C mid-run: remove the temporary directory (~30 MB per budget) before exiting.
        // (`--out` needs nothing: its temporaries are `.tmp` files the next run removes.)
        let dir = tmp.clone();
        let _ = ctrlc::set_handler(move || {
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("interrupted; removed {}", dir.display());
            std::process::exit(130);
        });
    }
    let cwd = std::env::current_dir().context("current directory")?;
    let result = pnag_build::Config::new()
        .targets(&a.file)
        .manifest_dir(cwd)
        .out_dir(&out)
        .cargo_metadata(false)
        .compile();
    if a.out.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let sel = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&sel)?);
        return Ok(());
    }
    println!(
        "{}: device {}, runtime {}, {} thread(s); cost and top-1 are model predictions",
        a.file.display(),
        sel.device,
        sel.runtime,
        sel.threads
    );
    println!("| budget | limit | arch | predicted | top-1 % | MMACs | params M | weights |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in &sel.networks {
        println!(
            "| {} | {} {} | `{}` | {:.2} | {:.2} | {:.0} | {:.2} | {} |",
            n.name,
            n.budget,
            n.unit,
            n.arch,
            n.predicted_cost,
            n.predicted_top1,
            n.macs as f64 / 1e6,
            n.params as f64 / 1e6,
            n.weights_origin
        );
    }
    Ok(())
}

/// `--reward`'s parser: the names `RewardKind` displays as, listed in `--help`.
fn reward_parser() -> impl clap::builder::TypedValueParser<Value = RewardKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(RewardKind::ALL.map(RewardKind::name))
        .try_map(|s| s.parse::<RewardKind>())
}

/// Removes `pnag-targets-<pid>` directories of earlier runs that were killed (their process
/// is gone), which could not clean up after themselves (~30 MB per budget each).
fn remove_dead_runs_temporaries() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("pnag-targets-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Linux: a live process has /proc/<pid>; elsewhere nothing is removed.
        let dead = Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists();
        if dead && pid != std::process::id() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `--samples`: at least one candidate per round (0 would never answer).
fn parse_samples(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err("expected a whole number of samples in 1..=100000".into()),
    }
}
