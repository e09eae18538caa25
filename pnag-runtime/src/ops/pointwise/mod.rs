//! 1×1 convolutions with their bias, activation and residual add fused, run
//! inside the tract graph as a custom op.
//!
//! After our depthwise kernels, tract's matmul was the larger half of a
//! subnet's time (26 GMAC/s on the largest subnet, 16 on the smallest, where
//! its activations-packing pass and small `k` dominate). [`PointwiseConv`]
//! computes `act(W · x + b) (+ residual)` per image directly on NCHW data
//! (see `kernel.rs`): one pass over the activations, no packing, the
//! epilogue in registers. Output channels (or pixels, whichever operand is
//! the larger) are split over tract's thread pool. [`super::Im2colConv`] runs the
//! stem's 3×3 conv through the same kernel (`super::stem`).
//!
//! With [`PointwiseConv::with_input_scale`] the op also takes the
//! squeeze-excite scale `s` (`[n, cin, 1, 1]`) of the block and computes
//! `W · (s ⊙ x)`, scaling `x` while the kernel copies it into tiles (no
//! separate pass over the activations or the weights).

pub(super) mod kernel;

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use tract_core::internal::*;

use crate::ops::{f32_shape, same_bits};
use crate::simd::{self, Simd, ACT_HSWISH, ACT_NONE, ACT_RELU};
use crate::spec::Activation;
use crate::threads::{in_tract_pool, tract_threads, PARALLEL_MIN_MACS};
use kernel::{Image, Layer, MR};

/// Column splits between threads fall on multiples of this (every ISA's tile width divides it).
const COLUMN_ALIGN: usize = 16;

/// tract op: 1×1 conv (NCHW, stride 1) + bias + optional activation, plus an
/// optional residual (an input of the output's shape) added last.
///
/// Inputs: `x`, then the input scale if [`with_input_scale`](Self::with_input_scale),
/// then the residual if `residual`.
#[derive(Clone)]
pub struct PointwiseConv {
    activation: Option<Activation>,
    residual: bool,
    input_scale: bool,
    simd: Simd,
    cin: usize,
    /// `[cout, cin]` as [`kernel::pack`] lays it out.
    packed: Arc<[f32]>,
    bias: Arc<[f32]>,
}

impl PointwiseConv {
    /// `weights` is `[cout, cin]` (or PyTorch's `[cout, cin, 1, 1]`) flattened,
    /// batch norm folded in; `residual` adds a second input after the activation.
    pub fn new(
        weights: &[f32],
        bias: Vec<f32>,
        activation: Option<Activation>,
        residual: bool,
    ) -> TractResult<Self> {
        let cout = bias.len();
        ensure!(
            cout > 0 && !weights.is_empty() && weights.len().is_multiple_of(cout),
            "1x1 conv weights: expected {cout} x cin values for {cout} output channels, got {}",
            weights.len()
        );
        let cin = weights.len() / cout;
        Ok(PointwiseConv {
            activation,
            residual,
            input_scale: false,
            simd: Simd::Best,
            cin,
            packed: kernel::pack(weights, cout, cin).into(),
            bias: bias.into(),
        })
    }

    /// Forces an instruction set (tests compare the paths).
    pub fn with_simd(mut self, simd: Simd) -> Self {
        self.simd = simd;
        self
    }

    /// Takes a per-image, per-input-channel scale `[n, cin, 1, 1]` as second
    /// input and multiplies `x` by it first (the squeeze-excite output).
    pub fn with_input_scale(mut self) -> Self {
        self.input_scale = true;
        self
    }

    fn input_count(&self) -> usize {
        1 + self.input_scale as usize + self.residual as usize
    }

    /// Input channels.
    pub fn input_channels(&self) -> usize {
        self.cin
    }
    /// Output channels.
    pub fn output_channels(&self) -> usize {
        self.bias.len()
    }

    /// `[n, cout, h, w]` for the input shapes `[n, cin, h, w]`, the scale's
    /// `[n, cin, 1, 1]` and the residual's (the output's shape).
    fn output_shape(&self, shapes: &[&[usize]]) -> TractResult<[usize; 4]> {
        ensure!(
            shapes.len() == self.input_count(),
            "1x1 conv: expected {} inputs, got {}",
            self.input_count(),
            shapes.len()
        );
        let x = shapes[0];
        ensure!(
            x.len() == 4 && x[1] == self.cin,
            "1x1 conv: expected input [n, {}, h, w], got {x:?}",
            self.cin
        );
        if self.input_scale {
            let want = [x[0], self.cin, 1, 1];
            ensure!(
                shapes[1] == want,
                "1x1 conv: input scale {:?} is not {want:?}",
                shapes[1]
            );
        }
        let out = [x[0], self.output_channels(), x[2], x[3]];
        if self.residual {
            let r = shapes[shapes.len() - 1];
            ensure!(
                r == out,
                "1x1 conv: residual {r:?} is not the output's shape {out:?}"
            );
        }
        Ok(out)
    }

    /// One image: splits the larger operand (weights by panels, else pixels) over the threads.
    pub(crate) fn run_image(&self, img: Image, hw: usize) {
        let cout = self.output_channels();
        let layer = Layer {
            cin: self.cin,
            cout,
            hw,
            packed: &self.packed,
            bias: &self.bias,
        };
        let panels = cout.div_ceil(MR);
        let threads = tract_threads();
        if threads < 2 || self.cin * cout * hw < PARALLEL_MIN_MACS {
            return self.region(&layer, img, 0..panels, 0..hw);
        }
        if cout >= hw && panels >= threads {
            let per = panels.div_ceil(threads);
            in_tract_pool(|| {
                (0..threads).into_par_iter().for_each(|t| {
                    let p = (t * per).min(panels)..((t + 1) * per).min(panels);
                    self.region(&layer, img, p, 0..hw)
                })
            });
        } else {
            let per = hw.div_ceil(threads).div_ceil(COLUMN_ALIGN) * COLUMN_ALIGN;
            in_tract_pool(|| {
                (0..threads).into_par_iter().for_each(|t| {
                    let c = (t * per).min(hw)..((t + 1) * per).min(hw);
                    self.region(&layer, img, 0..panels, c)
                })
            });
        }
    }

    fn region(
        &self,
        layer: &Layer,
        img: Image,
        panels: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) {
        if panels.is_empty() || cols.is_empty() {
            return;
        }
        match self.activation {
            Some(Activation::Relu) => dispatch::<ACT_RELU>(layer, img, panels, cols, self.simd),
            Some(Activation::HSwish) => dispatch::<ACT_HSWISH>(layer, img, panels, cols, self.simd),
            None => dispatch::<ACT_NONE>(layer, img, panels, cols, self.simd),
        }
    }
}

/// One call of [`kernel::region`], run with the instruction set [`simd::dispatch`] picks.
struct Region<'a, 'l, const ACT: u8> {
    layer: &'a Layer<'l>,
    img: Image,
    panels: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
}

impl<const ACT: u8> simd::SimdKernel for Region<'_, '_, ACT> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<L: simd::Lanes>(self) {
        // SAFETY: sizes are `kernel::region`'s preconditions, checked by
        // `PointwiseConv::eval`; regions are disjoint by `run_image`.
        unsafe { kernel::region::<L, ACT>(self.layer, self.img, self.panels, self.cols) }
    }
}

/// Runs [`kernel::region`] on one region of one image with `simd`'s instruction set.
fn dispatch<const ACT: u8>(
    layer: &Layer,
    img: Image,
    panels: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    simd: Simd,
) {
    let region = Region::<ACT> {
        layer,
        img,
        panels,
        cols,
    };
    // SAFETY: sizes checked by `PointwiseConv::eval`, regions disjoint by `run_image`.
    unsafe { simd::dispatch(simd, region) }
}

impl fmt::Debug for PointwiseConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PointwiseConv({} -> {}, {:?}, residual {}, {:?})",
            self.cin,
            self.output_channels(),
            self.activation,
            self.residual,
            self.simd
        )
    }
}

/// Bitwise on the weights, so that equality is reflexive (tract's `DynEq` needs `Eq`).
impl PartialEq for PointwiseConv {
    fn eq(&self, other: &Self) -> bool {
        self.activation == other.activation
            && self.residual == other.residual
            && self.input_scale == other.input_scale
            && self.simd == other.simd
            && self.cin == other.cin
            && same_bits(&self.packed, &other.packed)
            && same_bits(&self.bias, &other.bias)
    }
}

impl Eq for PointwiseConv {}

impl Op for PointwiseConv {
    fn name(&self) -> StaticName {
        "PnagPointwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} -> {} channels, {:?}{}{}",
            self.cin,
            self.output_channels(),
            self.activation,
            if self.input_scale {
                ", input scaled"
            } else {
                ""
            },
            if self.residual { ", + residual" } else { "" }
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for PointwiseConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let shapes: TVec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let shape = self.output_shape(&shapes)?;
        let [n, cout, h, w] = shape;
        let (cin, hw) = (self.cin, h * w);
        let views = inputs
            .iter()
            .map(|t| t.try_as_plain_ram())
            .collect::<TractResult<TVec<_>>>()?;
        let slices = views
            .iter()
            .map(|v| v.as_slice::<f32>())
            .collect::<TractResult<TVec<_>>>()?;
        let xs = slices[0];
        let scale = self.input_scale.then(|| slices[1]);
        let rs = self.residual.then(|| slices[slices.len() - 1]);
        // SAFETY: every element is written below (each image's regions cover it).
        let mut out = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        {
            let mut out_view = out.try_as_plain_ram_mut()?;
            let os = out_view.as_slice_mut::<f32>()?;
            ensure!(
                xs.len() == n * cin * hw && os.len() == n * cout * hw,
                "1x1 conv: tensor sizes do not match their shapes"
            );
            for i in 0..n {
                let img = Image {
                    x: xs[i * cin * hw..].as_ptr(),
                    scale: scale.map_or(std::ptr::null(), |s| s[i * cin..].as_ptr()),
                    residual: rs.map_or(std::ptr::null(), |r| r[i * cout * hw..].as_ptr()),
                    out: os[i * cout * hw..].as_mut_ptr(),
                };
                self.run_image(img, hw);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for PointwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shapes = inputs
            .iter()
            .map(|f| f32_shape(f, "1x1 conv"))
            .collect::<TractResult<TVec<_>>>()?;
        let shapes: TVec<&[usize]> = shapes.iter().map(|s| &s[..]).collect();
        let out = self.output_shape(&shapes)?;
        Ok(tvec!(f32::fact(out)))
    }

    as_op!();
}
