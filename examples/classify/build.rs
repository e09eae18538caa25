//! Picks the subnet for each budget of the targets file and writes it to OUT_DIR
//! for `pnag_macros::network!`. `PNAG_TARGETS=path.toml` overrides the file.
fn main() -> Result<(), pnag_build::BuildError> {
    pnag_build::Config::new()
        .targets("targets/host.toml")
        .targets_for("aarch64-linux-android", "../../targets/note10.toml")
        .compile()?;
    Ok(())
}
