//! The device probe: the latencies of a fixed set of reference subnets on the
//! machine it runs on, measured with the shipping network (our ops in tract),
//! which is how a device the tool has never seen is described (HELP's idea:
//! a device is the latency vector of a few fixed architectures).
//!
//! The subnets are [`crate::references::REFERENCES`].

use std::time::Instant;

pub use crate::references::{PROBE_FORMAT, REFERENCES};
use crate::{Arch, Network, NetworkOptions, NetworkSpec, RuntimeError, Width};

/// Summary of repeated timings, in milliseconds (the probe's and `pnag profile`'s).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Timing {
    /// Median.
    pub median_ms: f64,
    /// 10th percentile.
    pub p10_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
}

impl Timing {
    /// Percentiles with linear interpolation (NumPy's default method).
    pub fn from_samples(samples_ms: &[f64]) -> Timing {
        Timing {
            median_ms: Self::quantile(samples_ms, 0.5),
            p10_ms: Self::quantile(samples_ms, 0.1),
            p90_ms: Self::quantile(samples_ms, 0.9),
        }
    }

    /// The `p` quantile (0..=1) with linear interpolation ([`crate::stats::quantile`]).
    pub fn quantile(samples: &[f64], p: f64) -> f64 {
        crate::stats::quantile(samples, p)
    }
}

/// The input shape of `net` and the fixed synthetic image every timing runs on it.
pub fn profile_input(net: &Network) -> (Vec<usize>, Vec<f32>) {
    let shape = net.input_shape();
    let n = shape.iter().product();
    (
        shape.to_vec(),
        crate::weights::synthetic_uniform("profile.input", 0, n),
    )
}

/// Times `runs` executions of `net` after `warmup` untimed ones; `tick` is
/// called after every execution (for progress bars).
pub fn time_network(
    net: &Network,
    warmup: usize,
    runs: usize,
    tick: &mut dyn FnMut(),
) -> Result<Timing, RuntimeError> {
    Ok(Timing::from_samples(&time_samples(
        net, warmup, runs, tick,
    )?))
}

/// [`time_network`]'s individual timings (ms).
pub fn time_samples(
    net: &Network,
    warmup: usize,
    runs: usize,
    tick: &mut dyn FnMut(),
) -> Result<Vec<f64>, RuntimeError> {
    let (shape, input) = profile_input(net);
    for _ in 0..warmup {
        net.run(&shape, &input)?;
        tick();
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(net.run(&shape, &input)?);
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        tick();
    }
    Ok(samples)
}

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
    /// Rounds over the references: each round builds every reference anew, warms
    /// it up and times its share of `runs`. Interleaving spreads a slow phase of
    /// the machine (throttling, a neighbour's load) over all references instead
    /// of a few, so the latency *shape* that describes the device survives it.
    pub rounds: usize,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            threads: 1,
            resolution: 224,
            width: Width::W1_2,
            warmup: 2,
            runs: 15,
            rounds: 3,
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
    /// Its latency.
    pub timing: Timing,
}

/// Measures every reference in [`ProbeOptions::rounds`] interleaved rounds;
/// `progress(done, total)` is called before each (reference, round) and at the end.
pub fn measure(
    opts: &ProbeOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<ProbeResult>, RuntimeError> {
    let n = REFERENCES.len();
    let runs = opts.runs.max(1);
    let rounds = opts.rounds.clamp(1, runs);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); n];
    for round in 0..rounds {
        // This round's share of the runs: the first `runs % rounds` rounds take one more.
        let share = runs / rounds + usize::from(round < runs % rounds);
        for (index, arch) in REFERENCES.iter().enumerate() {
            progress(round * n + index, rounds * n);
            let spec = NetworkSpec::new(Arch::parse(arch)?, opts.width, opts.resolution)?;
            // Latency does not depend on the weights' values: seeded synthetic ones.
            let net = Network::synthetic(
                spec,
                0,
                NetworkOptions {
                    threads: opts.threads,
                    ..NetworkOptions::default()
                },
            )?;
            samples[index].extend(time_samples(&net, opts.warmup, share, &mut || {})?);
        }
    }
    progress(rounds * n, rounds * n);
    Ok(REFERENCES
        .iter()
        .zip(samples)
        .enumerate()
        .map(|(index, (arch, s))| ProbeResult {
            index,
            arch: arch.to_string(),
            timing: Timing::from_samples(&s),
        })
        .collect())
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
/// resolution, runs, rounds, machine), then `reference,arch,median_ms,p10_ms,p90_ms` (arch quoted).
pub fn to_csv(opts: &ProbeOptions, results: &[ProbeResult]) -> String {
    let mut s = format!(
        "# pnag-probe format {PROBE_FORMAT}\n# tool = pnag-runtime {}\n# threads = {}\n# width = {}\n# resolution = {}\n# runs = {}\n# rounds = {}\n# machine = {}\nreference,arch,median_ms,p10_ms,p90_ms\n",
        env!("CARGO_PKG_VERSION"),
        opts.threads,
        opts.width,
        opts.resolution,
        opts.runs,
        opts.runs.max(1).min(opts.rounds.max(1)),
        machine_description().replace('\n', " "),
    );
    for r in results {
        s += &format!(
            // The arch string has commas: quoted, as CSV readers expect.
            "{},\"{}\",{:.4},{:.4},{:.4}\n",
            r.index, r.arch, r.timing.median_ms, r.timing.p10_ms, r.timing.p90_ms
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1,2,3,4,10], [10,50,90]) == [1.4, 3.0, 7.6]
        let t = Timing::from_samples(&[10.0, 2.0, 4.0, 1.0, 3.0]);
        assert!(
            (t.p10_ms - 1.4).abs() < 1e-12
                && (t.median_ms - 3.0).abs() < 1e-12
                && (t.p90_ms - 7.6).abs() < 1e-12
        );
    }
}
