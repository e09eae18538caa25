//! Accuracy models: subnet → predicted ImageNet top-1 (%).
//!
//! [`OfaPredictor`] is a pure-Rust port of OFA's official accuracy predictor
//! (w1.2; `ofa/tutorial/accuracy_predictor.py`), weights embedded from
//! `data/ofa_acc_predictor.safetensors`: an MLP 128→400→400→400→1 with ReLU over
//! the 128-d encoding of [`pnag_runtime::encoding::ofa_predictor_features`].

use pnag_runtime::encoding::{ofa_predictor_features, OFA_FEATURES};
use pnag_runtime::{Arch, ArchError, RuntimeError, Width};

use crate::predictor::Mlp;

const WEIGHTS: &[u8] = include_bytes!("../data/ofa_acc_predictor.safetensors");
/// Resolutions the predictor was trained for (OFA's tutorial search range).
pub const OFA_PREDICTOR_RESOLUTIONS: [u32; 5] = [160, 176, 192, 208, 224];

/// Why an accuracy could not be predicted.
#[derive(Debug, thiserror::Error)]
pub enum AccuracyError {
    /// The model does not cover this width.
    #[error("accuracy model `{model}` covers width {supported} only, not {width}")]
    Width {
        /// The model's name.
        model: &'static str,
        /// Width asked for.
        width: Width,
        /// The widths it covers.
        supported: &'static str,
    },
    /// The model does not cover this resolution.
    #[error("accuracy model `{model}` covers resolutions {supported}, not {resolution}")]
    Resolution {
        /// The model's name.
        model: &'static str,
        /// Resolution asked for.
        resolution: u32,
        /// The resolutions it covers.
        supported: &'static str,
    },
    /// The arch is not in the search space.
    #[error(transparent)]
    Arch(#[from] ArchError),
    /// The embedded weights are invalid.
    #[error(transparent)]
    Weights(#[from] RuntimeError),
    /// A learned predictor could not be loaded.
    #[error(transparent)]
    Predictor(#[from] crate::predictor::PredictorError),
}

/// A predictor of top-1 accuracy (`Sync`: searches share it across threads).
pub trait AccuracyModel: Send + Sync {
    /// Identity shown next to its numbers.
    fn name(&self) -> &'static str;
    /// Predicted top-1 in percent.
    fn top1(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, AccuracyError>;
    /// [`AccuracyModel::top1`] of several archs (the same numbers; batched where that is faster).
    fn top1_many(
        &self,
        archs: &[Arch],
        width: Width,
        resolution: u32,
    ) -> Result<Vec<f64>, AccuracyError> {
        archs
            .iter()
            .map(|&a| self.top1(a, width, resolution))
            .collect()
    }
    /// A hash of the model's weights (see [`crate::cost::CostModel::content_hash`]).
    fn content_hash(&self) -> u64;
}

/// OFA's official accuracy predictor (w1.2).
pub struct OfaPredictor {
    mlp: Mlp,
}

impl OfaPredictor {
    /// Loads the embedded weights (`torch.nn.Sequential` indices 0, 2, 4, 6 are its Linear layers).
    pub fn embedded() -> Result<Self, AccuracyError> {
        let names: Vec<String> = ["0", "2", "4", "6"].map(String::from).to_vec();
        Ok(OfaPredictor {
            mlp: Mlp::from_safetensors(
                WEIGHTS,
                "data/ofa_acc_predictor.safetensors",
                &names,
                OFA_FEATURES,
            )?,
        })
    }

    /// The raw MLP output (a fraction) for a 128-d feature vector.
    pub fn forward(&self, features: &[f32]) -> f64 {
        self.mlp.forward(features)[0] as f64
    }
}

impl AccuracyModel for OfaPredictor {
    fn name(&self) -> &'static str {
        "ofa-predictor (OFA official, w1.2, 10k ImageNet-train holdout)"
    }

    fn top1(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, AccuracyError> {
        Ok(self.top1_many(&[arch], width, resolution)?[0])
    }

    fn top1_many(
        &self,
        archs: &[Arch],
        width: Width,
        resolution: u32,
    ) -> Result<Vec<f64>, AccuracyError> {
        check_ofa_predictor(width, resolution)?;
        let features = archs
            .iter()
            .map(|a| ofa_predictor_features(a, resolution).map(|f| f.to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .mlp
            .forward_batch(features)
            .iter()
            .map(|out| 100.0 * out[0] as f64)
            .collect())
    }

    fn content_hash(&self) -> u64 {
        pnag_runtime::hash::fnv1a64([WEIGHTS])
    }
}

fn check_ofa_predictor(width: Width, resolution: u32) -> Result<(), AccuracyError> {
    if width != Width::W1_2 {
        return Err(AccuracyError::Width {
            model: "ofa-predictor",
            width,
            supported: "1.2",
        });
    }
    if !OFA_PREDICTOR_RESOLUTIONS.contains(&resolution) {
        return Err(AccuracyError::Resolution {
            model: "ofa-predictor",
            resolution,
            supported: "160, 176, 192, 208, 224",
        });
    }
    Ok(())
}

/// Top-1 learned from measured ImageNet accuracies of w1.0 subnets
/// (`models/predictors/moofa-w1.0`, r = 128–192).
pub struct MeasuredW10 {
    predictor: crate::predictor::LearnedPredictor,
}

impl MeasuredW10 {
    /// OFA's w1.0 predictor learned from measured top-1 (embedded `moofa-w1.0`).
    pub fn embedded() -> Result<Self, AccuracyError> {
        Ok(MeasuredW10 {
            predictor: crate::predictor::embedded("moofa-w1.0")?,
        })
    }
}

impl AccuracyModel for MeasuredW10 {
    fn name(&self) -> &'static str {
        "moofa-w1.0 (learned from 2,610 measured ImageNet top-1, w1.0)"
    }

    fn top1(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, AccuracyError> {
        if width != Width::W1_0 {
            return Err(AccuracyError::Width {
                model: "moofa-w1.0",
                width,
                supported: "1.0",
            });
        }
        if !(128..=192).contains(&resolution) {
            return Err(AccuracyError::Resolution {
                model: "moofa-w1.0",
                resolution,
                supported: "128..=192 (the measured range)",
            });
        }
        Ok(self.predictor.predict(&arch, resolution))
    }

    fn content_hash(&self) -> u64 {
        self.predictor.content_hash()
    }
}

/// The default accuracy model of a width: OFA's official predictor for w1.2
/// (trained on OFA's own holdout across the searched resolutions), the
/// measured-accuracy predictor for w1.0 (OFA publishes no w1.0 predictor).
pub fn default_for(width: Width) -> Result<Box<dyn AccuracyModel>, AccuracyError> {
    Ok(match width {
        Width::W1_2 => Box::new(OfaPredictor::embedded()?),
        Width::W1_0 => Box::new(MeasuredW10::embedded()?),
    })
}
