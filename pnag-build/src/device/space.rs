//! A space of devices learned from the known ones — how a new device's latency
//! is predicted from its ~20 reference measurements without training.
//!
//! Every known device (the five built-in models plus HELP's GPUs, the
//! lulongfei and OFANAS sets; `pnag device space`) is first described by
//! an *additive* latency model at one resolution: an intercept plus one
//! latency per (block slot, kernel, expand) choice of every active block —
//! the form of a lookup table, exact for the note10 / i7 tables and the
//! `host` model. Each device's model is divided by its mean latency over the
//! reference subnets (the shape of a device, not its speed); the shapes'
//! mean `μ` and principal directions `u_k` (scaled to one standard deviation
//! across devices) are the *device space*, shipped as `models/devices/space.json`.
//!
//! A new device is a point of that space, scaled and offset:
//! `latency(arch) = s · (μ + Σ z_k u_k) · φ(arch) + c`, fitted to the reference
//! latencies by least squares with a ridge prior `λ‖z‖²` (the HELP / MODNAS idea:
//! a device is what its reference latencies say, the rest is learned across
//! devices). `λ` is chosen by leave-one-out error over the references, and those
//! leave-one-out errors are the fit's uncertainty.

use pnag_runtime::arch::SLOTS;
use pnag_runtime::{Arch, Width};
use serde::{Deserialize, Serialize};

use crate::cost::host::{self, CHOICES};
use crate::cost::{CostError, CostModel, CostUnit, DeviceInfo};
use crate::stats::{mean, ridge};

/// Version of the device-space file layout.
pub const SPACE_FORMAT: u32 = 1;

/// Length of an additive model: one entry per (slot, kernel, expand), then the intercept.
pub const ADDITIVE_LEN: usize = SLOTS * CHOICES + 1;

/// Ridge strengths tried for a new device (chosen by leave-one-out error).
pub const LAMBDAS: [f64; 10] = [1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0];

/// Why a device-space fit failed.
#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    /// The space file is not JSON of the space layout.
    #[error("device space {origin}: {source}")]
    Json {
        /// The file.
        origin: String,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    /// The shipped or given space file is unusable.
    #[error("device space {origin}: {reason}")]
    File {
        /// The file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// Too few measurements for the fit.
    #[error("{given} reference latencies; the device-space fit needs at least {needed}")]
    TooFew {
        /// Measurements given.
        given: usize,
        /// Measurements needed.
        needed: usize,
    },
}

/// The smallest number of references a fit accepts (scale, offset, and one
/// left out for the uncertainty).
pub const MIN_REFERENCES: usize = 4;

/// Fits an additive model (see the module docs) to measured `(arch, ms)` by ridge
/// least squares; the entries are regularized lightly, the intercept not at all.
pub fn fit_additive(samples: &[(Arch, f64)]) -> Vec<f64> {
    let (intercept, lut) = host::fit(samples, 1e-3);
    let mut theta: Vec<f64> = lut.into_iter().flatten().collect();
    theta.push(intercept);
    theta
}

/// An additive model's latency for `arch`.
pub fn additive(theta: &[f64], arch: &Arch) -> f64 {
    theta[ADDITIVE_LEN - 1] + host::active(arch).map(|f| theta[f]).sum::<f64>()
}

/// The learned space of device shapes (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpace {
    /// Layout version.
    pub format: u32,
    /// Resolution the additive models are for (px).
    pub resolution: u32,
    /// The devices the space was learned from, with their own additive models
    /// (ms; also the candidates of the closest-known calibration).
    pub known: Vec<KnownModel>,
    /// Mean device shape (additive model, mean reference latency 1).
    pub mean: Vec<f64>,
    /// Principal directions, each scaled to one standard deviation across devices.
    pub basis: Vec<Vec<f64>>,
}

/// One known device in the space file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownModel {
    /// Its name (`pnag bench devices` lists them).
    pub name: String,
    /// Where its data comes from.
    pub origin: String,
    /// Its additive model (ms).
    pub theta: Vec<f64>,
}

/// A known device's model calibrated to a new device: `scale × model + offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The known device.
    pub name: String,
    /// Scale of the map.
    pub scale: f64,
    /// Offset of the map (ms).
    pub offset: f64,
    /// Leave-one-out relative errors over the references.
    pub loo_errors: Vec<f64>,
    /// The calibrated additive model.
    pub theta: Vec<f64>,
}

/// A new device's fit in the space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceFit {
    /// The device's additive model (ms).
    pub theta: Vec<f64>,
    /// The ridge strength chosen.
    pub lambda: f64,
    /// Leave-one-out relative errors over the references, at `lambda`.
    pub loo_errors: Vec<f64>,
}

impl SpaceFit {
    /// Predicted latency (ms).
    pub fn latency(&self, arch: &Arch) -> f64 {
        additive(&self.theta, arch)
    }
}

impl DeviceSpace {
    /// Learns the space from known devices' additive models; `normalize_on` are
    /// the archs whose mean latency each model is divided by (the references).
    pub fn learn(devices: &[KnownModel], normalize_on: &[Arch], resolution: u32) -> DeviceSpace {
        let shapes: Vec<Vec<f64>> = devices
            .iter()
            .map(|KnownModel { theta: t, .. }| {
                let m = normalize_on.iter().map(|a| additive(t, a)).sum::<f64>()
                    / normalize_on.len() as f64;
                t.iter().map(|x| x / m).collect()
            })
            .collect();
        let n = shapes.len();
        let mean: Vec<f64> = (0..ADDITIVE_LEN)
            .map(|j| shapes.iter().map(|s| s[j]).sum::<f64>() / n as f64)
            .collect();
        let centered: Vec<Vec<f64>> = shapes
            .iter()
            .map(|s| s.iter().zip(&mean).map(|(a, b)| a - b).collect())
            .collect();
        // PCA through the n × n Gram matrix (n devices ≪ 181 entries).
        let gram: Vec<f64> = (0..n * n)
            .map(|ij| dot(&centered[ij / n], &centered[ij % n]))
            .collect();
        let (values, vectors) = jacobi_eigen(gram, n);
        let top = values.iter().cloned().fold(0.0, f64::max);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let basis = order
            .into_iter()
            .filter(|&k| values[k] > 1e-9 * top && n > 1)
            .map(|k| {
                // u = Dᵀ v / √λ is the unit direction; × √(λ / (n − 1)) is one std.
                let scale = 1.0 / ((n - 1) as f64).sqrt();
                (0..ADDITIVE_LEN)
                    .map(|j| {
                        (0..n)
                            .map(|i| centered[i][j] * vectors[i * n + k])
                            .sum::<f64>()
                            * scale
                    })
                    .collect()
            })
            .collect();
        DeviceSpace {
            format: SPACE_FORMAT,
            resolution,
            known: devices.to_vec(),
            mean,
            basis,
        }
    }

    /// The space shipped in the crate (learned from every known device).
    pub fn embedded() -> Result<DeviceSpace, SpaceError> {
        DeviceSpace::parse(
            include_str!("../../models/devices/space.json"),
            "models/devices/space.json",
        )
    }

    /// Reads and checks a space file.
    pub fn parse(text: &str, origin: &str) -> Result<DeviceSpace, SpaceError> {
        let bad = |reason: String| SpaceError::File {
            origin: origin.into(),
            reason,
        };
        let s: DeviceSpace = serde_json::from_str(text).map_err(|source| SpaceError::Json {
            origin: origin.into(),
            source,
        })?;
        if s.format != SPACE_FORMAT {
            return Err(bad(format!(
                "format {} (expected {SPACE_FORMAT})",
                s.format
            )));
        }
        let ok = |v: &Vec<f64>| v.len() == ADDITIVE_LEN && v.iter().all(|x| x.is_finite());
        if !ok(&s.mean) || !s.basis.iter().all(ok) || !s.known.iter().all(|k| ok(&k.theta)) {
            return Err(bad(format!(
                "every vector must hold {ADDITIVE_LEN} finite numbers"
            )));
        }
        Ok(s)
    }

    /// Fits a device from its references' latencies (ms), choosing the ridge
    /// strength by leave-one-out error.
    pub fn fit(&self, refs: &[Arch], ms: &[f64]) -> Result<SpaceFit, SpaceError> {
        if refs.len() < MIN_REFERENCES || refs.len() != ms.len() {
            return Err(SpaceError::TooFew {
                given: refs.len().min(ms.len()),
                needed: MIN_REFERENCES,
            });
        }
        // Columns: μ·φ (scale), 1 (offset), u_k·φ (shape).
        let rows: Vec<Vec<f64>> = refs
            .iter()
            .map(|a| {
                let mut r = vec![additive(&self.mean, a), 1.0];
                r.extend(
                    self.basis
                        .iter()
                        .map(|u| additive(u, a) - u[ADDITIVE_LEN - 1]),
                );
                r
            })
            .collect();
        let mut best: Option<(f64, f64, Vec<f64>)> = None;
        for &lambda in &LAMBDAS {
            let errors: Vec<f64> = (0..rows.len())
                .map(|i| {
                    let keep: Vec<usize> = (0..rows.len()).filter(|&j| j != i).collect();
                    let w = solve(&keep, &rows, ms, lambda);
                    (dot(&rows[i], &w) - ms[i]).abs() / ms[i]
                })
                .collect();
            let mean = errors.iter().sum::<f64>() / errors.len() as f64;
            if best.as_ref().is_none_or(|b| mean < b.0) {
                best = Some((mean, lambda, errors));
            }
        }
        let (_, lambda, loo_errors) = best.expect("LAMBDAS is not empty");
        let all: Vec<usize> = (0..rows.len()).collect();
        let w = solve(&all, &rows, ms, lambda);
        let mut theta: Vec<f64> = self.mean.iter().map(|m| w[0] * m).collect();
        for (u, wk) in self.basis.iter().zip(&w[2..]) {
            // The basis' own intercepts were left out of the columns (the offset absorbs them).
            for j in 0..ADDITIVE_LEN - 1 {
                theta[j] += wk * u[j];
            }
        }
        theta[ADDITIVE_LEN - 1] += w[1];
        Ok(SpaceFit {
            theta,
            lambda,
            loo_errors,
        })
    }
}

impl DeviceSpace {
    /// The known device (not in `exclude`) whose model, calibrated as
    /// `scale × model + offset` to the references, has the smallest mean
    /// leave-one-out error (`None` if none calibrates with a positive scale).
    pub fn closest(&self, refs: &[Arch], ms: &[f64], exclude: &[&str]) -> Option<Calibration> {
        self.known
            .iter()
            .filter(|k| !exclude.contains(&k.name.as_str()))
            .filter_map(|k| {
                let x: Vec<f64> = refs.iter().map(|a| additive(&k.theta, a)).collect();
                let (scale, offset, loo_errors) = crate::stats::affine_loo(&x, ms);
                (scale > 0.0).then(|| {
                    let mut theta: Vec<f64> = k.theta.iter().map(|t| scale * t).collect();
                    theta[ADDITIVE_LEN - 1] += offset;
                    Calibration {
                        name: k.name.clone(),
                        scale,
                        offset,
                        loo_errors,
                        theta,
                    }
                })
            })
            .min_by(|a, b| mean(&a.loo_errors).total_cmp(&mean(&b.loo_errors)))
    }
}

/// Least squares over `rows[keep]` with the shape weights penalized by
/// `λ ŝ²` (ŝ: the scale of the unpenalized scale-and-offset fit), so the prior
/// is on the device's shape, whatever its speed.
fn solve(keep: &[usize], rows: &[Vec<f64>], y: &[f64], lambda: f64) -> Vec<f64> {
    let (rows, y): (Vec<Vec<f64>>, Vec<f64>) =
        keep.iter().map(|&i| (rows[i].clone(), y[i])).unzip();
    // `ridge` uses the first `penalty.len()` columns: scale and offset alone first.
    let s = ridge(&rows, &y, &[1e-9, 1e-9])[0];
    let penalty: Vec<f64> = (0..rows[0].len())
        .map(|r| if r < 2 { 1e-9 } else { lambda * s * s })
        .collect();
    ridge(&rows, &y, &penalty)
}

/// Fitted additive models as a cost model (ms), valid at one width and
/// resolution: the largest of their predictions. With two different
/// predictions of a device (device space, closest known calibrated), a
/// search cannot exploit one model's optimism about a subnet.
pub struct AdditiveCost {
    /// The additive models (see [`fit_additive`]); at least one.
    pub thetas: Vec<Vec<f64>>,
    /// The width it was measured at.
    pub width: Width,
    /// The resolution it was measured at.
    pub resolution: u32,
}

impl CostModel for AdditiveCost {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "added",
            kind: "added device",
            unit: CostUnit::Ms,
            model: "device-space fit to the probe's reference latencies",
            widths: vec![self.width.to_string()],
            resolutions: self.resolution.to_string(),
            source: "pnag-probe + pnag device add",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        if width != self.width {
            return Err(CostError::Width {
                device: "added",
                width,
                supported: self.width.to_string(),
            });
        }
        if resolution != self.resolution {
            return Err(CostError::Resolution {
                device: "added",
                resolution,
                supported: self.resolution.to_string(),
            });
        }
        Ok(self
            .thetas
            .iter()
            .map(|t| additive(t, &arch))
            .fold(f64::NEG_INFINITY, f64::max))
    }

    fn content_hash(&self) -> u64 {
        let bytes: Vec<u8> = self
            .thetas
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        pnag_runtime::hash::fnv1a64([bytes.as_slice()])
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Eigenvalues and eigenvectors (columns of the row-major `n × n` result) of a
/// symmetric matrix by cyclic Jacobi rotations (n is the number of devices).
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::random_archs;

    #[test]
    fn jacobi_diagonalizes_a_symmetric_matrix() {
        let a = vec![4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 5.0];
        let (values, v) = jacobi_eigen(a.clone(), 3);
        for k in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * v[j * 3 + k]).sum();
                assert!((av - values[k] * v[i * 3 + k]).abs() < 1e-9);
            }
        }
        assert!((values.iter().sum::<f64>() - 12.0).abs() < 1e-9);
    }

    #[test]
    fn a_device_inside_the_space_is_recovered_from_its_references() {
        // Three made-up additive devices; a fourth is a mix of their shapes,
        // scaled and offset: the fit must predict it nearly exactly.
        let archs = random_archs(300, 5);
        let dev = |seed: u64| -> Vec<f64> {
            let mut rng = crate::rng::SplitMix64::new(seed);
            (0..ADDITIVE_LEN)
                .map(|_| 0.1 + (rng.next_u64() % 1000) as f64 / 1000.0)
                .collect()
        };
        let known: Vec<KnownModel> = (1..=3)
            .map(|s| KnownModel {
                name: format!("d{s}"),
                origin: "made up".into(),
                theta: dev(s),
            })
            .collect();
        let refs = &archs[..20];
        let space = DeviceSpace::learn(&known, refs, 224);
        let target: Vec<f64> = (0..ADDITIVE_LEN)
            .map(|j| {
                3.0 * (0.7 * known[0].theta[j] + 0.3 * known[2].theta[j])
                    + if j == ADDITIVE_LEN - 1 { 2.0 } else { 0.0 }
            })
            .collect();
        let ms: Vec<f64> = refs.iter().map(|a| additive(&target, a)).collect();
        let fit = space.fit(refs, &ms).unwrap();
        for a in &archs[20..] {
            let (p, t) = (fit.latency(a), additive(&target, a));
            assert!((p - t).abs() / t < 0.01, "{p} vs {t}");
        }
        assert!(matches!(
            space.fit(&refs[..3], &ms[..3]),
            Err(SpaceError::TooFew { given: 3, .. })
        ));
    }
}
