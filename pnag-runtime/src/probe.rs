//! The device probe: the latencies of a fixed set of reference subnets on the
//! machine it runs on, measured with the shipping network (our ops in tract),
//! which is how a device the tool has never seen is described (HELP's idea:
//! a device is the latency vector of a few fixed architectures).
//!
//! The subnets are [`crate::references::REFERENCES`].

use std::time::Instant;

pub use crate::references::{PROBE_FORMAT, REFERENCES};
use crate::{Arch, Network, NetworkOptions, NetworkSpec, RuntimeError, Weights, Width};

/// What to measure with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeOptions {
    /// Worker threads of each network.
    pub threads: usize,
    /// Input resolution.
    pub resolution: u32,
    /// Supernet width.
    pub width: Width,
    /// Untimed runs before timing.
    pub warmup: usize,
    /// Timed runs per reference (the median is reported).
    pub runs: usize,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            threads: 1,
            resolution: 224,
            width: Width::W1_2,
            warmup: 2,
            runs: 15,
        }
    }
}

/// One reference's measured latency.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// Position in [`REFERENCES`].
    pub index: usize,
    /// The reference's arch string.
    pub arch: String,
    /// Median latency (ms).
    pub median_ms: f64,
    /// 10th percentile (ms).
    pub p10_ms: f64,
    /// 90th percentile (ms).
    pub p90_ms: f64,
}

/// Measures every reference; `progress(done, total)` is called before each.
pub fn measure(
    opts: &ProbeOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<ProbeResult>, RuntimeError> {
    let mut out = Vec::with_capacity(REFERENCES.len());
    for (index, arch) in REFERENCES.iter().enumerate() {
        progress(index, REFERENCES.len());
        let spec = NetworkSpec::new(Arch::parse(arch)?, opts.width, opts.resolution)?;
        // Latency does not depend on the weights' values: seeded synthetic ones.
        let weights = Weights::synthetic(&spec, 0);
        let net = Network::new(
            spec,
            &weights,
            NetworkOptions {
                threads: opts.threads,
                ..NetworkOptions::default()
            },
        )?;
        let shape = net.input_shape();
        let image = vec![0.5f32; shape.iter().product()];
        for _ in 0..opts.warmup {
            net.run(&shape, &image)?;
        }
        let mut ms = Vec::with_capacity(opts.runs.max(1));
        for _ in 0..opts.runs.max(1) {
            let start = Instant::now();
            std::hint::black_box(net.run(&shape, &image)?);
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        out.push(ProbeResult {
            index,
            arch: arch.to_string(),
            median_ms: q(0.5),
            p10_ms: q(0.1),
            p90_ms: q(0.9),
        });
    }
    progress(REFERENCES.len(), REFERENCES.len());
    Ok(out)
}

/// What the probe ran on, for the file's header.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Hardware"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}; {cores} hardware threads; {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The probe file: `#` header lines (format, tool version, threads, width,
/// resolution, runs, machine), then `reference,arch,median_ms,p10_ms,p90_ms` (arch quoted).
pub fn to_csv(opts: &ProbeOptions, results: &[ProbeResult]) -> String {
    let mut s = format!(
        "# pnag-probe format {PROBE_FORMAT}\n# tool = pnag-runtime {}\n# threads = {}\n# width = {}\n# resolution = {}\n# runs = {}\n# machine = {}\nreference,arch,median_ms,p10_ms,p90_ms\n",
        env!("CARGO_PKG_VERSION"),
        opts.threads,
        opts.width,
        opts.resolution,
        opts.runs,
        machine_description().replace('\n', " "),
    );
    for r in results {
        s += &format!(
            // The arch string has commas: quoted, as CSV readers expect.
            "{},\"{}\",{:.4},{:.4},{:.4}\n",
            r.index, r.arch, r.median_ms, r.p10_ms, r.p90_ms
        );
    }
    s
}
