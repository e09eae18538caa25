//! `pnag predict`: a subnet's cost on a device, its top-1, MACs and parameters.

use anyhow::Result;
use clap::Args;
use pnag_build::cost;
use pnag_runtime::{Arch, NetworkSpec};

use crate::added;
use crate::args::{ArchParser, DeviceArg, NetArgs};

#[derive(Args)]
pub struct PredictArgs {
    /// Device cost model (see `pnag devices`; added devices too).
    #[arg(long)]
    device: DeviceArg,
    /// Where added devices live (`pnag device add`).
    #[arg(long, default_value = added::DEFAULT_DIR)]
    devices_dir: std::path::PathBuf,
    /// PNAG arch string.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
pub struct Prediction {
    arch: String,
    width: String,
    resolution: u32,
    device: String,
    cost: f64,
    cost_unit: cost::CostUnit,
    cost_model: &'static str,
    top1_percent: Option<f64>,
    accuracy_model: Option<&'static str>,
    macs_m: f64,
    params_m: f64,
}

pub fn predict(a: PredictArgs) -> Result<()> {
    // An added device's latency is what `generate` and builds use (`DeviceFile::cost_model`).
    let (model, added): (Box<dyn cost::CostModel>, _) = match &a.device {
        DeviceArg::BuiltIn(d) => (d.cost_model()?, None),
        DeviceArg::Added(name) => {
            let d = added::open(&a.devices_dir, name)?;
            (Box::new(d.cost_model()), Some(d))
        }
    };
    let mut info = model.info();
    if added.is_some() {
        info.model = "the larger of its device-space fit and its closest known device calibrated to the probe (pnag device add)";
    }
    let c = model.cost(a.arch, a.net.width, a.net.resolution)?;
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let acc = pnag_build::accuracy::default_for(a.net.width)?;
    let (top1, acc_name) = (
        Some(acc.top1(a.arch, a.net.width, a.net.resolution)?),
        Some(acc.name()),
    );
    let out = Prediction {
        arch: a.arch.to_string(),
        width: a.net.width.to_string(),
        resolution: a.net.resolution,
        device: a.device.to_string(),
        cost: c,
        cost_unit: info.unit,
        cost_model: info.model,
        top1_percent: top1,
        accuracy_model: acc_name,
        macs_m: spec.macs() as f64 / 1e6,
        params_m: spec.params() as f64 / 1e6,
    };
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let unit = info.unit.label();
    outln!(
        "arch        {}\nwidth       {}   resolution {}",
        out.arch,
        out.width,
        out.resolution
    );
    outln!("{:<11} {:.2} {unit}   [{}]", a.device, c, info.model);
    match (top1, acc_name) {
        (Some(t), Some(n)) => outln!("top-1       {t:.2} %   [{n}]"),
        _ => outln!("top-1       — (no accuracy model for w{} yet)", out.width),
    }
    outln!(
        "MACs        {:.1} M\nparams      {:.3} M",
        out.macs_m,
        out.params_m
    );
    Ok(())
}
