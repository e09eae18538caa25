//! What PNAG optimizes on one device: a cost model and an accuracy model at a
//! fixed width and resolution, the budget range they imply, and the rules that
//! turn (cost, accuracy, budget) into a training signal — the paper's
//! Pareto-dominance comparison (Eq. 6) and the MnasNet / TuNAS rewards it is
//! compared against.

use pnag_runtime::{Arch, Width};
use serde::{Deserialize, Serialize};

use crate::accuracy::{self, AccuracyError, AccuracyModel};
use crate::cost::{self, CostError, CostModel, CostUnit};
use crate::sample::{covering_archs, random_archs};

/// Why an objective could not be built or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ObjectiveError {
    /// The cost model failed.
    #[error(transparent)]
    Cost(#[from] CostError),
    /// The accuracy model failed.
    #[error(transparent)]
    Accuracy(#[from] AccuracyError),
}

/// One arch with its cost on the device and its predicted top-1 (%).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The subnet.
    pub arch: Arch,
    /// Its cost on the device.
    pub cost: f64,
    /// Its predicted top-1 (%).
    pub top1: f64,
}

/// A device's cost model and the accuracy model of its width, at one resolution.
pub struct Objective {
    /// The device whose cost model is used.
    pub device: String,
    /// Supernet width.
    pub width: Width,
    /// Input resolution.
    pub resolution: u32,
    cost: Box<dyn CostModel>,
    accuracy: Box<dyn AccuracyModel>,
    identity: ModelIdentity,
}

/// Every built-in device is searched at w1.2 and 224 px: the width and
/// resolution that all five cost models and OFA's official predictor cover.
pub const DEFAULT_WIDTH: Width = Width::W1_2;
/// The resolution every built-in device is searched at.
pub const DEFAULT_RESOLUTION: u32 = 224;

impl Objective {
    /// The built-in device `name` with the default accuracy model of `width`.
    pub fn new(device: &str, width: Width, resolution: u32) -> Result<Self, ObjectiveError> {
        let cost = cost::device(device)?;
        let name = cost.info().name.to_string();
        Objective::custom(name, cost, width, resolution)
    }

    /// A device named `device` whose costs come from `cost` (an added device's
    /// fitted model, a benchmark's held-out device), with the default accuracy model.
    pub fn custom(
        device: String,
        cost: Box<dyn CostModel>,
        width: Width,
        resolution: u32,
    ) -> Result<Self, ObjectiveError> {
        let accuracy = accuracy::default_for(width)?;
        // Hashing megabytes of tables costs milliseconds: once, here.
        let identity = ModelIdentity {
            cost_model: cost.info().model.to_string(),
            cost_hash: format!("{:016x}", cost.content_hash()),
            accuracy_model: accuracy.name().to_string(),
            accuracy_hash: format!("{:016x}", accuracy.content_hash()),
        };
        let objective = Objective {
            device,
            width,
            resolution,
            cost,
            accuracy,
            identity,
        };
        // Fail now, with the model's own message, if width or resolution is not covered.
        objective.score(Arch::smallest())?;
        Ok(objective)
    }

    /// What costs are measured in.
    pub fn unit(&self) -> CostUnit {
        self.cost.info().unit
    }

    /// Names and content hashes of the two models, recorded in a generator's
    /// manifest so a generator is never used with models it was not trained on.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// The arch's cost on the device.
    pub fn cost(&self, arch: Arch) -> Result<f64, ObjectiveError> {
        Ok(self.cost.cost(arch, self.width, self.resolution)?)
    }

    /// The arch's predicted top-1 (%).
    pub fn top1(&self, arch: Arch) -> Result<f64, ObjectiveError> {
        Ok(self.accuracy.top1(arch, self.width, self.resolution)?)
    }

    /// [`Objective::cost`] of several archs at once (the same numbers, faster).
    pub fn cost_many(&self, archs: &[Arch]) -> Result<Vec<f64>, ObjectiveError> {
        Ok(self.cost.cost_many(archs, self.width, self.resolution)?)
    }

    /// [`Objective::top1`] of several archs at once (the same numbers, faster).
    pub fn top1_many(&self, archs: &[Arch]) -> Result<Vec<f64>, ObjectiveError> {
        Ok(self
            .accuracy
            .top1_many(archs, self.width, self.resolution)?)
    }

    /// The arch with its cost and predicted top-1.
    pub fn score(&self, arch: Arch) -> Result<Scored, ObjectiveError> {
        Ok(Scored {
            arch,
            cost: self.cost(arch)?,
            top1: self.top1(arch)?,
        })
    }

    /// `m` sampled archs with their costs and accuracies (Algorithm 1, steps 3–4):
    /// half uniform, as in the paper, half [`covering_archs`] so the evaluator
    /// also learns the tight and the loose ends of the budget range.
    pub fn sample(&self, m: usize, seed: u64) -> Result<Vec<Scored>, ObjectiveError> {
        let uniform = random_archs(m / 2, seed);
        let covering = covering_archs(m - m / 2, seed ^ 0xc0fe);
        uniform
            .into_iter()
            .chain(covering)
            .map(|a| self.score(a))
            .collect()
    }

    /// The device's cost range: the smallest and the largest subnet, widened to
    /// any sample outside it (measured tables are not monotone: on i7-8700k
    /// some subnets are cheaper than the smallest one).
    pub fn range(&self, samples: &[Scored]) -> Result<(f64, f64), ObjectiveError> {
        let (lo, hi) = (self.cost(Arch::smallest())?, self.cost(Arch::largest())?);
        Ok(samples
            .iter()
            .fold((lo, hi), |(lo, hi), s| (lo.min(s.cost), hi.max(s.cost))))
    }
}

/// Names and content hashes of the models a generator was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// Name of the cost model.
    pub cost_model: String,
    /// Content hash of the cost model.
    pub cost_hash: String,
    /// Name of the accuracy model.
    pub accuracy_model: String,
    /// Content hash of the accuracy model.
    pub accuracy_hash: String,
}

/// `K` budgets evenly spaced over `[lo, hi]`, both ends included (paper: K = 10).
pub fn budgets(lo: f64, hi: f64, k: usize) -> Vec<f64> {
    if k == 1 {
        return vec![(lo + hi) / 2.0];
    }
    (0..k)
        .map(|i| lo + (hi - lo) * i as f64 / (k - 1) as f64)
        .collect()
}

/// How a sampled arch is rewarded under budget `T` while training the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RewardKind {
    /// PNAG: the evaluator learned from Pareto dominance (Eq. 6).
    Pareto,
    /// The evaluator learned from dominance without the accuracy rule (paper, Remark 1).
    ParetoNoAcc,
    /// MnasNet: acc · (lat / T)^w, w = −0.07.
    Mnas,
    /// TuNAS absolute reward: acc + β · |lat / T − 1|, β = −0.07.
    Tunas,
    /// Eq. 6's order computed from the models directly (accuracy if feasible,
    /// else −cost / T): what a perfect evaluator would return — an upper bound
    /// showing how much the learned evaluator costs.
    ParetoExact,
}

impl RewardKind {
    /// Every reward, in the order `--help` lists them.
    pub const ALL: [RewardKind; 5] = [
        RewardKind::Pareto,
        RewardKind::ParetoNoAcc,
        RewardKind::Mnas,
        RewardKind::Tunas,
        RewardKind::ParetoExact,
    ];

    /// True for the rewards that need the learned Pareto evaluator.
    pub fn uses_evaluator(self) -> bool {
        matches!(self, RewardKind::Pareto | RewardKind::ParetoNoAcc)
    }
}

impl RewardKind {
    /// The name on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            RewardKind::Pareto => "pareto",
            RewardKind::ParetoNoAcc => "pareto-no-acc",
            RewardKind::Mnas => "mnas",
            RewardKind::Tunas => "tunas",
            RewardKind::ParetoExact => "pareto-exact",
        }
    }
}

impl std::fmt::Display for RewardKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for RewardKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        RewardKind::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names = RewardKind::ALL.map(RewardKind::name);
                format!("unknown reward `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// Eq. 6, d(β1, β2, B): +1 if β1 dominates β2 under budget `b`, else −1.
/// Both feasible → the more accurate wins; otherwise the cheaper wins.
/// Without the accuracy rule (`ParetoNoAcc`) the cheaper always wins.
pub fn dominance(a: &Scored, b: &Scored, budget: f64, kind: RewardKind) -> f32 {
    let both_feasible = a.cost <= budget && b.cost <= budget;
    let wins = if both_feasible && kind != RewardKind::ParetoNoAcc {
        a.top1 >= b.top1
    } else {
        a.cost <= b.cost
    };
    if wins {
        1.0
    } else {
        -1.0
    }
}

/// The hand-designed rewards (accuracy as a fraction, as in MnasNet and TuNAS).
pub fn hand_reward(kind: RewardKind, s: &Scored, budget: f64) -> f64 {
    let (acc, ratio) = (s.top1 / 100.0, s.cost / budget);
    match kind {
        RewardKind::Mnas => acc * ratio.powf(-0.07),
        RewardKind::Tunas => acc - 0.07 * (ratio - 1.0).abs(),
        // Every feasible arch (reward ≥ 0) beats every infeasible one (≤ −1).
        RewardKind::ParetoExact => {
            if ratio <= 1.0 {
                acc
            } else {
                -ratio
            }
        }
        RewardKind::Pareto | RewardKind::ParetoNoAcc => {
            unreachable!("learned rewards come from the evaluator")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cost: f64, top1: f64) -> Scored {
        Scored {
            arch: Arch::smallest(),
            cost,
            top1,
        }
    }

    #[test]
    fn dominance_follows_eq6_and_is_antisymmetric() {
        let p = RewardKind::Pareto;
        // Both feasible: accuracy decides, even against a cheaper arch.
        assert_eq!(dominance(&s(20.0, 80.0), &s(10.0, 78.0), 30.0, p), 1.0);
        // One infeasible: the cheaper wins, whatever its accuracy.
        assert_eq!(dominance(&s(40.0, 83.0), &s(25.0, 78.0), 30.0, p), -1.0);
        // Both infeasible: the cheaper wins.
        assert_eq!(dominance(&s(35.0, 70.0), &s(40.0, 83.0), 30.0, p), 1.0);
        for (a, b) in [
            (s(20.0, 80.0), s(10.0, 78.0)),
            (s(40.0, 83.0), s(25.0, 78.0)),
        ] {
            assert_eq!(dominance(&a, &b, 30.0, p), -dominance(&b, &a, 30.0, p));
        }
        // Without the accuracy rule the cheaper wins among feasible archs too.
        assert_eq!(
            dominance(
                &s(20.0, 80.0),
                &s(10.0, 78.0),
                30.0,
                RewardKind::ParetoNoAcc
            ),
            -1.0
        );
    }

    #[test]
    fn budgets_are_evenly_spaced_with_both_ends() {
        assert_eq!(
            budgets(10.0, 100.0, 10),
            vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
        );
    }

    #[test]
    fn hand_rewards_match_their_formulas() {
        let x = s(60.0, 80.0);
        assert!((hand_reward(RewardKind::Mnas, &x, 50.0) - 0.8 * 1.2f64.powf(-0.07)).abs() < 1e-12);
        assert!((hand_reward(RewardKind::Tunas, &x, 50.0) - (0.8 - 0.07 * 0.2)).abs() < 1e-12);
    }
}
