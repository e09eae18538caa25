//! Devices the tool has never seen, from one probe run and no training.
//!
//! `pnag-probe` measures the 20 reference subnets
//! ([`pnag_runtime::references::REFERENCES`]) on the target; [`ProbeFile::parse`]
//! checks that file strictly. [`calibrate`] then describes the device by the
//! *closest known cost model, calibrated*: for every built-in model it fits
//! `latency = scale × model + offset` to the references (least squares), scores
//! the fit by leave-one-out relative error, and keeps the best. Because the map
//! is increasing and affine, a budget `B` on the new device is exactly the
//! budget `(B − offset) / scale` on the base model — the base device's trained
//! generator answers for the new device with no training and no new search.
//! The leave-one-out errors give the uncertainty a build can use as a margin.

use std::path::Path;

use pnag_runtime::arch::Width;
use pnag_runtime::references::{PROBE_FORMAT, REFERENCES};
use pnag_runtime::Arch;
use serde::{Deserialize, Serialize};

use crate::cost::DEVICES;
use crate::objective::Objective;

/// Version of the device file layout.
pub const DEVICE_FORMAT: u32 = 1;

/// Why a probe or device file was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the probe file is wrong.
    #[error("{origin}:{line}: {reason}")]
    Probe {
        /// The probe file.
        origin: String,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The device file is inconsistent or unreadable.
    #[error("device file {origin}: {reason}")]
    File {
        /// The device file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// No built-in model could be calibrated (e.g. another width or resolution).
    #[error("no built-in cost model covers w{width} at {resolution} px to calibrate against")]
    NoBase {
        /// The probe's width.
        width: Width,
        /// The probe's resolution.
        resolution: u32,
    },
}

/// A checked probe file: settings and one median latency (ms) per reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeFile {
    /// Worker threads the probe ran each network with.
    pub threads: usize,
    /// Supernet width.
    pub width: Width,
    /// Input resolution.
    pub resolution: u32,
    /// The tool that measured (`pnag-runtime <version>`).
    pub tool: String,
    /// What the probe ran on.
    pub machine: String,
    /// Median latency of each reference, in [`REFERENCES`] order (ms).
    pub latency_ms: Vec<f64>,
}

impl ProbeFile {
    /// Reads and checks a probe file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DeviceError> {
        let err = |line: usize, reason: String| DeviceError::Probe {
            origin: origin.into(),
            line,
            reason,
        };
        let mut header = std::collections::BTreeMap::new();
        let mut latency: Vec<Option<f64>> = vec![None; REFERENCES.len()];
        let mut saw_columns = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(h) = line.strip_prefix('#') {
                let h = h.trim();
                if let Some(v) = h.strip_prefix("pnag-probe format ") {
                    if v.trim() != PROBE_FORMAT.to_string() {
                        return Err(err(n, format!("probe format {v}; this pnag reads format {PROBE_FORMAT} (re-run this version's pnag-probe)")));
                    }
                    header.insert("format".to_string(), v.trim().to_string());
                } else if let Some((k, v)) = h.split_once('=') {
                    header.insert(k.trim().to_string(), v.trim().to_string());
                }
                continue;
            }
            if !saw_columns {
                if line != "reference,arch,median_ms,p10_ms,p90_ms" {
                    return Err(err(n, format!("expected the column line `reference,arch,median_ms,p10_ms,p90_ms`, found `{}`", short(line))));
                }
                saw_columns = true;
                continue;
            }
            // reference,"arch",median,p10,p90 — the arch is quoted (it has commas).
            let parts: Vec<&str> = line.split('"').collect();
            let [index, arch, rest] = parts[..] else {
                return Err(err(
                    n,
                    format!(
                        "expected `index,\"arch\",median_ms,p10_ms,p90_ms`, found `{}`",
                        short(line)
                    ),
                ));
            };
            let index: usize = index.trim_end_matches(',').parse().map_err(|_| {
                err(
                    n,
                    format!("reference index `{}` is not a number", short(index)),
                )
            })?;
            let expected = REFERENCES.get(index).ok_or_else(|| {
                err(
                    n,
                    format!(
                        "reference {index} does not exist (there are {})",
                        REFERENCES.len()
                    ),
                )
            })?;
            if arch != *expected {
                return Err(err(n, format!("reference {index} is `{}`, expected `{expected}` (a probe of another version?)", short(arch))));
            }
            let nums: Vec<f64> = rest
                .trim_start_matches(',')
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| err(n, format!("latencies `{}` are not numbers", short(rest))))?;
            let [median, p10, p90] = nums[..] else {
                return Err(err(
                    n,
                    format!(
                        "expected 3 latencies (median, p10, p90), found {}",
                        nums.len()
                    ),
                ));
            };
            if !(median.is_finite() && median > 0.0 && median < 1e6) {
                return Err(err(
                    n,
                    format!("median latency {median} ms is not a plausible positive time"),
                ));
            }
            if !(p10 <= median && median <= p90) {
                return Err(err(n, format!("percentiles out of order: p10 {p10} ≤ median {median} ≤ p90 {p90} expected")));
            }
            if latency[index].replace(median).is_some() {
                return Err(err(n, format!("reference {index} is listed twice")));
            }
        }
        let missing: Vec<String> = (0..REFERENCES.len())
            .filter(|&i| latency[i].is_none())
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(err(
                0,
                format!(
                    "references missing: {} (all {} are needed)",
                    missing.join(", "),
                    REFERENCES.len()
                ),
            ));
        }
        let get = |k: &str| {
            header
                .get(k)
                .cloned()
                .ok_or_else(|| err(0, format!("header line `# {k} = …` missing")))
        };
        get("format")?;
        let threads = get("threads")?
            .parse::<usize>()
            .ok()
            .filter(|t| (1..=crate::targets::MAX_THREADS).contains(t))
            .ok_or_else(|| err(0, "`threads` is not in 1..=256".into()))?;
        let width = get("width")?
            .parse::<Width>()
            .map_err(|e| err(0, format!("`width`: {e}")))?;
        let resolution = get("resolution")?
            .parse::<u32>()
            .ok()
            .and_then(|r| pnag_runtime::arch::check_resolution(r).ok())
            .ok_or_else(|| err(0, "`resolution` is not a valid input resolution".into()))?;
        Ok(ProbeFile {
            threads,
            width,
            resolution,
            tool: get("tool")?,
            machine: header.get("machine").cloned().unwrap_or_default(),
            latency_ms: latency.into_iter().map(|l| l.expect("checked")).collect(),
        })
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The added device: its probe, the calibrated base model and its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceFile {
    /// Layout version.
    pub format: u32,
    /// The device's name (what targets files and `--device` use).
    pub name: String,
    /// The built-in cost model calibrated to it.
    pub base: String,
    /// `latency ≈ scale × base cost + offset` (ms).
    pub scale: f64,
    /// See `scale` (ms).
    pub offset: f64,
    /// Leave-one-out relative errors over the references: median.
    pub loo_median_error: f64,
    /// Leave-one-out relative errors over the references: 90th percentile (the
    /// default margin for budgets).
    pub loo_p90_error: f64,
    /// Every candidate base's leave-one-out mean relative error (how the base was chosen).
    pub candidates: Vec<(String, f64)>,
    /// What was measured, and how.
    pub probe: ProbeFile,
}

/// `(scale, offset)` of the least-squares line through `(x, y)`.
fn fit(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let scale = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (scale, my - scale * mx)
}

/// Leave-one-out relative errors of the affine fit.
fn loo_errors(x: &[f64], y: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let (xs, ys): (Vec<f64>, Vec<f64>) = x
                .iter()
                .zip(y)
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, (a, b))| (*a, *b))
                .unzip();
            let (s, o) = fit(&xs, &ys);
            ((s * x[i] + o) - y[i]).abs() / y[i]
        })
        .collect()
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Calibrates every built-in model (except `exclude`, for leave-out studies) to the
/// probe and keeps the one with the smallest mean leave-one-out error.
pub fn calibrate(
    name: &str,
    probe: &ProbeFile,
    exclude: &[&str],
) -> Result<DeviceFile, DeviceError> {
    let refs: Vec<Arch> = REFERENCES
        .iter()
        .map(|a| Arch::parse(a).expect("the reference set is valid"))
        .collect();
    let mut candidates = Vec::new();
    // (mean leave-one-out error, base, its costs of the references, the errors)
    let mut best: Option<(f64, String, Vec<f64>, Vec<f64>)> = None;
    for base in DEVICES.iter().filter(|d| !exclude.contains(d)) {
        let Ok(objective) = Objective::new(base, probe.width, probe.resolution) else {
            continue;
        };
        let Ok(x) = refs
            .iter()
            .map(|&a| objective.cost(a))
            .collect::<Result<Vec<f64>, _>>()
        else {
            continue;
        };
        let errors = loo_errors(&x, &probe.latency_ms);
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        candidates.push((base.to_string(), mean));
        if fit(&x, &probe.latency_ms).0 > 0.0 && best.as_ref().is_none_or(|b| mean < b.0) {
            best = Some((mean, base.to_string(), x, errors));
        }
    }
    let (_, base, x, errors) = best.ok_or(DeviceError::NoBase {
        width: probe.width,
        resolution: probe.resolution,
    })?;
    let (scale, offset) = fit(&x, &probe.latency_ms);
    Ok(DeviceFile {
        format: DEVICE_FORMAT,
        name: name.into(),
        base,
        scale,
        offset,
        loo_median_error: quantile(errors.clone(), 0.5),
        loo_p90_error: quantile(errors, 0.9),
        candidates,
        probe: probe.clone(),
    })
}

impl DeviceFile {
    /// The device's predicted latency for a base-model cost.
    pub fn latency(&self, base_cost: f64) -> f64 {
        self.scale * base_cost + self.offset
    }

    /// The base-model budget equivalent to `budget` ms on this device.
    pub fn base_budget(&self, budget: f64) -> f64 {
        (budget - self.offset) / self.scale
    }

    /// Reads and checks a device file (JSON).
    pub fn load(path: &Path) -> Result<Self, DeviceError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DeviceError::Io {
            path: origin.clone(),
            source,
        })?;
        let bad = |reason: String| DeviceError::File {
            origin: origin.clone(),
            reason,
        };
        let d: DeviceFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if d.format != DEVICE_FORMAT {
            return Err(bad(format!(
                "format {} (this pnag reads {DEVICE_FORMAT})",
                d.format
            )));
        }
        // Edited by hand into inconsistency? The calibration must follow from the probe.
        let again = calibrate(&d.name, &d.probe, &[]).map_err(|e| bad(e.to_string()))?;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
        if again.base != d.base || !close(again.scale, d.scale) || !close(again.offset, d.offset) {
            return Err(bad(format!(
                "its calibration (base {}, scale {}, offset {}) does not follow from its probe (base {}, scale {}, offset {}); re-run `pnag device add`",
                d.base, d.scale, d.offset, again.base, again.scale, again.offset
            )));
        }
        if DEVICES.contains(&d.name.as_str()) {
            return Err(bad(format!("name `{}` shadows a built-in device", d.name)));
        }
        Ok(d)
    }
}
