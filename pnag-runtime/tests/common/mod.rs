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

/// Every vector path to test on this machine: each one this CPU runs (AVX-512F and AVX2 +
/// FMA on x86_64, NEON — `Best` — on aarch64) and the portable code. Paths the CPU cannot
/// run are printed as skipped (once per test binary), so a host without AVX-512 shows in the
/// test log instead of passing silently.
#[allow(dead_code)]
pub fn simd_paths() -> Vec<pnag_runtime::Simd> {
    use pnag_runtime::Simd;
    static SAID: std::sync::Once = std::sync::Once::new();
    let mut paths = Vec::new();
    let mut said = Vec::new();
    if cfg!(target_arch = "x86_64") {
        for simd in [Simd::Avx512, Simd::Avx2] {
            if simd.available() {
                paths.push(simd);
                said.push(format!("{}: tested", simd.path().name()));
            } else {
                said.push(format!("{simd:?}: SKIPPED, this CPU lacks it"));
            }
        }
    } else {
        paths.push(Simd::Best);
        said.push(format!("{}: tested", Simd::Best.path().name()));
    }
    paths.push(Simd::Portable);
    SAID.call_once(|| eprintln!("vector paths: {}; portable: tested", said.join("; ")));
    paths
}
