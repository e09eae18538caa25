//! `pnag extract`: one subnet's weights out of an OFA supernet checkpoint.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pnag_runtime::{Arch, Width};

use crate::args::ArchParser;

#[derive(Args)]
pub struct ExtractArgs {
    /// OFA supernet checkpoint as safetensors (see README: converting the official .pth).
    #[arg(long)]
    supernet: PathBuf,
    /// Width of the supernet: 1.0 or 1.2.
    #[arg(long)]
    width: Width,
    /// PNAG arch string of the subnet to extract.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    /// Where to write the subnet's weights (safetensors, OFA subnet state-dict names).
    #[arg(long)]
    out: PathBuf,
}

pub fn extract(a: ExtractArgs) -> Result<()> {
    pnag_runtime::files::check_output(&a.out)?;
    pnag_runtime::files::check_not_input(&a.out, &[&a.supernet])?;
    let start = std::time::Instant::now();
    let weights = pnag_build::weights::extract::extract_file(&a.supernet, a.width, a.arch)?;
    weights.save(&a.out)?;
    let params: usize = weights.tensors().map(|(_, t)| t.data.len()).sum();
    eprintln!(
        "extracted {} tensors ({:.2} M values) for {} in {:.0} ms -> {}",
        weights.tensors().count(),
        params as f64 / 1e6,
        a.arch,
        start.elapsed().as_secs_f64() * 1e3,
        a.out.display()
    );
    Ok(())
}
