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

/// One core's multiply-add peak with AVX-512F, measured: 12 independent FMA chains of 16
/// lanes for ~0.3 s. `None` without AVX-512F.
pub fn fma_peak_gflops_avx512() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        #[target_feature(enable = "avx512f")]
        unsafe fn chains(iters: u64) -> f32 {
            use std::arch::x86_64::*;
            let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); 12];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = _mm512_fmadd_ps(*x, a, b);
                }
            }
            _mm512_reduce_add_ps(
                acc.iter()
                    .fold(_mm512_setzero_ps(), |s, &x| _mm512_add_ps(s, x)),
            )
        }
        let iters = 30_000_000;
        // SAFETY: AVX-512F checked above.
        let best = (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(unsafe { chains(std::hint::black_box(iters)) });
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        return Some(iters as f64 * 12.0 * 16.0 / best / 1e9);
    }
    None
}

/// One core's multiply-add peak, measured: 12 independent AVX2 FMA chains
/// (8 lanes each) for ~0.3 s. `None` without AVX2/FMA.
pub fn fma_peak_gflops() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn chains(iters: u64) -> f32 {
            use std::arch::x86_64::*;
            let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = _mm256_fmadd_ps(*x, a, b);
                }
            }
            let mut sum = [0f32; 8];
            _mm256_storeu_ps(
                sum.as_mut_ptr(),
                acc.iter()
                    .fold(_mm256_setzero_ps(), |s, &x| _mm256_add_ps(s, x)),
            );
            sum.iter().sum()
        }
        let iters = 30_000_000;
        // SAFETY: AVX2 and FMA checked above.
        let best = (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(unsafe { chains(std::hint::black_box(iters)) });
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        return Some(iters as f64 * 12.0 * 8.0 / best / 1e9);
    }
    None
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
