//! Local refinement of the generator's answer (our addition to Section 3.5):
//! hill climbing over one-decision changes — one layer's kernel or expand
//! ratio, one stage's depth — that stay under the budget, on the same cost and
//! accuracy models. Each step scores the feasible neighbours in shuffled
//! chunks of 32 and moves to the best of the first chunk that improves
//! (scoring the whole neighbourhood every step cost ~30 % more time for the
//! same answers on the benchmark). Where no single change improves, a *swap*
//! pairs one of the best over-budget improvements with a change that saves
//! cost elsewhere (the budget is what stops most climbs); the climb ends where
//! neither improves. The generator puts the answer in the right region of the
//! space; a few thousand model evaluations take it to the local optimum its
//! sampling rarely hits exactly.

use pnag_runtime::arch::{Arch, DEPTHS, EXPANDS, KERNELS, SLOTS, SLOTS_PER_STAGE, STAGES};

use crate::fxhash::FxMap;
use crate::objective::{Objective, ObjectiveError, Scored};

/// One decision changed: a used layer's kernel or expand ratio, or a stage's depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Kernel(usize, u8),
    Expand(usize, u8),
    Depth(usize, u8),
}

impl Move {
    /// The decision it changes (two moves on the same decision do not combine).
    fn decision(self) -> (u8, usize) {
        match self {
            Move::Kernel(slot, _) => (0, slot),
            Move::Expand(slot, _) => (1, slot),
            Move::Depth(stage, _) => (2, stage),
        }
    }

    /// `arch` with this decision changed; a new layer copies the one before it.
    fn apply(self, arch: &Arch) -> Option<Arch> {
        let (mut d, mut k, mut e) = (*arch.depths(), *arch.kernels(), *arch.expands());
        match self {
            Move::Kernel(slot, v) => k[slot] = v,
            Move::Expand(slot, v) => e[slot] = v,
            Move::Depth(stage, nd) => {
                let depth = d[stage];
                if nd > depth {
                    for new in stage * SLOTS_PER_STAGE + depth as usize
                        ..stage * SLOTS_PER_STAGE + nd as usize
                    {
                        (k[new], e[new]) = (k[new - 1], e[new - 1]);
                    }
                }
                d[stage] = nd;
            }
        }
        Arch::normalized(d, k, e).ok()
    }
}

/// Every one-decision move from `arch`: each used layer's kernel and expand
/// ratio to each other value, each stage one layer deeper or shallower.
fn moves(arch: &Arch) -> Vec<Move> {
    let (d, k, e) = (arch.depths(), arch.kernels(), arch.expands());
    let mut out = Vec::with_capacity(4 * SLOTS + 2 * STAGES);
    for slot in (0..SLOTS).filter(|&s| arch.is_used(s)) {
        out.extend(
            KERNELS
                .into_iter()
                .filter(|&v| v != k[slot])
                .map(|v| Move::Kernel(slot, v)),
        );
        out.extend(
            EXPANDS
                .into_iter()
                .filter(|&v| v != e[slot])
                .map(|v| Move::Expand(slot, v)),
        );
    }
    for (stage, &depth) in d.iter().enumerate() {
        out.extend(
            DEPTHS
                .into_iter()
                .filter(|&v| v.abs_diff(depth) == 1)
                .map(|v| Move::Depth(stage, v)),
        );
    }
    out
}

/// Every arch one decision away from `arch`: each used layer's kernel and
/// expand ratio set to each other value, each stage one layer deeper (the new
/// layer copies the one before it) or one layer shallower.
pub fn neighbours(arch: &Arch) -> Vec<Arch> {
    single_moves(arch).into_iter().map(|(_, a)| a).collect()
}

/// [`neighbours`] with the move that reaches each.
fn single_moves(arch: &Arch) -> Vec<(Move, Arch)> {
    moves(arch)
        .into_iter()
        .filter_map(|m| Some((m, m.apply(arch)?)))
        .collect()
}

/// Neighbours scored per batch before deciding whether to move (16 and 8 were
/// faster but left up to 0.13–0.14 points of regret on one device; 32: ≤ 0.09).
const CHUNK: usize = 32;

fn shuffle(items: &mut [(Arch, f64)], seed: &Arch) {
    use std::hash::{Hash, Hasher};
    let mut h = crate::fxhash::FxHasher::default();
    seed.hash(&mut h);
    let mut rng = crate::rng::SplitMix64::new(h.finish());
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Archs already costed and scored, shared by the climbs of one budget
/// (climbs from different starts often meet).
#[derive(Default)]
pub struct Seen {
    cost: FxMap<Arch, f64>,
    top1: FxMap<Arch, f64>,
}

impl Seen {
    /// Costs every arch of `archs` not costed yet (one batch).
    fn cost_all(
        &mut self,
        objective: &Objective,
        archs: impl Iterator<Item = Arch>,
    ) -> Result<(), ObjectiveError> {
        fill(&mut self.cost, archs, |fresh| objective.cost_many(fresh))
    }

    /// Scores every arch of `archs` not scored yet (one batch).
    fn top1_all(
        &mut self,
        objective: &Objective,
        archs: impl Iterator<Item = Arch>,
    ) -> Result<(), ObjectiveError> {
        fill(&mut self.top1, archs, |fresh| objective.top1_many(fresh))
    }

    /// Archs whose top-1 was computed (the refinement's work).
    pub fn scored(&self) -> usize {
        self.top1.len()
    }

    /// Every arch both costed and scored, feasible or not: real points of the
    /// device's (cost, top-1) plane that a [`crate::generator::Frontier`] keeps.
    pub fn points(&self) -> impl Iterator<Item = Scored> + '_ {
        self.top1.iter().filter_map(|(&arch, &top1)| {
            let cost = *self.cost.get(&arch)?;
            Some(Scored { arch, cost, top1 })
        })
    }
}

/// Adds to `known` the archs of `archs` it lacks, evaluated by `many` in one batch.
fn fill(
    known: &mut FxMap<Arch, f64>,
    archs: impl Iterator<Item = Arch>,
    many: impl FnOnce(&[Arch]) -> Result<Vec<f64>, ObjectiveError>,
) -> Result<(), ObjectiveError> {
    let fresh: Vec<Arch> = archs.filter(|a| !known.contains_key(a)).collect();
    for (arch, value) in fresh.iter().zip(many(&fresh)?) {
        known.insert(*arch, value);
    }
    Ok(())
}

/// Climbs from `start` (feasible under `budget`) by feasible one-decision
/// improvements, and by a [`swap`] where none is left; stops where neither
/// improves or after `max_steps` moves.
pub fn hill_climb(
    objective: &Objective,
    budget: f64,
    start: Scored,
    max_steps: usize,
    seen: &mut Seen,
) -> Result<Scored, ObjectiveError> {
    climb(objective, budget, start, max_steps, seen, None)
}

/// [`hill_climb`] through archs that `admit` also accepts (swaps by [`swap_within`]).
/// `start` must be admitted.
pub fn hill_climb_within(
    objective: &Objective,
    budget: f64,
    start: Scored,
    max_steps: usize,
    seen: &mut Seen,
    limit: &Limit,
) -> Result<Scored, ObjectiveError> {
    climb(objective, budget, start, max_steps, seen, Some(limit))
}

fn climb(
    objective: &Objective,
    budget: f64,
    start: Scored,
    max_steps: usize,
    seen: &mut Seen,
    limit: Option<&Limit>,
) -> Result<Scored, ObjectiveError> {
    let mut current = start;
    for _ in 0..max_steps {
        let around = neighbours(&current.arch);
        seen.cost_all(objective, around.iter().copied())?;
        let mut feasible: Vec<(Arch, f64)> = around
            .into_iter()
            .map(|a| (a, seen.cost[&a]))
            .filter(|&(a, cost)| cost <= budget && limit.is_none_or(|l| (l.admit)(&a)))
            .collect();
        // A seeded shuffle (the arch is the seed: same climb, same order), then
        // chunks of CHUNK: move to the best of the first chunk that improves,
        // so early steps score a fraction of the neighbourhood.
        shuffle(&mut feasible, &current.arch);
        let mut best = current;
        for chunk in feasible.chunks(CHUNK) {
            seen.top1_all(objective, chunk.iter().map(|f| f.0))?;
            for &(arch, cost) in chunk {
                let top1 = seen.top1[&arch];
                if top1 > best.top1 {
                    best = Scored { arch, cost, top1 };
                }
            }
            if best.arch != current.arch {
                break;
            }
        }
        if best.arch == current.arch {
            let better = match limit {
                Some(limit) => swap_within(objective, budget, current, seen, limit)?,
                None => swap(objective, budget, current, seen)?,
            };
            match better {
                Some(better) => best = better,
                None => break,
            }
        }
        current = best;
    }
    Ok(current)
}

/// A swap pairs each of the SWAP_UPS most accurate over-budget moves with each
/// of the SWAP_DOWNS least harmful cost-saving ones.
const SWAP_UPS: usize = 6;
const SWAP_DOWNS: usize = 12;

/// At a single-move local optimum the more accurate neighbours are usually
/// over the budget: pays for one of them with a move that saves cost elsewhere
/// (two decisions changed at once). Returns the most accurate feasible pair if
/// it beats `current`. Costs the over-budget neighbours' evaluations plus
/// ≤ SWAP_UPS × SWAP_DOWNS pairs'.
pub fn swap(
    objective: &Objective,
    budget: f64,
    current: Scored,
    seen: &mut Seen,
) -> Result<Option<Scored>, ObjectiveError> {
    let singles = single_moves(&current.arch);
    seen.cost_all(objective, singles.iter().map(|s| s.1))?;
    let over: Vec<Arch> = singles
        .iter()
        .map(|s| s.1)
        .filter(|a| seen.cost[a] > budget)
        .collect();
    seen.top1_all(objective, over.iter().copied())?;
    let ups: Vec<(Move, f64)> = singles
        .iter()
        .filter(|(_, a)| seen.cost[a] > budget && seen.top1[a] > current.top1)
        .map(|&(m, a)| (m, seen.top1[&a]))
        .collect();
    // The cost-saving partners that lose the least accuracy on their own.
    let cheaper: Vec<&(Move, Arch)> = singles
        .iter()
        .filter(|(_, a)| seen.cost[a] < current.cost)
        .collect();
    seen.top1_all(objective, cheaper.iter().map(|s| s.1))?;
    let downs: Vec<(Move, f64)> = cheaper.iter().map(|&&(m, a)| (m, seen.top1[&a])).collect();
    best_pair(objective, current, ups, downs, seen, |seen, a| {
        seen.cost[a] <= budget
    })
}

/// The most accurate pair (one of the `SWAP_UPS` most accurate `ups` applied with one of the
/// `SWAP_DOWNS` most accurate `downs`, on different decisions) that `feasible` accepts, if it
/// beats `current`: what [`swap`] and [`swap_within`] share.
fn best_pair(
    objective: &Objective,
    current: Scored,
    mut ups: Vec<(Move, f64)>,
    mut downs: Vec<(Move, f64)>,
    seen: &mut Seen,
    feasible: impl Fn(&Seen, &Arch) -> bool,
) -> Result<Option<Scored>, ObjectiveError> {
    ups.sort_by(|a, b| b.1.total_cmp(&a.1));
    downs.sort_by(|a, b| b.1.total_cmp(&a.1));
    downs.truncate(SWAP_DOWNS);
    let (mut pairs, mut unique) = (Vec::new(), crate::fxhash::FxSet::default());
    for &(up, _) in ups.iter().take(SWAP_UPS) {
        let Some(raised) = up.apply(&current.arch) else {
            continue;
        };
        for &(down, _) in downs.iter().filter(|d| d.0.decision() != up.decision()) {
            match down.apply(&raised) {
                Some(a) if unique.insert(a) => pairs.push(a),
                _ => {}
            }
        }
    }
    seen.cost_all(objective, pairs.iter().copied())?;
    pairs.retain(|a| feasible(seen, a));
    seen.top1_all(objective, pairs.iter().copied())?;
    let best = pairs
        .into_iter()
        .map(|arch| Scored {
            arch,
            cost: seen.cost[&arch],
            top1: seen.top1[&arch],
        })
        .max_by(|a, b| a.top1.total_cmp(&b.top1));
    Ok(best.filter(|b| b.top1 > current.top1))
}

/// A limit beside the budget for [`hill_climb_within`]: which archs it admits, and how
/// much of it an arch uses (what a swap's cost-saving partner must lower).
pub struct Limit<'a> {
    /// True for archs within the limit.
    pub admit: &'a dyn Fn(&Arch) -> bool,
    /// The share of the limit an arch uses.
    pub usage: &'a dyn Fn(&Arch) -> f64,
}

/// [`swap`] under a [`Limit`] as well as the budget: pairs each of the `SWAP_UPS` most
/// accurate single moves that leave the limit (or the budget) with each of the
/// `SWAP_DOWNS` most accurate admitted ones that use less of it, and returns the most
/// accurate admitted, feasible pair if it beats `current`.
pub fn swap_within(
    objective: &Objective,
    budget: f64,
    current: Scored,
    seen: &mut Seen,
    limit: &Limit,
) -> Result<Option<Scored>, ObjectiveError> {
    let admit = limit.admit;
    let singles = single_moves(&current.arch);
    seen.cost_all(objective, singles.iter().map(|s| s.1))?;
    seen.top1_all(objective, singles.iter().map(|s| s.1))?;
    let ok = |seen: &Seen, a: &Arch| seen.cost[a] <= budget && admit(a);
    let ups: Vec<(Move, f64)> = singles
        .iter()
        .filter(|(_, a)| !ok(seen, a) && seen.top1[a] > current.top1)
        .map(|&(m, a)| (m, seen.top1[&a]))
        .collect();
    // The partners that use less of the limited resource, least accuracy lost first.
    let used = (limit.usage)(&current.arch);
    let downs: Vec<(Move, f64)> = singles
        .iter()
        .filter(|(_, a)| ok(seen, a) && (limit.usage)(a) < used)
        .map(|&(m, a)| (m, seen.top1[&a]))
        .collect();
    best_pair(objective, current, ups, downs, seen, ok)
}
