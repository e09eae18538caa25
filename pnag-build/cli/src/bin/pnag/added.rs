//! The directory of devices added from a probe run (`pnag device add` writes it): opening
//! and listing them for `pnag devices` and `pnag predict`, and `pnag generate --device NAME`
//! for them (the calibrated base device's generator
//! with budgets mapped onto its model, or the device-conditioned one; see `pnag_build::device`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use pnag_build::device::{check_name, DeviceFile};
use pnag_build::generator::{GenerateOptions, Generated};
use pnag_build::BuiltinDevice;

/// Where added devices live unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = "devices";

/// The file of device `name` in `dir` (`name` checked by [`check_name`] first).
pub fn device_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// The added device `name` in `dir`, or one error saying it is neither built in nor added.
pub fn open(dir: &Path, name: &str) -> Result<DeviceFile> {
    if BuiltinDevice::from_name(name).is_none() {
        // Never a path outside `dir` (`../x`), never an empty name.
        check_name(name)?;
    }
    let path = device_path(dir, name);
    if !path.exists() {
        bail!(
            "unknown device `{name}`: not built in ({}) and no {} (add it with `pnag device add`)",
            BuiltinDevice::names(),
            path.display()
        );
    }
    Ok(DeviceFile::load(&path)?)
}

/// The added devices in `dir` (none if it does not exist), by name, and one line for each
/// file there that is not a usable device file (listed, not fatal: one bad file must not
/// hide the others).
pub fn list(dir: &Path) -> (Vec<DeviceFile>, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            match DeviceFile::load(&p) {
                Ok(d) => out.push(d),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    problems.sort();
    (out, problems)
}

/// `pnag generate` for an added device: its predicted latency decides feasibility
/// and refinement; its generator (`DeviceFile::generator`) proposes subnets.
/// Each budget is asked as `budget × (1 − margin)` (default: the device's own
/// margin at that budget); costs are the prediction (ms).
pub fn generate(
    device: &DeviceFile,
    budgets: &[f64],
    margin: Option<f64>,
    limits: &pnag_build::constraints::Limits,
    opts: &GenerateOptions,
) -> Result<Vec<Generated>> {
    if let Some(m) = margin.filter(|m| !(0.0..0.9).contains(m)) {
        bail!("--margin {m}: expected a fraction in [0, 0.9)");
    }
    let objective = device.objective()?;
    let generator = device.generator(&objective)?;
    let mut frontier = generator.frontier(&objective, opts)?;
    let footprints = crate::commands::generate::footprints(&objective);
    budgets
        .iter()
        .map(|&b| {
            let margin = margin.unwrap_or_else(|| device.margin_at(b));
            let asked = b * (1.0 - margin);
            let (mut g, _) = frontier
                .answer_within(asked, limits, &footprints)
                .with_context(|| {
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
