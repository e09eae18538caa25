//! `pnag bench engines`: the same subnets, weights, input and thread counts in
//! tract with our conv ops (ours), plain tract, onnxruntime and
//! PyTorch eager CPU, with a breakdown of where our time goes (per layer kind
//! and per node) and the machine's measured FMA peak. Writes `engines.md` /
//! `engines.json`.
//!
//! Timing runs in rounds; in each round every subnet × thread count gets one
//! short block of runs per engine, back to back, so each engine is measured
//! within seconds of the others and ours / onnxruntime is taken per round (this
//! VM's speed drifts by up to 30 % over minutes). onnxruntime and PyTorch run
//! in one long-lived `pnag-build/cli/scripts/bench_engines.py` ([`python`]).

mod breakdown;
mod python;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_runtime::files::write_atomic;
use pnag_runtime::weights::synthetic_uniform;
use pnag_runtime::{
    Arch, Kernels, Network, NetworkOptions, NetworkSpec, Simd, SimdPath, Weights, Width,
};
use serde::Serialize;
use serde_json::json;

use breakdown::{median_times, Breakdown, OrtBreakdown, OursProfiler};
use python::{PythonEngines, Ready};

use super::common::{bench_archs, fma_peak_gflops, fmt_opt};

use pnag_cli::npy;
use pnag_cli::profile::{time_network, Timing};

#[derive(Debug, clap::Args)]
pub struct EnginesArgs {
    /// Width multiplier: 1.0 or 1.2.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Input resolution.
    #[arg(long, default_value_t = 224)]
    pub resolution: u32,
    /// Thread counts to measure (comma-separated).
    #[arg(value_parser = crate::args::count(0, 256), long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Untimed runs at the start of each block.
    #[arg(value_parser = crate::args::count(0, 10_000), long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed runs per block.
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = 10)]
    pub runs: usize,
    /// Rounds; each runs one block per engine, subnet and thread count. The
    /// report takes medians over rounds.
    #[arg(value_parser = crate::args::count(0, 10_000), long, default_value_t = 15)]
    pub rounds: usize,
    /// Python with torch, ofa, onnxruntime (see scripts/setup/python-env.sh).
    #[arg(long, env = "PNAG_PYTHON", default_value = "python3")]
    pub python: String,
    /// Which subnet's time is broken down per layer kind and node: smallest, middle or largest.
    #[arg(long, default_value = "smallest")]
    pub breakdown: String,
    /// Threads for the breakdown run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub breakdown_threads: u64,
    /// Measure tract only (no Python engines).
    #[arg(long)]
    pub tract_only: bool,
    /// Random subnets timed beside the smallest, middle and largest (uniform per choice).
    #[arg(value_parser = crate::args::count(0, 100), long, default_value_t = 3)]
    pub random: usize,
    /// Seed of the random subnets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, default_value = "bench-out/engines")]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    arch: String,
    macs_m: f64,
    threads: usize,
    /// tract with [`pnag_runtime::ops::depthwise`] kernels (what ships).
    tract: Timing,
    /// tract's own depthwise convs.
    tract_plain: Timing,
    onnxruntime: Option<Timing>,
    pytorch: Option<Timing>,
    /// Median and 10th / 90th percentiles over rounds of (ours block median /
    /// onnxruntime block median), the two blocks run back to back.
    ours_over_onnxruntime: Option<Spread>,
    /// Ours forced onto the vector path `Best` did not pick (AVX2 on an AVX-512 host or
    /// the reverse), and its ratio to onnxruntime; `None` where the CPU has one path.
    other_path: Option<Timing>,
    other_path_over_onnxruntime: Option<Spread>,
    onnxruntime_max_abs_diff: Option<f64>,
    pytorch_max_abs_diff: Option<f64>,
}

/// A unitless statistic's median and 10th / 90th percentiles.
#[derive(Debug, Clone, Copy, Serialize)]
struct Spread {
    median: f64,
    p10: f64,
    p90: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let q = |p| Timing::quantile(v, p);
        Spread {
            median: q(0.5),
            p10: q(0.1),
            p90: q(0.9),
        }
    }
}

/// Median over blocks of each statistic.
fn merge(blocks: &[Timing]) -> Timing {
    let stat =
        |f: fn(&Timing) -> f64| Timing::quantile(&blocks.iter().map(f).collect::<Vec<_>>(), 0.5);
    Timing {
        median_ms: stat(|t| t.median_ms),
        p10_ms: stat(|t| t.p10_ms),
        p90_ms: stat(|t| t.p90_ms),
    }
}

/// The engines timed, in the order of a round's blocks (reversed every other round).
const ENGINES: [&str; 5] = [
    "ours",
    "onnxruntime",
    "ours other path",
    "tract plain",
    "pytorch",
];

/// The x86 vector path `Best` did not pick, when the CPU has both AVX2 and AVX-512, so
/// one run times both (the issue-30 check that the AVX2 path is no slower than before).
fn other_path() -> Option<Simd> {
    if !(Simd::Avx512.available() && Simd::Avx2.available()) {
        return None;
    }
    match Simd::Best.path() {
        SimdPath::Avx512 => Some(Simd::Avx2),
        _ => Some(Simd::Avx512),
    }
}

/// The benchmarked subnets: smallest, middle, largest and `random` seeded random ones.
fn engine_archs(random: usize, seed: u64) -> Vec<(String, Arch)> {
    let mut archs: Vec<(String, Arch)> = bench_archs()
        .into_iter()
        .map(|(name, arch)| (name.to_string(), arch))
        .collect();
    for (k, arch) in pnag_build::sample::random_archs(random, seed)
        .into_iter()
        .enumerate()
    {
        archs.push((format!("random{}", k + 1), arch));
    }
    archs
}

/// Alternating rounds of the per-node profiles (ours, then onnxruntime's).
const BREAKDOWN_ROUNDS: usize = 5;
/// Pause before each block so the previous engine's spinning worker threads park.
const SETTLE: Duration = Duration::from_millis(10);

pub fn engines(a: &EnginesArgs) -> Result<()> {
    if a.runs == 0 || a.rounds == 0 || a.threads.contains(&0) {
        bail!("--runs, --rounds and every --threads value must be at least 1");
    }
    let archs = engine_archs(a.random, a.seed);
    let other = other_path();
    let Some((breakdown_name, breakdown_arch)) =
        archs.iter().find(|(name, _)| *name == a.breakdown)
    else {
        bail!(
            "--breakdown {}: expected smallest, middle or largest",
            a.breakdown
        );
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let r = a.resolution as usize;
    let input = synthetic_uniform("bench.input", 0, 3 * r * r);
    let mut jobs = Vec::new();
    // (arch, threads, engine) -> network
    let mut nets: BTreeMap<(usize, usize, &str), Network> = BTreeMap::new();
    for (i, (name, arch)) in archs.iter().enumerate() {
        let spec = NetworkSpec::new(*arch, a.width, a.resolution)?;
        let weights = Weights::synthetic(&spec, 0);
        let wpath = a.out.join(format!("{name}.safetensors"));
        weights.save(&wpath)?;
        let xpath = a.out.join(format!("{name}.input.npy"));
        npy::write_f32(&xpath, &[1, 3, r, r], &input)?;
        for &t in &a.threads {
            let mut variants = vec![("ours", Kernels::Specialized, Simd::Best)];
            variants.push(("tract plain", Kernels::Tract, Simd::Best));
            if let Some(simd) = other {
                variants.push(("ours other path", Kernels::Specialized, simd));
            }
            for (engine, kernels, simd) in variants {
                let options = NetworkOptions {
                    batch: 1,
                    threads: t,
                    kernels,
                    simd,
                    ..Default::default()
                };
                nets.insert(
                    (i, t, engine),
                    Network::new(spec.clone(), &weights, options)?,
                );
            }
        }
        let logits = nets[&(i, a.threads[0], "ours")].run(&[1, 3, r, r], &input)?;
        let ypath = a.out.join(format!("{name}.tract.npy"));
        npy::write_f32(&ypath, &[1, 1000], &logits.data)?;
        jobs.push(json!({"name": name, "arch": arch.to_string(), "width": a.width.multiplier(), "resolution": r,
            "weights": wpath, "input": xpath, "tract_logits": ypath}));
    }
    let jobs_path = a.out.join("jobs.json");
    let jobs_json = json!({"jobs": jobs, "threads": a.threads});
    write_atomic(
        &jobs_path,
        serde_json::to_string_pretty(&jobs_json)?.as_bytes(),
    )?;
    let mut python = if a.tract_only {
        None
    } else {
        eprintln!("building the onnxruntime and PyTorch engines (OFA subnets, ONNX export)…");
        Some(PythonEngines::start(&a.python, &jobs_path)?)
    };
    let engines: Vec<&str> = ENGINES
        .into_iter()
        .filter(|e| match *e {
            "ours" | "tract plain" => true,
            "ours other path" => other.is_some(),
            _ => python.is_some(),
        })
        .collect();

    // (arch, threads, engine) -> one Timing per block; (arch, threads, engine) -> engine / ORT per round
    let mut blocks: BTreeMap<(usize, usize, &str), Vec<Timing>> = BTreeMap::new();
    let mut ratios: BTreeMap<(usize, usize, &str), Vec<f64>> = BTreeMap::new();
    let configs: Vec<(usize, usize)> = (0..archs.len())
        .flat_map(|i| a.threads.iter().map(move |&t| (i, t)))
        .collect();
    let bar = ProgressBar::new((a.rounds * configs.len() * engines.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>30} [{bar:40}] {pos}/{len} blocks, eta {eta}")?
            .progress_chars("=> "),
    );
    for round in 0..a.rounds {
        for &(i, t) in &configs {
            let mut order = engines.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut medians = BTreeMap::new();
            for engine in order {
                bar.set_message(format!("round {} {} {engine} t{t}", round + 1, archs[i].0));
                std::thread::sleep(SETTLE);
                let timing = match (engine, python.as_mut()) {
                    ("ours" | "tract plain" | "ours other path", _) => {
                        let net = &nets[&(i, t, engine)];
                        time_network(net, a.warmup, a.runs, &mut || {})?
                    }
                    (_, Some((py, _))) => {
                        Timing::from_samples(&py.block(engine, &archs[i].0, t, a.warmup, a.runs)?)
                    }
                    (_, None) => {
                        unreachable!("Python engines are only listed with a running script")
                    }
                };
                medians.insert(engine, timing.median_ms);
                blocks.entry((i, t, engine)).or_default().push(timing);
                bar.inc(1);
            }
            if let Some(ort) = medians.get("onnxruntime") {
                for engine in ["ours", "ours other path"] {
                    if let Some(ms) = medians.get(engine) {
                        ratios.entry((i, t, engine)).or_default().push(ms / ort);
                    }
                }
            }
        }
    }
    bar.finish_and_clear();
    let breakdown_spec = NetworkSpec::new(*breakdown_arch, a.width, a.resolution)?;
    let profiler = OursProfiler::new(&breakdown_spec, a.breakdown_threads as usize)?;
    let (mut ours_rounds, mut ours_unprofiled) = (Vec::new(), Vec::new());
    let (mut ort_rounds, mut ort_unprofiled) = (Vec::new(), Vec::new());
    for round in 0..BREAKDOWN_ROUNDS {
        eprintln!(
            "per-node profile of {breakdown_name}, round {} of {BREAKDOWN_ROUNDS}…",
            round + 1
        );
        let (times, plain) = profiler.block(a.warmup, a.runs, &input)?;
        ours_rounds.push(times);
        ours_unprofiled.push(plain);
        if let Some((py, _)) = python.as_mut() {
            let profile = py.profile(
                breakdown_name,
                a.breakdown_threads as usize,
                a.warmup,
                a.runs,
            )?;
            ort_unprofiled.extend_from_slice(&profile.ms);
            ort_rounds.push(profile.node_times());
        }
    }
    let breakdown = Breakdown::new(
        &breakdown_spec,
        &median_times(&ours_rounds),
        ours_unprofiled,
    );
    let ort_profile = (!ort_rounds.is_empty())
        .then(|| OrtBreakdown::new(&breakdown_spec, &median_times(&ort_rounds), ort_unprofiled));
    // Dropping the script's handle closes its input, so it exits.
    let ready = python.map(|(_, ready)| ready);

    let mut rows = Vec::new();
    for &(i, t) in &configs {
        let (name, arch) = (&archs[i].0, archs[i].1);
        let macs = NetworkSpec::new(arch, a.width, a.resolution)?.macs() as f64 / 1e6;
        let timing = |engine: &str| blocks.get(&(i, t, engine)).map(|b| merge(b));
        let diff = ready
            .as_ref()
            .and_then(|r| r.diffs.iter().find(|d| &d.name == name && d.threads == t));
        rows.push(Row {
            name: name.clone(),
            arch: arch.to_string(),
            macs_m: macs,
            threads: t,
            tract: timing("ours").context("no timings of ours")?,
            tract_plain: timing("tract plain").context("no timings of plain tract")?,
            onnxruntime: timing("onnxruntime"),
            pytorch: timing("pytorch"),
            ours_over_onnxruntime: ratios.get(&(i, t, "ours")).map(|r| Spread::of(r)),
            other_path: timing("ours other path"),
            other_path_over_onnxruntime: ratios
                .get(&(i, t, "ours other path"))
                .map(|r| Spread::of(r)),
            onnxruntime_max_abs_diff: diff.map(|d| d.onnxruntime_max_abs_diff),
            pytorch_max_abs_diff: diff.map(|d| d.pytorch_max_abs_diff),
        });
    }
    rows.sort_by_key(|r| (r.threads, (r.macs_m * 1e3) as u64));

    let peak = fma_peak_gflops();
    let peak512 = super::common::fma_peak_gflops_avx512();
    let mut md = format!("{}\n", super::common::host_line());
    if let Some(p) = peak512 {
        md.push_str(&format!(
            "One core's measured FMA peak with AVX-512F (12 chains of 16 lanes): {p:.1} GMAC/s.\n"
        ));
    }
    md += &markdown(
        a,
        &rows,
        breakdown_name,
        &breakdown,
        ort_profile.as_ref(),
        ready.as_ref(),
        peak,
    );
    let json = json!({"width": a.width.to_string(), "resolution": r, "rows": rows,
        "breakdown": breakdown, "onnxruntime_breakdown": ort_profile, "fma_peak_gmacs_per_core": peak,
        "fma_peak_avx512_gmacs_per_core": peak512, "host": super::common::host_line()});
    super::common::write_report(&a.out, "engines", &md, &json)
}

fn markdown(
    a: &EnginesArgs,
    rows: &[Row],
    breakdown_arch: &str,
    breakdown: &Breakdown,
    ort_profile: Option<&OrtBreakdown>,
    python: Option<&Ready>,
    peak: Option<f64>,
) -> String {
    let mut s = format!(
        "Subnets of OFA MobileNetV3 w{} at {}x{}, batch 1, same synthetic (untrained) weights and input in every engine. \
         {} rounds; in each, every subnet and thread count gets one block of {} timed runs ({} warm-up) per engine, back to back \
         (order reversed every other round). Times: median over rounds of each block's median. ours / ORT: median over rounds \
         of the ratio of the two adjacent blocks, with its 10th–90th percentile over rounds. *ours* = tract 0.23.9 with PNAG-rs's \
         depthwise, 1x1 and stem conv, squeeze-excite and head fully connected ops (what `network!` ships), *tract plain* = tract's own ops throughout.\n",
        a.width, a.resolution, a.resolution, a.rounds, a.runs, a.warmup
    );
    if let Some(p) = python {
        s.push_str(&format!(
            "onnxruntime {}, PyTorch {} (eager CPU).\n",
            p.onnxruntime, p.torch
        ));
    }
    s.push_str("\n| arch | MMACs | threads | tract plain ms | ours ms | onnxruntime ms | PyTorch ms | ours / ORT | (p10–p90) | ours GMAC/s | ORT GMAC/s | max abs Δ logits ORT vs ours |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let ort = r.onnxruntime.map(|t| t.median_ms);
        let ratio = r.ours_over_onnxruntime;
        s.push_str(&format!(
            "| {} | {:.0} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {:.1} | {} | {} |\n",
            r.name,
            r.macs_m,
            r.threads,
            r.tract_plain.median_ms,
            r.tract.median_ms,
            fmt_opt(ort, 2),
            fmt_opt(r.pytorch.map(|t| t.median_ms), 2),
            fmt_opt(ratio.map(|t| t.median), 2),
            ratio
                .map(|t| format!("{:.2}–{:.2}", t.p10, t.p90))
                .unwrap_or_else(|| "—".into()),
            r.macs_m / r.tract.median_ms,
            fmt_opt(ort.map(|o| r.macs_m / o), 1),
            r.onnxruntime_max_abs_diff
                .map(|d| format!("{d:.1e}"))
                .unwrap_or_else(|| "—".into()),
        ));
    }
    if let Some(other) = other_path() {
        s.push_str(&format!(
            "\nOurs on both x86 vector paths, same run (the other path forced with `NetworkOptions::simd`): \
             *Best* ran {}, the other is {}.\n\n\
             | arch | threads | Best ms | other path ms | Best / ORT | other / ORT | (p10–p90) |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
            Simd::Best.path().name(),
            other.path().name()
        ));
        for r in rows {
            let spread = r.other_path_over_onnxruntime;
            s.push_str(&format!(
                "| {} | {} | {:.2} | {} | {} | {} | {} |\n",
                r.name,
                r.threads,
                r.tract.median_ms,
                fmt_opt(r.other_path.map(|t| t.median_ms), 2),
                fmt_opt(r.ours_over_onnxruntime.map(|t| t.median), 2),
                fmt_opt(spread.map(|t| t.median), 2),
                spread
                    .map(|t| format!("{:.2}–{:.2}", t.p10, t.p90))
                    .unwrap_or_else(|| "—".into()),
            ));
        }
    }
    s.push_str(&breakdown::markdown(
        breakdown_arch,
        a.breakdown_threads as usize,
        BREAKDOWN_ROUNDS,
        breakdown,
        ort_profile,
        peak,
    ));
    s
}
