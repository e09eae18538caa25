//! Devices added from a probe run: `pnag device add`, their rows in `pnag devices`,
//! and `pnag generate --device NAME` for them (the calibrated base device's generator,
//! budgets mapped onto its model; see `pnag_build::device`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use pnag_build::cost::DEVICES;
use pnag_build::device::{calibrate, DeviceFile, ProbeFile};
use pnag_build::generator::{GenerateOptions, Generated, Generator};
use pnag_build::objective::Objective;
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
    let device = calibrate(&a.name, &probe, &[])?;
    write_atomic(&out, serde_json::to_string_pretty(&device)?.as_bytes())?;
    println!(
        "device `{}`: latency ≈ {:.4} × {} + {:.3} ms; leave-one-out error over the {} references: median {:.1} %, 90th percentile {:.1} % (use it as a margin)",
        device.name,
        device.scale,
        device.base,
        device.offset,
        probe.latency_ms.len(),
        device.loo_median_error * 100.0,
        device.loo_p90_error * 100.0
    );
    for (base, err) in &device.candidates {
        println!(
            "  candidate {base:<9} mean leave-one-out error {:.1} %",
            err * 100.0
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(())
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

/// `pnag generate` for an added device: the base device's generator answers the budgets
/// mapped onto its model; costs are reported in the device's milliseconds.
pub fn generate(
    device: &DeviceFile,
    budgets: &[f64],
    margin: f64,
    opts: &GenerateOptions,
) -> Result<Vec<Generated>> {
    if !(0.0..1.0).contains(&margin) {
        bail!("--margin {margin}: expected a fraction in [0, 1)");
    }
    let generator = Generator::embedded(&device.base)?;
    let width = generator
        .manifest
        .width
        .parse()
        .context("generator width")?;
    if width != device.probe.width || generator.manifest.resolution != device.probe.resolution {
        bail!(
            "device `{}` was probed at w{} {} px; the `{}` generator answers at w{} {} px",
            device.name,
            device.probe.width,
            device.probe.resolution,
            device.base,
            width,
            generator.manifest.resolution
        );
    }
    let objective = Objective::new(&device.base, width, generator.manifest.resolution)?;
    let mut frontier = generator.frontier(&objective, opts)?;
    budgets
        .iter()
        .map(|&b| {
            let base_budget = device.base_budget(b * (1.0 - margin));
            let mut g = frontier.answer(base_budget).with_context(|| {
                format!(
                    "budget {b} ms on `{}` (= {base_budget:.3} on `{}` after a {:.0} % margin)",
                    device.name,
                    device.base,
                    margin * 100.0
                )
            })?;
            g.budget = b;
            g.cost = device.latency(g.cost);
            g.warning = g
                .warning
                .map(|w| format!("{w} (on the calibrated base `{}`)", device.base));
            Ok(g)
        })
        .collect()
}
