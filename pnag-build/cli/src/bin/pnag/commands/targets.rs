//! `pnag targets`: check a targets TOML and show the network each budget gets — exactly
//! what a downstream build.rs runs.

use std::path::PathBuf;

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
    // Without --out: a fresh directory no other user can have planted (random name,
    // created exclusively, mode 0700), removed however the run ends: on return, on error,
    // on Ctrl-C (below), and after a kill by the next run.
    let tmp = match &a.out {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix(&format!("{PREFIX}{}-", std::process::id()))
                .tempdir()
                .context("creating a temporary directory")?,
        ),
    };
    let out = match &tmp {
        Some(t) => t.path().to_path_buf(),
        None => a.out.clone().unwrap_or_default(),
    };
    if let Some(t) = &tmp {
        // Ctrl-C mid-run: the build may still be writing into the directory, so remove it
        // until it is gone (files created meanwhile included), and say what happened.
        let dir = t.path().to_path_buf();
        let _ = ctrlc::set_handler(move || {
            let gone = (0..50).any(|_| {
                let _ = std::fs::remove_dir_all(&dir);
                let gone = !dir.exists();
                if !gone {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                gone
            });
            if gone {
                eprintln!("interrupted; removed {}", dir.display());
            } else {
                eprintln!(
                    "interrupted; could not remove {} (the next `pnag targets` will)",
                    dir.display()
                );
            }
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
    // The selection is in memory: the temporary directory goes before anything is printed.
    drop(tmp);
    let sel = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&sel)?);
        return Ok(());
    }
    outln!(
        "{}: device {}, runtime {}, {} thread(s); cost and top-1 are model predictions",
        a.file.display(),
        sel.device,
        sel.runtime,
        sel.threads
    );
    outln!("| budget | limits | arch | predicted | top-1 % | MMACs | weights MB | peak memory MB | binds | weights |");
    outln!("|---|---|---|---|---|---|---|---|---|---|");
    for n in &sel.networks {
        let mut limits = Vec::new();
        if n.cost_limit {
            limits.push(format!("{} {}", n.budget, n.unit));
        }
        limits.extend(n.weights_limit_mb.map(|w| format!("weights {w} MB")));
        limits.extend(n.peak_memory_limit_mb.map(|p| format!("memory {p} MB")));
        outln!(
            "| {} | {} | `{}` @ {} px | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {} | {} |",
            n.name,
            limits.join(", "),
            n.arch,
            n.resolution,
            n.predicted_cost,
            n.predicted_top1,
            n.macs as f64 / 1e6,
            n.weights_bytes as f64 / 1e6,
            n.peak_memory_bytes as f64 / 1e6,
            n.binding,
            n.weights_origin
        );
    }
    Ok(())
}

/// The temporary directories' name: `pnag-targets-<pid>-<random>`.
const PREFIX: &str = "pnag-targets-";

/// Removes `pnag-targets-<pid>-…` directories of earlier runs that were killed (their process
/// is gone), which could not clean up after themselves (~30 MB per budget each): only real
/// directories (never a link planted there) owned by this user.
fn remove_dead_runs_temporaries() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let me = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let mine = me
            .as_ref()
            .is_ok_and(|&uid| std::os::unix::fs::MetadataExt::uid(&meta) == uid);
        if meta.is_dir() && mine && pnag_runtime::files::process_gone(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
