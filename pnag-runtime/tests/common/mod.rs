//! Helpers shared by the op tests.

use tract_core::internal::*;
use tract_linalg::multithread::Executor;

/// Deterministic values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Runs `model` (one output) on `inputs` with a private pool of `threads`
/// (the calling thread alone for 1) and returns the output's values.
pub fn run_model(model: TypedModel, inputs: TVec<TValue>, threads: usize) -> Vec<f32> {
    let options = RunOptions {
        executor: (threads > 1).then(|| Executor::multithread(threads)),
        ..Default::default()
    };
    let plan = model.into_runnable_with_options(&options).unwrap();
    let out = plan.run(inputs).unwrap();
    out[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

/// Runs `op` alone in a one-node plan on the NCHW input `x` of `shape`.
pub fn run_op(
    op: impl Into<Box<dyn TypedOp>>,
    shape: [usize; 4],
    x: &[f32],
    threads: usize,
) -> Vec<f32> {
    let mut model = TypedModel::default();
    let src = model.add_source("x", f32::fact(shape)).unwrap();
    let y = model.wire_node("op", op, &[src]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let input = Tensor::from_shape(&shape, x).unwrap();
    run_model(model, tvec![input.into_tvalue()], threads)
}
