//! The single-layer benchmark loop `bench depthwise` and `bench pointwise` share: each
//! layer alone in a tract plan, with tract's own ops and with ours, at each thread count,
//! and the per-layer table with totals and the share of the measured FMA peak.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pnag_runtime::weights::synthetic_uniform;
use pnag_runtime::Kernels;
use serde::Serialize;
use tract_core::internal::*;
use tract_linalg::multithread::Executor;

/// How the layer benchmarks (`bench depthwise`, `bench pointwise`) time a layer.
#[derive(Debug, clap::Args)]
pub struct LayerTiming {
    /// Thread counts to measure (comma-separated).
    #[arg(value_parser = crate::args::count(0, 256), long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Timed runs per layer and variant (after 5 warm-up runs); the median is reported.
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = 50)]
    pub runs: usize,
    /// Evict the caches before every timed run (a 64 MB sweep), so the layer
    /// reads its input from DRAM as it can inside a whole network.
    #[arg(long)]
    pub cold: bool,
}

impl LayerTiming {
    /// The sentence the reports add about cold runs.
    pub fn describe(&self) -> &'static str {
        if self.cold {
            " Caches evicted before every timed run (`--cold`)."
        } else {
            ""
        }
    }
}

/// One layer at one thread count (shared with `bench pointwise`).
#[derive(Debug, Serialize)]
pub struct Row {
    pub layer: String,
    pub mmacs: f64,
    pub threads: usize,
    pub tract_plain_ms: f64,
    pub ours_ms: f64,
}

/// An optimized plan of a one-layer model on `threads` threads.
pub fn runnable(model: TypedModel, threads: usize) -> Result<Arc<TypedRunnableModel>> {
    let options = RunOptions {
        executor: (threads > 1).then(|| Executor::multithread(threads)),
        ..Default::default()
    };
    model.into_optimized()?.into_runnable_with_options(&options)
}

/// The per-layer benchmark loop shared with `bench pointwise`: checks the
/// common arguments, creates `out`, then times every layer with tract's ops
/// and ours at each thread count (progress bar). `describe` gives a layer's
/// input shape, table label and MMACs; `plan` its one-layer plan.
pub fn measure<L>(
    timing: &LayerTiming,
    out: &Path,
    layers: &[L],
    input_name: &str,
    describe: impl Fn(&L) -> ([usize; 4], String, f64),
    plan: impl Fn(&L, Kernels, usize) -> Result<Arc<TypedRunnableModel>>,
) -> Result<Vec<Row>> {
    let (runs, threads) = (timing.runs, &timing.threads);
    if runs == 0 || threads.is_empty() || threads.contains(&0) {
        bail!("--runs and every --threads value must be at least 1");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    keep_freed_memory();
    let bar = ProgressBar::new((layers.len() * threads.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} layers, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    let mut evict = timing.cold.then(|| vec![0u8; EVICT_BYTES]);
    for &t in threads.iter() {
        bar.set_message(format!("{t} threads"));
        for l in layers {
            let (shape, layer, mmacs) = describe(l);
            let values = synthetic_uniform(input_name, 0, shape.iter().product());
            let input = Tensor::from_shape(&shape, &values)?;
            let plain = plan(l, Kernels::Tract, t)?;
            let ours = plan(l, Kernels::Specialized, t)?;
            rows.push(Row {
                layer,
                mmacs,
                threads: t,
                tract_plain_ms: median_ms(&plain, &input, runs, evict.as_deref_mut())?,
                ours_ms: median_ms(&ours, &input, runs, evict.as_deref_mut())?,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Keeps glibc from handing freed memory back to the OS for the rest of the
/// process. A one-layer plan frees its 1 MB+ output after every run; glibc
/// then trimmed the heap, and the next run page-faulted the output in again
/// (24×112² 3×3 depthwise at 1 thread: 1.03 ms, 0.18–0.22 ms with this). Whole
/// networks keep enough tensors alive that it does not happen there (page
/// faults do not grow with runs, measured), so without this the layer tables
/// would time the allocator, not the layer.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before the timed work.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

/// Larger than this machine's 32 MB L3.
const EVICT_BYTES: usize = 64 << 20;

/// Median of `runs` timed runs after 5 warm-up ones; with `evict`, every
/// timed run is preceded by a write to each cache line of that buffer.
fn median_ms(
    plan: &Arc<TypedRunnableModel>,
    input: &Tensor,
    runs: usize,
    mut evict: Option<&mut [u8]>,
) -> Result<f64> {
    for _ in 0..5 {
        plan.run(tvec![input.clone().into_tvalue()])?;
    }
    let t: Vec<f64> = (0..runs)
        .map(|_| {
            let x = tvec![input.clone().into_tvalue()];
            if let Some(buf) = evict.as_deref_mut() {
                for line in buf.chunks_mut(64) {
                    line[0] = line[0].wrapping_add(1);
                }
                std::hint::black_box(&buf);
            }
            let start = Instant::now();
            plan.run(x).map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<TractResult<_>>()?;
    Ok(pnag_build::stats::median(&t))
}

/// The per-layer table shared with `bench pointwise`, then totals per thread count.
pub fn markdown_table(intro: &str, rows: &[Row], peak: Option<f64>) -> String {
    let mut s = format!("{}\n{intro}", super::common::host_line());
    let peak_col = peak.is_some();
    s.push_str("\n| layer | MMACs | threads | tract plain ms | ours ms | speed-up | ours GMAC/s |");
    s.push_str(if peak_col {
        " of 1-core peak |\n"
    } else {
        "\n"
    });
    s.push_str("|---|---:|---:|---:|---:|---:|---:|");
    s.push_str(if peak_col { "---:|\n" } else { "\n" });
    let mut totals = std::collections::BTreeMap::<usize, (f64, f64, f64)>::new();
    for r in rows {
        let (layer, mmacs, threads) = (&r.layer, r.mmacs, r.threads);
        let (plain_ms, ours_ms) = (r.tract_plain_ms, r.ours_ms);
        let gmacs = mmacs / ours_ms;
        s.push_str(&format!(
            "| {layer} | {mmacs:.1} | {threads} | {plain_ms:.3} | {ours_ms:.3} | {:.1}× | {gmacs:.1} |",
            plain_ms / ours_ms,
        ));
        match peak {
            Some(p) => s.push_str(&format!(" {:.0} % |\n", 100.0 * gmacs / p)),
            None => s.push('\n'),
        }
        let e = totals.entry(threads).or_default();
        *e = (e.0 + mmacs, e.1 + plain_ms, e.2 + ours_ms);
    }
    s.push('\n');
    for (t, (m, plain, ours)) in totals {
        s.push_str(&format!(
            "All layers, {t} thread(s): tract plain {plain:.2} ms ({:.1} GMAC/s), ours {ours:.2} ms ({:.1} GMAC/s), {:.1}× faster.\n",
            m / plain,
            m / ours,
            plain / ours
        ));
    }
    if let Some(p) = peak {
        s.push_str(&format!(
            "One core's measured FMA peak (12 independent AVX2 FMA chains): {p:.1} GMAC/s.\n"
        ));
    }
    s
}
