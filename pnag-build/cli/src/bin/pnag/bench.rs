//! `pnag bench extract`: reading a supernet checkpoint and extracting the
//! largest subnet from it. (`pnag bench engines` is in `engines.rs`,
//! `pnag bench frontier` in `frontier.rs`.)

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use pnag_runtime::weights::write_atomic;
use pnag_runtime::{Arch, Width};

use pnag_cli::profile::Timing;

#[derive(Debug, clap::Args)]
pub struct ExtractBenchArgs {
    /// Width of the synthetic supernet.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Timed extractions.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Output directory (holds the synthetic supernet checkpoint).
    #[arg(long, default_value = "bench-out/extract")]
    pub out: PathBuf,
}

/// Times reading a supernet checkpoint from disk and extracting the largest subnet.
pub fn extract(a: &ExtractBenchArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let path = a
        .out
        .join(format!("synthetic_supernet_w{}.safetensors", a.width));
    write_atomic(&path, &pnag_build::extract::synthetic_supernet(a.width, 0))?;
    let size_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let mut samples = Vec::new();
    for _ in 0..a.runs {
        let start = std::time::Instant::now();
        std::hint::black_box(pnag_build::extract::extract_file(
            &path,
            a.width,
            Arch::largest(),
        )?);
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let t = Timing::from_samples(&samples);
    let md = format!(
        "Extraction of the largest subnet from a w{} supernet checkpoint ({size_mb:.1} MB safetensors, synthetic untrained \
         values), including reading the file: median {:.1} ms (p10 {:.1}, p90 {:.1}) over {} runs.\n",
        a.width, t.median_ms, t.p10_ms, t.p90_ms, a.runs
    );
    write_atomic(&a.out.join("extract.md"), md.as_bytes())?;
    print!("{md}");
    Ok(())
}
