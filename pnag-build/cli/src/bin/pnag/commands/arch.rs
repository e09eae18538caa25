//! `pnag arch`: a subnet's blocks, MACs and parameters.

use anyhow::Result;
use clap::Args;
use pnag_cli::arch_report::ArchReport;
use pnag_runtime::{Arch, NetworkSpec};

use crate::args::{ArchParser, NetArgs};

#[derive(Args)]
pub struct ArchArgs {
    /// PNAG arch string `d1,..,d5:k1,..,k20:e1,..,e20` (0 in unused slots).
    #[arg(value_parser = ArchParser)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn arch(a: ArchArgs) -> Result<()> {
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let report = ArchReport::new(&spec);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.to_text());
    }
    Ok(())
}
