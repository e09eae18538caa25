//! How a [`crate::Network`] is prepared: batch, threads, device and whose kernels run.

use crate::error::{Result, RuntimeError};
use crate::simd::Simd;

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// tract on the CPU with this crate's kernels (or tract's, see [`Kernels`]).
    #[default]
    Cpu,
    /// tract's CUDA runtime (feature `cuda`); without a usable GPU the build fails
    /// with [`RuntimeError::Cuda`], or runs on the CPU when `fallback_to_cpu`.
    Cuda {
        /// Run on the CPU instead of failing when no GPU is usable.
        fallback_to_cpu: bool,
    },
}

/// Which code runs the depthwise and 1x1 convolutions on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// PNAG-rs's ops: [`crate::ops::DepthwiseConv`] (specialized per kernel
    /// size and stride) and [`crate::ops::PointwiseConv`], bias, activation
    /// and residual add fused (several times faster than tract's on OFA's layers).
    #[default]
    Specialized,
    /// tract's own `Conv`, activation and add nodes (for comparisons; always used on CUDA).
    Tract,
}

/// How a network is prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Images per run (the graph is specialized to it).
    pub batch: usize,
    /// Worker threads for tract's kernels and ours (1 = run on the calling thread).
    pub threads: usize,
    /// Where the graph runs.
    pub device: Device,
    /// Whose convolution kernels the graph uses.
    pub kernels: Kernels,
    /// Which vector code our kernels run ([`Simd::Best`]: the widest this CPU has).
    pub simd: Simd,
}

impl NetworkOptions {
    /// What the graph uses: tract's CUDA runtime knows tract's ops only.
    pub(crate) fn graph_kernels(&self) -> Kernels {
        match self.device {
            Device::Cpu => self.kernels,
            Device::Cuda { .. } => Kernels::Tract,
        }
    }
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            batch: 1,
            threads: 1,
            device: Device::Cpu,
            kernels: Kernels::Specialized,
            simd: Simd::Best,
        }
    }
}

pub(crate) fn check_options(options: NetworkOptions) -> Result<()> {
    if options.batch == 0 || options.threads == 0 {
        return Err(RuntimeError::Options(format!(
            "batch and threads must be at least 1 (got batch {}, threads {})",
            options.batch, options.threads
        )));
    }
    Ok(())
}
