//! The runtime's error type: every way a user's arch, weights or input can be wrong.

use std::path::PathBuf;

use crate::arch::ArchError;

/// Errors from planning, loading weights, building or running a network.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Arch(#[from] ArchError),
    #[error("weights file `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("weights {origin}: not a valid safetensors file ({reason})")]
    NotSafetensors { origin: String, reason: String },
    #[error("weights {origin}: missing {} tensor(s) this subnet needs: {}", names.len(), names.join(", "))]
    MissingTensors { origin: String, names: Vec<String> },
    #[error("weights {origin} belong to another subnet (arch or width): missing {}: {}; not used by this subnet {}: {}", missing.len(), missing.join(", "), unexpected.len(), unexpected.join(", "))]
    OtherSubnet {
        origin: String,
        missing: Vec<String>,
        unexpected: Vec<String>,
    },
    #[error("weights {origin}: {} tensor(s) this subnet does not use (weights of another arch or width?): {}", names.len(), names.join(", "))]
    UnexpectedTensors { origin: String, names: Vec<String> },
    #[error("weights {origin}: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    Shape {
        origin: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("weights {origin}: tensor `{name}` has dtype {found}, expected F32")]
    DType {
        origin: String,
        name: String,
        found: String,
    },
    #[error("input: expected an f32 tensor of shape {expected:?} (batch, 3, resolution, resolution), found {found:?}")]
    InputShape {
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[cfg(feature = "engine")]
    #[error("{what}: {source}")]
    Tract {
        what: &'static str,
        source: tract_core::prelude::TractError,
    },
    #[error("writing `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "CUDA: {0} (set `cuda_fallback = true` in the targets TOML to run on the CPU instead)"
    )]
    Cuda(String),
    #[error("invalid network options: {0}")]
    Options(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

#[cfg(feature = "engine")]
/// Wraps a tract error with what was being done (used by `network!`-emitted code too).
pub fn tract_err(
    what: &'static str,
) -> impl FnOnce(tract_core::prelude::TractError) -> RuntimeError {
    move |source| RuntimeError::Tract { what, source }
}
