//! Training the learned predictors with tch (feature `train`; needs libtorch,
//! see `scripts/setup/libtorch.sh`). The result is a [`LearnedPredictor`]
//! whose inference is pure Rust, so nothing downstream links libtorch.

use std::time::Instant;

use pnag_runtime::weights::WeightTensor;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::datasets::{split, Dataset};
use pnag_build::predictor::{
    decode, features, Candidate, LearnedPredictor, Manifest, Mlp, Target, FEATURES,
};
use pnag_build::stats::metrics::Metrics;

/// Hyper-parameters (PNAG's predictor MLP: 512 → 512 hidden units).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub hidden: Vec<usize>,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: vec![512, 512],
            epochs: 150,
            batch: 128,
            lr: 1e-3,
            seed: 0,
            threads: 2,
        }
    }
}

/// What to train: a measured set and how to read it.
#[derive(Debug, Clone)]
pub struct PredictorTask {
    pub name: String,
    pub kind: &'static str,
    pub unit: &'static str,
    pub width: &'static str,
    pub data: Dataset,
    pub target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("libtorch: {0}")]
    Tch(#[from] tch::TchError),
}

fn encode(target: Target, v: f64) -> f64 {
    match target {
        Target::Log => v.ln(),
        Target::Identity => v,
    }
}

/// Trains each candidate architecture and keeps the one with the best
/// validation score (MAPE for latency, RMSE for accuracy): PNAG's MLP, or a
/// linear model where the measurements say it generalizes better.
pub fn train_best(
    task: PredictorTask,
    cfg: &TrainConfig,
    candidates: &[Vec<usize>],
    progress: &mut dyn FnMut(usize, f64),
) -> Result<LearnedPredictor, TrainError> {
    let score = |p: &LearnedPredictor| {
        if p.manifest.kind == "latency" {
            p.manifest.validation.mape
        } else {
            p.manifest.validation.rmse
        }
    };
    let mut best: Option<LearnedPredictor> = None;
    let mut tried = Vec::new();
    for hidden in candidates {
        let p = train_predictor(
            task.clone(),
            &TrainConfig {
                hidden: hidden.clone(),
                ..cfg.clone()
            },
            progress,
        )?;
        tried.push(Candidate {
            hidden: hidden.clone(),
            validation: p.manifest.validation,
        });
        if best.as_ref().is_none_or(|b| score(&p) < score(b)) {
            best = Some(p);
        }
    }
    let mut best = best.expect("at least one candidate");
    best.manifest.candidates = tried;
    Ok(best)
}

/// Trains on the seeded 80 % split, keeps the epoch with the best validation
/// loss, and reports validation and test metrics computed by the pure-Rust MLP.
pub fn train_predictor(
    task: PredictorTask,
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<LearnedPredictor, TrainError> {
    let start = Instant::now();
    super::start(cfg.seed, cfg.threads);
    let samples = &task.data.samples;
    let (train, val, test) = split(samples.len(), cfg.seed);
    let y: Vec<f64> = samples
        .iter()
        .map(|s| encode(task.target, s.value))
        .collect();
    let mean = train.iter().map(|&i| y[i]).sum::<f64>() / train.len() as f64;
    let std = (train.iter().map(|&i| (y[i] - mean).powi(2)).sum::<f64>() / train.len() as f64)
        .sqrt()
        .max(1e-12);
    let tensors = |idx: &[usize]| {
        let x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| features(&samples[i].arch, samples[i].resolution))
            .collect();
        let t: Vec<f32> = idx.iter().map(|&i| ((y[i] - mean) / std) as f32).collect();
        (
            Tensor::from_slice(&x).view([idx.len() as i64, FEATURES as i64]),
            Tensor::from_slice(&t).view([idx.len() as i64, 1]),
        )
    };
    let (x_train, y_train) = tensors(&train);
    let (x_val, y_val) = tensors(&val);

    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let mut net = nn::seq();
    let mut width = FEATURES as i64;
    let dims: Vec<usize> = cfg.hidden.iter().copied().chain([1]).collect();
    for (i, &h) in dims.iter().enumerate() {
        net = net.add(nn::linear(
            &root / "layers" / i.to_string(),
            width,
            h as i64,
            Default::default(),
        ));
        if i + 1 < dims.len() {
            net = net.add_fn(|x| x.relu());
        }
        width = h as i64;
    }
    let mut opt = nn::Adam::default().build(&vs, cfg.lr)?;
    let snapshot = || -> Result<Vec<(WeightTensor, WeightTensor)>, TrainError> {
        let vars = vs.variables();
        (0..dims.len())
            .map(|i| {
                let get = |n: &str| -> Result<WeightTensor, TrainError> {
                    let t = &vars[&format!("layers.{i}.{n}")];
                    let shape = t.size().iter().map(|&d| d as usize).collect();
                    Ok(WeightTensor {
                        shape,
                        data: Vec::<f32>::try_from(t.flatten(0, -1))?,
                    })
                };
                Ok((get("weight")?, get("bias")?))
            })
            .collect()
    };
    let (mut best_loss, mut best) = (f64::INFINITY, snapshot()?);
    let n = train.len() as i64;
    for epoch in 0..cfg.epochs {
        let perm = Tensor::randperm(n, (Kind::Int64, Device::Cpu));
        for b in (0..n).step_by(cfg.batch) {
            let idx = perm.narrow(0, b, (cfg.batch as i64).min(n - b));
            let loss = net
                .forward(&x_train.index_select(0, &idx))
                .mse_loss(&y_train.index_select(0, &idx), tch::Reduction::Mean);
            opt.backward_step(&loss);
        }
        let val_loss = tch::no_grad(|| net.forward(&x_val).mse_loss(&y_val, tch::Reduction::Mean))
            .double_value(&[]);
        if val_loss < best_loss {
            best_loss = val_loss;
            best = snapshot()?;
        }
        progress(epoch + 1, val_loss);
    }

    let mlp = Mlp::from_layers(best);
    let metrics = |idx: &[usize]| {
        let p: Vec<f64> = idx
            .iter()
            .map(|&i| {
                decode(
                    task.target,
                    mean,
                    std,
                    mlp.forward(&features(&samples[i].arch, samples[i].resolution))[0],
                )
            })
            .collect();
        let m: Vec<f64> = idx.iter().map(|&i| samples[i].value).collect();
        Metrics::new(&p, &m)
    };
    let (validation, test_metrics) = (metrics(&val), metrics(&test));
    let mut resolutions: Vec<u32> = samples.iter().map(|s| s.resolution).collect();
    resolutions.sort();
    resolutions.dedup();
    let manifest = Manifest {
        name: task.name,
        // Set by `LearnedPredictor::save` from the bytes it writes.
        weights_hash: String::new(),
        kind: task.kind.into(),
        unit: task.unit.into(),
        width: task.width.into(),
        resolutions,
        data: format!("{} [{}]", task.data.name, task.data.source),
        target: task.target,
        target_mean: mean,
        target_std: std,
        hidden: cfg.hidden.clone(),
        seed: cfg.seed,
        split: [train.len(), val.len(), test.len()],
        epochs: cfg.epochs,
        train_seconds: start.elapsed().as_secs_f64(),
        validation,
        test: test_metrics,
        candidates: vec![],
    };
    Ok(LearnedPredictor::new(manifest, mlp))
}
