//! Training PNAG with tch (feature `train`): Algorithm 1 of the paper.
//!
//! 1. Sample M archs, score them with the device's cost model and the width's
//!    accuracy model; the K budgets are evenly spaced over the cost range.
//! 2. Train the evaluator R(β | B; w) — three fully connected layers over the
//!    arch one-hot and a one-hot of the budget — with the pairwise hinge loss
//!    φ(d · (R(β_i) − R(β_j))), φ(z) = max(0, 1 − z), d from Eq. 6.
//! 3. Train the generator (`pnag_build::generator::policy`) with REINFORCE over all
//!    K budgets at once: reward minus a per-budget moving-average baseline,
//!    plus λ × entropy (Eq. 3–4).
//!
//! The result is written by `Generator::save` and used by pure-Rust inference.
//! Training is checkpointed into its output directory and resumes from there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pnag_runtime::arch::{Arch, DEPTHS, EXPANDS, KERNELS, SLOTS, SLOTS_PER_STAGE, STAGES};
use pnag_runtime::encoding::{pnag_onehot, PNAG_FEATURES};
use pnag_runtime::files::write_atomic;
use pnag_runtime::weights::{parse_safetensors, read_f32, serialize_f32, WeightTensor};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::datasets::split;
use crate::search::Scorer;
use pnag_build::generator::policy::{self, CHOICES, HIDDEN};
use pnag_build::generator::{Generator, GeneratorError, GeneratorManifest, TrainingReport, FORMAT};
use pnag_build::objective::{
    budgets, dominance, hand_reward, Objective, ObjectiveError, RewardKind, Scored,
};
use pnag_build::rng::SplitMix64;

/// Hyper-parameters; defaults are what the shipped generators were trained with.
#[derive(Debug, Clone)]
pub struct PnagConfig {
    pub seed: u64,
    pub reward: RewardKind,
    /// Archs sampled for the evaluator (paper: M = 16,000).
    pub archs: usize,
    /// Budget embeddings (paper: K = 10).
    pub k: usize,
    /// Train for exactly these budgets instead of K evenly spaced ones
    /// (the "independent search" baseline: one generator per budget).
    pub budgets: Option<Vec<f64>>,
    pub evaluator_steps: usize,
    pub evaluator_batch: usize,
    pub evaluator_hidden: usize,
    pub iterations: usize,
    /// Archs sampled per budget per iteration (N of Eq. 4).
    pub samples_per_budget: usize,
    pub learning_rate: f64,
    pub entropy_coeff: f64,
    /// Moving-average factor of the per-budget reward baseline.
    pub baseline_decay: f64,
    /// Risk-seeking variant: learn only from each budget's best `elite` share of
    /// samples, with that share's threshold as the baseline (inference keeps the
    /// best of many samples, so the top of the distribution is what matters).
    /// `None` = the paper's moving-average baseline over all samples.
    pub elite: Option<f64>,
    pub threads: usize,
}

impl Default for PnagConfig {
    fn default() -> Self {
        PnagConfig {
            seed: 0,
            reward: RewardKind::Pareto,
            archs: 16_000,
            k: 10,
            budgets: None,
            evaluator_steps: 2_000,
            evaluator_batch: 256,
            evaluator_hidden: 512,
            iterations: 1500,
            samples_per_budget: 32,
            learning_rate: 5e-3,
            entropy_coeff: 1e-2,
            baseline_decay: 0.9,
            elite: Some(0.1),
            threads: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("libtorch: {0}")]
    Tch(#[from] tch::TchError),
    #[error(transparent)]
    Objective(#[from] ObjectiveError),
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    #[error(transparent)]
    Weights(#[from] pnag_runtime::RuntimeError),
}

/// Where training is, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Sampling,
    Evaluator,
    Generator,
}

fn onehots(archs: impl Iterator<Item = Arch>) -> (Vec<f32>, i64) {
    let mut x = Vec::new();
    let mut n = 0;
    for a in archs {
        x.extend_from_slice(&pnag_onehot(&a));
        n += 1;
    }
    (x, n)
}

fn budget_onehot(idx: &[usize], k: usize) -> Tensor {
    let mut v = vec![0.0f32; idx.len() * k];
    for (row, &i) in idx.iter().enumerate() {
        v[row * k + i] = 1.0;
    }
    Tensor::from_slice(&v).view([idx.len() as i64, k as i64])
}

pub(crate) fn snapshot(vs: &nn::VarStore) -> Result<Vec<(String, WeightTensor)>, TrainError> {
    let mut out: Vec<(String, WeightTensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| {
            let shape = t.size().iter().map(|&d| d as usize).collect();
            Ok((
                name,
                WeightTensor {
                    shape,
                    data: Vec::<f32>::try_from(t.flatten(0, -1))?,
                },
            ))
        })
        .collect::<Result<_, TrainError>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(crate) fn restore(vs: &mut nn::VarStore, path: &Path) -> Result<bool, TrainError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(false);
    };
    let origin = path.display().to_string();
    let st = parse_safetensors(&bytes, &origin)?;
    tch::no_grad(|| -> Result<(), TrainError> {
        for (name, mut var) in vs.variables() {
            let shape: Vec<usize> = var.size().iter().map(|&d| d as usize).collect();
            let t = read_f32(&st, &origin, &name, &shape)?;
            var.copy_(&Tensor::from_slice(&t.data).view(var.size().as_slice()));
        }
        Ok(())
    })?;
    Ok(true)
}

pub(crate) fn save_vars(vs: &nn::VarStore, path: &Path, meta: String) -> Result<(), TrainError> {
    let vars = snapshot(vs)?;
    write_atomic(
        path,
        &serialize_f32(
            vars.iter().map(|(n, t)| (n.as_str(), t)),
            Some(("pnag.checkpoint", meta)),
        ),
    )?;
    Ok(())
}

/// The evaluator network: (120 + K) → h → h → 1, ReLU.
fn evaluator_net(root: &nn::Path, k: usize, hidden: usize) -> nn::Sequential {
    let dims = [(PNAG_FEATURES + k) as i64, hidden as i64, hidden as i64, 1];
    nn::seq()
        .add(nn::linear(
            root / "layers" / "0",
            dims[0],
            dims[1],
            Default::default(),
        ))
        .add_fn(|x| x.relu())
        .add(nn::linear(
            root / "layers" / "1",
            dims[1],
            dims[2],
            Default::default(),
        ))
        .add_fn(|x| x.relu())
        .add(nn::linear(
            root / "layers" / "2",
            dims[2],
            dims[3],
            Default::default(),
        ))
}

/// Eq. 6 labels for all pairs of `rows` under budget `b`, as an n × n matrix.
fn dominance_matrix(samples: &[Scored], rows: &[usize], b: f64, kind: RewardKind) -> Tensor {
    let n = rows.len();
    let mut d = vec![0.0f32; n * n];
    for (i, &ri) in rows.iter().enumerate() {
        for (j, &rj) in rows.iter().enumerate() {
            if i != j {
                d[i * n + j] = dominance(&samples[ri], &samples[rj], b, kind);
            }
        }
    }
    Tensor::from_slice(&d).view([n as i64, n as i64])
}

struct Evaluator {
    net: nn::Sequential,
    k: usize,
    steps: usize,
    pair_accuracy: f64,
}

impl Evaluator {
    fn scores(&self, x: &Tensor, budget_idx: &[usize]) -> Tensor {
        self.net
            .forward(&Tensor::cat(
                &[x.shallow_clone(), budget_onehot(budget_idx, self.k)],
                1,
            ))
            .squeeze_dim(1)
    }
}

/// Step 2: the evaluator, trained with the pairwise hinge loss (Eq. 5).
fn train_evaluator(
    vs: &mut nn::VarStore,
    samples: &[Scored],
    trained_budgets: &[f64],
    cfg: &PnagConfig,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(Phase, usize, usize),
) -> Result<Evaluator, TrainError> {
    let net = evaluator_net(&(vs.root() / "evaluator"), cfg.k, cfg.evaluator_hidden);
    let (x_all, n) = onehots(samples.iter().map(|s| s.arch));
    let x_all = Tensor::from_slice(&x_all).view([n, PNAG_FEATURES as i64]);
    let (train, _, test) = split(samples.len(), cfg.seed);
    let resumed = match checkpoint {
        Some(p) => restore(vs, p)?,
        None => false,
    };
    if !resumed {
        let mut opt = nn::Adam::default().build(vs, 1e-3)?;
        let mut rng = SplitMix64::new(cfg.seed ^ 0xe7a1);
        let batch = cfg.evaluator_batch.min(train.len());
        let off_diagonal = 1.0 - Tensor::eye(batch as i64, (Kind::Float, Device::Cpu));
        for step in 0..cfg.evaluator_steps {
            let rows: Vec<usize> = (0..batch).map(|_| train[rng.below(train.len())]).collect();
            let kb = rng.below(cfg.k);
            let d = dominance_matrix(samples, &rows, trained_budgets[kb], cfg.reward);
            let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>());
            let r = net
                .forward(&Tensor::cat(
                    &[
                        x_all.index_select(0, &idx),
                        budget_onehot(&vec![kb; batch], cfg.k),
                    ],
                    1,
                ))
                .squeeze_dim(1);
            let diff = r.unsqueeze(1) - r.unsqueeze(0);
            let loss = ((-(&d * diff) + 1.0).relu() * &off_diagonal).sum(Kind::Float)
                / (batch * (batch - 1)) as f64;
            opt.backward_step(&loss);
            progress(Phase::Evaluator, step + 1, cfg.evaluator_steps);
        }
        if let Some(p) = checkpoint {
            save_vars(vs, p, "evaluator".into())?;
        }
    }
    // Held-out pairs: every pair of test archs at every trained budget.
    let evaluator = Evaluator {
        net,
        k: cfg.k,
        steps: cfg.evaluator_steps,
        pair_accuracy: 0.0,
    };
    let idx = Tensor::from_slice(&test.iter().map(|&r| r as i64).collect::<Vec<_>>());
    let x_test = x_all.index_select(0, &idx);
    let (mut agree, mut total) = (0.0, 0.0);
    for (kb, &b) in trained_budgets.iter().enumerate() {
        let r = tch::no_grad(|| evaluator.scores(&x_test, &vec![kb; test.len()]));
        let d = dominance_matrix(samples, &test, b, cfg.reward);
        let predicted = (r.unsqueeze(1) - r.unsqueeze(0)).sign();
        let m = test.len() as f64;
        agree += (predicted * d).gt(0.0).sum(Kind::Float).double_value(&[]);
        total += m * (m - 1.0);
    }
    Ok(Evaluator {
        pair_accuracy: agree / total,
        ..evaluator
    })
}

/// The policy's variables, named as `pnag_build::generator::policy` reads them.
pub(crate) struct PolicyVars {
    pub(crate) budget_embedding: Tensor,
    embeddings: [Tensor; 3],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    heads: [(Tensor, Tensor); 3],
}

impl PolicyVars {
    pub(crate) fn new(root: &nn::Path, k: usize) -> Self {
        // PNAG's reference initializes every parameter uniformly in ±0.1.
        let init = nn::Init::Uniform { lo: -0.1, up: 0.1 };
        let h = HIDDEN as i64;
        let var = |name: &str, dims: &[i64]| {
            let mut p = root.clone();
            let mut parts: Vec<&str> = name.split('.').collect();
            let last = parts.pop().expect("non-empty name");
            for part in parts {
                p = &p / part;
            }
            p.var(last, dims, init)
        };
        let c = CHOICES as i64;
        PolicyVars {
            budget_embedding: var(policy::BUDGET_EMBEDDING, &[k as i64, h]),
            embeddings: policy::DECISION_EMBEDDINGS.map(|n| var(n, &[c, h])),
            w_ih: var(policy::LSTM[0], &[4 * h, h]),
            w_hh: var(policy::LSTM[1], &[4 * h, h]),
            b_ih: var(policy::LSTM[2], &[4 * h]),
            b_hh: var(policy::LSTM[3], &[4 * h]),
            heads: policy::HEADS.map(|n| {
                (
                    var(&format!("{n}.weight"), &[c, h]),
                    var(&format!("{n}.bias"), &[c]),
                )
            }),
        }
    }

    /// The budget embedding of each row's budget index.
    pub(crate) fn budget_rows(&self, budget_idx: &[usize]) -> Tensor {
        let idx = Tensor::from_slice(&budget_idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
        self.budget_embedding.index_select(0, &idx)
    }
}

/// One batch of sampled archs with the log-probability and entropy of each.
pub(crate) struct Rollout {
    pub(crate) archs: Vec<Arch>,
    pub(crate) log_prob: Tensor,
    pub(crate) entropy: Tensor,
}

/// Samples one arch per row of `b` (each row's budget vector), with the equations
/// of `policy.rs` (slots beyond a stage's depth leave state, input and
/// log-probability untouched).
pub(crate) fn rollout(p: &PolicyVars, b: &Tensor) -> Result<Rollout, TrainError> {
    let n = b.size()[0];
    let opts = (Kind::Float, Device::Cpu);
    let (mut h, mut c) = (
        Tensor::zeros([n, HIDDEN as i64], opts),
        Tensor::zeros([n, HIDDEN as i64], opts),
    );
    let mut prev = Tensor::zeros([n, HIDDEN as i64], opts);
    let (mut log_prob, mut entropy) = (Tensor::zeros([n], opts), Tensor::zeros([n], opts));
    let mut choices = vec![[0usize; 1 + 2 * SLOTS_PER_STAGE]; STAGES * n as usize];
    let mut step = |decision: usize,
                    mask: Option<&Tensor>,
                    h: &mut Tensor,
                    c: &mut Tensor,
                    prev: &mut Tensor|
     -> Result<Vec<i64>, TrainError> {
        let x = b + &*prev;
        let gates = x.matmul(&p.w_ih.tr()) + &p.b_ih + h.matmul(&p.w_hh.tr()) + &p.b_hh;
        let g = gates.chunk(4, 1);
        let c_new = g[1].sigmoid() * &*c + g[0].sigmoid() * g[2].tanh();
        let h_new = g[3].sigmoid() * c_new.tanh();
        let (w, bias) = &p.heads[decision];
        let logp = (h_new.matmul(&w.tr()) + bias).log_softmax(-1, Kind::Float);
        let action = tch::no_grad(|| logp.exp().multinomial(1, true));
        let chosen = logp.gather(1, &action, false).squeeze_dim(1);
        let ent = -(logp.exp() * &logp).sum_dim_intlist(1, false, Kind::Float);
        let emb = p.embeddings[decision].index_select(0, &action.squeeze_dim(1));
        match mask {
            None => {
                (*h, *c, *prev) = (h_new, c_new, emb);
                log_prob += chosen;
                entropy += ent;
            }
            Some(m) => {
                let m1 = m.unsqueeze(1);
                *h = &h_new * &m1 + &*h * (1.0 - &m1);
                *c = &c_new * &m1 + &*c * (1.0 - &m1);
                *prev = &emb * &m1 + &*prev * (1.0 - &m1);
                log_prob += chosen * m;
                entropy += ent * m;
            }
        }
        Ok(Vec::<i64>::try_from(action.squeeze_dim(1))?)
    };
    for stage in 0..STAGES {
        let depth = step(0, None, &mut h, &mut c, &mut prev)?;
        for (row, &d) in depth.iter().enumerate() {
            choices[row * STAGES + stage][0] = d as usize;
        }
        for slot in 0..SLOTS_PER_STAGE {
            let used: Vec<f32> = depth
                .iter()
                .map(|&d| {
                    if (slot as u8) < DEPTHS[d as usize] {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask = Tensor::from_slice(&used);
            for (j, decision) in [1usize, 2].into_iter().enumerate() {
                let a = step(decision, Some(&mask), &mut h, &mut c, &mut prev)?;
                for (row, &v) in a.iter().enumerate() {
                    choices[row * STAGES + stage][1 + 2 * slot + j] = v as usize;
                }
            }
        }
    }
    let archs = (0..n as usize)
        .map(|row| {
            let (mut depths, mut kernels, mut expands) =
                ([0u8; STAGES], [0u8; SLOTS], [0u8; SLOTS]);
            for stage in 0..STAGES {
                let ch = &choices[row * STAGES + stage];
                depths[stage] = DEPTHS[ch[0]];
                for slot in 0..depths[stage] as usize {
                    kernels[stage * SLOTS_PER_STAGE + slot] = KERNELS[ch[1 + 2 * slot]];
                    expands[stage * SLOTS_PER_STAGE + slot] = EXPANDS[ch[2 + 2 * slot]];
                }
            }
            Arch::new(depths, kernels, expands).expect("choices from the space")
        })
        .collect();
    Ok(Rollout {
        archs,
        log_prob,
        entropy,
    })
}

/// Risk-seeking advantages for one group of samples (`rows`): each reward minus
/// the threshold of the group's best `share`, floored at 0 — only the best learn.
pub(crate) fn elite_advantages(
    rewards: &[f64],
    adv: &mut [f64],
    rows: std::ops::Range<usize>,
    share: f64,
) {
    let mut sorted = rewards[rows.clone()].to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let keep = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let threshold = sorted[keep - 1];
    for i in rows {
        adv[i] = (rewards[i] - threshold).max(0.0);
    }
}

/// REINFORCE with an entropy bonus (Eq. 3–4), advantages scaled to unit spread so
/// one learning rate fits the learned reward and the hand-made ones alike.
pub(crate) fn reinforce_loss(roll: &Rollout, adv: &[f64], entropy_coeff: f64) -> Tensor {
    let spread = (adv.iter().map(|a| a * a).sum::<f64>() / adv.len() as f64)
        .sqrt()
        .max(1e-8);
    let adv_t = Tensor::from_slice(&adv.iter().map(|a| (a / spread) as f32).collect::<Vec<_>>());
    -(&roll.log_prob * adv_t).mean(Kind::Float) - entropy_coeff * roll.entropy.mean(Kind::Float)
}

/// Trains evaluator (if the reward needs it) and generator for `objective`.
/// With `out`, checkpoints go to `out/.train/` and a rerun resumes from them.
#[allow(clippy::needless_range_loop)] // `k` indexes the budgets, their sample rows and baselines
pub fn train(
    objective: &Objective,
    cfg: &PnagConfig,
    out: Option<&Path>,
    progress: &mut dyn FnMut(Phase, usize, usize),
) -> Result<Generator, TrainError> {
    let start = Instant::now();
    super::start(cfg.seed, cfg.threads);
    // Keyed by every setting, so a rerun only resumes a run it would repeat.
    let settings = pnag_runtime::hash::fnv1a64([
        format!("{cfg:?}").as_bytes(),
        objective.identity().cost_hash.as_bytes(),
    ]);
    let ckpt_dir: Option<PathBuf> = out.map(|o| {
        o.join(".train").join(format!(
            "{}-{}-{settings:016x}",
            objective.device, cfg.reward
        ))
    });
    if let Some(d) = &ckpt_dir {
        std::fs::create_dir_all(d).map_err(|source| GeneratorError::Io {
            path: d.display().to_string(),
            source,
        })?;
    }

    progress(Phase::Sampling, 0, 1);
    let samples = objective.sample(cfg.archs, cfg.seed)?;
    let (lo, hi) = objective.range(&samples)?;
    let trained_budgets = cfg
        .budgets
        .clone()
        .unwrap_or_else(|| budgets(lo, hi, cfg.k));
    let cfg = &PnagConfig {
        k: trained_budgets.len(),
        ..cfg.clone()
    };
    progress(Phase::Sampling, 1, 1);

    let mut evs = nn::VarStore::new(Device::Cpu);
    let evaluator = if cfg.reward.uses_evaluator() {
        let ckpt = ckpt_dir.as_ref().map(|d| d.join("evaluator.safetensors"));
        Some(train_evaluator(
            &mut evs,
            &samples,
            &trained_budgets,
            cfg,
            ckpt.as_deref(),
            progress,
        )?)
    } else {
        None
    };

    let mut vs = nn::VarStore::new(Device::Cpu);
    let vars = PolicyVars::new(&vs.root(), cfg.k);
    let mut opt = nn::Adam::default().build(&vs, cfg.learning_rate)?;
    let mut baseline: Vec<Option<f64>> = vec![None; cfg.k];
    let mut first = 0;
    let gen_ckpt = ckpt_dir.as_ref().map(|d| d.join("generator.safetensors"));
    if let Some(p) = &gen_ckpt {
        if let Ok(state) = std::fs::read_to_string(p.with_extension("json")) {
            if let Ok((iteration, b)) = serde_json::from_str::<(usize, Vec<Option<f64>>)>(&state) {
                if b.len() == cfg.k && restore(&mut vs, p)? {
                    (first, baseline) = (iteration, b);
                }
            }
        }
    }
    let budget_idx: Vec<usize> = (0..cfg.k)
        .flat_map(|k| std::iter::repeat_n(k, cfg.samples_per_budget))
        .collect();
    let mut scorer = Scorer::new(objective);
    for iteration in first..cfg.iterations {
        // Reseeding per iteration makes a resumed run sample what an uninterrupted one would.
        tch::manual_seed(
            cfg.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(iteration as u64) as i64,
        );
        let roll = rollout(&vars, &vars.budget_rows(&budget_idx))?;
        let rewards: Vec<f64> = match &evaluator {
            Some(ev) => {
                let (x, n) = onehots(roll.archs.iter().copied());
                let r = tch::no_grad(|| {
                    ev.scores(
                        &Tensor::from_slice(&x).view([n, PNAG_FEATURES as i64]),
                        &budget_idx,
                    )
                });
                Vec::<f32>::try_from(r)?
                    .into_iter()
                    .map(f64::from)
                    .collect()
            }
            None => {
                let mut r = Vec::with_capacity(roll.archs.len());
                for (a, &k) in roll.archs.iter().zip(&budget_idx) {
                    r.push(hand_reward(
                        cfg.reward,
                        &scorer.score(*a)?,
                        trained_budgets[k],
                    ));
                }
                r
            }
        };
        // Per-budget moving-average baseline; advantages scaled to unit spread so
        // one learning rate fits the learned reward and the hand-made ones alike.
        let mut adv = vec![0.0f64; rewards.len()];
        for k in 0..cfg.k {
            let rows = k * cfg.samples_per_budget..(k + 1) * cfg.samples_per_budget;
            if let Some(share) = cfg.elite {
                elite_advantages(&rewards, &mut adv, rows, share);
                continue;
            }
            let mean = rewards[rows.clone()].iter().sum::<f64>() / cfg.samples_per_budget as f64;
            let base = baseline[k].unwrap_or(mean);
            for i in rows {
                adv[i] = rewards[i] - base;
            }
            baseline[k] = Some(cfg.baseline_decay * base + (1.0 - cfg.baseline_decay) * mean);
        }
        opt.backward_step(&reinforce_loss(&roll, &adv, cfg.entropy_coeff));
        progress(Phase::Generator, iteration + 1, cfg.iterations);
        if let Some(p) = &gen_ckpt {
            if (iteration + 1) % 100 == 0 && iteration + 1 < cfg.iterations {
                save_vars(&vs, p, "generator".into())?;
                write_atomic(
                    &p.with_extension("json"),
                    serde_json::to_string(&(iteration + 1, &baseline))
                        .expect("serializes")
                        .as_bytes(),
                )?;
            }
        }
    }

    let tensors = snapshot(&vs)?;
    let mut manifest = GeneratorManifest {
        format: FORMAT,
        // Set from the weights' bytes by `Generator::save` / `Generator::from_tensors`.
        weights_hash: String::new(),
        device: objective.device.clone(),
        unit: objective.unit(),
        width: objective.width.to_string(),
        resolution: objective.resolution,
        models: objective.identity().clone(),
        reward: cfg.reward,
        budgets: trained_budgets.clone(),
        range: [lo, hi],
        hidden: HIDDEN,
        seed: cfg.seed,
        training: TrainingReport {
            archs: cfg.archs,
            evaluator_steps: evaluator.as_ref().map_or(0, |e| e.steps),
            evaluator_pair_accuracy: evaluator.as_ref().map(|e| e.pair_accuracy),
            iterations: cfg.iterations,
            samples_per_budget: cfg.samples_per_budget,
            learning_rate: cfg.learning_rate,
            entropy_coeff: cfg.entropy_coeff,
            baseline: match cfg.elite {
                Some(share) => format!("elite {share}"),
                None => format!("moving average {}", cfg.baseline_decay),
            },
            feasible_rate: vec![],
            seconds: 0.0,
        },
        conditioning: None,
    };
    // Feasibility as the shipped (pure-Rust) generator sees it: 100 samples per trained budget.
    let mut generator = Generator::from_tensors(manifest.clone(), &tensors)?;
    let mut rng = SplitMix64::new(cfg.seed);
    for &b in &trained_budgets {
        let v = generator.policy().budget_vector(&trained_budgets, b);
        let mut ok = 0;
        for _ in 0..100 {
            let a = generator.policy().sample(&v, 1.0, &mut rng).arch;
            ok += (objective.cost(a)? <= b) as usize;
        }
        manifest.training.feasible_rate.push(ok as f64 / 100.0);
    }
    manifest.training.seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = out {
        Generator::save(&manifest, &tensors, dir)?;
        if let Some(d) = &ckpt_dir {
            let _ = std::fs::remove_dir_all(d);
            let _ = std::fs::remove_dir(dir.join(".train"));
        }
    }
    generator.manifest = manifest;
    Ok(generator)
}

/// Samples with the tch policy holding `tensors` (as trained): each arch and its
/// log-probability under tch — the reference the pure-Rust policy is tested against.
pub fn sample_with_tch(
    tensors: &[(String, WeightTensor)],
    k: usize,
    budget_idx: &[usize],
    seed: u64,
) -> Result<Vec<(Arch, f64)>, TrainError> {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let vars = PolicyVars::new(&vs.root(), k);
    copy_weights(&vs, tensors);
    sampled(tch::no_grad(|| {
        rollout(&vars, &vars.budget_rows(budget_idx))
    })?)
}

/// Sets every variable of `vs` that `tensors` names to that tensor's values.
pub(crate) fn copy_weights(vs: &nn::VarStore, tensors: &[(String, WeightTensor)]) {
    let by_name: HashMap<&str, &WeightTensor> =
        tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            if let Some(t) = by_name.get(name.as_str()) {
                var.copy_(&Tensor::from_slice(&t.data).view(var.size().as_slice()));
            }
        }
    });
}

/// Each sampled arch with its log-probability.
pub(crate) fn sampled(roll: Rollout) -> Result<Vec<(Arch, f64)>, TrainError> {
    let lp = Vec::<f32>::try_from(roll.log_prob)?;
    Ok(roll
        .archs
        .into_iter()
        .zip(lp.into_iter().map(f64::from))
        .collect())
}
