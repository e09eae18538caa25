//! One generator for every device: PNAG's policy conditioned on the device as
//! well as on the budget (issue 22, item 3; the MODNAS / HELP idea).
//!
//! A device is represented by its latencies on the 20 reference subnets
//! ([`crate::device::reference_archs`]) as centred logs, `r_i = ln t_i − mean_j ln t_j`
//! (shape only: the scale is irrelevant because budgets are positions in the
//! device's own cost range). The policy's input is linear (`W_ih · (b + prev)`),
//! so conditioning is one extra matrix: the device vector `W_dev · r` is added
//! to the interpolated budget embedding. Because interpolation is convex,
//! adding it to every embedding row gives the same vector — so
//! [`ConditionedGenerator::for_device`] turns the shared policy into an ordinary
//! [`Generator`] for one device (rows shifted, budgets placed at the trained
//! positions of that device's range) and sampling, the frontier and
//! refinement run unchanged. Training: `pnag train-conditioned` (feature `train`).

use std::path::Path;

use pnag_runtime::selection::content_hash;
use pnag_runtime::weights::{parse_safetensors, read_f32, WeightTensor};
use pnag_runtime::Arch;
use serde::{Deserialize, Serialize};

use super::{Generator, GeneratorError, GeneratorManifest, Policy, HIDDEN};
use crate::objective::{ModelIdentity, Objective};

/// Name of the extra weight tensor, `[HIDDEN, references]`.
pub const DEVICE_PROJECTION: &str = "device_projection";
/// Directory (under `models/`) and manifest `device` of the shipped conditioned generator.
pub const CONDITIONED: &str = "device-conditioned";

/// How the generator was conditioned and on which devices (in `generator.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conditioning {
    /// Reference subnets the device vector is made of (their latencies, centred logs).
    pub references: usize,
    /// Devices (cost models) trained on.
    pub devices: Vec<String>,
    /// Devices kept out of training (a leave-out fold), with their same-hardware siblings.
    pub held_out: Vec<String>,
    /// Devices drawn per REINFORCE iteration.
    pub devices_per_iteration: usize,
}

/// The device representation: centred natural logs of the reference latencies.
pub fn device_vector(reference_ms: &[f64]) -> Vec<f64> {
    let logs: Vec<f64> = reference_ms.iter().map(|t| t.ln()).collect();
    let mean = logs.iter().sum::<f64>() / logs.len().max(1) as f64;
    logs.iter().map(|l| l - mean).collect()
}

/// A device-conditioned generator, ready to be instantiated for any device.
#[derive(Debug, Clone)]
pub struct ConditionedGenerator {
    /// The shared manifest: `budgets` are positions in [0, 1] of a device's range.
    pub manifest: GeneratorManifest,
    /// How it was conditioned.
    pub conditioning: Conditioning,
    /// The shared policy; an instance for a device shifts its budget embeddings.
    policy: Policy,
    projection: WeightTensor,
    origin: String,
}

impl ConditionedGenerator {
    /// The one shipped in `models/device-conditioned` (embedded).
    pub fn embedded() -> Result<Self, GeneratorError> {
        let (manifest, weights) = super::shipped(CONDITIONED)
            .ok_or_else(|| GeneratorError::NotShipped(CONDITIONED.into()))?;
        Self::from_bytes(manifest, weights, &format!("models/{CONDITIONED}"))
    }

    /// Loads `<dir>/generator.json` and `<dir>/generator.safetensors`.
    pub fn load(dir: &Path) -> Result<Self, GeneratorError> {
        let (manifest, weights) = super::read_model_dir(dir)?;
        Self::from_bytes(&manifest, &weights, &dir.display().to_string())
    }

    /// Builds from just-trained tensors (the policy's and [`DEVICE_PROJECTION`]).
    pub fn from_tensors(
        manifest: &GeneratorManifest,
        tensors: &[(String, WeightTensor)],
    ) -> Result<Self, GeneratorError> {
        let (json, bytes) = super::model_bytes(manifest.clone(), tensors);
        Self::from_bytes(&json, &bytes, "(trained)")
    }

    /// Parses and checks: the policy as [`Generator::from_bytes`] does, plus the
    /// conditioning block and the projection tensor.
    pub fn from_bytes(
        manifest: &[u8],
        weights: &[u8],
        origin: &str,
    ) -> Result<Self, GeneratorError> {
        let shared = Generator::from_bytes(manifest, weights, origin)?;
        let path = format!("{origin}/{}", super::MANIFEST_FILE);
        let bad = |reason: &str| GeneratorError::Manifest {
            path: path.clone(),
            reason: reason.into(),
        };
        let m = &shared.manifest;
        let conditioning = m
            .conditioning
            .clone()
            .ok_or_else(|| bad("no `conditioning` block: not a device-conditioned generator"))?;
        let positions_ok = m.budgets.first() == Some(&0.0) && m.budgets.last() == Some(&1.0);
        if !positions_ok || m.range != [0.0, 1.0] {
            return Err(bad(
                "`budgets` must be positions from 0 to 1 of a device's range, `range` [0, 1]",
            ));
        }
        let wpath = format!("{origin}/{}", super::WEIGHTS_FILE);
        let st = parse_safetensors(weights, &wpath)?;
        let expected = [HIDDEN, conditioning.references];
        let found = st
            .tensor(DEVICE_PROJECTION)
            .map(|v| v.shape().to_vec())
            .unwrap_or_default();
        if found != expected {
            return Err(GeneratorError::Shape {
                path: wpath,
                tensor: DEVICE_PROJECTION.into(),
                found,
                expected: expected.to_vec(),
            });
        }
        let projection = read_f32(&st, &wpath, DEVICE_PROJECTION, &expected)?;
        Ok(ConditionedGenerator {
            manifest: shared.manifest,
            conditioning,
            policy: shared.policy,
            projection,
            origin: origin.into(),
        })
    }

    /// `W_dev · r` for a device with these reference latencies (ms).
    pub fn device_shift(&self, reference_ms: &[f64]) -> Result<Vec<f32>, GeneratorError> {
        let n = self.conditioning.references;
        if reference_ms.len() != n || reference_ms.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(GeneratorError::Manifest {
                path: self.origin.clone(),
                reason: format!(
                    "conditioning needs {n} positive reference latencies, got {}",
                    reference_ms.len()
                ),
            });
        }
        let r = device_vector(reference_ms);
        Ok(self
            .projection
            .data
            .chunks_exact(n)
            .map(|row| row.iter().zip(&r).map(|(w, x)| w * *x as f32).sum())
            .collect())
    }

    /// The generator for one device: `objective` (its cost model, predicted or
    /// true) places the trained positions in its range `[cost(smallest),
    /// cost(largest)]`, and its reference latencies (ms) give the device vector.
    pub fn for_device(
        &self,
        objective: &Objective,
        reference_ms: &[f64],
    ) -> Result<Generator, GeneratorError> {
        let m = &self.manifest;
        super::check_width_resolution(m, &self.origin, objective)?;
        let shift = self.device_shift(reference_ms)?;
        let (lo, hi) = (
            objective.cost(Arch::smallest())?,
            objective.cost(Arch::largest())?,
        );
        if !(lo.is_finite() && hi > lo) {
            return Err(GeneratorError::BadBudget(hi - lo));
        }
        // Interpolation is convex, so shifting every row shifts every budget vector.
        let mut policy = self.policy.clone();
        for row in policy.budget_embedding.data.chunks_exact_mut(HIDDEN) {
            row.iter_mut().zip(&shift).for_each(|(x, s)| *x += s);
        }
        // `weights_hash` stays the shared file's: the weights this instance came from.
        let manifest = GeneratorManifest {
            device: objective.device.clone(),
            unit: objective.unit(),
            models: objective.identity().clone(),
            budgets: m.budgets.iter().map(|p| lo + p * (hi - lo)).collect(),
            range: [lo, hi],
            ..m.clone()
        };
        Ok(Generator {
            manifest,
            policy,
            origin: format!("{} (conditioned on `{}`)", self.origin, objective.device),
        })
    }

    /// The identity a trained conditioned generator records: no single cost
    /// model (budgets are positions), the accuracy model it was trained with.
    pub fn identity(accuracy: &ModelIdentity) -> ModelIdentity {
        ModelIdentity {
            cost_model: "any device (budgets are positions in its range)".into(),
            cost_hash: content_hash(b"device-conditioned"),
            ..accuracy.clone()
        }
    }
}
