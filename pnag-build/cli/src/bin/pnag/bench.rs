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
    /// Time these checkpoints instead (any format: safetensors, `torch.save` zip or legacy;
    /// e.g. the full-size files of `tests/fixtures/make_checkpoint_fixtures.py --full DIR`).
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
        write_atomic(&path, &pnag_build::extract::synthetic_supernet(a.width, 0))?;
        vec![path]
    } else {
        a.supernet.clone()
    };
    let mut md = String::new();
    let mut first: Option<(PathBuf, Vec<u8>)> = None;
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let format = match pnag_build::checkpoint::detect(&bytes) {
            pnag_build::checkpoint::Format::TorchZip => "torch.save zip",
            pnag_build::checkpoint::Format::TorchLegacy => "torch.save legacy",
            pnag_build::checkpoint::Format::Safetensors => "safetensors",
        };
        let size_mb = bytes.len() as f64 / 1e6;
        drop(bytes);
        let mut samples = Vec::new();
        let mut weights = None;
        for _ in 0..a.runs {
            let start = std::time::Instant::now();
            let w = pnag_build::extract::extract_file(path, a.width, Arch::largest())?;
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
    print!("{md}");
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct F16BenchArgs {
    /// Width of the subnets (synthetic, untrained weights).
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Timed loads per subnet and dtype.
    #[arg(long, default_value_t = 9)]
    pub runs: usize,
    /// Output directory (`f16.md`).
    #[arg(long, default_value = "bench-out/f16")]
    pub out: PathBuf,
}

/// `[weights] dtype = "f16"` against f32 on the smallest, middle and largest subnets:
/// embedded bytes, load time (parse + widen + validate, what `network!` does at first
/// use) and how far the logits move.
pub fn f16(a: &F16BenchArgs) -> Result<()> {
    use pnag_runtime::{Network, NetworkOptions, NetworkSpec, Weights, WeightsSource};
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let mut md = format!(
        "<!-- generated by `pnag bench f16` -->\n| subnet (w{}, 224 px) | f32 weights | f16 weights | load f32 ms | load f16 ms | max \\|Δ logit\\| | relative to max \\|logit\\| | same top-1 class |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
        a.width
    );
    let archs = [
        ("smallest", Arch::smallest()),
        ("middle", pnag_build::sample::middle_arch()),
        ("largest", Arch::largest()),
    ];
    for (label, arch) in archs {
        let spec = NetworkSpec::new(arch, a.width, 224)?;
        // Synthetic weights scaled like trained ones (UNTRAINED; labelled in the report).
        let weights = Weights::synthetic(&spec, 0);
        let f32_bytes = weights.to_safetensors();
        let f16_bytes = weights.to_safetensors_f16()?;
        let load = |bytes: &[u8]| -> Result<(f64, Weights)> {
            let mut samples = Vec::new();
            let mut w = None;
            for _ in 0..a.runs {
                let start = std::time::Instant::now();
                let loaded =
                    Weights::from_safetensors(bytes, WeightsSource::File("bench".into()), &spec)?;
                samples.push(start.elapsed().as_secs_f64() * 1e3);
                w = Some(loaded);
            }
            Ok((
                Timing::from_samples(&samples).median_ms,
                w.expect("runs ≥ 1"),
            ))
        };
        let (t32, w32) = load(&f32_bytes)?;
        let (t16, w16) = load(&f16_bytes)?;
        let shape = [1, 3, 224, 224];
        let mut rng = pnag_build::sample::SplitMix64::new(5);
        let image: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            .collect();
        let run = |w: &Weights| -> Result<Vec<f32>> {
            let net = Network::new(spec.clone(), w, NetworkOptions::default())?;
            Ok(net.run(&shape, &image)?.data)
        };
        let (l32, l16) = (run(&w32)?, run(&w16)?);
        let dev = l32
            .iter()
            .zip(&l16)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        let scale = l32.iter().map(|x| x.abs()).fold(0f32, f32::max);
        let argmax = |l: &[f32]| (0..l.len()).max_by(|&i, &j| l[i].total_cmp(&l[j]));
        md +=
            &format!(
            "| {label} | {:.1} MB | {:.1} MB | {t32:.1} | {t16:.1} | {dev:.2e} | {:.2e} | {} |\n",
            f32_bytes.len() as f64 / 1e6,
            f16_bytes.len() as f64 / 1e6,
            dev / scale,
            if argmax(&l32) == argmax(&l16) { "yes" } else { "no" },
        );
    }
    md += &format!(
        "\nSynthetic (UNTRAINED) weights, one seeded random input; load = `Weights::from_safetensors` (parse, widen, check finite), median of {} runs on one core.\n",
        a.runs
    );
    std::fs::create_dir_all(&a.out)?;
    write_atomic(&a.out.join("f16.md"), md.as_bytes())?;
    print!("{md}");
    Ok(())
}
