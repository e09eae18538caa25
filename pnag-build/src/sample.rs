//! Seeded sampling of architectures from the search space (uniform per choice,
//! as OFA's `sample_active_subnet`): same seed, same archs, on every machine.

use pnag_runtime::arch::{Arch, DEPTHS, EXPANDS, KERNELS, SLOTS, SLOTS_PER_STAGE, STAGES};

use crate::rng::SplitMix64;

/// One uniformly random arch: each depth, kernel and expand drawn independently.
pub fn random_arch(rng: &mut SplitMix64) -> Arch {
    let depths: [u8; STAGES] = std::array::from_fn(|_| rng.choose(&DEPTHS));
    let mut kernels = [0u8; SLOTS];
    let mut expands = [0u8; SLOTS];
    for slot in 0..SLOTS {
        if (slot % SLOTS_PER_STAGE) < depths[slot / SLOTS_PER_STAGE] as usize {
            kernels[slot] = rng.choose(&KERNELS);
            expands[slot] = rng.choose(&EXPANDS);
        }
    }
    Arch::new(depths, kernels, expands).expect("sampled from the space")
}

/// `n` random archs from `seed`.
pub fn random_archs(n: usize, seed: u64) -> Vec<Arch> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| random_arch(&mut rng)).collect()
}

/// `n` archs that cover the whole cost range: each arch draws a size bias
/// t ~ U(0, 1) and picks choice i ∈ {0, 1, 2} (small → large) with
/// probability C(2, i) tⁱ (1 − t)²⁻ⁱ. Uniform sampling (t = ½ for every
/// arch, in effect) almost never comes near the smallest or largest subnets,
/// so an evaluator trained only on it has never seen the tight budgets.
pub fn covering_archs(n: usize, seed: u64) -> Vec<Arch> {
    let mut rng = SplitMix64::new(seed);
    let mut unit = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (0..n)
        .map(|_| {
            let t = unit();
            let probs = [(1.0 - t) * (1.0 - t), 2.0 * t * (1.0 - t), t * t];
            let mut pick = |set: &[u8; 3]| {
                let u = unit();
                if u < probs[0] {
                    set[0]
                } else if u < probs[0] + probs[1] {
                    set[1]
                } else {
                    set[2]
                }
            };
            let depths: [u8; STAGES] = std::array::from_fn(|_| pick(&DEPTHS));
            let mut kernels = [0u8; SLOTS];
            let mut expands = [0u8; SLOTS];
            for slot in 0..SLOTS {
                if (slot % SLOTS_PER_STAGE) < depths[slot / SLOTS_PER_STAGE] as usize {
                    kernels[slot] = pick(&KERNELS);
                    expands[slot] = pick(&EXPANDS);
                }
            }
            Arch::new(depths, kernels, expands).expect("sampled from the space")
        })
        .collect()
}

/// The middle of the space: depth 3 in every stage, 5x5 kernels, expand ratio 4
/// (the engine benchmark's "middle" subnet and the host profiler's reference).
pub fn middle_arch() -> Arch {
    Arch::new(
        [3; 5],
        std::array::from_fn(|s| if s % 4 < 3 { 5 } else { 0 }),
        std::array::from_fn(|s| if s % 4 < 3 { 4 } else { 0 }),
    )
    .expect("a valid arch")
}

/// The probe's reference subnets, recomputed ([`pnag_runtime::references`] has them
/// as constants): smallest, middle, largest, and 17 of `covering_archs(2000, 22)` at
/// evenly spaced MACs quantiles (w1.2, 224 px); ascending in MACs.
pub fn probe_references() -> Vec<Arch> {
    let mut refs: Vec<Arch> = macs_quantiles(17, 22)
        .into_iter()
        .chain([Arch::smallest(), middle_arch(), Arch::largest()])
        .collect();
    refs.sort_by_key(|a| (macs_w12(a), *a));
    refs.dedup();
    refs
}

/// `count` of `covering_archs(2000, seed)` at evenly spaced MACs quantiles
/// (`i / (count + 1)`, i = 1…count; w1.2 at 224 px), ascending.
pub fn macs_quantiles(count: usize, seed: u64) -> Vec<Arch> {
    let mut pool = covering_archs(2000, seed);
    pool.sort_by_key(|a| (macs_w12(a), *a));
    (1..=count)
        .map(|i| pool[(i * (pool.len() - 1)) / (count + 1)])
        .collect()
}

fn macs_w12(a: &Arch) -> u64 {
    pnag_runtime::NetworkSpec::new(*a, pnag_runtime::Width::W1_2, 224)
        .expect("224 px is valid")
        .macs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtimes_reference_subnets_are_the_documented_selection() {
        let computed: Vec<String> = probe_references().iter().map(|a| a.to_string()).collect();
        assert_eq!(
            computed,
            pnag_runtime::references::REFERENCES,
            "{computed:#?}"
        );
    }

    #[test]
    fn same_seed_same_archs_and_all_choices_appear() {
        assert_eq!(random_archs(20, 3), random_archs(20, 3));
        assert_ne!(random_archs(20, 3), random_archs(20, 4));
        let archs = random_archs(200, 1);
        for k in KERNELS {
            assert!(archs.iter().any(|a| a.kernels().contains(&k)));
        }
        for d in DEPTHS {
            assert!(archs.iter().any(|a| a.depths().contains(&d)));
        }
    }
}
