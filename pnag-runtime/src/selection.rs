//! The hand-off between a downstream crate's `build.rs` and its
//! `pnag_macros::network!` calls: `pnag_build::Config::compile` writes one
//! [`Selection`] (JSON) into `$OUT_DIR/pnag/`, next to one safetensors file per
//! chosen network; the macro reads it at expansion time and hardcodes it.
//!
//! Only what the macro needs to emit code is here; nothing of the search space,
//! the generator or the cost models reaches the application.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bumped when the layout changes, so a stale `OUT_DIR` is reported, not misread.
pub const SELECTION_FORMAT: u32 = 1;

/// Where the selection lives under `OUT_DIR`.
pub fn selection_path(out_dir: &Path) -> PathBuf {
    out_dir.join("pnag").join("selection.json")
}

/// Every network chosen for one targets file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub format: u32,
    /// The targets TOML this came from (absolute path).
    pub targets: String,
    pub device: String,
    /// `cpu` or `cuda`.
    pub runtime: String,
    /// Falls back to CPU when `runtime = "cuda"` finds no GPU (the TOML's `cuda_fallback`).
    pub cuda_fallback: bool,
    pub threads: usize,
    pub networks: Vec<SelectedNetwork>,
}

/// One budget's network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedNetwork {
    /// The budget's `name` in the TOML (what `network!(.., budget = "..")` names).
    pub name: String,
    /// The budget value and its unit (`ms` or `MMACs`).
    pub budget: f64,
    pub unit: String,
    /// PNAG arch string `d1..d5:k1..k20:e1..e20`.
    pub arch: String,
    /// `1.0` or `1.2`.
    pub width: String,
    pub resolution: u32,
    /// The device cost model's prediction, in `unit`.
    pub predicted_cost: f64,
    /// The accuracy model's ImageNet top-1 prediction (%).
    pub predicted_top1: f64,
    pub macs: u64,
    pub params: u64,
    /// Which generator chose the arch (model directory or "embedded", seed).
    pub chosen_by: String,
    /// Absolute path of this network's weights (only its tensors).
    pub weights_file: String,
    /// Human-readable origin of the weights.
    pub weights_origin: String,
    /// The seed of synthetic weights: `Some` means UNTRAINED (predictions are meaningless).
    pub synthetic_seed: Option<u64>,
}

impl SelectedNetwork {
    pub fn untrained(&self) -> bool {
        self.synthetic_seed.is_some()
    }
}

impl Selection {
    /// Reads and checks a selection file; the error says what to do.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "no PNAG selection at `{}` ({e}): the crate's build.rs must call \
                 `pnag_build::Config::new().targets(\"targets/<device>.toml\").compile()`",
                path.display()
            )
        })?;
        let sel: Selection = serde_json::from_str(&text)
            .map_err(|e| format!("PNAG selection `{}` is not valid: {e}", path.display()))?;
        if sel.format != SELECTION_FORMAT {
            return Err(format!(
                "PNAG selection `{}` has format {}, this pnag-macros reads format {SELECTION_FORMAT}: \
                 use the same version of pnag-build and pnag-macros",
                path.display(),
                sel.format
            ));
        }
        Ok(sel)
    }

    /// The network for a budget name.
    pub fn network(&self, name: &str) -> Option<&SelectedNetwork> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The budget names, for error messages.
    pub fn names(&self) -> Vec<&str> {
        self.networks.iter().map(|n| n.name.as_str()).collect()
    }
}
