//! Real latency of subnets on this machine, measured with tract: warm-up runs,
//! then timed runs of one batch-1 image; median and 10th/90th percentiles.

use std::path::Path;
use std::time::Instant;

use pnag_runtime::probe::profile_input;
pub use pnag_runtime::probe::{time_network, Timing};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, RuntimeError, Width};
use serde::Serialize;

/// How to profile.
#[derive(Debug, Clone, Copy)]
pub struct ProfileSettings {
    pub width: Width,
    pub resolution: u32,
    pub threads: usize,
    pub warmup: usize,
    pub runs: usize,
    /// Seed of the synthetic (untrained) weights; latency does not depend on values.
    pub weights_seed: u64,
    /// Our ops (what ships) or tract's own.
    pub kernels: pnag_runtime::Kernels,
}

/// One CSV row of `pnag profile`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileRow {
    pub arch: String,
    pub width: String,
    pub resolution: u32,
    pub threads: usize,
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub macs_m: f64,
}

/// Times `net` and `reference` alternately — `warmup` untimed runs of each,
/// then `pairs` timed pairs — and returns the median of the per-pair ratios
/// `net / reference` and every timed reference run (ms). A slow spell of the
/// machine longer than one pair scales both runs of a pair alike.
pub fn time_relative(
    net: &Network,
    reference: &Network,
    warmup: usize,
    pairs: usize,
    tick: &mut dyn FnMut(),
) -> Result<(f64, Vec<f64>), RuntimeError> {
    let ((shape, input), (ref_shape, ref_input)) = (profile_input(net), profile_input(reference));
    let mut timed = |n: &Network, shape: &[usize], x: &[f32]| -> Result<f64, RuntimeError> {
        let start = Instant::now();
        std::hint::black_box(n.run(shape, x)?);
        tick();
        Ok(start.elapsed().as_secs_f64() * 1e3)
    };
    for _ in 0..warmup {
        timed(net, &shape, &input)?;
        timed(reference, &ref_shape, &ref_input)?;
    }
    let (mut ratios, mut reference_ms) = (Vec::new(), Vec::new());
    for _ in 0..pairs.max(1) {
        let ms = timed(net, &shape, &input)?;
        let r = timed(reference, &ref_shape, &ref_input)?;
        ratios.push(ms / r);
        reference_ms.push(r);
    }
    Ok((Timing::quantile(&ratios, 0.5), reference_ms))
}

/// The network `pnag profile` times for `arch` (synthetic weights, batch 1).
pub fn build_network(arch: Arch, s: &ProfileSettings) -> Result<Network, RuntimeError> {
    let spec = NetworkSpec::new(arch, s.width, s.resolution)?;
    Network::synthetic(
        spec,
        s.weights_seed,
        NetworkOptions {
            batch: 1,
            threads: s.threads,
            kernels: s.kernels,
            ..Default::default()
        },
    )
}

/// Builds and times one arch.
pub fn profile_arch(
    arch: Arch,
    s: &ProfileSettings,
    tick: &mut dyn FnMut(),
) -> Result<ProfileRow, RuntimeError> {
    let macs = NetworkSpec::new(arch, s.width, s.resolution)?.macs();
    let net = build_network(arch, s)?;
    let t = time_network(&net, s.warmup, s.runs, tick)?;
    Ok(ProfileRow {
        arch: arch.to_string(),
        width: s.width.to_string(),
        resolution: s.resolution,
        threads: s.threads,
        median_ms: t.median_ms,
        p10_ms: t.p10_ms,
        p90_ms: t.p90_ms,
        macs_m: macs as f64 / 1e6,
    })
}

/// CSV text of profile rows (the arch string is quoted: it contains commas).
pub fn to_csv(rows: &[ProfileRow]) -> String {
    let mut out = String::from("arch,width,resolution,threads,median_ms,p10_ms,p90_ms,macs_m\n");
    for r in rows {
        out.push_str(&format!(
            "\"{}\",{},{},{},{:.4},{:.4},{:.4},{:.3}\n",
            r.arch, r.width, r.resolution, r.threads, r.median_ms, r.p10_ms, r.p90_ms, r.macs_m
        ));
    }
    out
}

/// Writes the CSV atomically.
pub fn write_csv(path: &Path, rows: &[ProfileRow]) -> Result<(), RuntimeError> {
    pnag_runtime::files::write_atomic(path, to_csv(rows).as_bytes())
}
