//! Depthwise convolutions specialized by kernel size and stride, run inside
//! the tract graph as a custom op.
//!
//! tract 0.23's generic depthwise path is fast only for stride 1, interior
//! pixels and wide rows; OFA's 7×7 kernels on 7×7–56×56 maps fall to a scalar
//! loop (68 % of the largest subnet's time, see the README's engine benchmark).
//! [`DepthwiseConv`] replaces tract's `Conv(group = C)` + bias + activation
//! by one pass: zero-padded (and for stride 2, phase-split) planes, vector
//! tiles with no border special case, bias and ReLU / h-swish fused before
//! the store. Channels are split over tract's thread pool when the executor
//! has one.
//!
//! [`DepthwiseKernel::new::<K, S>()`] names one (kernel size, stride) variant
//! at compile time: code emitted by `pnag_macros::network!` calls it for the
//! variants its network uses only, so a binary carries those alone.
//! [`DepthwiseKernel::for_shape`] dispatches at run time (all six variants).

mod kernel;

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use tract_core::internal::*;

use crate::ops::{f32_shape, same_bits};
pub use crate::simd::Simd;
use crate::simd::{self, ACT_HSWISH, ACT_RELU};
use crate::spec::Activation;
use crate::threads::{in_tract_pool, tract_threads, PARALLEL_MIN_MACS};
use kernel::Geometry;

type PlanesFn = fn(&Geometry, usize, usize, &[f32], &[f32], &[f32], &mut [f32], Simd);

/// One compiled (kernel size, stride) variant, for both activations.
#[derive(Clone, Copy)]
pub struct DepthwiseKernel {
    kernel_size: usize,
    stride: usize,
    relu: PlanesFn,
    hswish: PlanesFn,
}

impl fmt::Debug for DepthwiseKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DepthwiseKernel({0}x{0}, stride {1})",
            self.kernel_size, self.stride
        )
    }
}

impl DepthwiseKernel {
    /// The `K`×`K`, stride-`S` variant (K ∈ {3, 5, 7}, S ∈ {1, 2}; checked at compile time).
    pub fn new<const K: usize, const S: usize>() -> Self {
        const {
            assert!(
                K == 3 || K == 5 || K == 7,
                "depthwise kernels are 3x3, 5x5 or 7x7"
            );
            assert!(S == 1 || S == 2, "depthwise strides are 1 or 2");
        }
        DepthwiseKernel {
            kernel_size: K,
            stride: S,
            relu: dispatch::<K, S, ACT_RELU>,
            hswish: dispatch::<K, S, ACT_HSWISH>,
        }
    }

    /// The variant for a kernel size and stride chosen at run time.
    pub fn for_shape(kernel_size: usize, stride: usize) -> Option<Self> {
        Some(match (kernel_size, stride) {
            (3, 1) => Self::new::<3, 1>(),
            (3, 2) => Self::new::<3, 2>(),
            (5, 1) => Self::new::<5, 1>(),
            (5, 2) => Self::new::<5, 2>(),
            (7, 1) => Self::new::<7, 1>(),
            (7, 2) => Self::new::<7, 2>(),
            _ => return None,
        })
    }

    /// Kernel size (3, 5 or 7).
    pub fn kernel_size(&self) -> usize {
        self.kernel_size
    }
    /// Stride (1 or 2).
    pub fn stride(&self) -> usize {
        self.stride
    }
}

/// One call of [`kernel::planes`]: its arguments, run with the instruction set
/// [`simd::dispatch`] picks.
struct Planes<'a, const K: usize, const S: usize, const ACT: u8> {
    g: &'a Geometry,
    channels: usize,
    first: usize,
    input: &'a [f32],
    weights: &'a [f32],
    bias: &'a [f32],
    out: &'a mut [f32],
}

impl<const K: usize, const S: usize, const ACT: u8> simd::SimdKernel for Planes<'_, K, S, ACT> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<L: simd::Lanes>(self) {
        let Planes {
            g,
            channels,
            first,
            input,
            weights,
            bias,
            out,
        } = self;
        // SAFETY: slice sizes are `kernel::planes`'s preconditions, checked by
        // `DepthwiseConv::run` before `dispatch`.
        unsafe { kernel::planes::<L, K, S, ACT>(g, channels, first, input, weights, bias, out) }
    }
}

/// Runs [`kernel::planes`] for channels `first..first + channels` with `simd`'s instruction set.
#[allow(clippy::too_many_arguments)]
fn dispatch<const K: usize, const S: usize, const ACT: u8>(
    g: &Geometry,
    channels: usize,
    first: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
    simd: Simd,
) {
    let planes = Planes::<K, S, ACT> {
        g,
        channels,
        first,
        input,
        weights,
        bias,
        out,
    };
    // SAFETY: slice sizes checked by `DepthwiseConv::run`, the only caller.
    unsafe { simd::dispatch(simd, planes) }
}

/// tract op: depthwise conv (NCHW, `padding = K / 2`) + bias + activation.
#[derive(Clone)]
pub struct DepthwiseConv {
    kernel: DepthwiseKernel,
    activation: Activation,
    simd: Simd,
    /// `[channels, K, K]`, batch norm folded in.
    weights: Arc<[f32]>,
    bias: Arc<[f32]>,
}

impl DepthwiseConv {
    /// `weights` is `[channels, K, K]` (or PyTorch's `[channels, 1, K, K]`) flattened.
    pub fn new(
        kernel: DepthwiseKernel,
        activation: Activation,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> TractResult<Self> {
        let taps = kernel.kernel_size * kernel.kernel_size;
        ensure!(
            !bias.is_empty() && weights.len() == bias.len() * taps,
            "depthwise weights: expected {} x {taps} values for {} channels, got {}",
            bias.len(),
            bias.len(),
            weights.len()
        );
        Ok(DepthwiseConv {
            kernel,
            activation,
            simd: Simd::Best,
            weights: weights.into(),
            bias: bias.into(),
        })
    }

    /// Forces an instruction set (tests compare the paths).
    pub fn with_simd(mut self, simd: Simd) -> Self {
        self.simd = simd;
        self
    }

    /// Channels of the convolution (one filter each).
    pub fn channels(&self) -> usize {
        self.bias.len()
    }

    fn geometry(&self, h: usize, w: usize) -> Geometry {
        Geometry::new(self.kernel.kernel_size, self.kernel.stride, h, w)
    }

    /// Computes `out` (`[n, C, ho, wo]`) from `input` (`[n, C, h, w]`).
    fn run(&self, g: &Geometry, input: &[f32], out: &mut [f32]) -> TractResult<()> {
        let c = self.channels();
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let planes = input.len() / plane_in.max(1);
        ensure!(
            plane_out > 0 && planes * plane_in == input.len() && planes * plane_out == out.len(),
            "depthwise conv: input of {} floats does not hold whole {}x{} planes",
            input.len(),
            g.h,
            g.w
        );
        let f = match self.activation {
            Activation::Relu => self.kernel.relu,
            Activation::HSwish => self.kernel.hswish,
        };
        let (w, b, simd) = (&self.weights[..], &self.bias[..], self.simd);
        let k = self.kernel.kernel_size;
        let threads = tract_threads();
        if threads > 1 && planes > 1 && planes * plane_out * k * k >= PARALLEL_MIN_MACS {
            // One contiguous run of channels per thread: equal work, one scratch each.
            let per = planes.div_ceil(threads);
            in_tract_pool(|| {
                out.par_chunks_mut(per * plane_out)
                    .enumerate()
                    .for_each(|(i, o)| {
                        let first = i * per;
                        let count = o.len() / plane_out;
                        let src = &input[first * plane_in..(first + count) * plane_in];
                        f(g, c, first, src, w, b, o, simd)
                    })
            });
        } else {
            f(g, c, 0, input, w, b, out, simd);
        }
        Ok(())
    }
}

impl fmt::Debug for DepthwiseConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DepthwiseConv({:?}, {:?}, {} channels, {:?})",
            self.kernel,
            self.activation,
            self.channels(),
            self.simd
        )
    }
}

/// Bitwise on the weights, so that equality is reflexive (tract's `DynEq` needs `Eq`).
impl PartialEq for DepthwiseConv {
    fn eq(&self, other: &Self) -> bool {
        self.kernel.kernel_size == other.kernel.kernel_size
            && self.kernel.stride == other.kernel.stride
            && self.activation == other.activation
            && self.simd == other.simd
            && same_bits(&self.weights, &other.weights)
            && same_bits(&self.bias, &other.bias)
    }
}

impl Eq for DepthwiseConv {}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        "PnagDepthwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{0}x{0} stride {1}, {2} channels, {3:?}",
            self.kernel.kernel_size,
            self.kernel.stride,
            self.channels(),
            self.activation
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape = x.shape();
        ensure!(
            shape.len() == 4 && shape[1] == self.channels(),
            "depthwise conv: expected input [n, {}, h, w], got {shape:?}",
            self.channels()
        );
        let g = self.geometry(shape[2], shape[3]);
        // SAFETY: every element is written by `run` (each plane's tiles cover it).
        let mut out = unsafe { Tensor::uninitialized::<f32>(&[shape[0], shape[1], g.ho, g.wo])? };
        {
            let view = x.try_as_plain_ram()?;
            let input = view.as_slice::<f32>()?;
            let mut out_view = out.try_as_plain_ram_mut()?;
            self.run(&g, input, out_view.as_slice_mut::<f32>()?)?;
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = f32_shape(inputs[0], "depthwise conv")?;
        ensure!(
            shape.len() == 4 && shape[1] == self.channels(),
            "depthwise conv: expected input [n, {}, h, w], got {shape:?}",
            self.channels()
        );
        let g = self.geometry(shape[2], shape[3]);
        Ok(tvec!(f32::fact([shape[0], shape[1], g.ho, g.wo])))
    }

    as_op!();
}
