//! The `pnag arch` report: a subnet's blocks, MACs and parameters.

use pnag_runtime::{Activation, NetworkSpec};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct BlockRow {
    pub block: usize,
    /// 1-based search-space slot, `None` for the fixed first block.
    pub slot: Option<usize>,
    pub in_channels: usize,
    pub mid_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub expand: u8,
    pub stride: usize,
    pub activation: &'static str,
    pub se_channels: Option<usize>,
    pub residual: bool,
    pub out_size: usize,
}

#[derive(Debug, Serialize)]
pub struct ArchReport {
    pub arch: String,
    pub width: String,
    pub resolution: usize,
    pub macs_m: f64,
    pub params_m: f64,
    /// Predicted peak activation memory of one run (batch 1, 1 thread, 16-lane scratch:
    /// the largest of the x86 / ARM paths), in MB.
    pub peak_memory_mb: f64,
    pub blocks: Vec<BlockRow>,
}

impl ArchReport {
    pub fn new(spec: &NetworkSpec) -> Self {
        let blocks = spec
            .blocks
            .iter()
            .map(|b| BlockRow {
                block: b.index,
                slot: b.slot.map(|s| s + 1),
                in_channels: b.in_channels,
                mid_channels: b.mid_channels,
                out_channels: b.out_channels,
                kernel: b.kernel,
                expand: b.expand_ratio,
                stride: b.stride,
                activation: match b.activation {
                    Activation::Relu => "relu",
                    Activation::HSwish => "h_swish",
                },
                se_channels: b.se_channels,
                residual: b.residual,
                out_size: b.out_size,
            })
            .collect();
        ArchReport {
            arch: spec.arch.to_string(),
            width: spec.width.to_string(),
            resolution: spec.resolution,
            macs_m: spec.macs() as f64 / 1e6,
            params_m: spec.params() as f64 / 1e6,
            peak_memory_mb: pnag_runtime::memory::peak_activation_bytes(spec, Default::default())
                as f64
                / 1e6,
            blocks,
        }
    }

    /// A human-readable table.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "arch        {}\nwidth       {}\nresolution  {}\n\n",
            self.arch, self.width, self.resolution
        );
        s.push_str(
            "block  slot  in→mid→out        k  e  stride  act      SE   residual  out size\n",
        );
        for b in &self.blocks {
            let slot = b.slot.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
            let se = b
                .se_channels
                .map(|x| x.to_string())
                .unwrap_or_else(|| "-".into());
            s.push_str(&format!(
                "{:>5}  {:>4}  {:>4}→{:>4}→{:>4}  {:>3}  {}  {:>6}  {:<7}  {:>3}  {:>8}  {:>4}x{}\n",
                b.block,
                slot,
                b.in_channels,
                b.mid_channels,
                b.out_channels,
                b.kernel,
                b.expand,
                b.stride,
                b.activation,
                se,
                if b.residual { "yes" } else { "no" },
                b.out_size,
                b.out_size
            ));
        }
        s.push_str(&format!(
            "\nMACs    {:.2} M\nparams  {:.3} M\npeak activation memory  {:.2} MB (predicted: batch 1, 1 thread)\n",
            self.macs_m, self.params_m, self.peak_memory_mb
        ));
        s
    }
}
