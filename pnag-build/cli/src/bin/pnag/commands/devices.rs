//! `pnag devices`: every device with a cost model, built in and added.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pnag_build::BuiltinDevice;

use crate::added;

#[derive(Args)]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Directory of added devices (`pnag device add`).
    #[arg(long, default_value = added::DEFAULT_DIR)]
    dir: PathBuf,
}

pub fn devices(a: DevicesArgs) -> Result<()> {
    let infos = BuiltinDevice::ALL
        .iter()
        .map(|d| d.cost_model().map(|m| m.info()))
        .collect::<Result<Vec<_>, _>>()?;
    let (added, problems) = added::list(&a.dir);
    for p in &problems {
        eprintln!("warning: skipped {p}");
    }
    if a.json {
        let json = serde_json::json!({"built_in": infos, "added": added});
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    outln!(
        "{:<10} {:<26} {:<6} {:<9} {:<20} model",
        "device",
        "kind",
        "unit",
        "widths",
        "resolutions"
    );
    for i in infos {
        let unit = i.unit.label();
        outln!(
            "{:<10} {:<26} {:<6} {:<9} {:<20} {} [{}]",
            i.name,
            i.kind,
            unit,
            i.widths.join(","),
            i.resolutions,
            i.model,
            i.source
        );
    }
    for d in &added {
        outln!(
            "{:<10} {:<26} {:<6} {:<9} {:<20} {}, `{}` generator (leave-one-out error p90 {:.1} %) [{}/{}.json, probed on {}]",
            d.name,
            "added (pnag-probe)",
            "ms",
            d.probe.width.to_string(),
            d.probe.resolution,
            d.method,
            d.generator_name(),
            d.loo_p90_error * 100.0,
            a.dir.display(),
            d.name,
            d.probe.machine
        );
    }
    Ok(())
}
