//! `pnag`: the PNAG-rs command line.

#[cfg(feature = "train")]
mod ablations;
mod added_devices;
mod bench;
mod conditioned;
mod depthwise_bench;
mod devices_bench;
mod engines;
mod engines_breakdown;
mod engines_python;
mod frontier;
mod generate;
mod pointwise_bench;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::{cost, sample};
use pnag_cli::describe::ArchReport;
use pnag_cli::npy;
use pnag_cli::profile::{profile_arch, write_csv, ProfileSettings, Timing};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights, Width};

#[derive(Parser)]
#[command(
    name = "pnag",
    version,
    about = "PNAG-rs: Pareto-optimal OFA MobileNetV3 subnets, built into tract"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a subnet's blocks, MACs and parameters.
    Arch(ArchArgs),
    /// Run a subnet on a NumPy image batch and write its logits.
    Infer(InferArgs),
    /// Measure real tract latency of subnets on this machine.
    Profile(ProfileArgs),
    /// Extract one subnet's weights from an OFA supernet checkpoint (safetensors or torch.save).
    Extract(ExtractArgs),
    /// List the devices with a cost model (built-in and added).
    Devices(DevicesArgs),
    /// Add a device from a `pnag-probe` run (no training).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Reports that check models against held-out measurements.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Build a device's latency model from real measurements (today: `host`, with tract).
    ProfileDevice(ProfileDeviceArgs),
    /// Train a learned latency / accuracy predictor (needs the `train` feature).
    TrainPredictor(TrainPredictorArgs),
    /// Predict a subnet's latency on a device, its top-1, MACs and params.
    Predict(PredictArgs),
    /// Train PNAG for a device: Pareto evaluator, then the budget-conditioned generator (needs `train`).
    Train(generate::TrainArgs),
    /// Train one generator for every device, conditioned on its reference latencies (needs `train`).
    TrainConditioned(conditioned::TrainConditionedArgs),
    /// The Pareto-optimal subnet for each budget, from a trained generator.
    Generate(generate::GenerateArgs),
    /// Check a targets TOML and show the network each budget gets (what an app's build.rs embeds).
    Targets(generate::TargetsArgs),
    /// Benchmarks that write reports.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Args)]
struct NetArgs {
    /// Width multiplier of the OFA supernet: 1.0 or 1.2.
    #[arg(long, default_value = "1.2")]
    width: Width,
    /// Input resolution in pixels (multiple of 4 in 128..=256).
    #[arg(long, default_value_t = 224)]
    resolution: u32,
}

#[derive(Args)]
struct ArchArgs {
    /// PNAG arch string `d1,..,d5:k1,..,k20:e1,..,e20` (0 in unused slots).
    #[arg(value_parser = ArchParser)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("weights_source").required(true).args(["weights", "seed"])))]
struct InferArgs {
    /// PNAG arch string.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Subnet weights: safetensors with OFA state-dict names.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Use seeded synthetic weights instead (UNTRAINED: the logits mean nothing).
    #[arg(long)]
    seed: Option<u64>,
    /// Input images: float32 .npy of shape [N, 3, R, R], normalized.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the logits: float32 .npy of shape [N, 1000].
    #[arg(long)]
    output: PathBuf,
    /// Worker threads (1..=256, as in targets files).
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    threads: usize,
}

#[derive(Args)]
struct ProfileArgs {
    /// Arch strings to time (repeatable).
    #[arg(value_parser = ArchParser, long, required_unless_present = "random")]
    arch: Vec<Arch>,
    /// Time N random archs instead (seeded, see --seed).
    #[arg(long, conflicts_with = "arch")]
    random: Option<usize>,
    /// Seed of the random archs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    net: NetArgs,
    /// Worker threads (1..=256, as in targets files).
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    threads: usize,
    /// Untimed runs before timing.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Timed runs per arch.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Time tract's own conv / activation / add ops instead of ours (what ships).
    #[arg(long)]
    tract_kernels: bool,
    /// Write a CSV (arch, width, resolution, threads, median_ms, p10_ms, p90_ms, macs_m).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON rows instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ExtractArgs {
    /// OFA supernet checkpoint as safetensors (see README: converting the official .pth).
    #[arg(long)]
    supernet: PathBuf,
    /// Width of the supernet: 1.0 or 1.2.
    #[arg(long)]
    width: Width,
    /// PNAG arch string of the subnet to extract.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    /// Where to write the subnet's weights (safetensors, OFA subnet state-dict names).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ProfileDeviceArgs {
    /// Device to profile; only `host` (this machine, measured with tract) can be measured here.
    device: String,
    /// Width of the subnets.
    #[arg(long, default_value = "1.2")]
    width: Width,
    /// Input resolution.
    #[arg(long, default_value_t = 224)]
    resolution: u32,
    /// Worker threads of the measured networks (1..=256).
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    threads: usize,
    /// Random archs measured to fit the model.
    #[arg(long, default_value_t = 300)]
    fit: usize,
    /// Further random archs measured only to validate it (never fitted).
    #[arg(long, default_value_t = 120)]
    validate: usize,
    /// Seed of the arch samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Passes over all archs (each a fresh build); an arch's latency is its median over passes
    /// of its run-by-run ratio to a reference subnet run alternately with it (cancels a shared
    /// machine's slow spells), times the reference's fast-state latency.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Output directory (writes host.json).
    #[arg(long, default_value = "pnag-build/models/host")]
    out: PathBuf,
}

#[derive(Args)]
struct TrainPredictorArgs {
    /// Which predictor: `titan-xp` (HELP TITAN Xp latency) or `moofa-w1.0` (measured top-1, w1.0).
    #[arg(long)]
    model: String,
    /// Seed of the split and of the initialization.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training epochs (the epoch with the best validation loss is kept).
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Hidden layers to try, e.g. `512,512`; `auto` tries PNAG's 512,512 MLP and a
    /// linear model and keeps the better on validation; `linear` is no hidden layer.
    #[arg(long, default_value = "auto")]
    hidden: String,
    /// Output directory.
    #[arg(long, default_value = "pnag-build/models/predictors")]
    out: PathBuf,
}

#[derive(Args)]
struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Directory of added devices (`pnag device add`).
    #[arg(long, default_value = added_devices::DEFAULT_DIR)]
    dir: PathBuf,
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Calibrate the closest built-in cost model to a probe file and write `<dir>/<name>.json`.
    Add(added_devices::DeviceAddArgs),
    /// Learn the device space from every known device (writes the shipped `space.json`).
    Space(devices_bench::DeviceSpaceArgs),
}

#[derive(Args)]
struct PredictArgs {
    /// Device cost model (see `pnag devices`; added devices too).
    #[arg(long)]
    device: String,
    /// Where added devices live (`pnag device add`).
    #[arg(long, default_value = added_devices::DEFAULT_DIR)]
    devices_dir: std::path::PathBuf,
    /// PNAG arch string.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Every latency and accuracy model on held-out data: RMSE, MAPE, ±10 %, Kendall τ, Spearman ρ, SVG scatters.
    Models(report::ModelsReportArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// tract (ours) vs onnxruntime vs PyTorch on the same subnets, weights and threads.
    Engines(engines::EnginesArgs),
    /// Time supernet weight extraction (read + extract) for the largest arch.
    Extract(bench::ExtractBenchArgs),
    /// Half-precision weights against f32: embedded size, load time, logit deviation.
    F16(bench::F16BenchArgs),
    /// Devices never trained on: leave-one-out latency prediction from reference measurements and zero-shot generation.
    Devices(devices_bench::DevicesBenchArgs),
    /// Every depthwise layer of the benchmarked subnets: tract's conv vs our kernels.
    Depthwise(depthwise_bench::DepthwiseArgs),
    /// Every 1x1 conv of the benchmarked subnets: tract's conv vs our op.
    Pointwise(pointwise_bench::PointwiseArgs),
    /// Compare the generator's frontier with search and RL baselines (the paper's Tables 2, 3, 5).
    Frontier(frontier::FrontierArgs),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: our error types already quote
/// their source (`weights file `x`: No such file …`), so a cause whose text is already in the
/// message is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Arch(a) => arch(a),
        Command::Infer(a) => infer(a),
        Command::Profile(a) => profile(a),
        Command::Extract(a) => extract(a),
        Command::Devices(a) => devices(a),
        Command::Device(DeviceCommand::Add(a)) => added_devices::add(&a),
        Command::Device(DeviceCommand::Space(a)) => devices_bench::space(&a),
        Command::TrainPredictor(a) => train_predictor(a),
        Command::ProfileDevice(a) => profile_device(a),
        Command::Report(ReportCommand::Models(a)) => report::models(&a),
        Command::Predict(a) => predict(a),
        Command::Train(a) => generate::train(a),
        Command::TrainConditioned(a) => conditioned::train(a),
        Command::Generate(a) => generate::generate(a),
        Command::Targets(a) => generate::targets(a),
        Command::Bench(BenchCommand::Engines(a)) => engines::engines(&a),
        Command::Bench(BenchCommand::Extract(a)) => bench::extract(&a),
        Command::Bench(BenchCommand::F16(a)) => bench::f16(&a),
        Command::Bench(BenchCommand::Devices(a)) => devices_bench::devices(&a),
        Command::Bench(BenchCommand::Depthwise(a)) => depthwise_bench::depthwise(&a),
        Command::Bench(BenchCommand::Pointwise(a)) => pointwise_bench::pointwise(&a),
        Command::Bench(BenchCommand::Frontier(a)) => frontier::frontier(&a),
    }
}

fn arch(a: ArchArgs) -> Result<()> {
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let report = ArchReport::new(&spec);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

/// Arch arguments: parsed strictly, and the error names the argument without echoing a
/// (possibly huge) bad value a second time — `ArchError` already quotes it, truncated.
#[derive(Clone)]
struct ArchParser;

impl clap::builder::TypedValueParser for ArchParser {
    type Value = Arch;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Arch, clap::Error> {
        let name = arg.map_or_else(|| "ARCH".to_string(), |a| a.to_string());
        let text = value.to_string_lossy();
        Arch::parse(&text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {e}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// `--threads`: the same bound as a targets file's `threads`.
fn parse_threads(s: &str) -> Result<usize, String> {
    let max = pnag_build::targets::MAX_THREADS;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number of threads in 1..={max}")),
    }
}

fn infer(a: InferArgs) -> Result<()> {
    // Outputs are checked before any work: never a device, link or one of the inputs.
    pnag_runtime::weights::check_output(&a.output)?;
    let inputs: Vec<&std::path::Path> = [Some(a.input.as_path()), a.weights.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    pnag_runtime::weights::check_not_input(&a.output, &inputs)?;
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let input = npy::read_f32(&a.input)?;
    let r = spec.resolution;
    if input.shape.len() != 4 || input.shape[1..] != [3, r, r] || input.shape[0] == 0 {
        return Err(npy::NpyError::Shape {
            path: a.input.clone(),
            expected: format!("[N, 3, {r}, {r}]"),
            found: input.shape,
        }
        .into());
    }
    // NaN and infinities propagate through the network as in PyTorch; say so up front.
    let non_finite = input.data.iter().filter(|v| !v.is_finite()).count();
    if non_finite > 0 {
        let first = input.data.iter().position(|v| !v.is_finite()).unwrap_or(0);
        eprintln!(
            "warning: `{}` holds {non_finite} NaN / infinite value(s) (first at flat index {first}): \
             they propagate, so the affected images' logits will not be finite",
            a.input.display()
        );
    }
    let weights = match (&a.weights, a.seed) {
        (Some(path), _) => Weights::load(path, &spec)?,
        (None, Some(seed)) => {
            eprintln!("note: using synthetic UNTRAINED weights (seed {seed}); the logits are not predictions");
            Weights::synthetic(&spec, seed)
        }
        (None, None) => bail!("give --weights FILE.safetensors or --seed N"),
    };
    let net = Network::new(
        spec,
        &weights,
        NetworkOptions {
            batch: input.shape[0],
            threads: a.threads,
            ..Default::default()
        },
    )?;
    let logits = net.run(&input.shape, &input.data)?;
    npy::write_f32(&a.output, &[logits.batch, 1000], &logits.data)?;
    eprintln!(
        "wrote logits [{}, 1000] to {}",
        logits.batch,
        a.output.display()
    );
    Ok(())
}

fn profile_device(a: ProfileDeviceArgs) -> Result<()> {
    use pnag_build::host::{fit, machine_name, HostModel, HostPoint};
    if a.device != "host" {
        bail!("`{}` cannot be measured from here: only `host` (this machine) can; the other devices use published data", a.device);
    }
    if a.fit < 200 || a.validate < 1 {
        bail!("--fit must be at least 200 (181 table entries) and --validate at least 1");
    }
    pnag_runtime::arch::check_resolution(a.resolution)?;
    // The output directory before ~15 minutes of measuring, not after.
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create the output directory `{}`", a.out.display()))?;
    pnag_runtime::weights::check_output(&a.out.join("host.json"))?;
    let start = std::time::Instant::now();
    // Fit set: the two ends of the space plus random archs; validation: disjoint random archs.
    let mut fit_archs = vec![Arch::smallest(), Arch::largest()];
    fit_archs.extend(sample::random_archs(a.fit - 2, a.seed));
    let fit_set: std::collections::HashSet<Arch> = fit_archs.iter().copied().collect();
    let val_archs: Vec<Arch> = sample::random_archs(a.validate * 2, a.seed.wrapping_add(1))
        .into_iter()
        .filter(|x| !fit_set.contains(x))
        .take(a.validate)
        .collect();
    let settings = ProfileSettings {
        width: a.width,
        resolution: a.resolution,
        threads: a.threads,
        warmup: 2,
        runs: 7,
        weights_seed: 0,
        kernels: pnag_runtime::network::Kernels::Specialized,
    };
    // Fit and validation archs interleaved in every pass, so slow spells hit both alike.
    let all: Vec<Arch> = fit_archs.iter().chain(&val_archs).copied().collect();
    // A reference subnet, built once and run alternately with every arch. This shared
    // VM has slow spells (everything ±20–40 % for seconds); they hit both runs of a pair,
    // so an arch is measured as its run-by-run ratio to the reference (median over the
    // pairs, then over passes), scaled back to ms by the reference's fast-state (10th
    // percentile) latency.
    let reference = Network::synthetic(
        NetworkSpec::new(sample::middle_arch(), a.width, a.resolution)?,
        0,
        NetworkOptions {
            threads: a.threads,
            ..Default::default()
        },
    )?;
    let passes = a.passes.max(1);
    let runs_per_arch = 2 * (settings.warmup + settings.runs);
    let bar = ProgressBar::new((passes * all.len() * runs_per_arch) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} runs, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut ratios = vec![Vec::new(); all.len()];
    let mut reference_ms = Vec::new();
    for pass in 0..passes {
        for (i, arch) in all.iter().enumerate() {
            bar.set_message(format!("pass {}/{passes} arch {}", pass + 1, i + 1));
            let net = pnag_cli::profile::build_network(*arch, &settings)?;
            let (ratio, refs) = pnag_cli::profile::time_relative(
                &net,
                &reference,
                settings.warmup,
                settings.runs,
                &mut || bar.inc(1),
            )?;
            ratios[i].push(ratio);
            reference_ms.extend(refs);
        }
    }
    let fast_reference = Timing::quantile(&reference_ms, 0.1);
    let best: Vec<f64> = ratios
        .iter()
        .map(|r| Timing::quantile(r, 0.5) * fast_reference)
        .collect();
    bar.finish_and_clear();
    let fitted: Vec<(Arch, f64)> = fit_archs
        .iter()
        .copied()
        .zip(best.iter().copied())
        .collect();
    let validation: Vec<(Arch, f64)> = val_archs
        .iter()
        .copied()
        .zip(best[fit_archs.len()..].iter().copied())
        .collect();
    let (intercept_ms, lut_ms) = fit(&fitted, 1e-3);
    let mut model = HostModel {
        machine: machine_name(),
        engine: "tract 0.23.9 (pnag-runtime)".into(),
        threads: a.threads,
        width: a.width.to_string(),
        resolution: a.resolution,
        fit_archs: fitted.len(),
        seed: a.seed,
        passes: a.passes.max(1),
        profile_seconds: 0.0,
        intercept_ms,
        lut_ms,
        validation: vec![],
        validation_metrics: pnag_build::metrics::Metrics::new(&[1.0], &[1.0]),
    };
    model.validation = validation
        .iter()
        .map(|(x, ms)| HostPoint {
            arch: x.to_string(),
            measured_ms: *ms,
            predicted_ms: model.predict(x),
        })
        .collect();
    let (p, m): (Vec<f64>, Vec<f64>) = model
        .validation
        .iter()
        .map(|v| (v.predicted_ms, v.measured_ms))
        .unzip();
    model.validation_metrics = pnag_build::metrics::Metrics::new(&p, &m);
    model.profile_seconds = start.elapsed().as_secs_f64();
    let path = a.out.join("host.json");
    pnag_runtime::weights::write_atomic(&path, serde_json::to_string_pretty(&model)?.as_bytes())?;
    let v = &model.validation_metrics;
    eprintln!(
        "host model ({}) in {:.0} s: on {} held-out archs MAPE {:.2} %, within ±10 % {:.1} %, Kendall τ {:.3}, Spearman ρ {:.3} -> {}",
        model.machine, model.profile_seconds, v.n, v.mape, v.within_10pct, v.kendall_tau, v.spearman_rho, path.display()
    );
    Ok(())
}

#[cfg(not(feature = "train"))]
fn train_predictor(_: TrainPredictorArgs) -> Result<()> {
    bail!("this pnag was built without the `train` feature; run `bash scripts/setup-libtorch.sh`, then \
           `LIBTORCH=$HOME/.local/libtorch-2.13/torch cargo run --release -p pnag-cli --features train --bin pnag -- train-predictor ...`")
}

#[cfg(feature = "train")]
fn train_predictor(a: TrainPredictorArgs) -> Result<()> {
    use pnag_build::predictor::Target;
    use pnag_cli::train::{train_best, PredictorTask, TrainConfig};
    let task = match a.model.as_str() {
        "titan-xp" => PredictorTask {
            name: "titan-xp".into(),
            kind: "latency",
            unit: "ms per batch of 64 images, NVIDIA TITAN Xp (HELP)",
            width: "1.2",
            data: pnag_cli::datasets::help_titan_xp(),
            target: Target::Log,
        },
        "moofa-w1.0" => PredictorTask {
            name: "moofa-w1.0".into(),
            kind: "accuracy",
            unit: "ImageNet top-1 %, measured on a 12.5k-image val shard (w1.0)",
            width: "1.0",
            data: pnag_cli::datasets::moofa_top1(),
            target: Target::Identity,
        },
        other => bail!("unknown predictor `{other}` (expected titan-xp or moofa-w1.0)"),
    };
    let candidates: Vec<Vec<usize>> = match a.hidden.as_str() {
        "auto" => vec![vec![512, 512], vec![]],
        "linear" => vec![vec![]],
        list => vec![list
            .split(',')
            .map(|x| x.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--hidden `{list}`"))?],
    };
    let cfg = TrainConfig {
        seed: a.seed,
        epochs: a.epochs,
        ..Default::default()
    };
    let bar = ProgressBar::new((cfg.epochs * candidates.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] epoch {pos}/{len}, eta {eta}")?
            .progress_chars("=> "),
    );
    let p = train_best(task, &cfg, &candidates, &mut |_, loss| {
        bar.set_message(format!("val loss {loss:.4}"));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    p.save(&a.out)?;
    let m = &p.manifest;
    eprintln!(
        "{} (hidden {:?}): {:.0} s; test (n={}) RMSE {:.3}, MAPE {:.2} %, within ±10 % {:.1} %, Kendall τ {:.3}, Spearman ρ {:.3} -> {}",
        m.name, m.hidden, m.train_seconds, m.test.n, m.test.rmse, m.test.mape, m.test.within_10pct, m.test.kendall_tau, m.test.spearman_rho, a.out.display()
    );
    Ok(())
}

fn devices(a: DevicesArgs) -> Result<()> {
    let infos = cost::DEVICES
        .iter()
        .map(|d| cost::device(d).map(|m| m.info()))
        .collect::<Result<Vec<_>, _>>()?;
    let added = added_devices::list(&a.dir)?;
    if a.json {
        let json = serde_json::json!({"built_in": infos, "added": added});
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!(
        "{:<10} {:<26} {:<6} {:<9} {:<20} model",
        "device", "kind", "unit", "widths", "resolutions"
    );
    for i in infos {
        let unit = i.unit.label();
        println!(
            "{:<10} {:<26} {:<6} {:<9} {:<20} {} [{}]",
            i.name,
            i.kind,
            unit,
            i.widths.join(","),
            i.resolutions,
            i.model,
            i.source
        );
    }
    for d in &added {
        println!(
            "{:<10} {:<26} {:<6} {:<9} {:<20} {}, `{}` generator (leave-one-out error p90 {:.1} %) [{}/{}.json, probed on {}]",
            d.name,
            "added (pnag-probe)",
            "ms",
            d.probe.width.to_string(),
            d.probe.resolution,
            d.method,
            d.generator_name(),
            d.loo_p90_error * 100.0,
            a.dir.display(),
            d.name,
            d.probe.machine
        );
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct Prediction {
    arch: String,
    width: String,
    resolution: u32,
    device: String,
    cost: f64,
    cost_unit: cost::CostUnit,
    cost_model: &'static str,
    top1_percent: Option<f64>,
    accuracy_model: Option<&'static str>,
    macs_m: f64,
    params_m: f64,
}

fn predict(a: PredictArgs) -> Result<()> {
    let added = match cost::device(&a.device) {
        Ok(_) => None,
        Err(_) => Some(added_devices::open(&a.devices_dir, &a.device)?),
    };
    // An added device's latency is what `generate` and builds use (`DeviceFile::cost_model`).
    let model: Box<dyn cost::CostModel> = match &added {
        None => cost::device(&a.device)?,
        Some(d) => Box::new(d.cost_model()),
    };
    let mut info = model.info();
    if added.is_some() {
        info.model = "the larger of its device-space fit and its closest known device calibrated to the probe (pnag device add)";
    }
    let c = model.cost(a.arch, a.net.width, a.net.resolution)?;
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let acc = pnag_build::accuracy::default_for(a.net.width)?;
    let (top1, acc_name) = (
        Some(acc.top1(a.arch, a.net.width, a.net.resolution)?),
        Some(acc.name()),
    );
    let out = Prediction {
        arch: a.arch.to_string(),
        width: a.net.width.to_string(),
        resolution: a.net.resolution,
        device: a.device.clone(),
        cost: c,
        cost_unit: info.unit,
        cost_model: info.model,
        top1_percent: top1,
        accuracy_model: acc_name,
        macs_m: spec.macs() as f64 / 1e6,
        params_m: spec.params() as f64 / 1e6,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let unit = info.unit.label();
    println!(
        "arch        {}\nwidth       {}   resolution {}",
        out.arch, out.width, out.resolution
    );
    println!("{:<11} {:.2} {unit}   [{}]", a.device, c, info.model);
    match (top1, acc_name) {
        (Some(t), Some(n)) => println!("top-1       {t:.2} %   [{n}]"),
        _ => println!("top-1       — (no accuracy model for w{} yet)", out.width),
    }
    println!(
        "MACs        {:.1} M\nparams      {:.3} M",
        out.macs_m, out.params_m
    );
    Ok(())
}

fn extract(a: ExtractArgs) -> Result<()> {
    pnag_runtime::weights::check_output(&a.out)?;
    pnag_runtime::weights::check_not_input(&a.out, &[&a.supernet])?;
    let start = std::time::Instant::now();
    let weights = pnag_build::extract::extract_file(&a.supernet, a.width, a.arch)?;
    weights.save(&a.out)?;
    let params: usize = weights.tensors().map(|(_, t)| t.data.len()).sum();
    eprintln!(
        "extracted {} tensors ({:.2} M values) for {} in {:.0} ms -> {}",
        weights.tensors().count(),
        params as f64 / 1e6,
        a.arch,
        start.elapsed().as_secs_f64() * 1e3,
        a.out.display()
    );
    Ok(())
}

fn profile(a: ProfileArgs) -> Result<()> {
    let archs = match a.random {
        Some(n) => sample::random_archs(n, a.seed),
        None => a.arch.clone(),
    };
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if let Some(out) = &a.out {
        // Before minutes of measuring, not after.
        pnag_runtime::weights::check_output(out)?;
    }
    let settings = ProfileSettings {
        width: a.net.width,
        resolution: a.net.resolution,
        threads: a.threads,
        warmup: a.warmup,
        runs: a.runs,
        weights_seed: 0,
        kernels: if a.tract_kernels {
            pnag_runtime::network::Kernels::Tract
        } else {
            pnag_runtime::network::Kernels::Specialized
        },
    };
    pnag_runtime::arch::check_resolution(a.net.resolution)?;
    let bar = ProgressBar::new((archs.len() * (a.warmup + a.runs)) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} runs, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    for (i, arch) in archs.iter().enumerate() {
        bar.set_message(format!("arch {}/{}", i + 1, archs.len()));
        rows.push(
            profile_arch(*arch, &settings, &mut || bar.inc(1))
                .with_context(|| format!("profiling {arch}"))?,
        );
    }
    bar.finish_and_clear();
    if let Some(out) = &a.out {
        write_csv(out, &rows)?;
        eprintln!("wrote {} rows to {}", rows.len(), out.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("(synthetic untrained weights; latency does not depend on weight values)");
        println!(
            "{:>10} {:>10} {:>10} {:>10}  arch",
            "median ms", "p10 ms", "p90 ms", "MACs (M)"
        );
        for r in &rows {
            println!(
                "{:>10.2} {:>10.2} {:>10.2} {:>10.1}  {}",
                r.median_ms, r.p10_ms, r.p90_ms, r.macs_m, r.arch
            );
        }
    }
    Ok(())
}

/// Writes `<dir>/<stem>.md` and `<dir>/<stem>.json` atomically, prints the markdown and
/// says where it went (the report commands' common ending).
fn write_report(
    dir: &std::path::Path,
    stem: &str,
    md: &str,
    json: &impl serde::Serialize,
) -> Result<()> {
    pnag_runtime::weights::write_atomic(&dir.join(format!("{stem}.md")), md.as_bytes())?;
    pnag_runtime::weights::write_atomic(
        &dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(json)?.as_bytes(),
    )?;
    print!("{md}");
    eprintln!("wrote {}", dir.join(format!("{stem}.md")).display());
    Ok(())
}
