//! The `pnag` binary end to end: help texts, real runs, and one clear error
//! (non-zero exit, no panic) for each kind of bad input. One module per command.

mod arch;
mod device;
mod devices;
mod extract;
mod generate;
mod help;
mod infer;
mod outputs;
mod profile;
mod reliability;
mod targets;

pub use std::os::unix::fs::FileTypeExt;
pub use std::path::PathBuf;
pub use std::process::{Command, Output};

pub use pnag_cli::npy;
pub use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Width};

const SMALLEST: &str =
    "2,2,2,2,2:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0";

fn pnag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args(args)
        .output()
        .expect("run pnag")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pnag-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Asserts failure without a panic and returns stderr.
fn fails(args: &[&str]) -> String {
    let out = pnag(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure for {args:?}");
    assert!(!stderr.contains("panicked"), "panic for {args:?}: {stderr}");
    stderr
}
