//! Embeds every trained generator found in `models/<device>/` (so generation needs no
//! files at run time, and a missing one is a clear error, not a build failure before the
//! first `pnag train`).
use std::fmt::Write;
use std::path::Path;

fn main() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    println!("cargo::rerun-if-changed={}", models.display());
    let mut arms = String::new();
    let mut devices: Vec<_> = std::fs::read_dir(&models)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.join("generator.json").is_file() && p.join("generator.safetensors").is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    devices.sort();
    for dir in devices {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in ["generator.json", "generator.safetensors"] {
            println!("cargo::rerun-if-changed={}", dir.join(file).display());
        }
        let dir = dir.canonicalize().unwrap().display().to_string();
        writeln!(arms, "        {name:?} => Some((include_bytes!({:?}).as_slice(), include_bytes!({:?}).as_slice())),", format!("{dir}/generator.json"), format!("{dir}/generator.safetensors")).unwrap();
    }
    let code = format!("/// Trained generators found in `models/` at build time.\npub fn shipped(device: &str) -> Option<(&'static [u8], &'static [u8])> {{\n    match device {{\n{arms}        _ => None,\n    }}\n}}\n");
    std::fs::write(
        Path::new(&std::env::var("OUT_DIR").unwrap()).join("shipped_generators.rs"),
        code,
    )
    .unwrap();
}
