//! The `host` cost model: this machine's tract latency, learned from real
//! whole-network measurements (`pnag profile-device host`).
//!
//! Model: a per-block lookup table calibrated on whole networks. A searchable
//! block's shape is fixed by its slot (stage, first-or-not) and its (kernel,
//! expand) choice, so latency ≈ `intercept + Σ_active slots LUT[slot][k, e]`
//! (20 × 9 entries + the fixed stem / first block / head in the intercept).
//! The entries are fitted by ridge least squares to whole-network medians —
//! the measurement then includes everything a real run pays (memory traffic,
//! op fusion, scheduling), which per-block microbenchmarks miss.

use pnag_runtime::arch::{EXPANDS, KERNELS, SLOTS};
use pnag_runtime::{Arch, Width};
use serde::{Deserialize, Serialize};

use crate::stats::cholesky_solve;
use crate::stats::metrics::Metrics;

pub(crate) const CHOICES: usize = 9;
pub(crate) const FEATURES: usize = SLOTS * CHOICES;

/// One measured (or predicted) subnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostPoint {
    /// The subnet's arch string.
    pub arch: String,
    /// Its measured latency (ms).
    pub measured_ms: f64,
    /// The model's prediction (ms).
    pub predicted_ms: f64,
}

/// A fitted host latency model and how it was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostModel {
    /// CPU and core count of the machine profiled.
    pub machine: String,
    /// Inference engine and kernels measured.
    pub engine: String,
    /// Threads the network ran with.
    pub threads: usize,
    /// Supernet width.
    pub width: String,
    /// Input resolution.
    pub resolution: u32,
    /// Archs measured for the fit.
    pub fit_archs: usize,
    /// Seed of the arch samples.
    pub seed: u64,
    /// Passes over all archs; an arch's latency is its median ratio to a reference subnet
    /// timed right after it, times the reference's fast-state (p10) latency.
    pub passes: usize,
    /// Wall-clock profiling time.
    pub profile_seconds: f64,
    /// Latency not explained by the blocks (stem, head, overhead), ms.
    pub intercept_ms: f64,
    /// `lut_ms[slot][3 * kernel_index + expand_index]`.
    pub lut_ms: Vec<Vec<f64>>,
    /// Held-out archs (never used in the fit), measured and predicted.
    pub validation: Vec<HostPoint>,
    /// Metrics on the held-out archs.
    pub validation_metrics: Metrics,
}

pub(crate) fn active(arch: &Arch) -> impl Iterator<Item = usize> + '_ {
    arch.active_layers().filter_map(|(slot, k, e)| {
        let ki = KERNELS.iter().position(|&x| x == k)?;
        let ei = EXPANDS.iter().position(|&x| x == e)?;
        Some(slot * CHOICES + 3 * ki + ei)
    })
}

impl HostModel {
    /// Predicted latency in ms.
    pub fn predict(&self, arch: &Arch) -> f64 {
        self.intercept_ms
            + active(arch)
                .map(|f| self.lut_ms[f / CHOICES][f % CHOICES])
                .sum::<f64>()
    }

    /// Whether this model covers `width` at `resolution`.
    pub fn covers(&self, width: Width, resolution: u32) -> bool {
        self.width == width.to_string() && self.resolution == resolution
    }
}

/// Ridge least squares of `ms` on the per-slot (kernel, expand) indicators;
/// returns `(intercept, lut)`. `lambda` regularizes the LUT entries only.
pub fn fit(samples: &[(Arch, f64)], lambda: f64) -> (f64, Vec<Vec<f64>>) {
    let n = FEATURES + 1; // + intercept (last)
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    for (arch, ms) in samples {
        let mut idx: Vec<usize> = active(arch).collect();
        idx.push(FEATURES);
        for &i in &idx {
            b[i] += ms;
            for &j in &idx {
                a[i * n + j] += 1.0;
            }
        }
    }
    for i in 0..FEATURES {
        a[i * n + i] += lambda;
    }
    let w = cholesky_solve(&mut a, &b, n);
    let lut = (0..SLOTS)
        .map(|s| w[s * CHOICES..(s + 1) * CHOICES].to_vec())
        .collect();
    (w[FEATURES], lut)
}

/// The CPU model name (`/proc/cpuinfo`), for the record.
pub fn machine_name() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores ({})", std::env::consts::ARCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::random_archs;

    #[test]
    fn fit_recovers_an_additive_table() {
        // Ground truth: an additive table; the fit must reproduce it on unseen archs.
        let truth = |a: &Arch| {
            3.0 + active(a)
                .map(|f| 0.1 + (f % 7) as f64 * 0.05 + (f / 9) as f64 * 0.01)
                .sum::<f64>()
        };
        let train: Vec<(Arch, f64)> = random_archs(400, 1)
            .into_iter()
            .map(|a| (a, truth(&a)))
            .collect();
        let (intercept, lut) = fit(&train, 1e-6);
        let model = HostModel {
            machine: String::new(),
            engine: String::new(),
            threads: 1,
            width: "1.2".into(),
            resolution: 224,
            fit_archs: 400,
            seed: 1,
            passes: 1,
            profile_seconds: 0.0,
            intercept_ms: intercept,
            lut_ms: lut,
            validation: vec![],
            validation_metrics: Metrics::new(&[1.0], &[1.0]),
        };
        for a in random_archs(50, 2) {
            assert!((model.predict(&a) - truth(&a)).abs() < 1e-3, "{a}");
        }
    }
}
