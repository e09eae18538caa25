//! `pnag device space`: learn the device space from every known device (writes the
//! shipped `pnag-build/models/devices/space.json`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pnag_build::device::reference_archs as references;
use pnag_build::device::space::{DeviceSpace, KnownModel};
use pnag_build::objective::DEFAULT_RESOLUTION;
use pnag_cli::device_bank::{additive_model, fit_archs, known_devices, ONBOARDING_DEVICE};
use pnag_runtime::files::write_atomic;

#[derive(Debug, Args)]
pub struct DeviceSpaceArgs {
    /// Where to write the space.
    #[arg(long, default_value = "pnag-build/models/devices/space.json")]
    out: PathBuf,
}

/// Learns the space from every known device but the onboarding study's and writes it.
pub fn space(a: &DeviceSpaceArgs) -> Result<()> {
    let devices = known_devices();
    let archs = fit_archs();
    let named: Vec<KnownModel> = devices
        .iter()
        .filter(|d| d.name != ONBOARDING_DEVICE)
        .map(|d| KnownModel {
            name: d.name.clone(),
            origin: d.origin.clone(),
            theta: additive_model(d, &archs),
        })
        .collect();
    let space = DeviceSpace::learn(&named, &references(), DEFAULT_RESOLUTION);
    write_atomic(&a.out, serde_json::to_string(&space)?.as_bytes())?;
    eprintln!(
        "wrote {} ({} devices, {} directions)",
        a.out.display(),
        space.known.len(),
        space.basis.len()
    );
    Ok(())
}
