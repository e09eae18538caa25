//! `pnag bench memory`: peak memory of `Network::run`, predicted from the layer plan
//! ([`pnag_runtime::memory`]) beside what the process's counting allocator
//! ([`crate::counting_alloc`]) saw: the high-water mark of live heap bytes during one
//! run, above the live bytes after loading and eight warm-up runs. Writes `memory.md`,
//! `memory.json` and `memory.svg` (predicted vs measured).

use std::path::PathBuf;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_runtime::memory::{peak_activation_bytes, RunShape};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Simd, Weights, Width};
use serde::Serialize;
use serde_json::json;

use crate::counting_alloc::ALLOCATOR;

#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    /// Subnets measured: the smallest, the largest and this many more covering the range.
    #[arg(value_parser = crate::args::count(0, 10_000), long, default_value_t = 50)]
    pub archs: usize,
    /// Input resolutions (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "160,224")]
    pub resolutions: Vec<u32>,
    /// Thread counts (comma-separated).
    #[arg(value_parser = crate::args::count(1, 256), long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Width multiplier: 1.0 or 1.2.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Seed of the covering subnets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, default_value = "bench-out/memory")]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Row {
    arch: String,
    resolution: u32,
    threads: usize,
    predicted_bytes: u64,
    measured_bytes: u64,
    /// (predicted − measured) / measured.
    error: f64,
    /// Live bytes the first runs left allocated (thread-local im2col and packing buffers).
    retained_bytes: i64,
}

/// Warm-up runs before the measured one.
const WARMUP: usize = 8;

/// One run's high-water mark above the live bytes after loading and warm-up.
fn measure(spec: &NetworkSpec, threads: usize) -> Result<(u64, i64)> {
    let weights = Weights::synthetic(spec, 0);
    let options = NetworkOptions {
        threads,
        ..Default::default()
    };
    let net = Network::new(spec.clone(), &weights, options)?;
    let shape = net.input_shape();
    let input = vec![0.5f32; shape.iter().product()];
    let loaded = ALLOCATOR.live() as i64;
    // Enough runs that every worker thread has grown its thread-local buffers (the stem's
    // im2col columns are taken on whichever worker runs the stem).
    for _ in 0..WARMUP {
        net.run(&shape, &input)?;
    }
    let base = ALLOCATOR.reset_peak();
    let logits = net.run(&shape, &input)?;
    let peak = ALLOCATOR.peak();
    drop(logits);
    Ok(((peak - base) as u64, base as i64 - loaded))
}

pub fn memory(a: &MemoryArgs) -> Result<()> {
    if a.resolutions.is_empty() || a.threads.is_empty() {
        bail!("--resolutions and --threads need at least one value each");
    }
    let mut archs = vec![Arch::smallest(), Arch::largest()];
    archs.extend(pnag_build::sample::covering_archs(a.archs, a.seed));
    std::fs::create_dir_all(&a.out)?;
    let lanes = Simd::Best.path().lanes();
    let bar = ProgressBar::new((archs.len() * a.resolutions.len() * a.threads.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} runs, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    for &r in &a.resolutions {
        for &threads in &a.threads {
            bar.set_message(format!("{r} px, {threads} thread(s)"));
            for &arch in &archs {
                let spec = NetworkSpec::new(arch, a.width, r)?;
                let run = RunShape {
                    batch: 1,
                    threads,
                    lanes,
                };
                let predicted = peak_activation_bytes(&spec, run);
                let (measured, retained) = measure(&spec, threads)?;
                rows.push(Row {
                    arch: arch.to_string(),
                    resolution: r,
                    threads,
                    predicted_bytes: predicted,
                    measured_bytes: measured,
                    error: (predicted as f64 - measured as f64) / measured as f64,
                    retained_bytes: retained,
                });
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let md = markdown(a, &rows, lanes);
    let mb = |b: u64| b as f64 / 1e6;
    let svg = pnag_cli::plot::scatter_svg(
        "Peak memory of one run: predicted from the layer plan vs measured",
        "MB",
        &rows
            .iter()
            .map(|r| mb(r.measured_bytes))
            .collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|r| mb(r.predicted_bytes))
            .collect::<Vec<_>>(),
    );
    pnag_runtime::files::write_atomic(&a.out.join("memory.svg"), svg.as_bytes())?;
    let json =
        json!({"host": super::common::host_line(), "width": a.width.to_string(), "rows": rows});
    super::common::write_report(&a.out, "memory", &md, &json)
}

fn markdown(a: &MemoryArgs, rows: &[Row], lanes: usize) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let mut s = format!(
        "{}\n\nPeak memory of one `Network::run` (batch 1, w{}): *measured* = the high-water mark of live heap \
         bytes during the run (a counting global allocator) above the live bytes after loading and {WARMUP} \
         warm-up runs; *predicted* = `pnag_runtime::memory::peak_activation_bytes` from the layer plan \
         ({lanes}-lane depthwise scratch). {} subnets (smallest, largest, covering) per resolution and thread count.\n\n\
         | resolution | threads | subnets | predicted MB (min–max) | measured MB (min–max) | error mean | error min | error max | retained after warm-up MB |\n\
         |---:|---:|---:|---|---|---:|---:|---:|---:|\n",
        super::common::host_line(),
        a.width,
        a.archs + 2,
    );
    for &r in &a.resolutions {
        for &t in &a.threads {
            let group: Vec<&Row> = rows
                .iter()
                .filter(|x| x.resolution == r && x.threads == t)
                .collect();
            let range = |f: fn(&Row) -> u64| {
                let v = group.iter().map(|x| f(x));
                format!(
                    "{:.2}–{:.2}",
                    mb(v.clone().min().unwrap_or(0)),
                    mb(v.max().unwrap_or(0))
                )
            };
            let errors: Vec<f64> = group.iter().map(|x| x.error).collect();
            let (lo, hi) = errors
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), &e| (l.min(e), h.max(e)));
            let retained = group.iter().map(|x| x.retained_bytes).max().unwrap_or(0);
            s.push_str(&format!(
                "| {r} | {t} | {} | {} | {} | {:+.1} % | {:+.1} % | {:+.1} % | {:.2} (max) |\n",
                group.len(),
                range(|x| x.predicted_bytes),
                range(|x| x.measured_bytes),
                100.0 * errors.iter().sum::<f64>() / errors.len().max(1) as f64,
                100.0 * lo,
                100.0 * hi,
                retained as f64 / 1e6,
            ));
        }
    }
    s
}
