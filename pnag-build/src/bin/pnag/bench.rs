//! `pnag bench engines`: the same subnets, weights, input and thread counts in
//! tract (ours), onnxruntime and PyTorch eager CPU, interleaved in rounds, with
//! a breakdown of where tract's time goes. Writes `engines.md` / `engines.json`.
//!
//! onnxruntime and PyTorch run in `scripts/bench_engines.py` (OFA's own subnet,
//! exported with `torch.onnx.export`), one process per round.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_runtime::weights::{synthetic_uniform, write_atomic};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights, Width};
use serde::Serialize;
use serde_json::{json, Value};

use pnag_build::npy;
use pnag_build::profile::{time_network, Timing};

#[derive(Debug, clap::Args)]
pub struct EnginesArgs {
    /// Width multiplier: 1.0 or 1.2.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Input resolution.
    #[arg(long, default_value_t = 224)]
    pub resolution: u32,
    /// Thread counts to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Untimed runs before each measurement.
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    /// Timed runs per measurement.
    #[arg(long, default_value_t = 30)]
    pub runs: usize,
    /// Interleaved rounds (tract, then onnxruntime + PyTorch); the report takes the median.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Python with torch, ofa, onnxruntime (see scripts/python-env.sh).
    #[arg(long, env = "PNAG_PYTHON", default_value = "python3")]
    pub python: String,
    /// Measure tract only (no Python engines).
    #[arg(long)]
    pub tract_only: bool,
    /// Output directory.
    #[arg(long, default_value = "bench-out/engines")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ExtractBenchArgs {
    /// Width of the synthetic supernet.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Timed extractions.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Output directory (holds the synthetic supernet checkpoint).
    #[arg(long, default_value = "bench-out/extract")]
    pub out: PathBuf,
}

/// Times reading a supernet checkpoint from disk and extracting the largest subnet.
pub fn extract(a: &ExtractBenchArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let path = a
        .out
        .join(format!("synthetic_supernet_w{}.safetensors", a.width));
    write_atomic(&path, &pnag_build::extract::synthetic_supernet(a.width, 0))?;
    let size_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let mut samples = Vec::new();
    for _ in 0..a.runs {
        let start = std::time::Instant::now();
        std::hint::black_box(pnag_build::extract::extract_file(
            &path,
            a.width,
            Arch::largest(),
        )?);
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let t = Timing::from_samples(&samples);
    let md = format!(
        "Extraction of the largest subnet from a w{} supernet checkpoint ({size_mb:.1} MB safetensors, synthetic untrained \
         values), including reading the file: median {:.1} ms (p10 {:.1}, p90 {:.1}) over {} runs.\n",
        a.width, t.median_ms, t.p10_ms, t.p90_ms, a.runs
    );
    write_atomic(&a.out.join("extract.md"), md.as_bytes())?;
    print!("{md}");
    Ok(())
}

/// The benchmarked subnets: the two ends of the space and its middle.
pub fn bench_archs() -> Vec<(&'static str, Arch)> {
    let middle = Arch::new(
        [3; 5],
        std::array::from_fn(|s| if s % 4 < 3 { 5 } else { 0 }),
        std::array::from_fn(|s| if s % 4 < 3 { 4 } else { 0 }),
    )
    .expect("valid arch");
    vec![
        ("smallest", Arch::smallest()),
        ("middle", middle),
        ("largest", Arch::largest()),
    ]
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    arch: String,
    macs_m: f64,
    threads: usize,
    tract: Timing,
    onnxruntime: Option<Timing>,
    pytorch: Option<Timing>,
    onnxruntime_max_abs_diff: Option<f64>,
    pytorch_max_abs_diff: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

/// Median over rounds of each statistic.
fn merge(rounds: &[Timing]) -> Timing {
    Timing {
        median_ms: median(rounds.iter().map(|t| t.median_ms).collect()),
        p10_ms: median(rounds.iter().map(|t| t.p10_ms).collect()),
        p90_ms: median(rounds.iter().map(|t| t.p90_ms).collect()),
    }
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_engines.py")
}

pub fn engines(a: &EnginesArgs) -> Result<()> {
    if a.runs == 0 || a.rounds == 0 || a.threads.iter().any(|&t| t == 0) {
        bail!("--runs, --rounds and every --threads value must be at least 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let r = a.resolution as usize;
    let input = synthetic_uniform("bench.input", 0, 3 * r * r);
    let mut jobs = Vec::new();
    let mut nets: BTreeMap<(usize, usize), Network> = BTreeMap::new();
    let archs = bench_archs();
    for (i, (name, arch)) in archs.iter().enumerate() {
        let spec = NetworkSpec::new(*arch, a.width, a.resolution)?;
        let weights = Weights::synthetic(&spec, 0);
        let wpath = a.out.join(format!("{name}.safetensors"));
        weights.save(&wpath)?;
        let xpath = a.out.join(format!("{name}.input.npy"));
        npy::write_f32(&xpath, &[1, 3, r, r], &input)?;
        for &t in &a.threads {
            nets.insert(
                (i, t),
                Network::new(
                    spec.clone(),
                    &weights,
                    NetworkOptions {
                        batch: 1,
                        threads: t,
                        ..Default::default()
                    },
                )?,
            );
        }
        let logits = nets[&(i, a.threads[0])].run(&[1, 3, r, r], &input)?;
        let ypath = a.out.join(format!("{name}.tract.npy"));
        npy::write_f32(&ypath, &[1, 1000], &logits.data)?;
        jobs.push(json!({"name": name, "arch": arch.to_string(), "width": a.width.multiplier(), "resolution": r,
            "weights": wpath, "input": xpath, "tract_logits": ypath}));
    }
    let jobs_path = a.out.join("jobs.json");
    let jobs_json = json!({"jobs": jobs, "threads": a.threads, "warmup": a.warmup, "runs": a.runs});
    write_atomic(
        &jobs_path,
        serde_json::to_string_pretty(&jobs_json)?.as_bytes(),
    )?;

    let mut tract_rounds: BTreeMap<(usize, usize), Vec<Timing>> = BTreeMap::new();
    let mut python_rounds: Vec<Value> = Vec::new();
    let per_round = nets.len() * (a.warmup + a.runs);
    let bar = ProgressBar::new((a.rounds * per_round) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} tract runs, eta {eta}")?
            .progress_chars("=> "),
    );
    for round in 0..a.rounds {
        for (&(i, t), net) in &nets {
            bar.set_message(format!("round {} {} t{t}", round + 1, archs[i].0));
            tract_rounds.entry((i, t)).or_default().push(time_network(
                net,
                a.warmup,
                a.runs,
                &mut || bar.inc(1),
            )?);
        }
        if !a.tract_only {
            bar.set_message(format!("round {} onnxruntime+torch", round + 1));
            let out = a.out.join(format!("python_round{}.json", round + 1));
            let status = bar
                .suspend(|| {
                    Command::new(&a.python)
                        .arg(script_path())
                        .arg(&jobs_path)
                        .arg(&out)
                        .status()
                })
                .with_context(|| {
                    format!(
                        "running {} (set --python or PNAG_PYTHON; scripts/python-env.sh makes one)",
                        a.python
                    )
                })?;
            if !status.success() {
                bail!(
                    "{} failed ({status}); see its output above",
                    script_path().display()
                );
            }
            python_rounds.push(serde_json::from_str(&std::fs::read_to_string(&out)?)?);
        }
    }
    bar.finish_and_clear();

    let engine = |name: &str, t: usize, engine: &str| -> Option<(Timing, f64)> {
        let mut timings = Vec::new();
        let mut diff = 0f64;
        for round in &python_rounds {
            let row = round["results"]
                .as_array()?
                .iter()
                .find(|r| r["name"] == name && r["threads"] == t)?;
            let timing: Timing = Timing {
                median_ms: row[engine]["median_ms"].as_f64()?,
                p10_ms: row[engine]["p10_ms"].as_f64()?,
                p90_ms: row[engine]["p90_ms"].as_f64()?,
            };
            timings.push(timing);
            diff = diff.max(row[format!("{engine}_max_abs_diff")].as_f64()?);
        }
        (!timings.is_empty()).then(|| (merge(&timings), diff))
    };
    let mut rows = Vec::new();
    for ((i, t), timings) in &tract_rounds {
        let (name, arch) = archs[*i];
        let macs = NetworkSpec::new(arch, a.width, a.resolution)?.macs() as f64 / 1e6;
        let ort = engine(name, *t, "onnxruntime");
        let torch = engine(name, *t, "pytorch");
        rows.push(Row {
            name: name.into(),
            arch: arch.to_string(),
            macs_m: macs,
            threads: *t,
            tract: merge(timings),
            onnxruntime: ort.map(|x| x.0),
            pytorch: torch.map(|x| x.0),
            onnxruntime_max_abs_diff: ort.map(|x| x.1),
            pytorch_max_abs_diff: torch.map(|x| x.1),
        });
    }
    rows.sort_by_key(|r| (r.threads, (r.macs_m * 1e3) as u64));

    let (largest_name, largest) = archs[archs.len() - 1];
    let breakdown = op_breakdown(
        &NetworkSpec::new(largest, a.width, a.resolution)?,
        a.runs.min(10),
        &input,
    )?;
    let md = markdown(a, &rows, largest_name, &breakdown, &python_rounds);
    write_atomic(&a.out.join("engines.md"), md.as_bytes())?;
    let json = json!({"width": a.width.to_string(), "resolution": r, "rows": rows, "breakdown": breakdown});
    write_atomic(
        &a.out.join("engines.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    println!("{md}");
    eprintln!("wrote {}", a.out.join("engines.md").display());
    Ok(())
}

/// Layer kind of a tract node, from the OFA-derived node names the graph
/// builder gives and the op tract chose. tract fuses activations and residual
/// adds into the preceding 1x1 conv's matmul, so those count as 1x1 conv time.
fn layer_kind(spec: &NetworkSpec, node: &str, op: &str) -> String {
    let block = node
        .strip_prefix("blocks.")
        .and_then(|r| r.split('.').next())
        .and_then(|b| b.parse::<usize>().ok());
    match block.and_then(|b| spec.blocks.get(b)) {
        Some(_) if node.contains(".se.") => "squeeze-excite".into(),
        Some(b) if op.starts_with("DepthWise") || node.contains("depth_conv.conv") => {
            format!("depthwise {}x{} stride {}", b.kernel, b.kernel, b.stride)
        }
        Some(_) if op.starts_with("OptMatMul") || node.contains("einsum") => ONE_BY_ONE.into(),
        Some(_) if node.contains(".act") => "activations (not fused)".into(),
        Some(_) if node.contains("residual") => "residual add (not fused)".into(),
        Some(_) => "other block ops".into(),
        None if node.starts_with("first_conv") => "stem conv 3x3".into(),
        None => "head (final expand, pool, feature mix, classifier)".into(),
    }
}

const ONE_BY_ONE: &str = "1x1 conv (matmul + packing, fused act / residual)";

#[derive(Debug, Serialize)]
struct BreakdownRow {
    kind: String,
    ms: f64,
    share: f64,
    gmacs: Option<f64>,
}

/// Mean time per layer kind over `runs` single-thread profiled runs.
fn op_breakdown(spec: &NetworkSpec, runs: usize, input: &[f32]) -> Result<Vec<BreakdownRow>> {
    let net = Network::synthetic(
        spec.clone(),
        0,
        NetworkOptions {
            batch: 1,
            threads: 1,
            ..Default::default()
        },
    )?;
    let shape = net.input_shape();
    let mut by_kind: BTreeMap<String, Duration> = BTreeMap::new();
    net.run(&shape, input)?;
    for _ in 0..runs.max(1) {
        net.run_profiled(&shape, input, &mut |node, op, d| {
            *by_kind.entry(layer_kind(spec, node, op)).or_default() += d
        })?;
    }
    // MACs per depthwise kind, for GMAC/s.
    let mut macs: BTreeMap<String, u64> = BTreeMap::new();
    for b in &spec.blocks {
        let kind = format!("depthwise {}x{} stride {}", b.kernel, b.kernel, b.stride);
        *macs.entry(kind).or_default() +=
            (b.mid_channels * b.kernel * b.kernel * b.out_size * b.out_size) as u64;
        *macs.entry(ONE_BY_ONE.into()).or_default() +=
            (b.expand_channels
                .map_or(0, |m| b.in_channels * m * b.in_size * b.in_size)
                + b.mid_channels * b.out_channels * b.out_size * b.out_size) as u64;
    }
    let total: f64 = by_kind.values().map(|d| d.as_secs_f64()).sum();
    let mut rows: Vec<BreakdownRow> = by_kind
        .into_iter()
        .map(|(kind, d)| {
            let ms = d.as_secs_f64() * 1e3 / runs.max(1) as f64;
            let gmacs = macs.get(&kind).map(|&m| m as f64 / (ms * 1e-3) / 1e9);
            BreakdownRow {
                share: d.as_secs_f64() / total,
                kind,
                ms,
                gmacs,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    Ok(rows)
}

fn fmt_opt(t: Option<f64>, prec: usize) -> String {
    t.map(|v| format!("{v:.prec$}"))
        .unwrap_or_else(|| "—".into())
}

fn markdown(
    a: &EnginesArgs,
    rows: &[Row],
    largest: &str,
    breakdown: &[BreakdownRow],
    python: &[Value],
) -> String {
    let mut s = format!(
        "Subnets of OFA MobileNetV3 w{} at {}x{}, batch 1, same synthetic (untrained) weights and input in every engine; \
         median of {} interleaved rounds of {} timed runs ({} warm-up).\n",
        a.width, a.resolution, a.resolution, a.rounds, a.runs, a.warmup
    );
    if let Some(p) = python.first() {
        s.push_str(&format!(
            "onnxruntime {}, PyTorch {} (eager CPU); tract {}.\n",
            p["onnxruntime"].as_str().unwrap_or("?"),
            p["torch"].as_str().unwrap_or("?"),
            "0.23.9"
        ));
    }
    s.push_str("\n| arch | MMACs | threads | tract (ours) ms | onnxruntime ms | PyTorch ms | ours / ORT | ours GMAC/s | ORT GMAC/s | max abs Δ logits ORT vs ours |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let ort = r.onnxruntime.map(|t| t.median_ms);
        s.push_str(&format!(
            "| {} | {:.0} | {} | {:.2} | {} | {} | {} | {:.1} | {} | {} |\n",
            r.name,
            r.macs_m,
            r.threads,
            r.tract.median_ms,
            fmt_opt(ort, 2),
            fmt_opt(r.pytorch.map(|t| t.median_ms), 2),
            fmt_opt(ort.map(|o| r.tract.median_ms / o), 2),
            r.macs_m / r.tract.median_ms,
            fmt_opt(ort.map(|o| r.macs_m / o), 1),
            r.onnxruntime_max_abs_diff
                .map(|d| format!("{d:.1e}"))
                .unwrap_or_else(|| "—".into()),
        ));
    }
    s.push_str(&format!("\nWhere tract's time goes ({largest} arch, 1 thread, per-node timing):\n\n| layer kind | ms | share | GMAC/s |\n|---|---:|---:|---:|\n"));
    for b in breakdown {
        s.push_str(&format!(
            "| {} | {:.2} | {:.1} % | {} |\n",
            b.kind,
            b.ms,
            b.share * 100.0,
            fmt_opt(b.gmacs, 1)
        ));
    }
    s
}
