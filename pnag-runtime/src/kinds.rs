//! Small typed values that travel from a targets TOML through `pnag-build`'s selection
//! and the `network!` macro into the application: where the network runs
//! ([`RuntimeKind`]) and what its budget is measured in ([`CostUnit`]). The macro emits
//! them as enum values, so nothing on the way is re-parsed from a string.

use std::fmt;

/// Where the application runs the network (the targets TOML's `runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum RuntimeKind {
    /// tract on the CPU.
    Cpu,
    /// tract's CUDA runtime (feature `cuda`).
    Cuda,
}

impl RuntimeKind {
    /// The name used in targets files and selections (`cpu`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Cpu => "cpu",
            RuntimeKind::Cuda => "cuda",
        }
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a cost number (a budget, a prediction) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum CostUnit {
    /// Milliseconds per batch-1 image.
    Ms,
    /// Millions of multiply-accumulates per image.
    Mmacs,
}

impl CostUnit {
    /// How the unit is printed next to a number (`ms`, `MMACs`).
    pub fn label(self) -> &'static str {
        match self {
            CostUnit::Ms => "ms",
            CostUnit::Mmacs => "MMACs",
        }
    }
}

impl fmt::Display for CostUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The most worker threads a network is built with — the one bound of targets files'
/// `threads`, `--threads` flags, probe files and `pnag-probe`.
pub const MAX_THREADS: usize = 256;
