//! Fully connected layers for the small predictor MLPs (OFA's accuracy
//! predictor, the learned latency predictors), evaluated for many inputs at
//! once: generation scores ~2,000 neighbouring archs per budget.
//!
//! Every output is summed in one fixed order — `((0 + w₀x₀) + w₁x₁) + …`,
//! then the bias — whatever the batch size, SIMD width or machine: no fused
//! multiply-add, no reassociation. So an arch's prediction is the same bits
//! alone or in a batch, with AVX or without, on x86_64 or aarch64; the same
//! seed picks the same archs everywhere.

/// One layer, packed in blocks of `RB` (16) outputs, input-major inside a block
/// (`packed[(block · inputs + c) · RB + r]`), so a block's weights are read
/// front to back and eight consecutive outputs are one vector load. Outputs
/// past the last full block keep a plain input-major copy (`rest`).
#[derive(Debug, Clone)]
pub struct Dense {
    packed: Vec<f32>,
    rest: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

/// Outputs per register block: two 8-wide vectors (the predictors' 400 and
/// 128 are multiples; `block_avx` assumes 16).
const RB: usize = 16;
/// Inputs per block: 4 × 2 accumulators + 2 weights + broadcasts fit 16 AVX registers.
const IB: usize = 4;

impl Dense {
    /// From a PyTorch-layout weight `[outputs, inputs]` (row-major) and its bias.
    pub fn new(weight: &[f32], bias: &[f32]) -> Self {
        let (outputs, inputs) = (bias.len(), weight.len() / bias.len().max(1));
        assert_eq!(
            weight.len(),
            outputs * inputs,
            "weight is [outputs, inputs]"
        );
        let full = outputs / RB * RB;
        let mut packed = vec![0.0f32; full * inputs];
        let mut rest = vec![0.0f32; (outputs - full) * inputs];
        for r in 0..outputs {
            for c in 0..inputs {
                let w = weight[r * inputs + c];
                if r < full {
                    packed[((r / RB) * inputs + c) * RB + r % RB] = w;
                } else {
                    rest[c * (outputs - full) + r - full] = w;
                }
            }
        }
        Dense {
            packed,
            rest,
            bias: bias.to_vec(),
            inputs,
        }
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output features.
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `W · x + b` (then ReLU if `relu`) for every `x` in `xs` (each of length `inputs`).
    pub fn forward(&self, xs: &[Vec<f32>], relu: bool) -> Vec<Vec<f32>> {
        assert!(xs.iter().all(|x| x.len() == self.inputs), "input length");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX is available (checked at run time).
            return unsafe { self.forward_avx(xs, relu) };
        }
        self.forward_portable(xs, relu)
    }

    /// The path for machines without AVX (and aarch64, where the compiler
    /// vectorizes `block` with NEON).
    fn forward_portable(&self, xs: &[Vec<f32>], relu: bool) -> Vec<Vec<f32>> {
        self.forward_generic(
            xs,
            relu,
            |r0, x, nz| self.block(r0, x, nz),
            |r0, x, nz| self.block(r0, x, nz),
        )
    }

    /// [`Dense::forward_generic`] with [`Dense::block_avx`].
    ///
    /// # Safety
    /// The CPU supports AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn forward_avx(&self, xs: &[Vec<f32>], relu: bool) -> Vec<Vec<f32>> {
        self.forward_generic(
            xs,
            relu,
            // SAFETY: AVX is supported (this function's contract); sizes are checked inside.
            |r0, x, nz| unsafe { self.block_avx(r0, x, nz) },
            // SAFETY: as above.
            |r0, x, nz| unsafe { self.block_avx(r0, x, nz) },
        )
    }

    /// Blocks, leftovers, bias and ReLU around a block kernel.
    #[inline(always)]
    fn forward_generic(
        &self,
        xs: &[Vec<f32>],
        relu: bool,
        block: impl Fn(usize, [&[f32]; IB], &[usize]) -> [[f32; RB]; IB],
        block1: impl Fn(usize, [&[f32]; 1], &[usize]) -> [[f32; RB]; 1],
    ) -> Vec<Vec<f32>> {
        let outputs = self.outputs();
        let mut out = vec![vec![0.0f32; outputs]; xs.len()];
        let full = outputs / RB * RB;
        let groups = xs.len() / IB;
        // Inputs zero for the whole group are skipped: adding `w · 0` never
        // changes a sum that started at +0 (it cannot be −0), so the bits stay.
        let nonzero = |x: &[&[f32]]| -> Vec<usize> {
            // OR of the magnitude bits: ±0 is the only float with none set.
            let mut any = vec![0u32; self.inputs];
            for x in x {
                for (a, v) in any.iter_mut().zip(x.iter()) {
                    *a |= v.to_bits() & 0x7fff_ffff;
                }
            }
            (0..self.inputs).filter(|&c| any[c] != 0).collect()
        };
        let group =
            |g: usize| -> [&[f32]; IB] { std::array::from_fn(|i| xs[g * IB + i].as_slice()) };
        let nz: Vec<Vec<usize>> = (0..groups).map(|g| nonzero(&group(g))).collect();
        let nz1: Vec<Vec<usize>> = xs[groups * IB..].iter().map(|x| nonzero(&[x])).collect();
        // Output blocks outside, inputs inside: one block's weights (inputs × 64 B,
        // 25 KB for the predictor) stay in L1 while every input passes.
        for r0 in (0..full).step_by(RB) {
            for (g, nz) in nz.iter().enumerate() {
                let acc = block(r0, group(g), nz);
                for (i, a) in acc.iter().enumerate() {
                    out[g * IB + i][r0..r0 + RB].copy_from_slice(a);
                }
            }
            for (k, nz) in (groups * IB..).zip(&nz1) {
                let [a] = block1(r0, [xs[k].as_slice()], nz);
                out[k][r0..r0 + RB].copy_from_slice(&a);
            }
        }
        // Outputs past the last full block (e.g. a single-output last layer).
        let tail = outputs - full;
        for (x, o) in xs.iter().zip(out.iter_mut()) {
            for (&xc, w) in x.iter().zip(self.rest.chunks_exact(tail.max(1))) {
                if xc != 0.0 && tail > 0 {
                    for (v, w) in o[full..].iter_mut().zip(w) {
                        *v += w * xc;
                    }
                }
            }
        }
        for o in out.iter_mut() {
            for (v, b) in o.iter_mut().zip(&self.bias) {
                *v += *b;
                if relu {
                    *v = v.max(0.0);
                }
            }
        }
        out
    }

    /// Outputs `r0..r0 + RB` (before the bias) of `N` inputs, summing over
    /// the inputs `nonzero` lists (ascending).
    #[inline(always)]
    fn block<const N: usize>(
        &self,
        r0: usize,
        x: [&[f32]; N],
        nonzero: &[usize],
    ) -> [[f32; RB]; N] {
        let block = &self.packed[r0 * self.inputs..(r0 + RB) * self.inputs];
        let mut acc = [[0.0f32; RB]; N];
        for &c in nonzero {
            let w: &[f32; RB] = block[c * RB..(c + 1) * RB].try_into().expect("RB weights");
            for (a, x) in acc.iter_mut().zip(&x) {
                let xc = x[c];
                for r in 0..RB {
                    a[r] += w[r] * xc;
                }
            }
        }
        acc
    }

    /// [`Dense::block`] with the two weight vectors held in registers for all
    /// `N` inputs (the compiler re-loads them per input): the same operations
    /// in the same order, so the same bits.
    ///
    /// # Safety
    /// The CPU supports AVX (the sizes are checked here).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn block_avx<const N: usize>(
        &self,
        r0: usize,
        x: [&[f32]; N],
        nonzero: &[usize],
    ) -> [[f32; RB]; N] {
        use std::arch::x86_64::*;
        let block = &self.packed[r0 * self.inputs..(r0 + RB) * self.inputs];
        assert!(
            nonzero.iter().all(|&c| c < self.inputs) && x.iter().all(|x| x.len() >= self.inputs)
        );
        let mut acc = [[_mm256_setzero_ps(); 2]; N];
        for &c in nonzero {
            // SAFETY: c < inputs (asserted), so c·RB + 16 <= block.len() and c < x.len();
            // AVX is supported (this function's contract).
            unsafe {
                let w0 = _mm256_loadu_ps(block.as_ptr().add(c * RB));
                let w1 = _mm256_loadu_ps(block.as_ptr().add(c * RB + 8));
                for (a, x) in acc.iter_mut().zip(&x) {
                    let xc = _mm256_set1_ps(*x.get_unchecked(c));
                    a[0] = _mm256_add_ps(a[0], _mm256_mul_ps(w0, xc));
                    a[1] = _mm256_add_ps(a[1], _mm256_mul_ps(w1, xc));
                }
            }
        }
        let mut out = [[0.0f32; RB]; N];
        for (o, a) in out.iter_mut().zip(&acc) {
            // SAFETY: `o` holds RB = 16 floats: two 8-lane stores.
            unsafe {
                _mm256_storeu_ps(o.as_mut_ptr(), a[0]);
                _mm256_storeu_ps(o.as_mut_ptr().add(8), a[1]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order the module promises, written out plainly.
    fn reference(w: &[f32], b: &[f32], x: &[f32], relu: bool) -> Vec<f32> {
        let n = x.len();
        (0..b.len())
            .map(|r| {
                let mut s = 0.0f32;
                for c in 0..n {
                    s += w[r * n + c] * x[c];
                }
                let v = s + b[r];
                if relu {
                    v.max(0.0)
                } else {
                    v
                }
            })
            .collect()
    }

    #[test]
    fn batched_equals_the_plain_order_bitwise() {
        for (outputs, inputs) in [(1, 5), (24, 8), (31, 13), (400, 128), (1, 400), (50, 3)] {
            let w: Vec<f32> = (0..outputs * inputs)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..outputs).map(|i| (i as f32 - 3.0) / 5.0).collect();
            let layer = Dense::new(&w, &b);
            for batch in [1, 3, 4, 9] {
                // Some inputs zero, as in one-hot encodings and after ReLU.
                let xs: Vec<Vec<f32>> = (0..batch)
                    .map(|k| {
                        (0..inputs)
                            .map(|i| {
                                if (i + k) % 3 == 0 {
                                    0.0
                                } else {
                                    ((i * 11 + k) % 23) as f32 / 3.0 - 3.0
                                }
                            })
                            .collect()
                    })
                    .collect();
                for relu in [false, true] {
                    let got = layer.forward(&xs, relu);
                    assert_eq!(
                        got,
                        layer.forward_portable(&xs, relu),
                        "AVX and portable paths"
                    );
                    for (x, g) in xs.iter().zip(&got) {
                        let want: Vec<u32> = reference(&w, &b, x, relu)
                            .iter()
                            .map(|v| v.to_bits())
                            .collect();
                        let g: Vec<u32> = g.iter().map(|v| v.to_bits()).collect();
                        assert_eq!(g, want, "{outputs}x{inputs}, batch {batch}, relu {relu}");
                    }
                }
            }
        }
    }
}
