//! Learned predictors (latency or accuracy) for the pure-Rust side: an MLP read
//! from safetensors plus a JSON manifest saying how features and targets are
//! encoded. Training lives in the `pnag` CLI (`pnag_cli::train`, feature `train`, tch); inference
//! here needs no libtorch.
//!
//! Features: PNAG's 120-d one-hot, then `r/224` and `(r/224)^2` (the resolution
//! varies in the measured sets; latency grows with its square).

pub mod dense;

use std::path::Path;

use pnag_runtime::encoding::{pnag_onehot, PNAG_FEATURES};
use pnag_runtime::weights::{parse_safetensors, read_f32, serialize_f32, WeightTensor};
use pnag_runtime::{Arch, RuntimeError};
use serde::{Deserialize, Serialize};

use crate::predictor::dense::Dense;
use crate::stats::metrics::Metrics;

/// Length of the learned predictors' input.
pub const FEATURES: usize = PNAG_FEATURES + 2;

/// The predictors' input for `arch` at `resolution`.
pub fn features(arch: &Arch, resolution: u32) -> Vec<f32> {
    let mut f = pnag_onehot(arch).to_vec();
    let r = resolution as f32 / 224.0;
    f.extend([r, r * r]);
    f
}

/// Why a predictor could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PredictorError {
    /// A file could not be read.
    #[error("predictor `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is not JSON of the predictor layout.
    #[error("predictor manifest `{path}`: {source}")]
    ManifestJson {
        /// The manifest.
        path: String,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    #[error("predictor manifest `{path}`: {reason}")]
    /// The manifest is invalid.
    Manifest {
        /// The manifest.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer's weight has the wrong shape.
    #[error("predictor weights {origin}: layer `{layer}` has shape {found:?}, expected [out, {expected_in}]")]
    Layer {
        /// The weights.
        origin: String,
        /// The layer.
        layer: String,
        /// Its shape.
        found: Vec<usize>,
        /// The input width the previous layer implies.
        expected_in: usize,
    },
    /// The weights file is invalid.
    #[error(transparent)]
    Weights(#[from] RuntimeError),
}

/// Dot product with 8 independent partial sums: the compiler can keep them in
/// one SIMD register (a plain `.sum()` must add in order and stays scalar).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A ReLU MLP: `layers.{i}.weight [out, in]`, `layers.{i}.bias [out]`.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<(WeightTensor, WeightTensor)>,
    /// The same layers, laid out for inference.
    dense: Vec<Dense>,
}

impl Mlp {
    /// Reads the layers named `names` (in order) and checks they chain from `inputs`.
    pub fn from_safetensors(
        bytes: &[u8],
        origin: &str,
        names: &[String],
        inputs: usize,
    ) -> Result<Self, PredictorError> {
        let st = parse_safetensors(bytes, origin)?;
        let mut layers = Vec::new();
        let mut width = inputs;
        for name in names {
            let key = format!("{name}.weight");
            let shape = st
                .tensor(&key)
                .map(|v| v.shape().to_vec())
                .unwrap_or_default();
            if shape.len() != 2 || shape[1] != width {
                return Err(PredictorError::Layer {
                    origin: origin.into(),
                    layer: key,
                    found: shape,
                    expected_in: width,
                });
            }
            let w = read_f32(&st, origin, &key, &shape)?;
            let b = read_f32(&st, origin, &format!("{name}.bias"), &shape[..1])?;
            width = shape[0];
            layers.push((w, b));
        }
        Ok(Mlp::from_layers(layers))
    }

    /// Builds from in-memory layers (e.g. just trained).
    pub fn from_layers(layers: Vec<(WeightTensor, WeightTensor)>) -> Self {
        let dense = layers
            .iter()
            .map(|(w, b)| Dense::new(&w.data, &b.data))
            .collect();
        Mlp { layers, dense }
    }

    /// The `(weight, bias)` of each layer, input first.
    pub fn layers(&self) -> &[(WeightTensor, WeightTensor)] {
        &self.layers
    }

    /// FNV-1a over every weight's little-endian bytes (see [`pnag_runtime::hash::fnv1a64`]).
    pub fn content_hash(&self) -> u64 {
        let bytes: Vec<u8> = self
            .layers
            .iter()
            .flat_map(|(w, b)| w.data.iter().chain(&b.data))
            .flat_map(|v| v.to_le_bytes())
            .collect();
        pnag_runtime::hash::fnv1a64([bytes.as_slice()])
    }

    /// Output of the last layer (ReLU after every other layer).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        self.forward_batch(vec![x.to_vec()])
            .pop()
            .expect("one input, one output")
    }

    /// [`Mlp::forward`] for several inputs at once: the same bits, several times faster.
    pub fn forward_batch(&self, xs: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
        let last = self.dense.len().saturating_sub(1);
        self.dense
            .iter()
            .enumerate()
            .fold(xs, |hs, (i, layer)| layer.forward(&hs, i < last))
    }
}

/// How a predictor's raw output maps back to its quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The MLP predicts standardized `ln(value)` (latency: relative errors matter).
    Log,
    /// The MLP predicts the standardized value.
    Identity,
}

/// Maps a raw (standardized) MLP output back to the predicted quantity.
pub fn decode(target: Target, mean: f64, std: f64, raw: f32) -> f64 {
    let v = raw as f64 * std + mean;
    match target {
        Target::Log => v.exp(),
        Target::Identity => v,
    }
}

/// Everything needed to use and audit a trained predictor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The predictor's name.
    pub name: String,
    /// Content hash (FNV-1a 64) of the weights file trained with this manifest.
    #[serde(default)]
    pub weights_hash: String,
    /// `latency` or `accuracy`.
    pub kind: String,
    /// What the number means, e.g. "ms per batch of 64 on a TITAN Xp".
    pub unit: String,
    /// Supernet width of its data.
    pub width: String,
    /// Resolutions of its data.
    pub resolutions: Vec<u32>,
    /// The data set it was trained on.
    pub data: String,
    /// What it predicts.
    pub target: Target,
    /// Mean of the training targets (outputs are de-standardized with it).
    pub target_mean: f64,
    /// Standard deviation of the training targets.
    pub target_std: f64,
    /// Hidden layer widths (empty: linear).
    pub hidden: Vec<usize>,
    /// Split and initialization seed.
    pub seed: u64,
    /// Train / validation / test sizes.
    pub split: [usize; 3],
    /// Training epochs.
    pub epochs: usize,
    /// Wall-clock training time.
    pub train_seconds: f64,
    /// Validation-split metrics.
    pub validation: Metrics,
    /// Test-split metrics (never used for selection).
    pub test: Metrics,
    /// Every architecture tried, with its validation metrics (the kept one is `hidden`).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
}

/// One trained architecture and how it did on the validation split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    /// Hidden layer widths tried.
    pub hidden: Vec<usize>,
    /// Its validation metrics.
    pub validation: Metrics,
}

/// A trained MLP predictor with its manifest.
#[derive(Debug, Clone)]
pub struct LearnedPredictor {
    /// What was trained and how well.
    pub manifest: Manifest,
    mlp: Mlp,
}

impl LearnedPredictor {
    /// A predictor from its manifest and network.
    pub fn new(manifest: Manifest, mlp: Mlp) -> Self {
        LearnedPredictor { manifest, mlp }
    }

    /// Loads `<dir>/<name>.json` + `<dir>/<name>.safetensors`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, PredictorError> {
        let json_path = dir.join(format!("{name}.json"));
        let st_path = dir.join(format!("{name}.safetensors"));
        let read = |p: &Path| {
            pnag_runtime::files::read_input(p, pnag_runtime::files::MAX_WEIGHTS_BYTES).map_err(
                |source| PredictorError::Io {
                    path: p.display().to_string(),
                    source,
                },
            )
        };
        Self::from_bytes(
            &read(&json_path)?,
            &read(&st_path)?,
            &json_path.display().to_string(),
        )
    }

    /// Parses a manifest and weights (e.g. embedded with `include_bytes!`).
    pub fn from_bytes(
        manifest: &[u8],
        weights: &[u8],
        origin: &str,
    ) -> Result<Self, PredictorError> {
        let manifest: Manifest =
            serde_json::from_slice(manifest).map_err(|source| PredictorError::ManifestJson {
                path: origin.into(),
                source,
            })?;
        let found = pnag_runtime::selection::content_hash(weights);
        if found != manifest.weights_hash {
            return Err(PredictorError::Manifest {
                path: origin.into(),
                reason: format!(
                    "`weights_hash` is `{}`, but the weights file hashes to {found}: it belongs to another training (retrain or re-save)",
                    manifest.weights_hash
                ),
            });
        }
        let names: Vec<String> = (0..=manifest.hidden.len())
            .map(|i| format!("layers.{i}"))
            .collect();
        let mlp = Mlp::from_safetensors(weights, origin, &names, FEATURES)?;
        Ok(LearnedPredictor { manifest, mlp })
    }

    /// Predicted latency (ms) or top-1 (%).
    pub fn predict(&self, arch: &Arch, resolution: u32) -> f64 {
        self.predict_many(std::slice::from_ref(arch), resolution)[0]
    }

    /// [`LearnedPredictor::predict`] of several archs (the same bits, batched).
    pub fn predict_many(&self, archs: &[Arch], resolution: u32) -> Vec<f64> {
        let m = &self.manifest;
        let xs = archs.iter().map(|a| features(a, resolution)).collect();
        self.mlp
            .forward_batch(xs)
            .iter()
            .map(|out| decode(m.target, m.target_mean, m.target_std, out[0]))
            .collect()
    }

    /// The network.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// Hash of the weights and of how outputs are decoded.
    pub fn content_hash(&self) -> u64 {
        let m = &self.manifest;
        let decoding = format!("{:?} {} {}", m.target, m.target_mean, m.target_std);
        pnag_runtime::hash::fnv1a64([
            self.mlp.content_hash().to_le_bytes().as_slice(),
            decoding.as_bytes(),
        ])
    }

    /// Writes `<dir>/<name>.safetensors` and `<dir>/<name>.json`, each atomically.
    pub fn save(&self, dir: &Path) -> Result<(), PredictorError> {
        let io = |source: std::io::Error| PredictorError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let names: Vec<(String, &WeightTensor)> = self
            .mlp
            .layers
            .iter()
            .enumerate()
            .flat_map(|(i, (w, b))| {
                [
                    (format!("layers.{i}.weight"), w),
                    (format!("layers.{i}.bias"), b),
                ]
            })
            .collect();
        let bytes = serialize_f32(
            names.iter().map(|(n, t)| (n.as_str(), *t)),
            Some(("pnag.predictor", self.manifest.name.clone())),
        );
        let name = &self.manifest.name;
        let manifest = Manifest {
            weights_hash: pnag_runtime::selection::content_hash(&bytes),
            ..self.manifest.clone()
        };
        pnag_runtime::files::write_atomic(&dir.join(format!("{name}.safetensors")), &bytes)?;
        let json = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
        pnag_runtime::files::write_atomic(&dir.join(format!("{name}.json")), json.as_bytes())?;
        Ok(())
    }
}

/// The trained predictors shipped in `models/predictors/` (embedded: no files needed at run time).
pub fn embedded(name: &str) -> Result<LearnedPredictor, PredictorError> {
    let (manifest, weights): (&[u8], &[u8]) = match name {
        "titan-xp" => (
            include_bytes!("../../models/predictors/titan-xp.json"),
            include_bytes!("../../models/predictors/titan-xp.safetensors"),
        ),
        "moofa-w1.0" => (
            include_bytes!("../../models/predictors/moofa-w1.0.json"),
            include_bytes!("../../models/predictors/moofa-w1.0.safetensors"),
        ),
        other => {
            return Err(PredictorError::Manifest {
                path: other.into(),
                reason: "no such embedded predictor (titan-xp, moofa-w1.0)".into(),
            })
        }
    };
    LearnedPredictor::from_bytes(manifest, weights, &format!("models/predictors/{name}"))
}
