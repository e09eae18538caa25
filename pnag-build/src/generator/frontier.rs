//! Monotone answers: a larger budget never gets a less accurate subnet.
//!
//! One budget's own search ([`Generator::search`]) is a seeded random search:
//! two nearby budgets can land on different local optima, so 29.9999 ms once
//! got a subnet 0.18 points better than 30 ms did. A [`Frontier`] instead runs
//! the search at a fixed grid of [`GRID_SEARCHES`] budgets spaced
//! geometrically over the device's range (cheapest subnet … largest), keeps
//! every (arch, cost, top-1) those searches scored — sampled, climbed through,
//! even over their own budget — and answers a budget `b` with the most accurate
//! of them costing ≤ `b`, drawn from the searches at every grid budget up to
//! the first one ≥ `b`. That set only grows with `b`, so the answers' top-1
//! never falls; above the range every budget sees all searches and gets the
//! same subnet. The searches depend only on the generator, the objective and
//! the options (seed included), so separate calls agree too. The budget's own
//! search is deliberately not added: it would make `b`'s answer depend on a
//! search no larger budget sees.

use pnag_runtime::{Arch, NetworkSpec};

use super::{num, BudgetMap, GenerateOptions, Generated, Generator, GeneratorError};
use crate::constraints::{mb, Binding, Footprint, Footprints, Limits};
use crate::objective::{Objective, ObjectiveError, Scored};

/// Budgets searched on the grid. 32 geometric steps over the shipped devices'
/// ranges are 3–5 % apart; `pnag bench frontier` measures what the grid costs
/// against each budget's own search (docs/generator/README.md).
pub const GRID_SEARCHES: usize = 32;

/// One budget's search: its answer and every arch it scored.
pub(super) struct Search {
    pub best: Option<Scored>,
    pub best_sampled: Option<Scored>,
    /// Feasible samples, most accurate first.
    pub sampled: Vec<Scored>,
    /// Everything the refinement costed and scored (any cost).
    pub scored: Vec<Scored>,
    pub feasible: usize,
    pub drawn: usize,
    pub cheapest: f64,
    pub refine_scored: usize,
}

/// What an answer cost to find (reported in [`Generated`]).
pub(super) struct Work {
    pub feasible: usize,
    pub drawn: usize,
    pub refine_scored: usize,
    pub grid_searches: usize,
}

/// A generator's searches on a fixed grid of budgets, run as answers need
/// them and shared by every budget asked of it (see the module docs).
pub struct Frontier<'a> {
    generator: &'a Generator,
    objective: &'a Objective,
    opts: GenerateOptions,
    /// How this frontier's budgets condition the policy (identity at the trained resolution).
    map: BudgetMap,
    grid: Vec<f64>,
    searches: Vec<Search>,
    /// Always a candidate: the cheapest subnet by construction.
    smallest: Scored,
    /// Per number of searches used: the best of everything found and of the
    /// samples alone, as staircases over cost (built once, then binary-searched).
    staircases: Vec<Option<(Staircase, Staircase)>>,
    /// Per number of grid searches used: their candidates, most accurate first, and
    /// whether each was sampled (for [`Frontier::answer_within`]).
    ranked: Vec<Option<Vec<(Scored, bool)>>>,
}

/// The most accurate point costing ≤ c for every c: points sorted by cost,
/// each step the best so far ([`more_accurate`]), so a lookup is a binary search.
struct Staircase(Vec<Scored>);

impl Staircase {
    fn new<'p>(points: impl Iterator<Item = &'p Scored>) -> Self {
        let mut points: Vec<Scored> = points.copied().collect();
        points.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        let mut best: Option<Scored> = None;
        for p in &mut points {
            let b = best.map_or(*p, |b| more_accurate(b, *p));
            (*p, best) = (b, Some(b));
        }
        Staircase(points)
    }

    fn under(&self, budget: f64) -> Option<Scored> {
        let n = self.0.partition_point(|p| p.cost <= budget);
        n.checked_sub(1).map(|i| self.0[i])
    }
}

impl<'a> Frontier<'a> {
    pub(super) fn new(
        generator: &'a Generator,
        objective: &'a Objective,
        opts: GenerateOptions,
    ) -> Result<Self, GeneratorError> {
        let lo = generator.min_cost(objective)?;
        let hi = generator.manifest.range[1].max(lo);
        Self::with_range(generator, objective, opts, [lo, hi], BudgetMap::IDENTITY)
    }

    /// A frontier whose grid spans `[lo, hi]` and whose budgets condition the policy
    /// through `map` ([`Generator::frontier_at`]).
    pub(super) fn with_range(
        generator: &'a Generator,
        objective: &'a Objective,
        opts: GenerateOptions,
        [lo, hi]: [f64; 2],
        map: BudgetMap,
    ) -> Result<Self, GeneratorError> {
        let last = GRID_SEARCHES - 1;
        let grid = (0..GRID_SEARCHES)
            .map(|i| match i {
                0 => lo,
                i if i == last => hi,
                i => lo * (hi / lo).powf(i as f64 / last as f64),
            })
            .collect();
        let arch = Arch::smallest();
        let smallest = Scored {
            arch,
            cost: objective.cost(arch)?,
            top1: objective.top1(arch)?,
        };
        Ok(Frontier {
            generator,
            objective,
            opts,
            map,
            grid,
            searches: Vec::new(),
            smallest,
            staircases: (0..GRID_SEARCHES).map(|_| None).collect(),
            ranked: (0..GRID_SEARCHES).map(|_| None).collect(),
        })
    }

    /// The grid budgets, ascending, in the device's unit.
    /// The objective this frontier answers on.
    pub fn objective(&self) -> &Objective {
        self.objective
    }

    pub fn grid(&self) -> &[f64] {
        &self.grid
    }

    /// The most accurate subnet costing ≤ `budget` that the grid searches up
    /// to the first grid budget ≥ `budget` found (ties: the cheaper one).
    pub fn answer(&mut self, budget: f64) -> Result<Generated, GeneratorError> {
        let (used, warning) = self.search_up_to(budget)?;
        let searches = &self.searches[..used];
        let (all, sampled) = self.staircases[used - 1].get_or_insert_with(|| {
            let all = searches
                .iter()
                .flat_map(|s| s.sampled.iter().chain(&s.scored))
                .chain([&self.smallest]);
            let sampled = searches.iter().flat_map(|s| &s.sampled);
            (Staircase::new(all), Staircase::new(sampled))
        });
        let (best, best_sampled) = (all.under(budget), sampled.under(budget));
        let Some(best) = best else {
            return Err(self.none_feasible(budget, used));
        };
        self.generated(budget, used, best, best_sampled, warning)
    }

    /// The most accurate candidate costing ≤ `budget` whose [`Footprint`] is within
    /// `limits`, from the same grid searches [`Frontier::answer`] uses. The candidates
    /// depend only on `budget`, so loosening any limit never gives a less accurate
    /// answer. Without limits this is [`Frontier::answer`].
    pub fn answer_within(
        &mut self,
        budget: f64,
        limits: &Limits,
        footprints: &Footprints,
    ) -> Result<(Generated, Footprint), GeneratorError> {
        let footprint = |arch: Arch| {
            footprints.of(arch).ok_or_else(|| {
                GeneratorError::Unsatisfiable(format!(
                    "no layer plan for `{arch}` at this resolution"
                ))
            })
        };
        if limits.is_empty() {
            let mut g = self.answer(budget)?;
            let arch = Arch::parse(&g.arch).map_err(|e| ObjectiveError::Cost(e.into()))?;
            let f = footprint(arch)?;
            (g.footprint, g.binding) = (Some(f), Some(Binding::Cost));
            return Ok((g, f));
        }
        let (used, warning) = self.search_up_to(budget)?;
        let searches = &self.searches[..used];
        let smallest = self.smallest;
        let ranked = self.ranked[used - 1].get_or_insert_with(|| {
            let mut pool: Vec<(Scored, bool)> = searches
                .iter()
                .flat_map(|s| {
                    let sampled = s.sampled.iter().map(|x| (*x, true));
                    sampled.chain(s.scored.iter().map(|x| (*x, false)))
                })
                .chain([(smallest, false)])
                .collect();
            pool.sort_by(|(a, _), (b, _)| {
                b.top1
                    .total_cmp(&a.top1)
                    .then(a.cost.total_cmp(&b.cost))
                    .then(a.arch.cmp(&b.arch))
            });
            pool
        });
        let (mut best, mut best_sampled) = (None, None);
        for &(s, was_sampled) in ranked.iter() {
            if s.cost > budget || (best.is_some() && !was_sampled) {
                continue;
            }
            if !footprints.admits(s.arch, limits) {
                continue;
            }
            if best.is_none() {
                best = Some((s, footprint(s.arch)?));
            }
            if was_sampled {
                best_sampled = Some(s);
                break;
            }
        }
        let Some((best, f)) = best else {
            return Err(self.unsatisfiable(limits, footprint(smallest.arch)?));
        };
        let mut g = self.generated(budget, used, best, best_sampled, warning)?;
        g.footprint = Some(f);
        g.binding = Some(Binding::of(g.cost, Some(budget), f, limits));
        Ok((g, f))
    }

    /// Validates `budget` and runs the grid searches it draws on; returns how many it uses.
    fn search_up_to(&mut self, budget: f64) -> Result<(usize, Option<String>), GeneratorError> {
        // The grid starts at the device's cheapest cost (`Generator::min_cost`).
        let warning = self.generator.validate(
            self.objective,
            budget,
            [self.grid[0], self.grid[GRID_SEARCHES - 1]],
        )?;
        let used = 1 + self
            .grid
            .iter()
            .position(|&g| g >= budget)
            .unwrap_or(self.grid.len() - 1);
        let missing = &self.grid[self.searches.len().min(used)..used];
        for search in run_searches(
            self.generator,
            self.objective,
            missing,
            &self.opts,
            self.map,
        ) {
            self.searches.push(search?);
        }
        Ok((used, warning))
    }

    /// The answer `best` for `budget` from the first `used` grid searches.
    fn generated(
        &self,
        budget: f64,
        used: usize,
        best: Scored,
        best_sampled: Option<Scored>,
        warning: Option<String>,
    ) -> Result<Generated, GeneratorError> {
        let sampled = best_sampled.map_or(best.top1, |s| s.top1);
        generated(
            self.objective,
            budget,
            best,
            sampled,
            self.work(used),
            warning,
        )
    }

    fn work(&self, used: usize) -> Work {
        let searches = &self.searches[..used];
        Work {
            feasible: searches.iter().map(|s| s.feasible).sum(),
            drawn: searches.iter().map(|s| s.drawn).sum(),
            refine_scored: searches.iter().map(|s| s.refine_scored).sum(),
            grid_searches: used,
        }
    }

    fn none_feasible(&self, budget: f64, used: usize) -> GeneratorError {
        let searches = &self.searches[..used];
        let drawn = searches.iter().map(|s| s.drawn).sum();
        let cheapest = searches
            .iter()
            .map(|s| s.cheapest)
            .fold(self.smallest.cost, f64::min);
        self.generator.none_feasible(budget, drawn, cheapest)
    }

    /// The limits the smallest subnet — the least of every cost at once — exceeds.
    fn unsatisfiable(&self, limits: &Limits, smallest: Footprint) -> GeneratorError {
        let mut over = Vec::new();
        if let Some(w) = limits.weights_bytes.filter(|&w| smallest.weights_bytes > w) {
            over.push(format!(
                "`weights_mb` {} is below {:.2} MB",
                num(mb(w)),
                mb(smallest.weights_bytes)
            ));
        }
        if let Some(p) = limits.peak_bytes.filter(|&p| smallest.peak_bytes > p) {
            over.push(format!(
                "`peak_memory_mb` {} is below {:.2} MB",
                num(mb(p)),
                mb(smallest.peak_bytes)
            ));
        }
        GeneratorError::Unsatisfiable(format!(
            "no subnet meets these limits: {}, the least any subnet reaches (the smallest subnet, \
             which needs {:.2} MB of weights, {:.2} MB of peak memory and {:.2} {}: the least of each, alone and together)",
            over.join("; "),
            mb(smallest.weights_bytes),
            mb(smallest.peak_bytes),
            self.smallest.cost,
            self.generator.manifest.unit.label()
        ))
    }
}

fn run_searches(
    generator: &Generator,
    objective: &Objective,
    budgets: &[f64],
    opts: &GenerateOptions,
    map: BudgetMap,
) -> Vec<Result<Search, GeneratorError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(budgets.len());
    if threads <= 1 {
        return budgets
            .iter()
            .map(|&b| generator.run_search(objective, b, opts, map))
            .collect();
    }
    let mut out: Vec<Option<Result<Search, GeneratorError>>> =
        budgets.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        // Strided: costlier large budgets are spread over the threads.
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..budgets.len())
                        .step_by(threads)
                        .map(|i| (i, generator.run_search(objective, budgets[i], opts, map)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("a grid search panicked") {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter()
        .map(|r| r.expect("every budget searched"))
        .collect()
}

/// The more accurate of two; on a tie the cheaper, then the smaller arch
/// (any fixed order: the answer must not depend on iteration order).
fn more_accurate(a: Scored, b: Scored) -> Scored {
    let key = |s: &Scored| (s.top1, -s.cost);
    match key(&a).partial_cmp(&key(&b)) {
        Some(std::cmp::Ordering::Greater) => a,
        Some(std::cmp::Ordering::Less) => b,
        _ if a.arch <= b.arch => a,
        _ => b,
    }
}

/// The report of one answer.
pub(super) fn generated(
    objective: &Objective,
    budget: f64,
    best: Scored,
    sampled_top1: f64,
    work: Work,
    warning: Option<String>,
) -> Result<Generated, GeneratorError> {
    let Scored { arch, cost, top1 } = best;
    let spec = NetworkSpec::new(arch, objective.width, objective.resolution)
        .map_err(|e| ObjectiveError::Cost(e.into()))?;
    Ok(Generated {
        budget,
        arch: arch.to_string(),
        resolution: objective.resolution,
        cost,
        top1,
        mmacs: spec.macs() as f64 / 1e6,
        params_m: spec.params() as f64 / 1e6,
        feasible: work.feasible,
        drawn: work.drawn,
        sampled_top1,
        refine_scored: work.refine_scored,
        grid_searches: work.grid_searches,
        warning,
        footprint: None,
        binding: None,
    })
}
