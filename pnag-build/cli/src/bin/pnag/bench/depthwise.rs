//! `pnag bench depthwise`: every distinct depthwise layer of the smallest,
//! middle and largest subnet, alone in a tract plan, with tract's own grouped
//! `Conv` and activation and with our specialized op, at each thread count;
//! GMAC/s against one core's measured FMA peak. Writes `depthwise.md` / `.json`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use pnag_runtime::__private::depthwise_layer;
use pnag_runtime::ops::DepthwiseKernel;
use pnag_runtime::weights::synthetic_uniform;
use pnag_runtime::{Activation, Kernels, NetworkSpec, Width};
use serde_json::json;
use tract_core::internal::*;

use super::common::{bench_archs, fma_peak_gflops};
use super::layers::{markdown_table, measure, runnable, LayerTiming, Row};

#[derive(Debug, clap::Args)]
pub struct DepthwiseArgs {
    #[command(flatten)]
    pub timing: LayerTiming,
    /// Output directory.
    #[arg(long, default_value = "bench-out/depthwise")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Layer {
    kernel: usize,
    stride: usize,
    channels: usize,
    size: usize,
    hswish: bool,
}

/// Distinct depthwise layers of the benchmarked subnets (w1.2, 224 px).
fn layers() -> Result<Vec<Layer>> {
    let mut v = Vec::new();
    for (_, arch) in bench_archs() {
        for b in NetworkSpec::new(arch, Width::W1_2, 224)?.blocks {
            v.push(Layer {
                kernel: b.kernel,
                stride: b.stride,
                channels: b.mid_channels,
                size: b.in_size,
                hswish: b.activation == Activation::HSwish,
            });
        }
    }
    v.sort();
    v.dedup();
    Ok(v)
}

fn plan(l: &Layer, depthwise: Kernels, threads: usize) -> Result<Arc<TypedRunnableModel>> {
    let kernel = DepthwiseKernel::for_shape(l.kernel, l.stride).context("kernel variant")?;
    let act = if l.hswish {
        Activation::HSwish
    } else {
        Activation::Relu
    };
    let w = synthetic_uniform("bench.dw.weight", 0, l.channels * l.kernel * l.kernel);
    let b = synthetic_uniform("bench.dw.bias", 0, l.channels);
    let model = depthwise_layer(
        kernel,
        act,
        w,
        b,
        [1, l.channels, l.size, l.size],
        depthwise,
    )?;
    runnable(model, threads)
}

pub fn depthwise(a: &DepthwiseArgs) -> Result<()> {
    let describe = |l: &Layer| {
        let out = l.size.div_ceil(l.stride);
        let label = format!(
            "{0}x{0} s{1}, {2}x{3}x{3}, {4}",
            l.kernel,
            l.stride,
            l.channels,
            l.size,
            if l.hswish { "h-swish" } else { "ReLU" }
        );
        let mmacs = (l.channels * l.kernel * l.kernel * out * out) as f64 / 1e6;
        ([1, l.channels, l.size, l.size], label, mmacs)
    };
    let rows = measure(
        &a.timing,
        &a.out,
        &layers()?,
        "bench.dw.input",
        describe,
        plan,
    )?;
    let peak = fma_peak_gflops();
    let md = markdown(a, &rows, peak);
    let json = json!({"rows": rows, "fma_peak_gmacs_per_core": peak});
    super::common::write_report(&a.out, "depthwise", &md, &json)
}

fn markdown(a: &DepthwiseArgs, rows: &[Row], peak: Option<f64>) -> String {
    markdown_table(
        &format!(
            "Every distinct depthwise layer (conv + folded-BN bias + activation) of the smallest, middle and largest \
             w1.2 subnets at 224 px, alone in a tract plan, batch 1; median of {} runs.{} Input `C×H×W`.\n",
            a.timing.runs,
            a.timing.describe()
        ),
        rows,
        peak,
    )
}
