//! `pnag profile`: real tract latency of subnets on this machine.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pnag_build::sample;
use pnag_cli::profile::{profile_arch, write_csv, ProfileSettings};
use pnag_runtime::Arch;

use crate::args::{parse_threads, ArchParser, NetArgs};

#[derive(Args)]
pub struct ProfileArgs {
    /// Arch strings to time (repeatable).
    #[arg(value_parser = ArchParser, long, required_unless_present = "random")]
    arch: Vec<Arch>,
    /// Time N random archs instead (seeded, see --seed).
    #[arg(value_parser = crate::args::count(1, 100_000), long, conflicts_with = "arch")]
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
    #[arg(value_parser = crate::args::count(0, 10_000), long, default_value_t = 5)]
    warmup: usize,
    /// Timed runs per arch.
    #[arg(value_parser = crate::args::count(0, 10_000), long, default_value_t = 20)]
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

pub fn profile(a: ProfileArgs) -> Result<()> {
    let archs = match a.random {
        Some(n) => sample::random_archs(n, a.seed),
        None => a.arch.clone(),
    };
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if let Some(out) = &a.out {
        // Before minutes of measuring, not after.
        pnag_runtime::files::check_output(out)?;
    }
    let settings = ProfileSettings {
        width: a.net.width,
        resolution: a.net.resolution,
        threads: a.threads,
        warmup: a.warmup,
        runs: a.runs,
        weights_seed: 0,
        kernels: if a.tract_kernels {
            pnag_runtime::Kernels::Tract
        } else {
            pnag_runtime::Kernels::Specialized
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
        outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        outln!("{}", crate::bench::common::host_line());
        outln!("(synthetic untrained weights; latency does not depend on weight values)");
        outln!(
            "{:>10} {:>10} {:>10} {:>10}  arch",
            "median ms",
            "p10 ms",
            "p90 ms",
            "MACs (M)"
        );
        for r in &rows {
            outln!(
                "{:>10.2} {:>10.2} {:>10.2} {:>10.1}  {}",
                r.median_ms,
                r.p10_ms,
                r.p90_ms,
                r.macs_m,
                r.arch
            );
        }
    }
    Ok(())
}
