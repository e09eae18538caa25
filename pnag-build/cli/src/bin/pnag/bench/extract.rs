//! `pnag bench extract`: reading a supernet checkpoint and extracting the
//! largest subnet from it. (`pnag bench engines` is in `engines.rs`,
//! `pnag bench frontier` in `frontier.rs`.)

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use pnag_runtime::files::write_atomic;
use pnag_runtime::{Arch, Width};

use pnag_cli::profile::Timing;

#[derive(Debug, clap::Args)]
pub struct ExtractBenchArgs {
    /// Width of the synthetic supernet.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Timed extractions.
    #[arg(value_parser = crate::args::count(1, 100_000), long, default_value_t = 5)]
    pub runs: usize,
    /// Output directory (holds the synthetic supernet checkpoint).
    #[arg(long, default_value = "bench-out/extract")]
    pub out: PathBuf,
    /// Time these checkpoints instead (any format: safetensors, `torch.save` zip or legacy;
    /// e.g. the full-size files of `pnag-build/tests/fixtures/make_checkpoint_fixtures.py --full DIR`).
    /// Repeat for several: their extracted weights must be bit-identical.
    #[arg(long)]
    pub supernet: Vec<PathBuf>,
}

/// Times reading a supernet checkpoint from disk and extracting the largest subnet.
pub fn extract(a: &ExtractBenchArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let files = if a.supernet.is_empty() {
        let path = a
            .out
            .join(format!("synthetic_supernet_w{}.safetensors", a.width));
        write_atomic(
            &path,
            &pnag_build::weights::extract::synthetic_supernet(a.width, 0),
        )?;
        vec![path]
    } else {
        a.supernet.clone()
    };
    let mut md = String::new();
    let mut first: Option<(PathBuf, Vec<u8>)> = None;
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let format = match pnag_build::weights::checkpoint::detect(&bytes) {
            pnag_build::weights::checkpoint::Format::TorchZip => "torch.save zip",
            pnag_build::weights::checkpoint::Format::TorchLegacy => "torch.save legacy",
            pnag_build::weights::checkpoint::Format::Safetensors => "safetensors",
        };
        let size_mb = bytes.len() as f64 / 1e6;
        drop(bytes);
        let mut samples = Vec::new();
        let mut weights = None;
        for _ in 0..a.runs {
            let start = std::time::Instant::now();
            let w = pnag_build::weights::extract::extract_file(path, a.width, Arch::largest())?;
            samples.push(start.elapsed().as_secs_f64() * 1e3);
            weights = Some(std::hint::black_box(w));
        }
        // The tensors themselves (the safetensors metadata names the file, so it differs).
        let bytes: Vec<u8> = weights
            .expect("runs ≥ 1")
            .tensors()
            .flat_map(|(name, t)| {
                let values = t.data.iter().flat_map(|v| v.to_bits().to_le_bytes());
                name.bytes()
                    .chain(t.shape.iter().flat_map(|d| d.to_le_bytes()))
                    .chain(values)
            })
            .collect();
        let same = match &first {
            None => {
                first = Some((path.clone(), bytes));
                String::new()
            }
            Some((p0, b0)) if *b0 == bytes => format!("; bit-identical to `{}`", p0.display()),
            Some((p0, _)) => bail!(
                "`{}` and `{}` extract different weights",
                path.display(),
                p0.display()
            ),
        };
        let t = Timing::from_samples(&samples);
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        md += &format!(
            "Extraction of the largest subnet from a w{} supernet checkpoint (`{name}`, {size_mb:.1} MB {format}, synthetic untrained \
             values), including reading the file: median {:.1} ms (p10 {:.1}, p90 {:.1}) over {} runs{same}.\n",
            a.width, t.median_ms, t.p10_ms, t.p90_ms, a.runs
        );
    }
    write_atomic(&a.out.join("extract.md"), md.as_bytes())?;
    out!("{md}");
    Ok(())
}
