//! The input resolution searched with the architecture, as OFA's own search does:
//! one [`Frontier`] per resolution of the device's grid (the trained one as is, the
//! others through [`Generator::frontier_at`]'s budget transfer), and each budget answered
//! with the most accurate of their answers. Each frontier's answers are monotone in the
//! budget and the limits, so their maximum is too.

use pnag_runtime::Width;

use super::{Frontier, GenerateOptions, Generated, Generator, GeneratorError};
use crate::constraints::{Footprint, Footprints, Limits};
use crate::objective::{Objective, ObjectiveError};

/// Resolutions tried for a device's grid, step 16 as OFA's specialized networks
/// (160–224 px for Note10) and its w1.2 accuracy predictor use.
pub const RESOLUTION_CANDIDATES: [u32; 9] = [128, 144, 160, 176, 192, 208, 224, 240, 256];

/// The resolutions of [`RESOLUTION_CANDIDATES`] that both `device`'s cost model and the
/// accuracy model of `width` cover, ascending (one for a device profiled at one size).
pub fn resolution_grid(device: &str, width: Width) -> Vec<u32> {
    RESOLUTION_CANDIDATES
        .into_iter()
        .filter(|&r| Objective::new(device, width, r).is_ok())
        .collect()
}

/// One frontier per resolution, answering with the best of them.
pub struct Resolutions<'a> {
    frontiers: Vec<Frontier<'a>>,
}

impl<'a> Resolutions<'a> {
    /// One frontier per objective (at least one; one resolution each).
    pub fn new(
        generator: &'a Generator,
        objectives: &'a [Objective],
        opts: &GenerateOptions,
    ) -> Result<Self, GeneratorError> {
        assert!(!objectives.is_empty(), "at least one objective");
        let frontiers = objectives
            .iter()
            .map(|o| generator.frontier_at(o, opts))
            .collect::<Result<_, _>>()?;
        Ok(Resolutions { frontiers })
    }

    /// The resolutions, in the order given.
    pub fn resolutions(&self) -> Vec<u32> {
        self.frontiers.iter().map(|f| f.resolution()).collect()
    }

    /// The largest cost any resolution's frontier spans (the top of its grid).
    pub fn top(&self) -> f64 {
        self.frontiers
            .iter()
            .map(|f| *f.grid().last().expect("a grid"))
            .fold(f64::MIN, f64::max)
    }

    /// The most accurate answer over the resolutions (ties: the cheaper, then the
    /// smaller image) costing ≤ `budget` within `limits`. When no resolution answers:
    /// a budget below every resolution's cheapest subnet names the least of them; limits
    /// no subnet meets are reported for the smallest resolution (the least of every cost).
    /// `footprints[i]` costs the subnets of the `i`-th objective's resolution.
    pub fn answer_within(
        &mut self,
        budget: f64,
        limits: &Limits,
        footprints: &[Footprints],
    ) -> Result<(Generated, Footprint), GeneratorError> {
        assert_eq!(
            footprints.len(),
            self.frontiers.len(),
            "one footprint model per resolution"
        );
        let mut best: Option<(Generated, Footprint)> = None;
        let mut errors = Vec::new();
        for (frontier, footprints) in self.frontiers.iter_mut().zip(footprints) {
            match frontier.answer_within(budget, limits, footprints) {
                Ok((g, f)) => {
                    let better = best.as_ref().is_none_or(|(b, _)| {
                        (g.top1, -g.cost, -(g.resolution as f64))
                            > (b.top1, -b.cost, -(b.resolution as f64))
                    });
                    if better {
                        best = Some((g, f));
                    }
                }
                Err(e) => errors.push((frontier.resolution(), e)),
            }
        }
        if let Some(best) = best {
            return Ok(best);
        }
        errors.sort_by_key(|(r, _)| *r);
        let least = errors
            .iter()
            .filter_map(|(_, e)| match e {
                GeneratorError::BelowMinimum { min, .. } => Some(*min),
                _ => None,
            })
            .fold(f64::INFINITY, f64::min);
        let (_, first) = errors.into_iter().next().expect("one error per frontier");
        Err(match first {
            GeneratorError::BelowMinimum {
                device,
                budget,
                unit,
                ..
            } => GeneratorError::BelowMinimum {
                device,
                budget,
                min: least,
                unit,
            },
            other => other,
        })
    }
}

impl Frontier<'_> {
    /// The input resolution this frontier searches at.
    pub fn resolution(&self) -> u32 {
        self.objective().resolution
    }
}

/// `device`'s objective at each of `resolutions`.
pub fn objectives_at(
    device: &str,
    width: Width,
    resolutions: &[u32],
) -> Result<Vec<Objective>, ObjectiveError> {
    resolutions
        .iter()
        .map(|&r| Objective::new(device, width, r))
        .collect()
}
