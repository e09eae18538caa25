//! [`Network`]: one subnet, built and optimized in tract once, run many times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tract_core::internal::*;
use tract_core::prelude::TypedRunnableModel;
use tract_linalg::multithread::Executor;

use crate::error::{tract_err, Result, RuntimeError};
use crate::graph::build_model;
use crate::options::{check_options, Device, NetworkOptions};
use crate::spec::{NetworkSpec, NUM_CLASSES};
use crate::weights::{Weights, WeightsSource};

/// The prepared plan: tract's CPU plan (which `run_profiled` can step through) or
/// another tract runtime's runnable (CUDA).
#[derive(Debug, Clone)]
enum Plan {
    Cpu(Arc<TypedRunnableModel>),
    #[allow(dead_code)] // only built with the `cuda` feature
    Runtime(Arc<dyn tract_core::runtime::Runnable>),
}

/// Class scores `[batch, 1000]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Logits {
    /// Images in the batch.
    pub batch: usize,
    /// `batch × 1000` scores.
    pub data: Vec<f32>,
}

impl Logits {
    /// Scores of image `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * NUM_CLASSES..(i + 1) * NUM_CLASSES]
    }

    /// The `k` best `(class, score)` pairs of image `i`, best first.
    pub fn top_k(&self, i: usize, k: usize) -> Vec<(usize, f32)> {
        let mut idx: Vec<(usize, f32)> = self.row(i).iter().copied().enumerate().collect();
        idx.sort_by(|a, b| b.1.total_cmp(&a.1));
        idx.truncate(k);
        idx
    }
}

/// A subnet ready to run: tract graph built, batch norm folded, optimized.
#[derive(Debug, Clone)]
pub struct Network {
    spec: NetworkSpec,
    options: NetworkOptions,
    source: WeightsSource,
    plan: Plan,
    /// The device the plan actually runs on (CPU after a CUDA fallback).
    ran_on: Device,
    /// The CPU plan's thread pool (`threads > 1`): a run executes on one of
    /// its workers, so each parallel op splits its work with the other
    /// workers directly instead of waking the calling thread afterwards.
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Network {
    /// Builds and optimizes the tract graph of `spec` with `weights`.
    ///
    /// ```
    /// use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights, Width};
    ///
    /// let spec = NetworkSpec::new(Arch::smallest(), Width::W1_0, 128)?;
    /// let weights = Weights::synthetic(&spec, 0); // UNTRAINED demo weights
    /// let net = Network::new(spec, &weights, NetworkOptions::default())?;
    /// let shape = net.input_shape(); // [1, 3, 128, 128]
    /// let image = vec![0.5f32; shape.iter().product()];
    /// let logits = net.run(&shape, &image)?;
    /// assert_eq!(logits.row(0).len(), 1000);
    /// assert!(logits.row(0).iter().all(|x| x.is_finite()));
    /// # Ok::<(), pnag_runtime::RuntimeError>(())
    /// ```
    pub fn new(spec: NetworkSpec, weights: &Weights, options: NetworkOptions) -> Result<Self> {
        check_options(options)?;
        let model =
            build_model(&spec, weights, &options).map_err(tract_err("building the tract graph"))?;
        Self::from_model(spec, weights.source.clone(), model, options)
    }

    /// Optimizes and prepares a graph built elsewhere (by `SubnetGraph`,
    /// as the code `pnag_macros::network!` emits does) for the subnet `spec`.
    pub fn from_model(
        spec: NetworkSpec,
        source: WeightsSource,
        model: TypedModel,
        options: NetworkOptions,
    ) -> Result<Self> {
        check_options(options)?;
        let executor = (options.threads > 1).then(|| Executor::multithread(options.threads));
        let pool = match &executor {
            Some(Executor::MultiThread(pool)) => Some(pool.clone()),
            _ => None,
        };
        let run_options = RunOptions {
            executor,
            ..Default::default()
        };
        if let Device::Cuda { fallback_to_cpu } = options.device {
            match cuda_plan(&model, &run_options) {
                Ok(plan) => {
                    return Ok(Network {
                        spec,
                        options,
                        source,
                        plan,
                        ran_on: options.device,
                        pool: None,
                    })
                }
                Err(e) if !fallback_to_cpu => return Err(e),
                Err(_) => {} // the caller asked for the CPU in that case; `device()` says so
            }
        }
        let model = model
            .into_optimized()
            .map_err(tract_err("optimizing the tract graph"))?;
        let plan = model
            .into_runnable_with_options(&run_options)
            .map_err(tract_err("preparing the tract plan"))?;
        Ok(Network {
            spec,
            options,
            source,
            plan: Plan::Cpu(plan),
            ran_on: Device::Cpu,
            pool,
        })
    }

    /// Where the network runs: `Device::Cpu` after a CUDA fallback.
    pub fn device(&self) -> Device {
        self.ran_on
    }

    /// Convenience: a network with seeded synthetic (**untrained**) weights.
    pub fn synthetic(spec: NetworkSpec, seed: u64, options: NetworkOptions) -> Result<Self> {
        let weights = Weights::synthetic(&spec, seed);
        Self::new(spec, &weights, options)
    }

    /// The layer plan the network was built from.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }
    /// The options it was built with.
    pub fn options(&self) -> NetworkOptions {
        self.options
    }
    /// Where the weights came from (synthetic ones are untrained).
    pub fn weights_source(&self) -> &WeightsSource {
        &self.source
    }

    /// The expected input shape `[batch, 3, R, R]`.
    pub fn input_shape(&self) -> [usize; 4] {
        let r = self.spec.resolution;
        [self.options.batch, 3, r, r]
    }

    /// Checks a caller's input against `[batch, 3, R, R]` and wraps it for tract.
    fn input_tensor(&self, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        let expected = self.input_shape();
        if shape != expected || data.len() != expected.iter().product::<usize>() {
            let found = if shape.iter().product::<usize>() == data.len() {
                shape.to_vec()
            } else {
                vec![data.len()]
            };
            return Err(RuntimeError::InputShape {
                expected: expected.to_vec(),
                found,
            });
        }
        Tensor::from_shape(&expected, data).map_err(tract_err("creating the input tensor"))
    }

    fn logits(&self, out: &[TValue]) -> Result<Logits> {
        let view = out[0]
            .to_plain_array_view::<f32>()
            .map_err(tract_err("reading the logits"))?;
        Ok(Logits {
            batch: self.options.batch,
            data: view.iter().copied().collect(),
        })
    }

    /// Runs a batch of NCHW f32 images (already resized and normalized).
    pub fn run(&self, shape: &[usize], data: &[f32]) -> Result<Logits> {
        let input = self.input_tensor(shape, data)?;
        let out = match (&self.plan, &self.pool) {
            (Plan::Cpu(plan), Some(pool)) => pool.install(|| plan.run(tvec![input.into_tvalue()])),
            (Plan::Cpu(plan), None) => plan.run(tvec![input.into_tvalue()]),
            (Plan::Runtime(plan), _) => plan.run(tvec![input.into_tvalue()]),
        }
        .map_err(tract_err("running the network"))?;
        self.logits(&out)
    }

    /// Runs once on the calling thread, reporting each node's name, op name
    /// and wall time to `on_node` (for `pnag bench` op breakdowns).
    pub fn run_profiled(
        &self,
        shape: &[usize],
        data: &[f32],
        on_node: &mut dyn FnMut(&str, &str, Duration),
    ) -> Result<Logits> {
        let input = self.input_tensor(shape, data)?;
        let Plan::Cpu(plan) = &self.plan else {
            return Err(RuntimeError::Options(
                "per-node profiling runs on the CPU plan only".into(),
            ));
        };
        let mut state = plan.spawn().map_err(tract_err("preparing a run"))?;
        let out = state
            .run_plan_with_eval(tvec![input.into_tvalue()], |ctx, op_state, node, inputs| {
                let start = Instant::now();
                let result = tract_core::plan::eval(ctx, op_state, node, inputs);
                on_node(&node.name, &node.op().name(), start.elapsed());
                result
            })
            .map_err(tract_err("running the network"))?;
        self.logits(&out)
    }
}

/// Prepares `model` with tract's CUDA runtime; a clear error without a GPU or the feature.
#[cfg(feature = "cuda")]
fn cuda_plan(model: &TypedModel, options: &RunOptions) -> Result<Plan> {
    // Links the runtime into tract's registry.
    use tract_cuda as _;
    // tract checks for the CUDA driver and libraries when the runtime is looked up.
    let runtime = tract_core::runtime::runtime_for_name("cuda")
        .map_err(|e| RuntimeError::Cuda(format!("no usable CUDA device or driver: {e}")))?
        .ok_or_else(|| RuntimeError::Cuda("tract's CUDA runtime is not registered".into()))?;
    runtime
        .check()
        .map_err(|e| RuntimeError::Cuda(format!("no usable CUDA device or driver: {e}")))?;
    let runnable = runtime
        .prepare_with_options(model.clone(), options)
        .map_err(tract_err("preparing the CUDA plan"))?;
    Ok(Plan::Runtime(Arc::from(runnable)))
}

#[cfg(not(feature = "cuda"))]
fn cuda_plan(_: &TypedModel, _: &RunOptions) -> Result<Plan> {
    Err(RuntimeError::Cuda(
        "this binary was built without the `cuda` feature of pnag-runtime".into(),
    ))
}
