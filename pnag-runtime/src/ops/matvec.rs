//! The head's fully connected layers (feature mix 1152 → 1536 with h-swish,
//! classifier 1536 → 1000) as one tract op: `act(W · x + b)` per image on
//! the pooled `[n, cin, 1, 1]` features.
//!
//! These layers do two flops per weight, so their time is reading 6–7 MB of
//! weights from memory. tract runs them as a matrix product on one thread;
//! [`MatVec`] streams the row-major weights once, as four sequential streams,
//! and splits the rows over tract's thread pool so both cores' memory
//! bandwidth is used.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use tract_core::internal::*;

use crate::ops::{f32_shape, same_bits};
use crate::simd::{self, activate, Lanes, Simd, ACT_HSWISH, ACT_NONE, ACT_RELU, MAX_LANES};
use crate::spec::Activation;
use crate::threads::{in_tract_pool, tract_threads, PARALLEL_MIN_MACS};

/// Rows per step: four weight streams and four accumulators.
const ROWS: usize = 4;

/// tract op: `[n, cin, 1, 1]` → `[n, cout, 1, 1]`, `act(W · x + b)`.
#[derive(Clone)]
pub struct MatVec {
    activation: Option<Activation>,
    simd: Simd,
    cin: usize,
    /// `[cout, cin]`, row-major.
    weights: Arc<[f32]>,
    bias: Arc<[f32]>,
}

impl MatVec {
    /// `weights` is `[cout, cin]` (or `[cout, cin, 1, 1]`) flattened.
    pub fn new(
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Option<Activation>,
    ) -> TractResult<Self> {
        let cout = bias.len();
        ensure!(
            cout > 0 && !weights.is_empty() && weights.len().is_multiple_of(cout),
            "fully connected layer: expected {cout} x cin weights for {cout} outputs, got {}",
            weights.len()
        );
        Ok(MatVec {
            activation,
            simd: Simd::Best,
            cin: weights.len() / cout,
            weights: weights.into(),
            bias: bias.into(),
        })
    }

    /// Forces an instruction set (tests compare the paths).
    pub fn with_simd(mut self, simd: Simd) -> Self {
        self.simd = simd;
        self
    }

    fn output_shape(&self, x: &[usize]) -> TractResult<[usize; 4]> {
        ensure!(
            x.len() == 4 && x[1] == self.cin && x[2] == 1 && x[3] == 1,
            "fully connected layer: expected input [n, {}, 1, 1], got {x:?}",
            self.cin
        );
        Ok([x[0], self.bias.len(), 1, 1])
    }

    /// Input features.
    pub fn input_channels(&self) -> usize {
        self.cin
    }

    /// Output features.
    pub fn output_channels(&self) -> usize {
        self.bias.len()
    }

    /// Outputs `rows` of one image (`x`: `cin` floats, `out`: those rows).
    pub(super) fn rows(&self, x: &[f32], rows: std::ops::Range<usize>, out: &mut [f32]) {
        match self.activation {
            Some(Activation::Relu) => self.dispatch::<ACT_RELU>(x, rows, out),
            Some(Activation::HSwish) => self.dispatch::<ACT_HSWISH>(x, rows, out),
            None => self.dispatch::<ACT_NONE>(x, rows, out),
        }
    }

    fn dispatch<const ACT: u8>(&self, x: &[f32], rows: std::ops::Range<usize>, out: &mut [f32]) {
        let call = Rows::<ACT> {
            op: self,
            x,
            rows,
            out,
        };
        // SAFETY: slice sizes checked by `eval`, the only caller of `rows`.
        unsafe { simd::dispatch(self.simd, call) }
    }
}

/// One call of [`rows_kernel`], run with the instruction set [`simd::dispatch`] picks.
struct Rows<'a, const ACT: u8> {
    op: &'a MatVec,
    x: &'a [f32],
    rows: std::ops::Range<usize>,
    out: &'a mut [f32],
}

impl<const ACT: u8> simd::SimdKernel for Rows<'_, ACT> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<L: Lanes>(self) {
        // SAFETY: `rows_kernel`'s size preconditions, checked by `MatVec::eval`.
        unsafe { rows_kernel::<L, ACT>(self.op, self.x, self.rows, self.out) }
    }
}

/// `out[i] = act(W[rows.start + i] · x + b)`, [`ROWS`] rows at a time, each
/// a vector accumulator over `k`, summed across lanes at the end.
///
/// The rows of a step come from [`ROWS`] equal, contiguous quarters of the
/// range (row `i` of each), not from neighbouring rows: the weights are then
/// read as four long sequential streams, which the hardware prefetchers keep
/// ahead of (a standalone read test reached ~16 GB/s from DRAM on one core
/// here with four streams, ~7 with one); four neighbouring rows (4.6 KB
/// each, restarting every step) ran at ~12 GB/s in the network.
///
/// # Safety
/// `L` must be supported by the CPU; `x.len() == cin`, `out.len() == rows.len()`.
#[inline(always)]
unsafe fn rows_kernel<L: Lanes, const ACT: u8>(
    op: &MatVec,
    x: &[f32],
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let cin = op.cin;
        let kv = cin / L::N * L::N;
        let quarter = rows.len().div_ceil(ROWS);
        for i in 0..quarter {
            // Offsets (within `rows`) of this step's rows; the last quarter may run out.
            let at: [usize; ROWS] = std::array::from_fn(|j| j * quarter + i);
            let n = at.iter().take_while(|&&o| o < rows.len()).count();
            let w: [*const f32; ROWS] = std::array::from_fn(|j| {
                op.weights
                    .as_ptr()
                    .add((rows.start + at[j].min(rows.len() - 1)) * cin)
            });
            let mut acc = [L::splat(0.0); ROWS];
            for k in (0..kv).step_by(L::N) {
                let xv = L::load(x.as_ptr().add(k));
                for (a, w) in acc.iter_mut().zip(&w).take(n) {
                    *a = L::mul_add(*a, L::load(w.add(k)), xv);
                }
            }
            for ((a, w), &o) in acc.iter().zip(&w).zip(&at).take(n) {
                let mut lanes = [0f32; MAX_LANES];
                L::store(lanes.as_mut_ptr(), *a);
                let mut y = lanes[..L::N].iter().sum::<f32>() + op.bias[rows.start + o];
                for (k, &xk) in x.iter().enumerate().skip(kv) {
                    y += *w.add(k) * xk;
                }
                let mut v = [0f32; MAX_LANES];
                L::store(v.as_mut_ptr(), activate::<L, ACT>(L::splat(y)));
                out[o] = v[0];
            }
        }
    }
}

impl fmt::Debug for MatVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MatVec({} -> {}, {:?}, {:?})",
            self.cin,
            self.bias.len(),
            self.activation,
            self.simd
        )
    }
}

/// Bitwise on the weights, so that equality is reflexive (tract's `DynEq` needs `Eq`).
impl PartialEq for MatVec {
    fn eq(&self, other: &Self) -> bool {
        self.activation == other.activation
            && self.simd == other.simd
            && self.cin == other.cin
            && same_bits(&self.weights, &other.weights)
            && same_bits(&self.bias, &other.bias)
    }
}

impl Eq for MatVec {}

impl Op for MatVec {
    fn name(&self) -> StaticName {
        "PnagMatVec".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} -> {}, {:?}",
            self.cin,
            self.bias.len(),
            self.activation
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for MatVec {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(
            inputs.len() == 1,
            "fully connected layer: expected 1 input, got {}",
            inputs.len()
        );
        let shape = self.output_shape(inputs[0].shape())?;
        let (n, cout, cin) = (shape[0], shape[1], self.cin);
        let view = inputs[0].try_as_plain_ram()?;
        let xs = view.as_slice::<f32>()?;
        let mut out = Tensor::zero::<f32>(&shape)?;
        {
            let mut out_view = out.try_as_plain_ram_mut()?;
            let os = out_view.as_slice_mut::<f32>()?;
            ensure!(
                xs.len() == n * cin && os.len() == n * cout,
                "fully connected layer: tensor sizes do not match their shapes"
            );
            let threads = tract_threads();
            for (x, o) in xs.chunks_exact(cin).zip(os.chunks_exact_mut(cout)) {
                if threads < 2 || cin * cout < PARALLEL_MIN_MACS {
                    self.rows(x, 0..cout, o);
                    continue;
                }
                // Split at multiples of ROWS so every thread runs whole steps.
                let per = cout.div_ceil(threads).next_multiple_of(ROWS);
                in_tract_pool(|| {
                    o.par_chunks_mut(per).enumerate().for_each(|(t, o)| {
                        let start = t * per;
                        self.rows(x, start..start + o.len(), o)
                    })
                });
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for MatVec {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs.len() == 1,
            "fully connected layer: expected 1 input, got {}",
            inputs.len()
        );
        let x = f32_shape(inputs[0], "fully connected layer")?;
        Ok(tvec!(f32::fact(self.output_shape(&x)?)))
    }

    as_op!();
}
