//! The runtime's error type: every way a user's arch, weights or input can be wrong.

use std::path::PathBuf;

use crate::arch::ArchError;

/// Errors from planning, loading weights, building or running a network.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The arch, width or resolution is not in the search space.
    #[error(transparent)]
    Arch(#[from] ArchError),
    /// A weights file could not be read.
    #[error("weights file `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    #[error("weights {origin}: not a valid safetensors file ({source})")]
    /// The bytes are not a safetensors file.
    NotSafetensors {
        /// Where the weights came from.
        origin: String,
        /// The parser's error.
        source: safetensors::SafeTensorError,
    },
    #[error("weights {origin}: missing {} tensor(s) this subnet needs: {}", names.len(), names.join(", "))]
    /// Tensors the subnet needs are absent.
    MissingTensors {
        /// Where the weights came from.
        origin: String,
        /// Every missing tensor name.
        names: Vec<String>,
    },
    /// Both missing and extra tensors: most likely another arch's or width's weights.
    #[error("weights {origin} belong to another subnet (arch or width): missing {}: {}; not used by this subnet {}: {}", missing.len(), missing.join(", "), unexpected.len(), unexpected.join(", "))]
    OtherSubnet {
        /// Where the weights came from.
        origin: String,
        /// Tensors the subnet needs but the file lacks.
        missing: Vec<String>,
        /// Tensors the file has but the subnet does not use.
        unexpected: Vec<String>,
    },
    #[error("weights {origin}: {} tensor(s) this subnet does not use (weights of another arch or width?): {}", names.len(), names.join(", "))]
    /// Tensors the subnet does not use.
    UnexpectedTensors {
        /// Where the weights came from.
        origin: String,
        /// Every unexpected tensor name.
        names: Vec<String>,
    },
    /// A tensor has the wrong shape.
    #[error("weights {origin}: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    Shape {
        /// Where the weights came from.
        origin: String,
        /// The tensor.
        name: String,
        /// The shape the subnet needs.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A weight does not fit float16 (`dtype = "f16"`).
    #[error("weights {origin}: tensor `{name}` holds {value} at flat index {index}, beyond float16's ±65504; store these weights as f32")]
    F16Range {
        /// Where the weights came from.
        origin: String,
        /// The tensor.
        name: String,
        /// Flat index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A tensor is not f32 (or f16).
    #[error("weights {origin}: tensor `{name}` has dtype {found}, expected F32 or F16")]
    DType {
        /// Where the weights came from.
        origin: String,
        /// The tensor.
        name: String,
        /// The dtype found.
        found: String,
    },
    /// A tensor holds NaN or an infinity: refused, since it would poison every output.
    #[error("weights {origin}: tensor `{name}` holds {count} non-finite value(s) (first: {value} at flat index {index}); refusing NaN / infinite weights")]
    NonFinite {
        /// Where the weights came from.
        origin: String,
        /// The tensor.
        name: String,
        /// How many of its values are NaN or infinite.
        count: usize,
        /// Flat index of the first one.
        index: usize,
        /// That value.
        value: f32,
    },
    /// The input is not `[batch, 3, resolution, resolution]`.
    #[error("input: expected an f32 tensor of shape {expected:?} (batch, 3, resolution, resolution), found {found:?}")]
    InputShape {
        /// The shape the network was built for.
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
    #[cfg(feature = "engine")]
    /// tract failed while building or running the graph.
    #[error("{what}: {source}")]
    Tract {
        /// What was being done.
        what: &'static str,
        /// tract's error.
        source: tract_core::prelude::TractError,
    },
    /// An output file could not be written.
    #[error("writing `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A `torch.save` file given where safetensors weights are expected.
    #[error("weights file `{}` is a PyTorch checkpoint (torch.save), not safetensors: extract the subnet with `pnag extract --supernet {} --width W --arch A --out subnet.safetensors` (a supernet), or convert it to safetensors", path.display(), path.display())]
    TorchCheckpoint {
        /// The file.
        path: std::path::PathBuf,
    },
    /// An output path exists and is not a regular file (never replaced silently).
    #[error("refusing to write `{}`: it is {kind}, and outputs only create or replace regular files", path.display())]
    OutputNotAFile {
        /// The output path.
        path: PathBuf,
        /// What it is (`a symbolic link`, `a character device`, …).
        kind: &'static str,
    },
    /// An output path names one of the run's own inputs.
    #[error("refusing to write `{}`: it is the input `{}` of this run (choose another output path)", path.display(), input.display())]
    OutputIsInput {
        /// The output path.
        path: PathBuf,
        /// The input it would overwrite.
        input: PathBuf,
    },
    /// The CUDA runtime is unusable and `cuda_fallback` is off.
    #[error(
        "CUDA: {0} (set `cuda_fallback = true` in the targets TOML to run on the CPU instead)"
    )]
    Cuda(String),
    /// Invalid [`NetworkOptions`](crate::NetworkOptions) (e.g. zero threads or batch).
    #[error("invalid network options: {0}")]
    Options(String),
}

/// Results of the runtime.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

#[cfg(feature = "engine")]
/// Wraps a tract error with what was being done (used by `network!`-emitted code too).
pub fn tract_err(
    what: &'static str,
) -> impl FnOnce(tract_core::prelude::TractError) -> RuntimeError {
    move |source| RuntimeError::Tract { what, source }
}
