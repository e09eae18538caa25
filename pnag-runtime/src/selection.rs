//! The hand-off between a downstream crate's `build.rs` and its
//! `pnag_macros::network!` calls: `pnag_build::Config::compile` writes one
//! [`Selection`] (JSON) into `$OUT_DIR/pnag/`, next to one safetensors file per
//! chosen network; the macro reads it at expansion time and hardcodes it.
//!
//! Only what the macro needs to emit code is here; nothing of the search space,
//! the generator or the cost models reaches the application.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Arch, CostUnit, RuntimeKind, Width};

/// Bumped when the layout changes, so a stale `OUT_DIR` is reported, not misread.
/// Format 2: typed arch, width, runtime and unit (format 1 had strings).
pub const SELECTION_FORMAT: u32 = 2;

pub use crate::hash::content_hash;

/// Where the selection lives under `OUT_DIR`.
pub fn selection_path(out_dir: &Path) -> PathBuf {
    out_dir.join("pnag").join("selection.json")
}

/// Why a selection file cannot be used; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// The file is missing or unreadable: the build script did not run `compile()`.
    #[error("no PNAG selection at `{path}` ({source}): the crate's build.rs must call `pnag_build::Config::new().targets(\"targets/<device>.toml\").compile()`")]
    Missing {
        /// The selection path under `OUT_DIR`.
        path: PathBuf,
        /// What reading it said.
        source: std::io::Error,
    },
    /// Not JSON of this layout (or an arch / width outside the search space).
    #[error("PNAG selection `{path}` is not valid: {source}")]
    Invalid {
        /// The selection path.
        path: PathBuf,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    /// Written by another version of pnag-build.
    #[error("PNAG selection `{path}` has format {found}, this pnag-macros reads format {SELECTION_FORMAT}: use the same version of pnag-build and pnag-macros")]
    Format {
        /// The selection path.
        path: PathBuf,
        /// The format found in the file.
        found: u32,
    },
}

/// Every network chosen for one targets file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// [`SELECTION_FORMAT`] of the writer.
    pub format: u32,
    /// The targets TOML this came from (absolute path).
    pub targets: String,
    /// The device whose cost model the budgets are in.
    pub device: String,
    /// Where the app runs the networks.
    pub runtime: RuntimeKind,
    /// Falls back to CPU when `runtime = "cuda"` finds no GPU (the TOML's `cuda_fallback`).
    pub cuda_fallback: bool,
    /// Threads each network runs with by default.
    pub threads: usize,
    /// One entry per budget, in the TOML's order.
    pub networks: Vec<SelectedNetwork>,
}

/// One budget's network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedNetwork {
    /// The budget's `name` in the TOML (what `network!(.., budget = "..")` names).
    pub name: String,
    /// The budget value, in `unit` (the largest subnet's cost when the budget set no
    /// cost limit: see `cost_limit`).
    pub budget: f64,
    /// False when the budget set only weight or memory limits.
    #[serde(default = "yes")]
    pub cost_limit: bool,
    /// What `budget` and `predicted_cost` are measured in.
    pub unit: CostUnit,
    /// The chosen subnet (validated when the selection is read).
    pub arch: Arch,
    /// Width of the supernet it comes from.
    pub width: Width,
    /// Input resolution in pixels.
    pub resolution: u32,
    /// The device cost model's prediction, in `unit`.
    pub predicted_cost: f64,
    /// The accuracy model's ImageNet top-1 prediction (%).
    pub predicted_top1: f64,
    /// Multiply-accumulates of the subnet.
    pub macs: u64,
    /// Parameters of the subnet.
    pub params: u64,
    /// Which generator chose the arch (model directory or "embedded", seed).
    pub chosen_by: String,
    /// Absolute path of this network's weights (only its tensors), named by their content:
    /// budgets that chose the same subnet share one file, and a new build never overwrites a
    /// file the previous selection names.
    pub weights_file: String,
    /// [`content_hash`] of the weights file's bytes, checked by `network!`.
    pub weights_hash: String,
    /// Human-readable origin of the weights.
    pub weights_origin: String,
    /// The seed of synthetic weights: `Some` means UNTRAINED (predictions are meaningless).
    pub synthetic_seed: Option<u64>,
    /// The budget's `weights_mb` limit, if it set one.
    #[serde(default)]
    pub weights_limit_mb: Option<f64>,
    /// The budget's `peak_memory_mb` limit, if it set one.
    #[serde(default)]
    pub peak_memory_limit_mb: Option<f64>,
    /// Bytes of the embedded weights file (exact).
    #[serde(default)]
    pub weights_bytes: u64,
    /// Predicted peak activation bytes of one run (`pnag_runtime::memory`).
    #[serde(default)]
    pub peak_memory_bytes: u64,
    /// The budget key whose limit the answer is closest to (`latency_ms`, `macs_m`,
    /// `weights_mb` or `peak_memory_mb`).
    #[serde(default)]
    pub binding: String,
}

fn yes() -> bool {
    true
}

impl SelectedNetwork {
    /// True for seeded synthetic weights (never trained).
    pub fn untrained(&self) -> bool {
        self.synthetic_seed.is_some()
    }
}

impl Selection {
    /// Reads and checks a selection file; the error says what to do.
    pub fn read(path: &Path) -> Result<Self, SelectionError> {
        let text = crate::files::read_input_text(path, crate::files::MAX_TEXT_BYTES).map_err(
            |source| SelectionError::Missing {
                path: path.into(),
                source,
            },
        )?;
        // The format first, so an older layout is reported as such, not as a parse error.
        #[derive(Deserialize)]
        struct Header {
            format: u32,
        }
        let invalid = |source: serde_json::Error| SelectionError::Invalid {
            path: path.into(),
            source,
        };
        let header: Header = serde_json::from_str(&text).map_err(invalid)?;
        if header.format != SELECTION_FORMAT {
            return Err(SelectionError::Format {
                path: path.into(),
                found: header.format,
            });
        }
        serde_json::from_str(&text).map_err(invalid)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pnag-selection-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("selection.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    const NET: &str = r#"{"name": "fast", "budget": 20.0, "unit": "ms",
        "arch": "2,2,2,2,2:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0",
        "width": "1.2", "resolution": 224, "predicted_cost": 12.0, "predicted_top1": 77.7, "macs": 1,
        "params": 1, "chosen_by": "test", "weights_file": "w.safetensors", "weights_hash": "0",
        "weights_origin": "synthetic (untrained, seed 0)", "synthetic_seed": 0}"#;

    fn selection(runtime: &str, net: &str) -> String {
        format!(
            r#"{{"format": {SELECTION_FORMAT}, "targets": "t.toml", "device": "host", "runtime": "{runtime}",
            "cuda_fallback": false, "threads": 1, "networks": [{net}]}}"#
        )
    }

    #[test]
    fn a_selection_reads_back_typed() {
        let path = write("ok", &selection("cuda", NET));
        let sel = Selection::read(&path).unwrap();
        assert_eq!(sel.runtime, RuntimeKind::Cuda);
        let net = sel.network("fast").unwrap();
        assert_eq!((net.unit, net.width), (CostUnit::Ms, Width::W1_2));
        assert_eq!(net.arch, Arch::smallest());
        // Written and read back: the same value.
        let json = serde_json::to_string(&sel).unwrap();
        assert_eq!(serde_json::from_str::<Selection>(&json).unwrap(), sel);
    }

    #[test]
    fn values_outside_their_types_are_refused_naming_the_file() {
        let bad_arch = NET.replace("2,2,2,2,2:", "2,2,2,2,5:");
        let bad_unit = NET.replace(r#""unit": "ms""#, r#""unit": "seconds""#);
        for (name, text, expected) in [
            (
                "arch",
                selection("cpu", &bad_arch),
                "depth 5 is not in the space",
            ),
            (
                "unit",
                selection("cpu", &bad_unit),
                "unknown variant `seconds`",
            ),
            ("runtime", selection("tpu", NET), "unknown variant `tpu`"),
            (
                "width",
                selection("cpu", &NET.replace(r#""1.2""#, r#""1.5""#)),
                "width 1.5",
            ),
        ] {
            let path = write(name, &text);
            let err = Selection::read(&path).unwrap_err();
            assert!(
                matches!(err, SelectionError::Invalid { .. }),
                "{name}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains(&path.display().to_string()) && msg.contains(expected),
                "{name}: {msg}"
            );
        }
        let old = write(
            "format",
            &selection("cpu", NET)
                .replace(&format!("\"format\": {SELECTION_FORMAT}"), "\"format\": 1"),
        );
        assert!(matches!(
            Selection::read(&old),
            Err(SelectionError::Format { found: 1, .. })
        ));
    }
}
