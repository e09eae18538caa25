//! `pnag device add`: a new device from a `pnag-probe` run — the device-space fit and the
//! closest known device calibrated to its reference latencies, written to `<dir>/<name>.json`
//! (no training).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use pnag_build::device::{calibrate, check_name, DeviceFile, GeneratorChoice, ProbeFile};
use pnag_runtime::files::{check_output, read_input_text, write_atomic, MAX_TEXT_BYTES};

use crate::added::{device_path, DEFAULT_DIR};

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

pub fn add(a: &DeviceAddArgs) -> Result<()> {
    check_name(&a.name)?;
    let out = device_path(&a.dir, &a.name);
    let text = read_input_text(&a.probe, MAX_TEXT_BYTES)
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
    // Only now, with a device to write, is its directory created.
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    check_output(&out)?;
    write_atomic(&out, serde_json::to_string_pretty(&device)?.as_bytes())?;
    outln!(
        "device `{}`: latency from {}; leave-one-out error over the {} references: median {:.1} %, 90th percentile {:.1} % (the default margin); budgets answered by the `{}` generator",
        device.name,
        device.method,
        probe.latency_ms.len(),
        device.loo_median_error * 100.0,
        device.loo_p90_error * 100.0,
        device.generator_name()
    );
    for (method, err) in &device.candidates {
        outln!(
            "  candidate {method:<28} mean leave-one-out error {:.1} %",
            err * 100.0
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
