//! The probe file `pnag-probe` writes (CSV with `# key = value` settings): read and
//! checked line by line into a [`ProbeFile`], every problem naming its line.

use pnag_runtime::arch::Width;
use pnag_runtime::references::{PROBE_FORMAT, REFERENCES};
use serde::{Deserialize, Serialize};

use super::DeviceError;

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
            .filter(|t| (1..=pnag_runtime::MAX_THREADS).contains(t))
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
