//! Devices added from a probe run: `pnag device add`, their rows in `pnag devices`,
//! and `pnag generate --device NAME` for them (the calibrated base device's generator
//! with budgets mapped onto its model, or the device-conditioned one; see `pnag_build::device`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use pnag_build::cost::DEVICES;
use pnag_build::device::{calibrate, DeviceFile, GeneratorChoice, ProbeFile};
use pnag_build::generator::{GenerateOptions, Generated};
use pnag_runtime::weights::{check_output, write_atomic};

/// Where added devices live unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = "devices";

#[derive(Debug, Args)]
pub struct DeviceAddArgs {
    /// The new device's name (letters, digits, `-`, `_`; not a built-in device's).
    name: String,
    /// The file `pnag-probe --out FILE` wrote on the device.
    #[arg(long)]
    probe: PathBuf,
    /// Directory of device files (`<dir>/<name>.json`).
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// Which generator answers for it: `borrowed` (the built-in one whose device calibrates
    /// best, transferred) or `device-conditioned` (one generator conditioned on the probe's
    /// latencies). Default: borrowed, or what the device file already says when re-probing.
    #[arg(long)]
    generator: Option<GeneratorChoice>,
}

/// The file of device `name` in `dir`.
pub fn device_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

pub fn add(a: &DeviceAddArgs) -> Result<()> {
    let valid = !a.name.is_empty()
        && a.name.len() <= 64
        && a.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!(
            "device name `{}`: expected 1–64 letters, digits, `-` or `_`",
            a.name
        );
    }
    if DEVICES.contains(&a.name.as_str()) {
        bail!(
            "device name `{}` shadows a built-in device; choose another",
            a.name
        );
    }
    let out = device_path(&a.dir, &a.name);
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    check_output(&out)?;
    let text = std::fs::read_to_string(&a.probe)
        .with_context(|| format!("reading {}", a.probe.display()))?;
    let probe = ProbeFile::parse(&text, &a.probe.display().to_string())?;
    // Re-probing an added device refreshes it — with the same settings only.
    let mut answers_with = a.generator.unwrap_or_default();
    if let Ok(old) = DeviceFile::load(&out) {
        answers_with = a.generator.unwrap_or(old.answers_with);
        let (was, now) = (&old.probe, &probe);
        for (field, before, after) in [
            ("threads", was.threads.to_string(), now.threads.to_string()),
            ("width", was.width.to_string(), now.width.to_string()),
            (
                "resolution",
                was.resolution.to_string(),
                now.resolution.to_string(),
            ),
            ("tool", was.tool.clone(), now.tool.clone()),
        ] {
            if before != after {
                bail!(
                    "{}: `{field}` is {after}, but device `{}` ({}) was probed with {before}; probe with the same settings or add it under another name",
                    a.probe.display(),
                    a.name,
                    out.display()
                );
            }
        }
    }
    let device = DeviceFile {
        answers_with,
        ..calibrate(&a.name, &probe, &[])?
    };
    // Fails now (nothing written) if the chosen generator cannot answer for it.
    device.generator(&device.objective()?)?;
    write_atomic(&out, serde_json::to_string_pretty(&device)?.as_bytes())?;
    println!(
        "device `{}`: latency from {}; leave-one-out error over the {} references: median {:.1} %, 90th percentile {:.1} % (the default margin); budgets answered by the `{}` generator",
        device.name,
        device.method,
        probe.latency_ms.len(),
        device.loo_median_error * 100.0,
        device.loo_p90_error * 100.0,
        device.generator_name()
    );
    for (method, err) in &device.candidates {
        println!(
            "  candidate {method:<28} mean leave-one-out error {:.1} %",
            err * 100.0
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The added device `name` in `dir`, or one error saying it is neither built in nor added.
pub fn open(dir: &Path, name: &str) -> Result<DeviceFile> {
    let path = device_path(dir, name);
    if !path.exists() {
        bail!(
            "unknown device `{name}`: not built in ({}) and no {} (add it with `pnag device add`)",
            DEVICES.join(", "),
            path.display()
        );
    }
    Ok(DeviceFile::load(&path)?)
}

/// The added devices in `dir` (none if it does not exist), by name.
pub fn list(dir: &Path) -> Result<Vec<DeviceFile>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            out.push(DeviceFile::load(&p)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `pnag generate` for an added device: its predicted latency decides feasibility
/// and refinement; its generator (`DeviceFile::generator`) proposes subnets.
/// Each budget is asked as `budget × (1 − margin)` (default: the device's own
/// margin at that budget); costs are the prediction (ms).
pub fn generate(
    device: &DeviceFile,
    budgets: &[f64],
    margin: Option<f64>,
    opts: &GenerateOptions,
) -> Result<Vec<Generated>> {
    if let Some(m) = margin.filter(|m| !(0.0..0.9).contains(m)) {
        bail!("--margin {m}: expected a fraction in [0, 0.9)");
    }
    let objective = device.objective()?;
    let generator = device.generator(&objective)?;
    let mut frontier = generator.frontier(&objective, opts)?;
    budgets
        .iter()
        .map(|&b| {
            let margin = margin.unwrap_or_else(|| device.margin_at(b));
            let asked = b * (1.0 - margin);
            let mut g = frontier.answer(asked).with_context(|| {
                format!(
                    "budget {b} ms on `{}` (asked as {asked:.3} ms after a {:.1} % margin)",
                    device.name,
                    margin * 100.0
                )
            })?;
            g.budget = b;
            Ok(g)
        })
        .collect()
}
