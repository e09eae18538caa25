//! The shipped device-conditioned generator: instantiating it for a device is
//! exactly "the budget embedding at the budget's position in the device's
//! range, plus `W_dev · r`" (the equation training samples with), it answers
//! monotonically within budget on a device, and bad inputs get one error.

use pnag_build::device::reference_archs;
use pnag_build::device::space::AdditiveCost;
use pnag_build::generator::device_conditioned::{device_vector, ConditionedGenerator, CONDITIONED};
use pnag_build::generator::{GenerateOptions, Generator, GeneratorError};
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_runtime::{Arch, Width};

fn device(name: &str) -> (Objective, Vec<f64>) {
    let o = Objective::new(name, DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let ms = o.cost_many(&reference_archs()).unwrap();
    (o, ms)
}

#[test]
fn instantiation_adds_the_device_vector_at_the_budgets_position() {
    let c = ConditionedGenerator::embedded().unwrap();
    // The same files read as a plain generator: its budgets are the positions 0..1.
    let shared = Generator::embedded(CONDITIONED).unwrap();
    for name in ["note10", "i7-8700k", "host"] {
        let (o, ms) = device(name);
        let g = c.for_device(&o, &ms).unwrap();
        let shift = c.device_shift(&ms).unwrap();
        // W_dev · r by hand from the centred logs.
        let r = device_vector(&ms);
        assert!(r.iter().sum::<f64>().abs() < 1e-9);
        let (lo, hi) = (
            o.cost(Arch::smallest()).unwrap(),
            o.cost(Arch::largest()).unwrap(),
        );
        assert_eq!(g.manifest.range, [lo, hi]);
        for p in [-0.2, 0.0, 0.05, 0.37, 0.5, 0.93, 1.0, 1.5] {
            let budget = lo + p * (hi - lo);
            let v = g.policy().budget_vector(&g.manifest.budgets, budget);
            let base = shared
                .policy()
                .budget_vector(&shared.manifest.budgets, p.clamp(0.0, 1.0));
            for ((x, b), s) in v.iter().zip(&base).zip(&shift) {
                assert!(
                    (x - (b + s)).abs() < 1e-5,
                    "{name} at {p}: {x} vs {b} + {s}"
                );
            }
            let expected: Vec<f32> = base.iter().zip(&shift).map(|(b, s)| b + s).collect();
            for arch in [Arch::smallest(), Arch::largest()] {
                let (a, b) = (
                    g.policy().log_prob(&v, &arch),
                    shared.policy().log_prob(&expected, &arch),
                );
                assert!((a - b).abs() < 1e-4, "{name}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn a_conditioned_generator_answers_within_budget_and_monotonically() {
    let c = ConditionedGenerator::embedded().unwrap();
    let (o, ms) = device("note10");
    let g = c.for_device(&o, &ms).unwrap();
    let mut frontier = g.frontier(&o, &GenerateOptions::default()).unwrap();
    let mut last = f64::NEG_INFINITY;
    for budget in [20.0, 30.0, 45.0, 60.0] {
        let a = frontier.answer(budget).unwrap();
        assert!(a.cost <= budget, "{} ms over {budget}", a.cost);
        assert!(a.top1 >= last);
        last = a.top1;
    }
}

#[test]
fn bad_conditioning_inputs_get_one_error() {
    let c = ConditionedGenerator::embedded().unwrap();
    let (_, ms) = device("note10");
    let err = |e: GeneratorError| e.to_string();
    let short = err(c.device_shift(&ms[..19]).unwrap_err());
    assert!(
        short.contains("20 positive reference latencies, got 19"),
        "{short}"
    );
    let mut zero = ms.clone();
    zero[3] = 0.0;
    assert!(err(c.device_shift(&zero).unwrap_err()).contains("positive reference latencies"));
    let theta = pnag_build::device::space::DeviceSpace::embedded()
        .unwrap()
        .known[0]
        .theta
        .clone();
    let cost = AdditiveCost {
        thetas: vec![theta],
        width: Width::W1_0,
        resolution: 192,
    };
    let w10 = Objective::custom("w10".into(), Box::new(cost), Width::W1_0, 192).unwrap();
    let wrong = err(c.for_device(&w10, &ms).unwrap_err());
    assert!(wrong.contains("width and resolution"), "{wrong}");
    // A per-device generator is not a conditioned one.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/note10");
    let plain = err(ConditionedGenerator::load(&dir).unwrap_err());
    assert!(plain.contains("no `conditioning` block"), "{plain}");
}
