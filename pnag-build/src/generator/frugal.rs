//! Climbs that make candidates for weight and memory limits (`GenerateOptions::frugal`):
//! a latency-driven search finds the most accurate subnets for a budget, which are
//! rarely the most accurate ones under a tight weight or memory limit as well.

use pnag_runtime::Arch;

use super::{refine, GeneratorError};
use crate::objective::{Objective, Scored};

/// Weight and memory levels of the frugal climbs: these fractions of the way from the
/// smallest subnet's to the best sample's.
const FRUGAL_LEVELS: [f64; 6] = [0.15, 0.3, 0.45, 0.6, 0.75, 0.9];

/// Climbs for answers under weight and memory limits: at each of [`FRUGAL_LEVELS`], a
/// climb under that level of weights, one of peak memory and one of both (measured by
/// proxies that do not depend on a build: tensor elements, 1-thread peak), each from the
/// most accurate point the search has scored within it (else the smallest subnet). Everything they score joins
/// the search's points, which [`super::Frontier::answer_within`] filters by the real limits.
pub(super) fn climbs(
    objective: &Objective,
    budget: f64,
    ranked: &[Scored],
    steps: usize,
    seen: &mut refine::Seen,
) -> Result<(), GeneratorError> {
    use pnag_runtime::memory::{peak_activation_bytes, RunShape};
    let Some(best) = ranked.first() else {
        return Ok(());
    };
    let proxies = std::cell::RefCell::new(crate::fxhash::FxMap::default());
    let proxy = |arch: &Arch| -> (u64, u64) {
        if let Some(p) = proxies.borrow().get(arch) {
            return *p;
        }
        let p = pnag_runtime::NetworkSpec::new(*arch, objective.width, objective.resolution)
            .map_or((u64::MAX, u64::MAX), |spec| {
                let elements = pnag_runtime::weights::tensor_elements(&spec);
                (elements, peak_activation_bytes(&spec, RunShape::default()))
            });
        proxies.borrow_mut().insert(*arch, p);
        p
    };
    let smallest = objective.score(Arch::smallest())?;
    let (low, high) = (proxy(&smallest.arch), proxy(&best.arch));
    for f in FRUGAL_LEVELS {
        let level = |a: u64, b: u64| a + (b.saturating_sub(a) as f64 * f) as u64;
        let (elements, peak) = (level(low.0, high.0), level(low.1, high.1));
        for (by_weights, by_memory) in [(true, false), (false, true), (true, true)] {
            let usage = |a: &Arch| {
                let (e, p) = proxy(a);
                let share = |used: u64, level: u64| used as f64 / level.max(1) as f64;
                match (by_weights, by_memory) {
                    (true, false) => share(e, elements),
                    (false, true) => share(p, peak),
                    _ => share(e, elements).max(share(p, peak)),
                }
            };
            let admit = |a: &Arch| usage(a) <= 1.0;
            // The most accurate point scored so far within the level (samples and every
            // climb's path), so the climb starts near the level, not at the bottom.
            let start = ranked
                .iter()
                .copied()
                .chain(seen.points())
                .filter(|s| s.cost <= budget && admit(&s.arch))
                .max_by(|a, b| a.top1.total_cmp(&b.top1).then(b.arch.cmp(&a.arch)))
                .unwrap_or(smallest);
            if start.cost <= budget && admit(&start.arch) {
                let limit = refine::Limit {
                    admit: &admit,
                    usage: &usage,
                };
                refine::hill_climb_within(objective, budget, start, 3 * steps, seen, &limit)?;
            }
        }
    }
    Ok(())
}
