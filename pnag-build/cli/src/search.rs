//! Per-budget search baselines on the same cost and accuracy models as the
//! generator: random search, and OFA's evolutionary search
//! (`ofa/nas/search_algorithm/evolution.py`: population 100, 500 iterations,
//! parent ratio 0.25, mutation probability 0.1, half the children by
//! mutation and half by crossover, only feasible archs enter the population).
//! The evolutionary result is the "oracle" the generator's regret is measured against.

use std::collections::HashMap;

use pnag_runtime::arch::{Arch, DEPTHS, EXPANDS, KERNELS, SLOTS, STAGES};

use pnag_build::constraints::{Footprints, Limits};
use pnag_build::objective::{Objective, ObjectiveError, Scored};
use pnag_build::rng::SplitMix64;
use pnag_build::sample::random_arch;

/// Settings of OFA's evolution finder.
#[derive(Debug, Clone, Copy)]
pub struct EvolutionConfig {
    pub population: usize,
    pub iterations: usize,
    pub parent_ratio: f64,
    pub mutation_prob: f64,
    pub mutation_ratio: f64,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            population: 100,
            iterations: 500,
            parent_ratio: 0.25,
            mutation_prob: 0.1,
            mutation_ratio: 0.5,
        }
    }
}

/// The best feasible arch a search found, and how many archs it scored.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub best: Option<Scored>,
    pub evaluations: usize,
}

/// Scores archs once each (searches and policies revisit archs often).
pub(crate) struct Scorer<'a> {
    objective: &'a Objective,
    cache: HashMap<Arch, Scored>,
    evaluations: usize,
}

impl<'a> Scorer<'a> {
    pub(crate) fn new(objective: &'a Objective) -> Self {
        Scorer {
            objective,
            cache: HashMap::new(),
            evaluations: 0,
        }
    }

    fn cost(&mut self, arch: Arch) -> Result<f64, ObjectiveError> {
        if let Some(s) = self.cache.get(&arch) {
            return Ok(s.cost);
        }
        self.objective.cost(arch)
    }

    pub(crate) fn score(&mut self, arch: Arch) -> Result<Scored, ObjectiveError> {
        if let Some(s) = self.cache.get(&arch) {
            return Ok(*s);
        }
        self.evaluations += 1;
        let s = self.objective.score(arch)?;
        self.cache.insert(arch, s);
        Ok(s)
    }
}

fn keep_best(best: &mut Option<Scored>, s: Scored) {
    if best.is_none_or(|b| s.top1 > b.top1) {
        *best = Some(s);
    }
}

/// Random search: `n` uniform samples, the most accurate feasible one.
pub fn random_search(
    objective: &Objective,
    budget: f64,
    n: usize,
    seed: u64,
) -> Result<Found, ObjectiveError> {
    let mut rng = SplitMix64::new(seed);
    let mut best = None;
    for _ in 0..n {
        let arch = random_arch(&mut rng);
        if objective.cost(arch)? <= budget {
            keep_best(&mut best, objective.score(arch)?);
        }
    }
    Ok(Found {
        best,
        evaluations: n,
    })
}

/// Genes as OFA keeps them: every slot has a kernel and an expand, used or not.
#[derive(Clone, Copy)]
struct Genes {
    depths: [u8; STAGES],
    kernels: [u8; SLOTS],
    expands: [u8; SLOTS],
}

impl Genes {
    fn random(rng: &mut SplitMix64) -> Self {
        Genes {
            depths: std::array::from_fn(|_| rng.choose(&DEPTHS)),
            kernels: std::array::from_fn(|_| rng.choose(&KERNELS)),
            expands: std::array::from_fn(|_| rng.choose(&EXPANDS)),
        }
    }

    fn smallest() -> Self {
        Genes {
            depths: [2; STAGES],
            kernels: [3; SLOTS],
            expands: [3; SLOTS],
        }
    }

    fn arch(&self) -> Arch {
        Arch::normalized(self.depths, self.kernels, self.expands).expect("genes from the space")
    }

    fn mutate(&self, p: f64, rng: &mut SplitMix64) -> Self {
        let mut g = *self;
        let hit = |rng: &mut SplitMix64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p;
        for d in g.depths.iter_mut() {
            if hit(rng) {
                *d = rng.choose(&DEPTHS);
            }
        }
        for i in 0..SLOTS {
            if hit(rng) {
                g.kernels[i] = rng.choose(&KERNELS);
            }
            if hit(rng) {
                g.expands[i] = rng.choose(&EXPANDS);
            }
        }
        g
    }

    fn crossover(&self, other: &Self, rng: &mut SplitMix64) -> Self {
        let mut pick = |a: u8, b: u8| if rng.next_u64() & 1 == 0 { a } else { b };
        Genes {
            depths: std::array::from_fn(|i| pick(self.depths[i], other.depths[i])),
            kernels: std::array::from_fn(|i| pick(self.kernels[i], other.kernels[i])),
            expands: std::array::from_fn(|i| pick(self.expands[i], other.expands[i])),
        }
    }
}

/// What a search may return: cost ≤ budget and, with footprints, within the limits.
struct Feasibility<'a> {
    budget: f64,
    limits: Limits,
    footprints: Option<&'a Footprints>,
}

impl Feasibility<'_> {
    fn admits(&self, scorer: &mut Scorer, arch: Arch) -> Result<bool, ObjectiveError> {
        if scorer.cost(arch)? > self.budget {
            return Ok(false);
        }
        Ok(match self.footprints {
            Some(f) => f.admits(arch, &self.limits),
            None => true,
        })
    }
}

/// Draws from `make` until the arch is feasible; OFA loops forever, we stop after
/// `tries` and fall back to mutations of the smallest subnet (feasible whenever
/// the budget is at least the device's minimum), so tight budgets terminate.
fn feasible(
    scorer: &mut Scorer,
    rule: &Feasibility,
    rng: &mut SplitMix64,
    tries: usize,
    mut make: impl FnMut(&mut SplitMix64) -> Genes,
) -> Result<Option<Genes>, ObjectiveError> {
    for _ in 0..tries {
        let g = make(rng);
        if rule.admits(scorer, g.arch())? {
            return Ok(Some(g));
        }
    }
    for _ in 0..tries {
        let g = Genes::smallest().mutate(0.1, rng);
        if rule.admits(scorer, g.arch())? {
            return Ok(Some(g));
        }
    }
    Ok(rule
        .admits(scorer, Genes::smallest().arch())?
        .then(Genes::smallest))
}

/// OFA's evolutionary search for one budget.
pub fn evolution(
    objective: &Objective,
    budget: f64,
    cfg: &EvolutionConfig,
    seed: u64,
) -> Result<Found, ObjectiveError> {
    evolution_within(objective, budget, &Limits::default(), None, cfg, seed)
}

/// OFA's evolutionary search under a budget and weight / memory `limits` (only
/// archs meeting all of them enter the population, as OFA treats its one constraint).
pub fn evolution_within(
    objective: &Objective,
    budget: f64,
    limits: &Limits,
    footprints: Option<&Footprints>,
    cfg: &EvolutionConfig,
    seed: u64,
) -> Result<Found, ObjectiveError> {
    const TRIES: usize = 500;
    let rule = Feasibility {
        budget,
        limits: *limits,
        footprints,
    };
    let mut rng = SplitMix64::new(seed);
    let mut scorer = Scorer::new(objective);
    let mut population: Vec<(Genes, Scored)> = Vec::with_capacity(cfg.population);
    for _ in 0..cfg.population {
        let Some(g) = feasible(&mut scorer, &rule, &mut rng, TRIES, Genes::random)? else {
            return Ok(Found {
                best: None,
                evaluations: scorer.evaluations,
            });
        };
        population.push((g, scorer.score(g.arch())?));
    }
    let parents = ((cfg.population as f64 * cfg.parent_ratio) as usize).max(2);
    let mutations = (cfg.population as f64 * cfg.mutation_ratio).round() as usize;
    let mut best = None;
    for _ in 0..cfg.iterations {
        population.sort_by(|a, b| b.1.top1.total_cmp(&a.1.top1));
        population.truncate(parents);
        keep_best(&mut best, population[0].1);
        let elite: Vec<Genes> = population.iter().map(|p| p.0).collect();
        for child in 0..cfg.population - parents {
            let g = if child < mutations {
                let parent = elite[rng.below(elite.len())];
                feasible(&mut scorer, &rule, &mut rng, TRIES, |r| {
                    parent.mutate(cfg.mutation_prob, r)
                })?
            } else {
                let (a, b) = (elite[rng.below(elite.len())], elite[rng.below(elite.len())]);
                feasible(&mut scorer, &rule, &mut rng, TRIES, |r| a.crossover(&b, r))?
            };
            if let Some(g) = g {
                population.push((g, scorer.score(g.arch())?));
            }
        }
    }
    population.iter().for_each(|p| keep_best(&mut best, p.1));
    Ok(Found {
        best,
        evaluations: scorer.evaluations,
    })
}
