//! A block's squeeze-excite scale as one tract op:
//! `s = h_sigmoid(W_e · relu(W_r · mean(x) + b_r) + b_e)`, `[n, C, h, w]` →
//! `[n, C, 1, 1]` (the following [`super::pointwise::PointwiseConv`] applies it).
//!
//! In tract's own ops this is six nodes (sum-pool, two 1×1 convs, ReLU, max,
//! min) on tensors of a few hundred floats, where each node's dispatch costs
//! as much as its arithmetic; 4.5 % of the smallest subnet's time. Here: one
//! pass summing each channel, then the two fully connected layers through
//! [`MatVec`]'s row kernel.

use std::fmt;

use tract_core::internal::*;

use super::matvec::MatVec;
use crate::ops::f32_shape;
use crate::spec::Activation;

/// tract op: squeeze-excite scale of an NCHW tensor.
#[derive(Clone, PartialEq, Eq)]
pub struct SqueezeExcite {
    /// `C → C_r`, ReLU.
    reduce: MatVec,
    /// `C_r → C`, h-sigmoid's `(· + 3) / 6` folded in (the op clamps to [0, 1]).
    expand: MatVec,
}

impl SqueezeExcite {
    /// OFA's `fc.reduce` (`[C_r, C]`, bias `[C_r]`) and `fc.expand` (`[C, C_r]`,
    /// bias `[C]`) weights, flattened.
    pub fn new(
        reduce_weight: Vec<f32>,
        reduce_bias: Vec<f32>,
        expand_weight: &[f32],
        expand_bias: &[f32],
    ) -> TractResult<Self> {
        let reduce = MatVec::new(reduce_weight, reduce_bias, Some(Activation::Relu))?;
        let expand = MatVec::new(
            expand_weight.iter().map(|w| w / 6.0).collect(),
            expand_bias.iter().map(|b| b / 6.0 + 0.5).collect(),
            None,
        )?;
        ensure!(
            expand.input_channels() == reduce.output_channels()
                && expand.output_channels() == reduce.input_channels(),
            "squeeze-excite: reduce is {} -> {} but expand is {} -> {}",
            reduce.input_channels(),
            reduce.output_channels(),
            expand.input_channels(),
            expand.output_channels()
        );
        Ok(SqueezeExcite { reduce, expand })
    }

    /// Forces an instruction set (tests compare the paths).
    pub fn with_simd(self, simd: crate::Simd) -> Self {
        SqueezeExcite {
            reduce: self.reduce.with_simd(simd),
            expand: self.expand.with_simd(simd),
        }
    }

    /// Channels scaled.
    pub fn channels(&self) -> usize {
        self.reduce.input_channels()
    }

    fn output_shape(&self, x: &[usize]) -> TractResult<[usize; 4]> {
        ensure!(
            x.len() == 4 && x[1] == self.channels() && x[2] * x[3] > 0,
            "squeeze-excite: expected input [n, {}, h, w], got {x:?}",
            self.channels()
        );
        Ok([x[0], self.channels(), 1, 1])
    }
}

/// Mean of each `hw`-float channel of `x` into `out` (eight partial sums per
/// channel, so the compiler vectorizes the loop).
fn channel_means(x: &[f32], hw: usize, out: &mut [f32]) {
    for (plane, m) in x.chunks_exact(hw).zip(out) {
        let mut acc = [0f32; 8];
        let blocks = plane.chunks_exact(8);
        let rest: f32 = blocks.remainder().iter().sum();
        for b in blocks {
            for (a, v) in acc.iter_mut().zip(b) {
                *a += v;
            }
        }
        *m = (acc.iter().sum::<f32>() + rest) / hw as f32;
    }
}

impl fmt::Debug for SqueezeExcite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SqueezeExcite({} -> {} -> {})",
            self.channels(),
            self.reduce.output_channels(),
            self.channels()
        )
    }
}

impl Op for SqueezeExcite {
    fn name(&self) -> StaticName {
        "PnagSqueezeExcite".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} -> {} -> {} channels",
            self.channels(),
            self.reduce.output_channels(),
            self.channels()
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for SqueezeExcite {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(
            inputs.len() == 1,
            "squeeze-excite: expected 1 input, got {}",
            inputs.len()
        );
        let shape = inputs[0].shape().to_vec();
        let out_shape = self.output_shape(&shape)?;
        let (c, hw) = (self.channels(), shape[2] * shape[3]);
        let view = inputs[0].try_as_plain_ram()?;
        let xs = view.as_slice::<f32>()?;
        ensure!(
            xs.len() == shape[0] * c * hw,
            "squeeze-excite: tensor size does not match its shape"
        );
        let mut out = Tensor::zero::<f32>(&out_shape)?;
        {
            let mut out_view = out.try_as_plain_ram_mut()?;
            let os = out_view.as_slice_mut::<f32>()?;
            let (mut means, mut hidden) =
                (vec![0f32; c], vec![0f32; self.reduce.output_channels()]);
            for (x, s) in xs.chunks_exact(c * hw).zip(os.chunks_exact_mut(c)) {
                channel_means(x, hw, &mut means);
                self.reduce.rows(&means, 0..hidden.len(), &mut hidden);
                self.expand.rows(&hidden, 0..c, s);
                s.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for SqueezeExcite {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs.len() == 1,
            "squeeze-excite: expected 1 input, got {}",
            inputs.len()
        );
        let x = f32_shape(inputs[0], "squeeze-excite")?;
        Ok(tvec!(f32::fact(self.output_shape(&x)?)))
    }

    as_op!();
}
