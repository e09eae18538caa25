//! Training the device-conditioned generator with tch (feature `train`; the model
//! and its inference are `pnag_build::generator::device_conditioned`).
//!
//! The policy is the per-device one (`super::generator`) plus one matrix
//! `W_dev` ([`DEVICE_PROJECTION`]) that maps a device's centred log reference
//! latencies into the LSTM's input. Each REINFORCE iteration draws a few of
//! the training devices; every device gets all K budgets, placed at the same
//! positions of its own cost range, and N samples per budget. The reward is
//! Eq. 6's order computed from the models (`pareto-exact`: accuracy when under
//! the budget, else −cost / budget): a learned evaluator per device (or one
//! conditioned on devices) is a further model to train and validate; on note10
//! the exact order taught a generator as well as the learned evaluator did
//! (0.55 vs 0.75 points regret from samples, 0.03 vs −0.09 once refined;
//! docs/generator/README.md, ablations). Risk-seeking baseline: each (device, budget) group learns
//! from its best `elite` share, as the shipped per-device generators do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pnag_runtime::arch::Arch;
use pnag_runtime::files::write_atomic;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Tensor};

use super::generator::{
    copy_weights, elite_advantages, reinforce_loss, restore, rollout, sampled, save_vars, snapshot,
    PolicyVars, TrainError,
};
use pnag_build::generator::device_conditioned::{
    ConditionedGenerator, Conditioning, CONDITIONED, DEVICE_PROJECTION,
};
use pnag_build::generator::{GeneratorError, GeneratorManifest, TrainingReport, FORMAT, HIDDEN};
use pnag_build::objective::{budgets, hand_reward, Objective, RewardKind, Scored};
use pnag_build::rng::SplitMix64;

/// Hyper-parameters; defaults are what the shipped conditioned generator was trained with.
#[derive(Debug, Clone)]
pub struct ConditionedConfig {
    pub seed: u64,
    /// Budget embeddings (positions evenly spaced over each device's range).
    pub k: usize,
    pub iterations: usize,
    /// Archs sampled per budget per device per iteration.
    pub samples_per_budget: usize,
    /// Training devices drawn per iteration.
    pub devices_per_iteration: usize,
    pub learning_rate: f64,
    pub entropy_coeff: f64,
    /// Learn from each (device, budget) group's best share of samples.
    pub elite: f64,
    pub threads: usize,
}

impl Default for ConditionedConfig {
    fn default() -> Self {
        ConditionedConfig {
            seed: 0,
            k: 10,
            iterations: 1500,
            samples_per_budget: 16,
            devices_per_iteration: 4,
            learning_rate: 5e-3,
            entropy_coeff: 1e-2,
            elite: 0.1,
            threads: 2,
        }
    }
}

/// One device to train on: its cost model and its reference latencies (ms).
pub struct TrainingDevice {
    pub objective: Objective,
    pub reference_ms: Vec<f64>,
}

/// Trains on `devices` (`held_out` is recorded in the manifest). With `out`,
/// the result is written there, checkpoints go to `out/.train/` and a rerun resumes.
#[allow(clippy::needless_range_loop)] // group indices address rows, budgets and devices at once
pub fn train_conditioned(
    devices: &[TrainingDevice],
    held_out: &[String],
    cfg: &ConditionedConfig,
    out: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ConditionedGenerator, TrainError> {
    let start = Instant::now();
    let first_objective = &devices
        .first()
        .ok_or_else(|| GeneratorError::Manifest {
            path: "(training)".into(),
            reason: "no training devices".into(),
        })?
        .objective;
    let references = devices[0].reference_ms.len();
    let per_iteration = cfg.devices_per_iteration.clamp(1, devices.len());
    super::start(cfg.seed, cfg.threads);
    // Keyed by every setting, so a rerun only resumes a run it would repeat.
    let keys: Vec<String> = std::iter::once(format!("{cfg:?}{held_out:?}"))
        .chain(
            devices
                .iter()
                .map(|d| format!("{}{:?}", d.objective.identity().cost_hash, d.reference_ms)),
        )
        .collect();
    let settings = pnag_runtime::hash::fnv1a64(keys.iter().map(|k| k.as_bytes()));
    let ckpt: Option<PathBuf> = out.map(|o| {
        o.join(".train")
            .join(format!("{CONDITIONED}-{settings:016x}"))
            .join("generator.safetensors")
    });
    if let Some(dir) = ckpt.as_ref().and_then(|p| p.parent()) {
        std::fs::create_dir_all(dir).map_err(|source| GeneratorError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }

    let mut vs = nn::VarStore::new(Device::Cpu);
    let vars = PolicyVars::new(&vs.root(), cfg.k);
    let projection = vs.root().var(
        DEVICE_PROJECTION,
        &[HIDDEN as i64, references as i64],
        nn::Init::Uniform { lo: -0.1, up: 0.1 },
    );
    let mut opt = nn::Adam::default().build(&vs, cfg.learning_rate)?;
    let mut first = 0;
    if let Some(p) = &ckpt {
        if let Ok(state) = std::fs::read_to_string(p.with_extension("json")) {
            if let Ok(iteration) = state.trim().parse::<usize>() {
                if restore(&mut vs, p)? {
                    first = iteration;
                }
            }
        }
    }

    let positions = budgets(0.0, 1.0, cfg.k);
    let mut ranges = Vec::with_capacity(devices.len());
    let mut vectors = Vec::with_capacity(devices.len());
    for d in devices {
        let o = &d.objective;
        ranges.push((o.cost(Arch::smallest())?, o.cost(Arch::largest())?));
        vectors.push(device_tensor(&d.reference_ms));
    }
    let budget_idx: Vec<usize> = (0..cfg.k)
        .flat_map(|k| std::iter::repeat_n(k, cfg.samples_per_budget))
        .collect();
    let group = cfg.samples_per_budget;
    let mut top1: HashMap<Arch, f64> = HashMap::new();
    for iteration in first..cfg.iterations {
        tch::manual_seed(
            cfg.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(iteration as u64) as i64,
        );
        // Partial Fisher–Yates: `per_iteration` distinct devices, reproducible on resume.
        let mut rng = SplitMix64::new(cfg.seed ^ (iteration as u64).wrapping_mul(0x9e37_79b9));
        let mut order: Vec<usize> = (0..devices.len()).collect();
        for i in 0..per_iteration {
            let j = i + rng.below(order.len() - i);
            order.swap(i, j);
        }
        let chosen = &order[..per_iteration];
        let rows: Vec<Tensor> = chosen
            .iter()
            .map(|&d| vars.budget_rows(&budget_idx) + projection.mv(&vectors[d]))
            .collect();
        let roll = rollout(&vars, &Tensor::cat(&rows, 0))?;
        let fresh: Vec<Arch> = roll
            .archs
            .iter()
            .filter(|a| !top1.contains_key(a))
            .copied()
            .collect();
        for (a, t) in fresh.iter().zip(first_objective.top1_many(&fresh)?) {
            top1.insert(*a, t);
        }
        let mut rewards = Vec::with_capacity(roll.archs.len());
        for (row, a) in roll.archs.iter().enumerate() {
            let d = chosen[row / budget_idx.len()];
            let (lo, hi) = ranges[d];
            let b = lo + positions[budget_idx[row % budget_idx.len()]] * (hi - lo);
            let s = Scored {
                arch: *a,
                cost: devices[d].objective.cost(*a)?,
                top1: top1[a],
            };
            rewards.push(hand_reward(RewardKind::ParetoExact, &s, b));
        }
        let mut adv = vec![0.0f64; rewards.len()];
        for g in 0..rewards.len() / group {
            elite_advantages(&rewards, &mut adv, g * group..(g + 1) * group, cfg.elite);
        }
        opt.backward_step(&reinforce_loss(&roll, &adv, cfg.entropy_coeff));
        progress(iteration + 1, cfg.iterations);
        if let Some(p) = &ckpt {
            if (iteration + 1) % 100 == 0 && iteration + 1 < cfg.iterations {
                save_vars(&vs, p, "device-conditioned generator".into())?;
                write_atomic(
                    &p.with_extension("json"),
                    (iteration + 1).to_string().as_bytes(),
                )?;
            }
        }
    }

    let tensors = snapshot(&vs)?;
    let mut manifest = GeneratorManifest {
        format: FORMAT,
        weights_hash: String::new(),
        device: CONDITIONED.into(),
        unit: first_objective.unit(),
        width: first_objective.width.to_string(),
        resolution: first_objective.resolution,
        models: ConditionedGenerator::identity(first_objective.identity()),
        reward: RewardKind::ParetoExact,
        budgets: positions.clone(),
        range: [0.0, 1.0],
        hidden: HIDDEN,
        seed: cfg.seed,
        training: TrainingReport {
            archs: 0,
            evaluator_steps: 0,
            evaluator_pair_accuracy: None,
            iterations: cfg.iterations,
            samples_per_budget: cfg.samples_per_budget,
            learning_rate: cfg.learning_rate,
            entropy_coeff: cfg.entropy_coeff,
            baseline: format!("elite {}", cfg.elite),
            feasible_rate: vec![],
            seconds: 0.0,
        },
        conditioning: Some(Conditioning {
            references,
            devices: devices.iter().map(|d| d.objective.device.clone()).collect(),
            held_out: held_out.to_vec(),
            devices_per_iteration: per_iteration,
        }),
    };
    // Feasibility as the pure-Rust generator sees it: per position, the share of
    // 50 samples per training device under that device's budget.
    let shared = ConditionedGenerator::from_tensors(&manifest, &tensors)?;
    let mut rate = vec![0.0; cfg.k];
    let mut rng = SplitMix64::new(cfg.seed);
    for d in devices {
        let g = shared.for_device(&d.objective, &d.reference_ms)?;
        for (k, &b) in g.manifest.budgets.iter().enumerate() {
            let v = g.policy().budget_vector(&g.manifest.budgets, b);
            for _ in 0..50 {
                let a = g.policy().sample(&v, 1.0, &mut rng).arch;
                rate[k] +=
                    (d.objective.cost(a)? <= b) as usize as f64 / (50 * devices.len()) as f64;
            }
        }
    }
    manifest.training.feasible_rate = rate;
    manifest.training.seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = out {
        pnag_build::generator::Generator::save(&manifest, &tensors, dir)?;
        if let Some(d) = ckpt.as_ref().and_then(|p| p.parent()) {
            let _ = std::fs::remove_dir_all(d);
            let _ = std::fs::remove_dir(dir.join(".train"));
        }
    }
    Ok(ConditionedGenerator::from_tensors(&manifest, &tensors)?)
}

/// Samples with the tch policy holding `tensors` (as trained), conditioned on a
/// device with these reference latencies: each arch and its log-probability
/// under tch — the reference `ConditionedGenerator::for_device` is tested against.
pub fn sample_conditioned_with_tch(
    tensors: &[(String, pnag_runtime::weights::WeightTensor)],
    k: usize,
    budget_idx: &[usize],
    reference_ms: &[f64],
    seed: u64,
) -> Result<Vec<(Arch, f64)>, TrainError> {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let vars = PolicyVars::new(&vs.root(), k);
    let projection = vs.root().var(
        DEVICE_PROJECTION,
        &[HIDDEN as i64, reference_ms.len() as i64],
        nn::Init::Const(0.0),
    );
    copy_weights(&vs, tensors);
    let r = device_tensor(reference_ms);
    sampled(tch::no_grad(|| {
        rollout(&vars, &(vars.budget_rows(budget_idx) + projection.mv(&r)))
    })?)
}

/// The device vector (`conditioned::device_vector`) as a tch tensor.
fn device_tensor(reference_ms: &[f64]) -> Tensor {
    let r = pnag_build::generator::device_conditioned::device_vector(reference_ms);
    Tensor::from_slice(&r.iter().map(|&x| x as f32).collect::<Vec<_>>())
}
