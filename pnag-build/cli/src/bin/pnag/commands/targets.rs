//! `pnag targets`: check a targets TOML and show the network each budget gets — exactly
//! what a downstream build.rs runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct TargetsArgs {
    /// A targets TOML (`targets/<device>.toml`).
    file: PathBuf,
    /// Keep the selection and weights a build.rs would write here (default: a temporary directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the selection as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs exactly what a downstream build.rs runs, and shows what each budget gets.
pub fn targets(a: TargetsArgs) -> Result<()> {
    remove_dead_runs_temporaries();
    let tmp = std::env::temp_dir().join(format!("pnag-targets-{}", std::process::id()));
    let out = a.out.clone().unwrap_or_else(|| tmp.clone());
    if a.out.is_none() {
        // Ctrl-C mid-run: remove the temporary directory (~30 MB per budget) before exiting.
        // (`--out` needs nothing: its temporaries are `.tmp` files the next run removes.)
        let dir = tmp.clone();
        let _ = ctrlc::set_handler(move || {
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("interrupted; removed {}", dir.display());
            std::process::exit(130);
        });
    }
    let cwd = std::env::current_dir().context("current directory")?;
    let result = pnag_build::Config::new()
        .targets(&a.file)
        .manifest_dir(cwd)
        .out_dir(&out)
        .cargo_metadata(false)
        .compile();
    if a.out.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let sel = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&sel)?);
        return Ok(());
    }
    println!(
        "{}: device {}, runtime {}, {} thread(s); cost and top-1 are model predictions",
        a.file.display(),
        sel.device,
        sel.runtime,
        sel.threads
    );
    println!("| budget | limit | arch | predicted | top-1 % | MMACs | params M | weights |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in &sel.networks {
        println!(
            "| {} | {} {} | `{}` | {:.2} | {:.2} | {:.0} | {:.2} | {} |",
            n.name,
            n.budget,
            n.unit,
            n.arch,
            n.predicted_cost,
            n.predicted_top1,
            n.macs as f64 / 1e6,
            n.params as f64 / 1e6,
            n.weights_origin
        );
    }
    Ok(())
}

/// Removes `pnag-targets-<pid>` directories of earlier runs that were killed (their process
/// is gone), which could not clean up after themselves (~30 MB per budget each).
fn remove_dead_runs_temporaries() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("pnag-targets-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Linux: a live process has /proc/<pid>; elsewhere nothing is removed.
        let dead = Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists();
        if dead && pid != std::process::id() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
