//! PNAG's budget-conditioned generator at inference time, in pure Rust (no
//! libtorch): load a trained policy and its manifest, then for any budget
//! interpolate the budget embedding, sample candidates, keep the feasible
//! ones under the device's cost model (paper, Section 3.5), refine the best
//! few by hill climbing ([`refine`]) and return the most accurate. Training
//! is `pnag_cli::train::generator` (feature `train`).

pub mod device_conditioned;
mod frontier;
mod frugal;
pub mod policy;
pub mod refine;
pub mod resolutions;

use std::path::Path;

use pnag_runtime::files::write_atomic;
use pnag_runtime::selection::content_hash;
use pnag_runtime::weights::{parse_safetensors, read_f32, serialize_f32, WeightTensor};
use pnag_runtime::{Arch, RuntimeError};
use serde::{Deserialize, Serialize};

use crate::cost::CostUnit;
use crate::objective::{ModelIdentity, Objective, ObjectiveError, RewardKind, Scored};
use crate::rng::SplitMix64;
use frontier::{generated, Search, Work};
pub use frontier::{Frontier, GRID_SEARCHES};
pub use policy::{Policy, HIDDEN};

/// Version of the model format; bumped when the policy's equations change.
pub const FORMAT: u32 = 1;
/// Manifest and weights file names inside a model directory.
pub const MANIFEST_FILE: &str = "generator.json";
/// Weights file name inside a model directory.
pub const WEIGHTS_FILE: &str = "generator.safetensors";

/// Why a generator could not be loaded or could not answer.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// A model file could not be read.
    #[error("generator `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is not JSON of the generator layout.
    #[error("generator manifest `{path}`: {source}")]
    ManifestJson {
        /// The manifest.
        path: String,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    #[error("generator manifest `{path}`: {reason}")]
    /// The manifest is invalid.
    Manifest {
        /// The manifest.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The weights file is invalid.
    #[error(transparent)]
    Weights(#[from] RuntimeError),
    /// A tensor has the wrong shape.
    #[error(
        "generator weights `{path}`: tensor `{tensor}` has shape {found:?}, expected {expected:?}"
    )]
    Shape {
        /// The weights file.
        path: String,
        /// The tensor.
        tensor: String,
        /// Its shape.
        found: Vec<usize>,
        /// The shape the manifest implies.
        expected: Vec<usize>,
    },
    /// Trained with other models or settings than this run uses.
    #[error("generator `{path}` was trained for {what} `{trained}`, but this run uses `{current}`; retrain with `pnag train --device {device}`")]
    Mismatch {
        /// The generator.
        path: String,
        /// What differs (device, width, model hash, …).
        what: &'static str,
        /// The trained value.
        trained: String,
        /// This run's value.
        current: String,
        /// The device (for the retrain hint).
        device: String,
    },
    /// No generator is shipped for this device.
    #[error("no trained generator is shipped for device `{0}` (train one with `pnag train --device {0}`)")]
    NotShipped(String),
    /// The budget is zero, negative or not a number.
    #[error("budget {} is not a positive number", num(*.0))]
    BadBudget(f64),
    /// The budget is below the cheapest subnet on the device.
    #[error("budget {} {unit} is below device `{device}`'s minimum {min:.2} {unit} (its cheapest known subnet)", num(*budget))]
    BelowMinimum {
        /// The device.
        device: String,
        /// The budget.
        budget: f64,
        /// The cheapest known subnet's cost.
        min: f64,
        /// The cost unit.
        unit: String,
    },
    /// No sampled candidate met the budget.
    #[error("no feasible subnet under {budget} {unit} in {drawn} samples (cheapest sampled: {cheapest:.2} {unit}); raise the budget or `--samples`")]
    NoneFeasible {
        /// The budget.
        budget: f64,
        /// The cost unit.
        unit: String,
        /// Samples drawn.
        drawn: usize,
        /// The cheapest sampled cost.
        cheapest: f64,
    },
    /// No subnet meets a budget's weight or memory limits (the message names each
    /// limit with the least value any subnet reaches).
    #[error("{0}")]
    Unsatisfiable(String),
    /// The cost or accuracy model is unavailable.
    #[error(transparent)]
    Objective(#[from] ObjectiveError),
}

/// What was trained, on which models, and how well (`generator.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorManifest {
    /// Manifest layout version.
    pub format: u32,
    /// Content hash (FNV-1a 64, `pnag_runtime::selection::content_hash`) of the weights file
    /// trained with this manifest: a manifest never loads another training's weights.
    #[serde(default)]
    pub weights_hash: String,
    /// The device trained for.
    pub device: String,
    /// What the budgets are measured in.
    pub unit: CostUnit,
    /// Supernet width (`1.0` or `1.2`).
    pub width: String,
    /// Input resolution.
    pub resolution: u32,
    /// The cost and accuracy models trained with (names and content hashes).
    pub models: ModelIdentity,
    /// The reward trained with.
    pub reward: RewardKind,
    /// The K trained budgets, ascending (the embedding rows, in order).
    pub budgets: Vec<f64>,
    /// The device's cost range the budgets span (smallest, largest subnet).
    pub range: [f64; 2],
    /// LSTM hidden units.
    pub hidden: usize,
    /// Training seed.
    pub seed: u64,
    /// Training settings and outcomes.
    pub training: TrainingReport,
    /// Set for the device-conditioned generator ([`device_conditioned`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditioning: Option<device_conditioned::Conditioning>,
}

/// Training settings and measured outcomes, for audit and for the README.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainingReport {
    /// Archs sampled to train the evaluator (paper: M = 16,000).
    pub archs: usize,
    /// Adam steps of the evaluator's hinge-loss training.
    pub evaluator_steps: usize,
    /// Share of held-out (arch, arch, budget) triples the evaluator orders as Eq. 6 does
    /// (none for the hand-made rewards, which need no evaluator).
    pub evaluator_pair_accuracy: Option<f64>,
    /// REINFORCE iterations of the generator.
    pub iterations: usize,
    /// Samples per budget per iteration (paper: N).
    pub samples_per_budget: usize,
    /// Adam learning rate of the generator.
    pub learning_rate: f64,
    /// Entropy bonus weight (paper: λ).
    pub entropy_coeff: f64,
    /// Policy-gradient baseline: "elite 0.1" (risk-seeking, the best 10 % per
    /// budget) or "moving average 0.9" (the paper's).
    #[serde(default)]
    pub baseline: String,
    /// Share of feasible samples per trained budget at the end of training.
    pub feasible_rate: Vec<f64>,
    /// Wall-clock training time.
    pub seconds: f64,
}

/// A trained generator, ready for inference.
#[derive(Debug, Clone)]
pub struct Generator {
    /// What was trained and how.
    pub manifest: GeneratorManifest,
    policy: Policy,
    origin: String,
}

/// Inference settings.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Candidates sampled per round (default 30: with refinement the samples
    /// only have to land near the optimum; 50 or 100 cost time without better
    /// answers — see the README's frontier benchmark).
    pub samples: usize,
    /// Rounds of `samples` before giving up when none is feasible (default 34:
    /// about 1,000 draws, so a budget just above the cheapest subnet still finds one).
    pub max_rounds: usize,
    /// Sampling seed (each budget gets its own stream from it).
    pub seed: u64,
    /// Sampling temperature (1 = the trained policy).
    pub temperature: f32,
    /// Hill-climbing moves after sampling ([`refine`]; 0 = the paper's
    /// Section 3.5 alone: the best sampled candidate).
    pub refine_steps: usize,
    /// How many of the best distinct feasible candidates are refined.
    pub refine_starts: usize,
    /// Also climb under smaller weight and memory levels in every search
    /// (six weight, six memory and six combined levels), so answers with `weights_mb` / `peak_memory_mb` limits have
    /// candidates made for them (about 3× the search time; off: latency-only answers).
    pub frugal: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            samples: 30,
            max_rounds: 34,
            seed: 0,
            temperature: 1.0,
            refine_steps: 20,
            refine_starts: 4,
            frugal: false,
        }
    }
}

/// The answer for one budget.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// The budget asked for, in the device's unit.
    pub budget: f64,
    /// The chosen subnet's arch string.
    pub arch: String,
    /// The input resolution it runs at (px).
    pub resolution: u32,
    /// Its predicted cost, in the device's unit.
    pub cost: f64,
    /// Its predicted ImageNet top-1 (%).
    pub top1: f64,
    /// Its multiply-accumulates, in millions.
    pub mmacs: f64,
    /// Its parameters, in millions.
    pub params_m: f64,
    /// Distinct feasible candidates among the samples drawn (summed over the searches used).
    pub feasible: usize,
    /// Samples drawn (summed over the searches used).
    pub drawn: usize,
    /// Predicted top-1 of the best sampled candidate under the budget, before refinement.
    pub sampled_top1: f64,
    /// Archs scored by the refinement (0 when it is off).
    pub refine_scored: usize,
    /// Grid searches the answer drew on ([`Frontier`]; 0 for [`Generator::search`]).
    pub grid_searches: usize,
    /// Set when the budget is above the trained range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Exact embedded weight bytes and predicted peak memory ([`Frontier::answer_within`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footprint: Option<crate::constraints::Footprint>,
    /// The constraint the answer is closest to ([`Frontier::answer_within`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<crate::constraints::Binding>,
}

/// Refuses to answer for `objective` at another width or resolution than trained
/// (a transferred or device-conditioned generator checks no device or cost model).
fn check_width_resolution(
    m: &GeneratorManifest,
    origin: &str,
    objective: &Objective,
) -> Result<(), GeneratorError> {
    if m.width != objective.width.to_string() || m.resolution != objective.resolution {
        return Err(GeneratorError::Mismatch {
            path: origin.into(),
            what: "width and resolution",
            trained: format!("w{} {} px", m.width, m.resolution),
            current: format!("w{} {} px", objective.width, objective.resolution),
            device: objective.device.clone(),
        });
    }
    Ok(())
}

/// The manifest and weights files of a model directory.
fn read_model_dir(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), GeneratorError> {
    let read = |name: &str| {
        let p = dir.join(name);
        pnag_runtime::files::read_input(&p, pnag_runtime::files::MAX_WEIGHTS_BYTES).map_err(
            |source| GeneratorError::Io {
                path: p.display().to_string(),
                source,
            },
        )
    };
    Ok((read(MANIFEST_FILE)?, read(WEIGHTS_FILE)?))
}

/// A manifest and tensors as the two files' bytes (the manifest's `weights_hash` set).
fn model_bytes(
    manifest: GeneratorManifest,
    tensors: &[(String, WeightTensor)],
) -> (Vec<u8>, Vec<u8>) {
    let bytes = serialize_f32(tensors.iter().map(|(n, t)| (n.as_str(), t)), None);
    let manifest = GeneratorManifest {
        weights_hash: content_hash(&bytes),
        ..manifest
    };
    let json = serde_json::to_vec(&manifest).expect("manifest serializes");
    (json, bytes)
}

/// How a budget at one resolution conditions a policy trained at another: `b · scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BudgetMap {
    scale: f64,
    offset: f64,
}

impl BudgetMap {
    pub(crate) const IDENTITY: BudgetMap = BudgetMap {
        scale: 1.0,
        offset: 0.0,
    };

    fn apply(self, budget: f64) -> f64 {
        budget * self.scale + self.offset
    }
}

/// A number for a message: as written for ordinary magnitudes (`25`, `40.5`), in scientific
/// notation beyond them (`1e308`, not 309 digits).
pub fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-3..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

include!(concat!(env!("OUT_DIR"), "/shipped_generators.rs"));

impl Generator {
    /// The trained generator shipped for a built-in device (embedded: no files needed).
    pub fn embedded(device: &str) -> Result<Self, GeneratorError> {
        let (manifest, weights) =
            shipped(device).ok_or_else(|| GeneratorError::NotShipped(device.into()))?;
        Self::from_bytes(manifest, weights, &format!("models/{device}"))
    }

    /// Loads `<dir>/generator.json` and `<dir>/generator.safetensors`.
    pub fn load(dir: &Path) -> Result<Self, GeneratorError> {
        let (manifest, weights) = read_model_dir(dir)?;
        Self::from_bytes(&manifest, &weights, &dir.display().to_string())
    }

    /// Parses and checks a manifest and its weights.
    pub fn from_bytes(
        manifest: &[u8],
        weights: &[u8],
        origin: &str,
    ) -> Result<Self, GeneratorError> {
        let path = format!("{origin}/{MANIFEST_FILE}");
        let bad = |reason: String| GeneratorError::Manifest {
            path: path.clone(),
            reason,
        };
        let manifest: GeneratorManifest =
            serde_json::from_slice(manifest).map_err(|source| GeneratorError::ManifestJson {
                path: path.clone(),
                source,
            })?;
        if manifest.format != FORMAT {
            return Err(bad(format!(
                "format {} (this pnag reads format {FORMAT}; retrain)",
                manifest.format
            )));
        }
        if manifest.hidden != HIDDEN {
            return Err(bad(format!(
                "hidden {} (expected {HIDDEN})",
                manifest.hidden
            )));
        }
        let k = manifest.budgets.len();
        if k < 1
            || manifest.budgets.windows(2).any(|w| w[0] >= w[1])
            || manifest.budgets.iter().any(|b| !b.is_finite())
        {
            return Err(bad(
                "`budgets` must hold finite, strictly increasing values".into(),
            ));
        }
        let wpath = format!("{origin}/{WEIGHTS_FILE}");
        let found = content_hash(weights);
        if found != manifest.weights_hash {
            return Err(bad(if manifest.weights_hash.is_empty() {
                "no `weights_hash`: written by an older pnag; retrain (or re-save) the generator"
                    .into()
            } else {
                format!(
                    "`weights_hash` is {}, but `{wpath}` hashes to {found}: the weights belong to another training",
                    manifest.weights_hash
                )
            }));
        }
        let st = parse_safetensors(weights, &wpath)?;
        let get = |name: &str, expected: &[usize]| -> Result<WeightTensor, GeneratorError> {
            let found = st
                .tensor(name)
                .map(|v| v.shape().to_vec())
                .unwrap_or_default();
            if found != expected {
                return Err(GeneratorError::Shape {
                    path: wpath.clone(),
                    tensor: name.into(),
                    found,
                    expected: expected.to_vec(),
                });
            }
            Ok(read_f32(&st, &wpath, name, expected)?)
        };
        let h = HIDDEN;
        let budget_embedding = get(policy::BUDGET_EMBEDDING, &[k, h])?;
        let embeddings =
            [0, 1, 2].map(|i| get(policy::DECISION_EMBEDDINGS[i], &[policy::CHOICES, h]));
        let [e0, e1, e2] = embeddings;
        let lstm = [
            get(policy::LSTM[0], &[4 * h, h])?,
            get(policy::LSTM[1], &[4 * h, h])?,
            get(policy::LSTM[2], &[4 * h])?,
            get(policy::LSTM[3], &[4 * h])?,
        ];
        let head = |name: &str| -> Result<_, GeneratorError> {
            Ok((
                get(&format!("{name}.weight"), &[policy::CHOICES, h])?,
                get(&format!("{name}.bias"), &[policy::CHOICES])?,
            ))
        };
        let heads = [
            head(policy::HEADS[0])?,
            head(policy::HEADS[1])?,
            head(policy::HEADS[2])?,
        ];
        let policy = Policy::new(budget_embedding, [e0?, e1?, e2?], lstm, heads);
        Ok(Generator {
            manifest,
            policy,
            origin: origin.into(),
        })
    }

    /// Builds from just-trained tensors (name → tensor, as in [`policy`]).
    pub fn from_tensors(
        manifest: GeneratorManifest,
        tensors: &[(String, WeightTensor)],
    ) -> Result<Self, GeneratorError> {
        let (json, bytes) = model_bytes(manifest, tensors);
        Self::from_bytes(&json, &bytes, "(trained)")
    }

    /// The pure-Rust policy network.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// This generator answering for another device whose costs are
    /// `scale × this device's cost + offset` (ms) — exactly, for a calibrated
    /// added device; approximately, for one fitted in the device space, where
    /// the map only places budgets among the budget embeddings and `objective`
    /// still decides feasibility and refinement. No weights change: a budget
    /// `b` is interpolated between the same embeddings as `(b − offset) / scale`
    /// was on the trained device.
    pub fn transfer(
        &self,
        objective: &Objective,
        scale: f64,
        offset: f64,
    ) -> Result<Generator, GeneratorError> {
        let m = &self.manifest;
        check_width_resolution(m, &self.origin, objective)?;
        if !(scale.is_finite() && scale > 0.0 && offset.is_finite()) {
            return Err(GeneratorError::BadBudget(scale));
        }
        let map = |b: f64| scale * b + offset;
        let mut manifest = m.clone();
        manifest.device = objective.device.clone();
        manifest.unit = objective.unit();
        manifest.budgets = m.budgets.iter().map(|&b| map(b)).collect();
        manifest.range = [map(m.range[0]), map(m.range[1])];
        manifest.models = objective.identity().clone();
        Ok(Generator {
            manifest,
            policy: self.policy.clone(),
            origin: format!("{} (transferred from `{}`)", self.origin, m.device),
        })
    }

    /// Refuses an objective other than the one trained on.
    pub fn check(&self, objective: &Objective) -> Result<(), GeneratorError> {
        self.check_models(objective, true)
    }

    /// [`Generator::check`] but for the resolution ([`Generator::frontier_at`]).
    fn check_except_resolution(&self, objective: &Objective) -> Result<(), GeneratorError> {
        self.check_models(objective, false)
    }

    fn check_models(&self, objective: &Objective, resolution: bool) -> Result<(), GeneratorError> {
        let m = &self.manifest;
        let current = objective.identity().clone();
        let checks: [(&'static str, String, String); 5] = [
            ("device", m.device.clone(), objective.device.clone()),
            ("width", m.width.clone(), objective.width.to_string()),
            (
                "resolution",
                m.resolution.to_string(),
                objective.resolution.to_string(),
            ),
            (
                "cost model",
                format!("{} #{}", m.models.cost_model, m.models.cost_hash),
                format!("{} #{}", current.cost_model, current.cost_hash),
            ),
            (
                "accuracy model",
                format!("{} #{}", m.models.accuracy_model, m.models.accuracy_hash),
                format!("{} #{}", current.accuracy_model, current.accuracy_hash),
            ),
        ];
        for (what, trained, now) in checks {
            if trained != now && (resolution || what != "resolution") {
                return Err(GeneratorError::Mismatch {
                    path: self.origin.clone(),
                    what,
                    trained,
                    current: now,
                    device: objective.device.clone(),
                });
            }
        }
        Ok(())
    }

    /// The monotone answer for `budget` (what the CLI and build scripts use):
    /// the most accurate subnet under the budget among everything the
    /// generator's searches on a fixed grid of the device's range found
    /// ([`Frontier`]). A larger budget never gets a less accurate answer; above
    /// the range every budget gets the same one. For several budgets, build one
    /// [`Generator::frontier`] and ask it each: the grid searches are shared.
    pub fn generate(
        &self,
        objective: &Objective,
        budget: f64,
        opts: &GenerateOptions,
    ) -> Result<Generated, GeneratorError> {
        self.frontier(objective, opts)?.answer(budget)
    }

    /// A [`Frontier`] of this generator on `objective` with these options
    /// (empty: grid searches run as budgets need them).
    pub fn frontier<'a>(
        &'a self,
        objective: &'a Objective,
        opts: &GenerateOptions,
    ) -> Result<Frontier<'a>, GeneratorError> {
        self.check(objective)?;
        Frontier::new(self, objective, *opts)
    }

    /// A [`Frontier`] on `objective` at another input resolution than the generator was
    /// trained at (same device, width and models otherwise): each budget is mapped
    /// linearly from the objective's cost range (its smallest to its largest subnet) onto
    /// the trained range before it conditions the policy, so the policy proposes subnets
    /// of the same relative size, and the refinement and every feasibility check use the
    /// objective's own costs. At the trained resolution this is [`Generator::frontier`].
    pub fn frontier_at<'a>(
        &'a self,
        objective: &'a Objective,
        opts: &GenerateOptions,
    ) -> Result<Frontier<'a>, GeneratorError> {
        if objective.resolution == self.manifest.resolution {
            return self.frontier(objective, opts);
        }
        self.check_except_resolution(objective)?;
        let lo = objective.cost(Arch::smallest())?;
        let hi = objective.cost(Arch::largest())?.max(lo * (1.0 + 1e-9));
        let [tlo, thi] = self.manifest.range;
        let map = BudgetMap {
            scale: (thi - tlo) / (hi - lo),
            offset: tlo - lo * (thi - tlo) / (hi - lo),
        };
        Frontier::with_range(self, objective, *opts, [lo, hi], map)
    }

    /// One budget's own search, Section 3.5 plus refinement — not monotone
    /// across budgets (kept for the benchmark that compares it with
    /// [`Generator::generate`] and for tests of the search itself).
    pub fn search(
        &self,
        objective: &Objective,
        budget: f64,
        opts: &GenerateOptions,
    ) -> Result<Generated, GeneratorError> {
        self.check(objective)?;
        let top = self.manifest.range[1];
        let warning = self.validate(objective, budget, [self.min_cost(objective)?, top])?;
        let s = self.run_search(objective, budget, opts, BudgetMap::IDENTITY)?;
        let best = s
            .best
            .ok_or_else(|| self.none_feasible(budget, s.drawn, s.cheapest))?;
        let sampled = s.best_sampled.map_or(best.top1, |x| x.top1);
        let work = Work {
            feasible: s.feasible,
            drawn: s.drawn,
            refine_scored: s.refine_scored,
            grid_searches: 0,
        };
        generated(objective, budget, best, sampled, work, warning)
    }

    /// Refuses a budget that is not a positive number or below the device's
    /// cheapest cost `min` ([`Self::min_cost`]); the warning for one above `top`.
    fn validate(
        &self,
        objective: &Objective,
        budget: f64,
        [min, top]: [f64; 2],
    ) -> Result<Option<String>, GeneratorError> {
        let unit = self.manifest.unit.label();
        if !budget.is_finite() || budget <= 0.0 {
            return Err(GeneratorError::BadBudget(budget));
        }
        if budget < min {
            return Err(GeneratorError::BelowMinimum {
                device: objective.device.clone(),
                budget,
                min,
                unit: unit.into(),
            });
        }
        Ok((budget > top).then(|| {
            format!("budget {} {unit} is above device `{}`'s range (largest subnet {top:.2} {unit}); returning the best subnet found at the top of the range", num(budget), objective.device)
        }))
    }

    /// The device's cheapest known cost: not always the smallest subnet's,
    /// measured tables are not monotone (i7-8700k).
    fn min_cost(&self, objective: &Objective) -> Result<f64, GeneratorError> {
        Ok(self.manifest.range[0].min(objective.cost(Arch::smallest())?))
    }

    fn none_feasible(&self, budget: f64, drawn: usize, cheapest: f64) -> GeneratorError {
        GeneratorError::NoneFeasible {
            budget,
            unit: self.manifest.unit.label().into(),
            drawn,
            cheapest,
        }
    }

    /// Section 3.5: sample `samples` candidates for `budget`, resample until one
    /// is feasible (at most `max_rounds` rounds); then hill-climb from the
    /// `refine_starts` most accurate feasible ones. Keeps every scored arch.
    fn run_search(
        &self,
        objective: &Objective,
        budget: f64,
        opts: &GenerateOptions,
        map: BudgetMap,
    ) -> Result<Search, GeneratorError> {
        let b = self
            .policy
            .budget_vector(&self.manifest.budgets, map.apply(budget));
        // Each budget gets its own stream, so adding a budget never changes another's search.
        let mut rng = SplitMix64::new(opts.seed ^ budget.to_bits());
        let (mut seen, mut feasible) = (crate::fxhash::FxSet::default(), Vec::new());
        let (mut drawn, mut cheapest) = (0, f64::INFINITY);
        for _ in 0..opts.max_rounds.max(1) {
            for _ in 0..opts.samples.max(1) {
                let arch = self.policy.sample(&b, opts.temperature, &mut rng).arch;
                drawn += 1;
                if !seen.insert(arch) {
                    continue;
                }
                let cost = objective.cost(arch)?;
                cheapest = cheapest.min(cost);
                if cost <= budget {
                    feasible.push((arch, cost));
                }
            }
            if !feasible.is_empty() {
                break;
            }
        }
        let archs: Vec<Arch> = feasible.iter().map(|f| f.0).collect();
        let mut ranked: Vec<Scored> = feasible
            .iter()
            .zip(objective.top1_many(&archs)?)
            .map(|(&(arch, cost), top1)| Scored { arch, cost, top1 })
            .collect();
        ranked.sort_by(|a, b| b.top1.total_cmp(&a.top1));
        let best_sampled = ranked.first().copied();
        let (mut best, mut seen) = (best_sampled, refine::Seen::default());
        if opts.refine_steps > 0 {
            for &start in ranked.iter().take(opts.refine_starts.max(1)) {
                let s = refine::hill_climb(objective, budget, start, opts.refine_steps, &mut seen)?;
                if best.is_none_or(|b| s.top1 > b.top1) {
                    best = Some(s);
                }
            }
        }
        if opts.frugal && opts.refine_steps > 0 {
            frugal::climbs(objective, budget, &ranked, opts.refine_steps, &mut seen)?;
        }
        Ok(Search {
            best,
            best_sampled,
            refine_scored: seen.scored(),
            scored: seen.points().collect(),
            sampled: ranked,
            feasible: feasible.len(),
            drawn,
            cheapest,
        })
    }

    /// Writes the model directory: weights, then manifest, each atomically
    /// (a reader never sees a manifest whose weights are missing).
    pub fn save(
        manifest: &GeneratorManifest,
        tensors: &[(String, WeightTensor)],
        dir: &Path,
    ) -> Result<(), GeneratorError> {
        std::fs::create_dir_all(dir).map_err(|source| GeneratorError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let bytes = serialize_f32(
            tensors.iter().map(|(n, t)| (n.as_str(), t)),
            Some(("pnag.generator", manifest.device.clone())),
        );
        let manifest = GeneratorManifest {
            weights_hash: content_hash(&bytes),
            ..manifest.clone()
        };
        write_atomic(&dir.join(WEIGHTS_FILE), &bytes)?;
        let json = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
        write_atomic(&dir.join(MANIFEST_FILE), json.as_bytes())?;
        Ok(())
    }
}
