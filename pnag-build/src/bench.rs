//! `pnag bench engines`: placeholder until the engine comparison lands.

#[derive(Debug, clap::Args)]
pub struct EnginesArgs {}

pub fn engines(_a: &EnginesArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
