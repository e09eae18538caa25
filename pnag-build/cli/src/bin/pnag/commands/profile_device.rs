//! `pnag profile-device host`: measure this machine with tract and fit its latency model.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::sample;
use pnag_cli::profile::{ProfileSettings, Timing};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Width};

use crate::args::parse_threads;

#[derive(Args)]
pub struct ProfileDeviceArgs {
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
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = 300)]
    fit: usize,
    /// Further random archs measured only to validate it (never fitted).
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = 120)]
    validate: usize,
    /// Seed of the arch samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Passes over all archs (each a fresh build); an arch's latency is its median over passes
    /// of its run-by-run ratio to a reference subnet run alternately with it (cancels a shared
    /// machine's slow spells), times the reference's fast-state latency.
    #[arg(value_parser = crate::args::count(1, 1_000), long, default_value_t = 3)]
    passes: usize,
    /// Output directory (writes host.json).
    #[arg(long, default_value = "pnag-build/models/host")]
    out: PathBuf,
}

pub fn profile_device(a: ProfileDeviceArgs) -> Result<()> {
    use pnag_build::cost::host::{fit, machine_name, HostModel, HostPoint};
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
    pnag_runtime::files::check_output(&a.out.join("host.json"))?;
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
        kernels: pnag_runtime::Kernels::Specialized,
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
        validation_metrics: pnag_build::stats::metrics::Metrics::new(&[1.0], &[1.0]),
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
    model.validation_metrics = pnag_build::stats::metrics::Metrics::new(&p, &m);
    model.profile_seconds = start.elapsed().as_secs_f64();
    let path = a.out.join("host.json");
    pnag_runtime::files::write_atomic(&path, serde_json::to_string_pretty(&model)?.as_bytes())?;
    let v = &model.validation_metrics;
    eprintln!(
        "host model ({}) in {:.0} s: on {} held-out archs MAPE {:.2} %, within ±10 % {:.1} %, Kendall τ {:.3}, Spearman ρ {:.3} -> {}",
        model.machine, model.profile_seconds, v.n, v.mape, v.within_10pct, v.kendall_tau, v.spearman_rho, path.display()
    );
    Ok(())
}
