//! The shipped generators, inferred in pure Rust: feasible answers whose numbers
//! are the device's own models, the paper's interpolation, determinism, and one
//! clear error per kind of bad input.

use std::path::Path;

use pnag_build::generator::refine::{neighbours, swap, Seen};
use pnag_build::generator::{
    GenerateOptions, Generator, GeneratorError, MANIFEST_FILE, WEIGHTS_FILE,
};
use pnag_build::objective::{Objective, Scored, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_build::BuiltinDevice;
use pnag_runtime::{Arch, NetworkSpec};

/// The device-conditioned generator (one test binary: fewer release links in CI).
#[path = "generator/device_conditioned.rs"]
mod conditioned;

fn setup(device: &str) -> (Generator, Objective) {
    let g = Generator::embedded(device).unwrap();
    let o = Objective::new(device, DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    (g, o)
}

#[test]
fn every_device_ships_a_generator_whose_answers_are_feasible_and_scored_by_its_models() {
    for device in BuiltinDevice::ALL.map(BuiltinDevice::name) {
        let (g, o) = setup(device);
        let [lo, hi] = g.manifest.range;
        // (Up to float rounding: the learned predictors' summation order may
        // change between versions; generation takes the smaller of the two.)
        assert!(
            lo <= o.cost(Arch::smallest()).unwrap() * (1.0 + 1e-6),
            "{device}: range {lo} covers the smallest subnet ({})",
            o.cost(Arch::smallest()).unwrap()
        );
        for f in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let budget = lo + f * (hi - lo);
            let r = g.generate(&o, budget, &GenerateOptions::default()).unwrap();
            let arch = Arch::parse(&r.arch).unwrap();
            assert!(
                r.cost <= budget,
                "{device} @ {budget}: cost {} over budget",
                r.cost
            );
            assert_eq!(r.cost, o.cost(arch).unwrap());
            assert_eq!(r.top1, o.top1(arch).unwrap());
            let spec = NetworkSpec::new(arch, o.width, o.resolution).unwrap();
            assert_eq!(r.mmacs, spec.macs() as f64 / 1e6);
            assert!(r.warning.is_none());
        }
    }
}

/// One budget's own search ([`Generator::search`]): refinement never loses to its samples.
#[test]
fn refinement_ends_at_a_local_optimum_never_below_the_best_sample() {
    for device in ["note10", "macs"] {
        let (g, o) = setup(device);
        let [lo, hi] = g.manifest.range;
        for f in [0.05, 0.4, 0.8] {
            let budget = lo + f * (hi - lo);
            // Enough steps to reach the local optimum (the default stops at 20).
            let opts = GenerateOptions {
                refine_steps: 1000,
                ..Default::default()
            };
            let r = g.search(&o, budget, &opts).unwrap();
            assert!(r.top1 >= r.sampled_top1, "{device} @ {budget}");
            assert!(r.refine_scored > 0);
            // No arch one decision away is feasible and predicted more accurate.
            let arch = Arch::parse(&r.arch).unwrap();
            for n in neighbours(&arch) {
                if o.cost(n).unwrap() <= budget {
                    assert!(
                        o.top1(n).unwrap() <= r.top1,
                        "{device} @ {budget}: {n} beats {arch}"
                    );
                }
            }
            // Without refinement: the paper's Section 3.5, the best sample itself.
            let plain = g
                .search(
                    &o,
                    budget,
                    &GenerateOptions {
                        refine_steps: 0,
                        ..Default::default()
                    },
                )
                .unwrap();
            assert_eq!((plain.top1, plain.refine_scored), (plain.sampled_top1, 0));
            assert_eq!(
                plain.sampled_top1, r.sampled_top1,
                "same samples either way"
            );
        }
    }
}

#[test]
fn a_swap_pays_for_an_over_budget_improvement_with_a_saving_elsewhere() {
    let (g, o) = setup("note10");
    let [lo, hi] = g.manifest.range;
    let plain = GenerateOptions {
        refine_steps: 0,
        ..Default::default()
    };
    let mut swaps = 0;
    for f in [0.05, 0.2, 0.4] {
        let budget = lo + f * (hi - lo);
        let r = g.search(&o, budget, &plain).unwrap();
        let arch = Arch::parse(&r.arch).unwrap();
        // Steepest single-decision ascent to a local optimum, independently of the crate's climb.
        let mut current = o.score(arch).unwrap();
        loop {
            let best = neighbours(&current.arch)
                .into_iter()
                .map(|n| o.score(n).unwrap())
                .filter(|n| n.cost <= budget)
                .max_by(|a, b| a.top1.total_cmp(&b.top1))
                .unwrap();
            if best.top1 <= current.top1 {
                break;
            }
            current = best;
        }
        let Some(better) = swap(&o, budget, current, &mut Seen::default()).unwrap() else {
            continue;
        };
        swaps += 1;
        assert_eq!(better, o.score(better.arch).unwrap() as Scored);
        assert!(
            better.cost <= budget && better.top1 > current.top1,
            "{better:?}"
        );
        assert!(
            neighbours(&current.arch)
                .iter()
                .any(|n| neighbours(n).contains(&better.arch)),
            "{} is two decisions from {}",
            better.arch,
            current.arch
        );
    }
    assert!(
        swaps > 0,
        "no budget-bound local optimum was improved by a swap"
    );
}

#[test]
fn neighbours_are_one_decision_away() {
    let arch = Arch::parse(
        "2,3,4,2,3:3,5,0,0,7,3,5,0,3,5,7,3,5,5,0,0,3,7,5,0:3,4,0,0,6,3,4,0,3,4,6,3,4,4,0,0,6,3,4,0",
    )
    .unwrap();
    let ns = neighbours(&arch);
    // 14 used layers × (2 kernels + 2 expands) + depth moves: 2→3 ×2, 3→2/3→4 ×2, 4→3 ×1.
    assert_eq!(ns.len(), 14 * 4 + 2 + 4 + 1);
    for n in &ns {
        let layers = |a: &Arch| a.active_layers().collect::<Vec<_>>();
        let changed_depths = (0..5)
            .filter(|&s| n.depths()[s] != arch.depths()[s])
            .count();
        let changed_layers = layers(n)
            .iter()
            .filter(|l| !layers(&arch).contains(l))
            .count();
        assert!(
            (changed_depths == 0 && changed_layers == 1)
                || (changed_depths == 1 && changed_layers <= 1),
            "{n}"
        );
    }
}

#[test]
fn embeddings_interpolate_linearly_between_adjacent_budgets() {
    let (g, _) = setup("note10");
    let (b, p) = (&g.manifest.budgets, g.policy());
    let (e1, e2) = (p.budget_vector(b, b[3]), p.budget_vector(b, b[4]));
    // ξ = (B2 − B) / (B2 − B1) = 0.25 at three quarters of the way.
    let mid = p.budget_vector(b, b[3] + 0.75 * (b[4] - b[3]));
    for i in 0..e1.len() {
        assert!((mid[i] - (0.25 * e1[i] + 0.75 * e2[i])).abs() < 1e-5);
    }
    // Outside the trained budgets the end embeddings are used.
    assert_eq!(p.budget_vector(b, b[0] - 1.0), p.budget_vector(b, b[0]));
    assert_eq!(
        p.budget_vector(b, b[b.len() - 1] * 2.0),
        p.budget_vector(b, b[b.len() - 1])
    );
}

#[test]
fn same_seed_same_architectures() {
    let (g, o) = setup("i7-8700k");
    let budget = (g.manifest.range[0] + g.manifest.range[1]) / 2.0;
    let run = |seed| {
        g.generate(
            &o,
            budget,
            &GenerateOptions {
                seed,
                ..Default::default()
            },
        )
        .unwrap()
        .arch
    };
    assert_eq!(run(7), run(7));
    // Each budget has its own stream: asking for more budgets does not change this one.
    let alone = g
        .generate(&o, budget, &GenerateOptions::default())
        .unwrap()
        .arch;
    let _ = g
        .generate(&o, budget * 0.8, &GenerateOptions::default())
        .unwrap();
    assert_eq!(
        g.generate(&o, budget, &GenerateOptions::default())
            .unwrap()
            .arch,
        alone
    );
}

#[test]
fn bad_budgets_get_one_clear_error_each() {
    let (g, o) = setup("note10");
    let opts = GenerateOptions::default();
    for bad in [f64::NAN, 0.0, -5.0, f64::INFINITY] {
        let e = g.generate(&o, bad, &opts).unwrap_err();
        assert!(matches!(e, GeneratorError::BadBudget(_)), "{bad}: {e}");
    }
    let e = g.generate(&o, 10.0, &opts).unwrap_err();
    assert!(matches!(e, GeneratorError::BelowMinimum { .. }), "{e}");
    assert!(e.to_string().contains("minimum 17.77 ms"), "{e}");
    // Above the range: the best answer, with a warning.
    let r = g.generate(&o, 500.0, &opts).unwrap();
    assert!(r
        .warning
        .as_deref()
        .unwrap()
        .contains("above device `note10`'s range"));
}

fn copy_model(device: &str, dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(device);
    std::fs::create_dir_all(dir).unwrap();
    for f in [MANIFEST_FILE, WEIGHTS_FILE] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
}

#[test]
fn missing_corrupt_or_foreign_models_are_refused() {
    let tmp = std::env::temp_dir().join(format!("pnag-gen-{}", std::process::id()));
    let dir = tmp.join("m");
    // Missing directory.
    let e = Generator::load(&tmp.join("nope")).unwrap_err();
    assert!(e.to_string().contains("generator.json"), "{e}");
    // Corrupt manifest.
    copy_model("note10", &dir);
    std::fs::write(dir.join(MANIFEST_FILE), b"{ not json").unwrap();
    let e = Generator::load(&dir).unwrap_err();
    assert!(matches!(e, GeneratorError::ManifestJson { .. }), "{e}");
    // The parser's error is kept as the source, not flattened into a string.
    assert!(std::error::Error::source(&e).is_some());
    // Truncated weights.
    copy_model("note10", &dir);
    let w = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    std::fs::write(dir.join(WEIGHTS_FILE), &w[..w.len() / 2]).unwrap();
    let e = Generator::load(&dir).unwrap_err();
    assert!(e.to_string().contains(WEIGHTS_FILE), "{e}");
    // A generator trained for note10, asked on i7-8700k.
    copy_model("note10", &dir);
    let g = Generator::load(&dir).unwrap();
    let i7 = Objective::new("i7-8700k", DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let e = g
        .generate(&i7, 30.0, &GenerateOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("trained for device `note10`"), "{e}");
    // A changed cost model (other content hash) → retrain.
    let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
    let hash = &g.manifest.models.cost_hash;
    std::fs::write(
        dir.join(MANIFEST_FILE),
        text.replace(hash.as_str(), "0000000000000000"),
    )
    .unwrap();
    let g = Generator::load(&dir).unwrap();
    let note10 = Objective::new("note10", DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let e = g
        .generate(&note10, 50.0, &GenerateOptions::default())
        .unwrap_err();
    assert!(
        e.to_string().contains("cost model") && e.to_string().contains("retrain"),
        "{e}"
    );
    std::fs::remove_dir_all(&tmp).ok();
}

/// A manifest only loads the weights it was trained with (issue: one device's
/// `generator.json` beside another device's `generator.safetensors` used to generate).
#[test]
fn a_manifest_refuses_another_trainings_weights() {
    let dir = std::env::temp_dir().join(format!("pnag-gen-mixed-{}", std::process::id()));
    copy_model("note10", &dir);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/titan-xp")
            .join(WEIGHTS_FILE),
        dir.join(WEIGHTS_FILE),
    )
    .unwrap();
    let err = Generator::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("belong to another training") && err.contains("weights_hash"),
        "{err}"
    );
    // Every shipped generator names its own weights.
    for device in BuiltinDevice::ALL.map(BuiltinDevice::name) {
        Generator::embedded(device).unwrap();
    }
}

#[test]
fn numbers_in_messages_have_sensible_precision() {
    use pnag_build::generator::num;
    assert_eq!(
        [
            num(25.0),
            num(40.5),
            num(1e308),
            num(1e-4),
            num(0.0),
            num(f64::NAN)
        ],
        ["25", "40.5", "1e308", "1e-4", "0", "NaN"]
    );
    let g = Generator::embedded("note10").unwrap();
    let objective = Objective::new("note10", DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let above = g
        .generate(&objective, 1e308, &GenerateOptions::default())
        .unwrap();
    let warning = above.warning.unwrap();
    assert!(warning.starts_with("budget 1e308 ms is above"), "{warning}");
}

/// Issue 21: a larger budget never gets a less accurate subnet, for budgets
/// asked of one frontier (a targets file, one `pnag generate` call) and asked
/// separately; above the range one answer. 10,000 seeded random pairs per
/// device, log-uniform from just below the cheapest subnet to far above the range.
#[test]
fn larger_budgets_never_get_less_accurate_answers() {
    let pairs = std::env::var("PNAG_MONOTONE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    for device in BuiltinDevice::ALL.map(BuiltinDevice::name) {
        let (g, o) = setup(device);
        let opts = GenerateOptions::default();
        let mut frontier = g.frontier(&o, &opts).unwrap();
        let [lo, hi] = g.manifest.range;
        let (from, to) = ((lo * 0.98).ln(), (hi * 1.5).ln());
        let mut rng = pnag_build::rng::SplitMix64::new(21);
        let mut ask = |b: f64| frontier.answer(b).ok().map(|r| (r.top1, r.cost, r.arch));
        let mut answered = 0;
        for _ in 0..pairs {
            let mut budget = || {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                (from + (to - from) * u).exp()
            };
            let (x, y) = (budget(), budget());
            let (small, large) = (x.min(y), x.max(y));
            let (a, b) = (ask(small), ask(large));
            if let Some((top1, cost, _)) = &a {
                assert!(*cost <= small, "{device} @ {small}: cost {cost}");
                let (top1_large, cost_large, _) =
                    b.as_ref().expect("a larger budget is answered too");
                assert!(*cost_large <= large);
                assert!(
                    top1_large >= top1,
                    "{device}: {large} got {top1_large} % but {small} got {top1} %"
                );
                answered += 1;
            }
        }
        assert!(
            answered > pairs * 9 / 10,
            "{device}: {answered}/{pairs} answered"
        );
        // Above the range: one answer, however far above.
        let top = ask(hi * 1.0001).unwrap();
        for b in [hi * 2.0, 1e4 * hi, 1e308] {
            assert_eq!(ask(b).unwrap().2, top.2, "{device} @ {b}");
        }
        // Asked separately (a fresh frontier each time), the same answers.
        for f in [0.03, 0.37, 0.81] {
            let b = lo + f * (hi - lo);
            let alone = g.generate(&o, b, &opts).unwrap().arch;
            assert_eq!(Some(alone), ask(b).map(|r| r.2), "{device} @ {b}");
        }
    }
}

#[test]
fn answers_meet_every_limit_and_loosening_one_never_costs_accuracy() {
    use pnag_build::constraints::{Footprints, Limits};
    let (g, o) = setup("note10");
    // What builds with limits use: searches that also climb under weight / memory levels.
    let opts = GenerateOptions {
        frugal: true,
        ..Default::default()
    };
    let mut frontier = g.frontier(&o, &opts).unwrap();
    let footprints = Footprints::new(
        DEFAULT_WIDTH,
        DEFAULT_RESOLUTION,
        false,
        "synthetic (untrained, seed 0)",
        1,
    );
    let smallest = footprints.of(Arch::smallest()).unwrap();
    let largest = footprints.of(Arch::largest()).unwrap();
    let [lo, hi] = g.manifest.range;
    let mut rng = pnag_build::rng::SplitMix64::new(5);
    let mut unit = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let between = |a: u64, b: u64, u: f64| a + ((b - a) as f64 * u) as u64;
    for _ in 0..200 {
        let budget = lo + (hi - lo) * unit();
        let tight = Limits {
            weights_bytes: Some(between(
                smallest.weights_bytes,
                largest.weights_bytes,
                unit(),
            )),
            peak_bytes: Some(between(smallest.peak_bytes, largest.peak_bytes, unit())),
        };
        let (answer, f) = frontier.answer_within(budget, &tight, &footprints).unwrap();
        assert!(
            answer.cost <= budget && tight.admit(f),
            "{budget} {tight:?}: {f:?}"
        );
        assert_eq!(Some(f), footprints.of(answer.arch.parse().unwrap()));
        // Loosen one limit (or drop it), or raise the budget: never less accurate.
        let w = tight.weights_bytes.unwrap();
        let p = tight.peak_bytes.unwrap();
        let looser = [
            (
                budget,
                Limits {
                    weights_bytes: Some(between(w, largest.weights_bytes, unit())),
                    ..tight
                },
            ),
            (
                budget,
                Limits {
                    peak_bytes: Some(between(p, largest.peak_bytes, unit())),
                    ..tight
                },
            ),
            (
                budget,
                Limits {
                    weights_bytes: None,
                    ..tight
                },
            ),
            (budget + (hi - budget) * unit(), tight),
        ];
        for (b, limits) in looser {
            let (loose, _) = frontier.answer_within(b, &limits, &footprints).unwrap();
            assert!(
                loose.top1 >= answer.top1,
                "{b} {limits:?}: {} % < {} % under {budget} {tight:?}",
                loose.top1,
                answer.top1
            );
        }
    }
    // Below the smallest subnet's weights: one error naming the limit and the least reachable.
    let limits = Limits {
        weights_bytes: Some(smallest.weights_bytes - 1),
        peak_bytes: None,
    };
    let e = frontier
        .answer_within(hi, &limits, &footprints)
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, GeneratorError::Unsatisfiable(_)), "{text}");
    assert!(
        text.contains("`weights_mb`")
            && text.contains(&format!("{:.2} MB", smallest.weights_bytes as f64 / 1e6)),
        "{text}"
    );
    assert!(!text.contains("`peak_memory_mb`"), "{text}");
}

#[test]
fn searching_the_resolution_is_monotone_and_never_worse_than_224_px_alone() {
    use pnag_build::constraints::{Footprints, Limits};
    use pnag_build::generator::resolutions::{objectives_at, resolution_grid, Resolutions};
    let (g, fixed) = setup("note10");
    let grid = resolution_grid("note10", DEFAULT_WIDTH);
    assert_eq!(grid, [160, 176, 192, 208, 224]);
    let objectives = objectives_at("note10", DEFAULT_WIDTH, &grid).unwrap();
    let footprints: Vec<Footprints> = grid
        .iter()
        .map(|&r| Footprints::new(DEFAULT_WIDTH, r, false, "synthetic", 1))
        .collect();
    let opts = GenerateOptions::default();
    let mut searched = Resolutions::new(&g, &objectives, &opts).unwrap();
    let mut at_224 = g.frontier(&fixed, &opts).unwrap();
    let none = Limits::default();
    // The cheapest 160 px subnet is below the cheapest 224 px one: budgets between them
    // are answered only at a smaller size.
    let lo = objectives[0].cost(Arch::smallest()).unwrap();
    let [lo_224, hi] = g.manifest.range;
    assert!(lo < lo_224);
    let mut previous = f64::MIN;
    for i in 0..60 {
        let budget = lo * (hi / lo).powf(i as f64 / 59.0);
        let (answer, _) = searched.answer_within(budget, &none, &footprints).unwrap();
        assert!(answer.cost <= budget && grid.contains(&answer.resolution));
        // The answer's cost is the objective's at its resolution.
        let at = &objectives[grid.iter().position(|&r| r == answer.resolution).unwrap()];
        assert_eq!(answer.cost, at.cost(answer.arch.parse().unwrap()).unwrap());
        assert!(
            answer.top1 >= previous,
            "{budget}: {} < {previous}",
            answer.top1
        );
        previous = answer.top1;
        if let Ok(alone) = at_224.answer(budget) {
            assert!(
                answer.top1 >= alone.top1,
                "{budget}: {} < {} at 224 px",
                answer.top1,
                alone.top1
            );
        } else {
            assert!(budget < lo_224 && answer.resolution < 224);
        }
    }
    // Below every size's cheapest subnet: one error naming the least of them.
    let e = searched
        .answer_within(lo * 0.9, &none, &footprints)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("minimum {lo:.2} ms")), "{e}");
}
