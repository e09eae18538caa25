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
        // A byte-order mark (editors on Windows add one) is not part of the first line.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
            if !(MIN_LATENCY_MS..MAX_LATENCY_MS).contains(&median) {
                return Err(err(
                    n,
                    format!("median latency {median} ms is not a measured time (expected {MIN_LATENCY_MS} ms to {MAX_LATENCY_MS:e} ms)"),
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
        let probe = ProbeFile {
            threads,
            width,
            resolution,
            tool: printable(&get("tool")?),
            machine: printable(&header.get("machine").cloned().unwrap_or_default()),
            latency_ms: latency.into_iter().flatten().collect(),
        };
        probe.check(origin)?;
        Ok(probe)
    }
}

fn short(s: &str) -> String {
    printable(&s.chars().take(80).collect::<String>())
}

/// The shortest latency a probe may report: below a microsecond nothing was timed.
pub const MIN_LATENCY_MS: f64 = 1e-3;

/// The longest latency a probe may report (a million seconds is not a network).
pub const MAX_LATENCY_MS: f64 = 1e6;

impl ProbeFile {
    /// Checks what a probe says, wherever it was read from (a probe CSV, or a device
    /// file's copy of one): the settings in range and latencies that can come from timing
    /// the references. Every refusal names the real cause.
    pub fn check(&self, origin: &str) -> Result<(), DeviceError> {
        let err = |reason: String| DeviceError::Probe {
            origin: origin.into(),
            line: 0,
            reason,
        };
        if !(1..=pnag_runtime::MAX_THREADS).contains(&self.threads) {
            return Err(err(format!(
                "`threads` is {}; expected 1..={}",
                self.threads,
                pnag_runtime::MAX_THREADS
            )));
        }
        let n = REFERENCES.len();
        if self.latency_ms.len() != n {
            return Err(err(format!(
                "{} reference latencies; a probe has exactly {n}, one per reference subnet",
                self.latency_ms.len()
            )));
        }
        for (i, &ms) in self.latency_ms.iter().enumerate() {
            if !(MIN_LATENCY_MS..MAX_LATENCY_MS).contains(&ms) {
                return Err(err(format!(
                    "reference {i}: {ms} ms is not a measured latency (expected {MIN_LATENCY_MS} ms to {MAX_LATENCY_MS:e} ms)"
                )));
            }
        }
        let (lo, hi) = self
            .latency_ms
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        if hi <= lo * 1.001 {
            return Err(err(format!(
                "all {n} reference latencies are {lo} ms: subnets of very different sizes \
                 cannot take equal times, so nothing was timed (a coarse clock?)"
            )));
        }
        let rho = size_correlation(&self.latency_ms);
        if rho < 0.0 {
            return Err(err(format!(
                "the latencies fall as the reference subnets grow (Spearman ρ = {rho:.2} against \
                 their MACs): rows of another file, or columns in another order?"
            )));
        }
        Ok(())
    }
}

/// Spearman's ρ between latencies in [`REFERENCES`] order and the references' MACs.
fn size_correlation(latency_ms: &[f64]) -> f64 {
    let macs: Vec<f64> = REFERENCES
        .iter()
        .map(|a| {
            let arch = pnag_runtime::Arch::parse(a).expect("the references parse");
            pnag_runtime::NetworkSpec::new(arch, Width::W1_2, 224).map_or(0.0, |s| s.macs() as f64)
        })
        .collect();
    crate::stats::metrics::spearman(latency_ms, &macs)
}

/// `s` with control and bidirectional-override characters replaced (a probe's machine
/// string is printed by `pnag devices`; a terminal must not interpret it).
pub fn printable(s: &str) -> String {
    s.chars()
        .take(200)
        .map(|c| {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
            if c.is_control() || bidi { '\u{fffd}' } else { c }
        })
        .collect()
}
