//! `pnag bench pointwise`: every distinct 1×1 conv (expansion and projection)
//! of the smallest, middle and largest subnet, alone in a tract plan, with
//! tract's own conv (+ activation) and with our [`PointwiseConv`] op, at each
//! thread count; GMAC/s against one core's measured FMA peak. Writes
//! `pointwise.md` / `.json`.
//!
//! [`PointwiseConv`]: pnag_runtime::ops::PointwiseConv

use std::path::PathBuf;

use anyhow::Result;
use pnag_runtime::__private::pointwise_layer;
use pnag_runtime::weights::synthetic_uniform;
use pnag_runtime::{Activation, Kernels, NetworkSpec, Width};
use serde_json::json;
use tract_core::internal::*;

use super::common::{bench_archs, fma_peak_gflops};
use super::layers::{measure, runnable};

#[derive(Debug, clap::Args)]
pub struct PointwiseArgs {
    #[command(flatten)]
    pub timing: super::layers::LayerTiming,
    /// Output directory.
    #[arg(long, default_value = "bench-out/pointwise")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Layer {
    cin: usize,
    cout: usize,
    size: usize,
    /// 0 none, 1 ReLU, 2 h-swish (ordered for sorting).
    act: u8,
}

impl Layer {
    fn activation(&self) -> Option<Activation> {
        match self.act {
            1 => Some(Activation::Relu),
            2 => Some(Activation::HSwish),
            _ => None,
        }
    }
}

/// Distinct 1×1 layers of the benchmarked subnets (w1.2, 224 px): each
/// block's expansion (with the block's activation) and projection (none).
fn layers() -> Result<Vec<Layer>> {
    let mut v = Vec::new();
    for (_, arch) in bench_archs() {
        for b in NetworkSpec::new(arch, Width::W1_2, 224)?.blocks {
            if let Some(e) = b.expand_channels {
                v.push(Layer {
                    cin: b.in_channels,
                    cout: e,
                    size: b.in_size,
                    act: if b.activation == Activation::HSwish {
                        2
                    } else {
                        1
                    },
                });
            }
            v.push(Layer {
                cin: b.mid_channels,
                cout: b.out_channels,
                size: b.out_size,
                act: 0,
            });
        }
    }
    v.sort();
    v.dedup();
    Ok(v)
}

fn plan(l: &Layer, kernels: Kernels, threads: usize) -> Result<Arc<TypedRunnableModel>> {
    let w = synthetic_uniform("bench.pw.weight", 0, l.cout * l.cin);
    let b = synthetic_uniform("bench.pw.bias", 0, l.cout);
    let model = pointwise_layer(l.activation(), w, b, [1, l.cin, l.size, l.size], kernels)?;
    runnable(model, threads)
}

pub fn pointwise(a: &PointwiseArgs) -> Result<()> {
    let describe = |l: &Layer| {
        let act = ["none", "ReLU", "h-swish"][l.act as usize];
        let label = format!("{} → {}, {}x{}, {act}", l.cin, l.cout, l.size, l.size);
        let mmacs = (l.cin * l.cout * l.size * l.size) as f64 / 1e6;
        ([1, l.cin, l.size, l.size], label, mmacs)
    };
    let rows = measure(
        &a.timing,
        &a.out,
        &layers()?,
        "bench.pw.input",
        describe,
        plan,
    )?;
    let peak = fma_peak_gflops();
    let md = super::layers::markdown_table(
        &format!(
            "Every distinct 1x1 conv (+ folded-BN bias + activation) of the smallest, middle and largest \
             w1.2 subnets at 224 px, alone in a tract plan, batch 1; median of {} runs.{} `cin → cout, H×W`.\n",
            a.timing.runs,
            a.timing.describe()
        ),
        &rows,
        peak,
    );
    let json = json!({"rows": rows, "fma_peak_gmacs_per_core": peak});
    super::common::write_report(&a.out, "pointwise", &md, &json)
}
