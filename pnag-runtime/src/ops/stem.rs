//! A `k`×`k` convolution (the subnet's 3×3 stride-2 stem) as im2col + the
//! 1×1 kernel: tract runs the stem's 3 input channels through its generic
//! conv at about 4 GMAC/s, which was 10–15 % of a small subnet's time.

use std::fmt;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use tract_core::internal::*;

use super::pointwise::PointwiseConv;
use crate::ops::f32_shape;
use crate::spec::Activation;
use crate::threads::{in_tract_pool, tract_threads, PARALLEL_MIN_MACS};

/// tract op: `k`×`k` conv (NCHW, OIHW weights, padding `k / 2`, stride `s`)
/// + bias + optional activation.
#[derive(Clone, PartialEq, Eq)]
pub struct Im2colConv {
    kernel_size: usize,
    stride: usize,
    cin: usize,
    /// The product over the unfolded `[cin·k·k, ho·wo]` input.
    matmul: PointwiseConv,
    /// The unfolded input, kept between runs.
    cols: ColsBuffer,
}

/// The unfolded-input matrix (1.35 MB for the 224² stem), kept by the op between runs:
/// allocated once by the network's first run, whichever worker thread runs the stem (a
/// thread-local buffer was allocated again on each new worker, so a run's peak memory
/// depended on which thread the stem landed on). A concurrent run of the same network
/// takes a fresh buffer instead of waiting.
#[derive(Clone, Default)]
struct ColsBuffer(Arc<Mutex<Vec<f32>>>);

impl PartialEq for ColsBuffer {
    /// A cache, not part of what the op computes.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ColsBuffer {}

impl Im2colConv {
    /// `weights` is OIHW `[cout, cin, k, k]` flattened, batch norm folded in.
    pub fn new(
        kernel_size: usize,
        stride: usize,
        weights: &[f32],
        bias: Vec<f32>,
        activation: Option<Activation>,
    ) -> TractResult<Self> {
        ensure!(
            kernel_size % 2 == 1 && stride >= 1,
            "conv: odd kernel size and stride >= 1 expected, got {kernel_size}x{kernel_size} stride {stride}"
        );
        let cout = bias.len().max(1);
        let taps = kernel_size * kernel_size;
        ensure!(
            weights.len().is_multiple_of(cout * taps),
            "conv weights: expected {} x cin x {kernel_size} x {kernel_size} values, got {}",
            bias.len(),
            weights.len()
        );
        let matmul = PointwiseConv::new(weights, bias, activation, false)?;
        Ok(Im2colConv {
            kernel_size,
            stride,
            cin: matmul.input_channels() / taps,
            matmul,
            cols: ColsBuffer::default(),
        })
    }

    /// Runs with the given vector code ([`crate::Simd`]).
    pub fn with_simd(mut self, simd: crate::Simd) -> Self {
        self.matmul = self.matmul.with_simd(simd);
        self
    }

    fn output_size(&self, n: usize) -> usize {
        (n + 2 * (self.kernel_size / 2) - self.kernel_size) / self.stride + 1
    }

    fn output_shape(&self, x: &[usize]) -> TractResult<[usize; 4]> {
        ensure!(
            x.len() == 4 && x[1] == self.cin,
            "conv: expected input [n, {}, h, w], got {x:?}",
            self.cin
        );
        let out = [
            x[0],
            self.matmul.output_channels(),
            self.output_size(x[2]),
            self.output_size(x[3]),
        ];
        Ok(out)
    }

    /// `cols[(c·k + ky)·k + kx, oy·wo + ox] = x[c, oy·s + ky − p, ox·s + kx − p]` (0 outside).
    /// The `cin·k·k` rows are independent: split over tract's threads.
    fn unfold(&self, x: &[f32], h: usize, w: usize, ho: usize, wo: usize, cols: &mut [f32]) {
        let (k, s, p) = (self.kernel_size, self.stride, self.kernel_size / 2);
        let row = |r: usize, row: &mut [f32]| {
            let (c, ky, kx) = (r / (k * k), r / k % k, r % k);
            let plane = &x[c * h * w..(c + 1) * h * w];
            // Output columns whose input column `ox·s + kx − p` is inside the plane.
            let lo = p.saturating_sub(kx).div_ceil(s).min(wo);
            let hi = (w + p).saturating_sub(kx).div_ceil(s).clamp(lo, wo);
            for oy in 0..ho {
                let dst = &mut row[oy * wo..(oy + 1) * wo];
                let iy = (oy * s + ky).wrapping_sub(p);
                if iy >= h {
                    dst.fill(0.0);
                    continue;
                }
                let src = &plane[iy * w..(iy + 1) * w];
                dst[..lo].fill(0.0);
                dst[hi..].fill(0.0);
                if lo == hi {
                    continue;
                }
                // Input columns lo·s + kx − p, step s: a copy for stride 1,
                // pairs (vectorizable shuffles) for stride 2.
                let src = &src[lo * s + kx - p..];
                let dst = &mut dst[lo..hi];
                match s {
                    1 => dst.copy_from_slice(&src[..dst.len()]),
                    2 => {
                        // The last output's pair may be cut off at the row's end.
                        let full = (src.len() / 2).min(dst.len());
                        for (d, pair) in dst[..full].iter_mut().zip(src.chunks_exact(2)) {
                            *d = pair[0];
                        }
                        for i in full..dst.len() {
                            dst[i] = src[2 * i];
                        }
                    }
                    _ => dst
                        .iter_mut()
                        .zip(src.iter().step_by(s))
                        .for_each(|(d, &v)| *d = v),
                }
            }
        };
        let cols = &mut cols[..self.cin * k * k * ho * wo];
        if tract_threads() < 2 || cols.len() < PARALLEL_MIN_MACS {
            cols.chunks_exact_mut(ho * wo)
                .enumerate()
                .for_each(|(r, dst)| row(r, dst));
        } else {
            in_tract_pool(|| {
                cols.par_chunks_exact_mut(ho * wo)
                    .enumerate()
                    .for_each(|(r, dst)| row(r, dst))
            });
        }
    }
}

impl fmt::Debug for Im2colConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Im2colConv({0}x{0} stride {1}, {2:?})",
            self.kernel_size, self.stride, self.matmul
        )
    }
}

impl Op for Im2colConv {
    fn name(&self) -> StaticName {
        "PnagIm2colConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{0}x{0} stride {1}, {2} -> {3} channels",
            self.kernel_size,
            self.stride,
            self.cin,
            self.matmul.output_channels()
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Im2colConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let [n, cout, ho, wo] = self.output_shape(x.shape())?;
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let rows = self.matmul.input_channels();
        // Reused across calls and not zeroed: `unfold` writes every element.
        let mut kept = self.cols.0.try_lock().ok();
        let mut fresh = Vec::new();
        let cols = kept.as_deref_mut().unwrap_or(&mut fresh);
        cols.resize(rows * ho * wo, 0.0);
        // SAFETY: every element is written by `run_image` below.
        let mut out = unsafe { Tensor::uninitialized::<f32>(&[n, cout, ho, wo])? };
        {
            let view = x.try_as_plain_ram()?;
            let xs = view.as_slice::<f32>()?;
            let mut out_view = out.try_as_plain_ram_mut()?;
            let os = out_view.as_slice_mut::<f32>()?;
            ensure!(
                xs.len() == n * self.cin * h * w && os.len() == n * cout * ho * wo,
                "conv: tensor sizes do not match their shapes"
            );
            for i in 0..n {
                self.unfold(&xs[i * self.cin * h * w..], h, w, ho, wo, cols);
                let img = super::pointwise::kernel::Image {
                    x: cols.as_ptr(),
                    scale: std::ptr::null(),
                    residual: std::ptr::null(),
                    out: os[i * cout * ho * wo..].as_mut_ptr(),
                };
                self.matmul.run_image(img, ho * wo);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Im2colConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = f32_shape(inputs[0], "conv")?;
        Ok(tvec!(f32::fact(self.output_shape(&shape)?)))
    }

    as_op!();
}
