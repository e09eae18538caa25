//! What every benchmark shares: the benchmarked subnets, the host's measured FMA peak,
//! table cells and the report files.

use anyhow::Result;
use pnag_runtime::Arch;

/// The benchmarked subnets: the two ends of the space and its middle.
pub fn bench_archs() -> Vec<(&'static str, Arch)> {
    vec![
        ("smallest", Arch::smallest()),
        ("middle", pnag_build::sample::middle_arch()),
        ("largest", Arch::largest()),
    ]
}

/// Where a benchmark ran: the CPU model, its vector features, and the code our kernels
/// run there (`PNAG_SIMD` applied), for every report's first line.
pub fn host_line() -> String {
    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, has) in [
            ("avx2", is_x86_feature_detected!("avx2")),
            ("fma", is_x86_feature_detected!("fma")),
            ("avx512f", is_x86_feature_detected!("avx512f")),
            ("avx512bw", is_x86_feature_detected!("avx512bw")),
            ("avx512vnni", is_x86_feature_detected!("avx512vnni")),
        ] {
            if has {
                features.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    features.push("neon");
    format!(
        "Host: {}; vector features {}; our kernels ran {}.",
        pnag_build::cost::host::machine_name(),
        if features.is_empty() {
            "none detected".into()
        } else {
            features.join(" ")
        },
        pnag_runtime::Simd::Best.path().name()
    )
}

/// One core's multiply-add peak with AVX-512F (12 chains of 16 lanes, measured); `None`
/// without AVX-512F.
pub fn fma_peak_gflops_avx512() -> Option<f64> {
    pnag_runtime::Simd::Avx512.fma_peak_gmacs()
}

/// One core's multiply-add peak with AVX2 + FMA (12 chains of 8 lanes, measured; what the
/// layer tables compare with); `None` without AVX2/FMA.
pub fn fma_peak_gflops() -> Option<f64> {
    pnag_runtime::Simd::Avx2.fma_peak_gmacs()
}

pub fn fmt_opt(t: Option<f64>, prec: usize) -> String {
    t.map(|v| format!("{v:.prec$}"))
        .unwrap_or_else(|| "—".into())
}

/// Writes `<dir>/<stem>.md` and `<dir>/<stem>.json` atomically, prints the markdown and
/// says where it went (the report commands' common ending).
pub fn write_report(
    dir: &std::path::Path,
    stem: &str,
    md: &str,
    json: &impl serde::Serialize,
) -> Result<()> {
    pnag_runtime::files::write_atomic(&dir.join(format!("{stem}.md")), md.as_bytes())?;
    pnag_runtime::files::write_atomic(
        &dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(json)?.as_bytes(),
    )?;
    out!("{md}");
    eprintln!("wrote {}", dir.join(format!("{stem}.md")).display());
    Ok(())
}

/// The arguments the per-device search benchmarks share (`constraints`, `resolution`).
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Device (see `pnag devices`).
    #[arg(long)]
    pub device: String,
    /// Evolution iterations, at each resolution searched (OFA: 500).
    #[arg(value_parser = crate::args::count(1, 1_000_000), long, default_value_t = 500)]
    pub evolution_iterations: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
