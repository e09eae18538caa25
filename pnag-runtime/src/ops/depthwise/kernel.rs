//! The depthwise convolution itself, generic over the vector ISA ([`Lanes`]),
//! the kernel size `K`, the stride `S` and the fused activation `ACT`.
//!
//! Per channel plane:
//! 1. Copy the plane into a zero-bordered scratch (PyTorch's `padding = K / 2`).
//!    For stride 2 the columns are split into even and odd *phases*, so that
//!    the inputs of 8 neighbouring outputs are again 8 contiguous floats.
//!    The border is written once per call and never overwritten, so every
//!    output — border or not — takes the same branch-free path.
//! 2. Compute tiles of `ROWS` output rows × one vector of outputs: `ROWS`
//!    independent accumulators hide the FMA latency even on 7×7 maps.
//! 3. Add the (batch-norm-folded) bias and apply ReLU / h-swish in registers,
//!    before the single store.

use crate::simd::{activate, Lanes, MAX_LANES};

/// Output rows per tile (independent accumulator chains).
const ROWS: usize = crate::memory::DEPTHWISE_TILE_ROWS;
/// Largest supported kernel (7×7 = 49 taps).
pub(crate) const MAX_TAPS: usize = 49;

/// Spatial sizes of one depthwise convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub h: usize,
    pub w: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geometry {
    /// Output size of a `k`×`k`, stride-`s`, `k / 2`-padded convolution (k odd).
    pub fn new(k: usize, s: usize, h: usize, w: usize) -> Self {
        let out = |n: usize| (n + 2 * (k / 2) - k) / s + 1;
        Geometry {
            h,
            w,
            ho: out(h),
            wo: out(w),
        }
    }
}

/// Scratch layout for one plane: `rows` padded rows, each split in `S` phases
/// of `phase_width` floats.
struct Scratch {
    phase_width: usize,
    rows: usize,
}

impl Scratch {
    fn new<const K: usize, const S: usize>(g: &Geometry, lanes: usize) -> Self {
        let wo_r = g.wo.div_ceil(lanes) * lanes;
        let ho_r = g.ho.div_ceil(ROWS) * ROWS;
        Scratch {
            phase_width: wo_r + (K - 1) / S,
            rows: ((ho_r - 1) * S + K).max(g.h + K / 2),
        }
    }
}

/// Runs `count = out.len() / (ho * wo)` planes; plane `i` is channel
/// `(first_plane + i) % channels`.
///
/// # Safety
/// `L` must be supported by the running CPU. Slices must hold `count` planes
/// (`input`: h·w each, `out`: ho·wo each), `weights` channels·K·K and `bias`
/// `channels` floats — checked by the caller, [`super::DepthwiseConv`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn planes<L: Lanes, const K: usize, const S: usize, const ACT: u8>(
    g: &Geometry,
    channels: usize,
    first_plane: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let count = out.len() / plane_out;
        let layout = Scratch::new::<K, S>(g, L::N);
        let pw = layout.phase_width;
        let mut scratch = vec![0f32; layout.rows * S * pw];
        let pad = K / 2;
        let mut taps = [L::splat(0.0); MAX_TAPS];
        for i in 0..count {
            let c = (first_plane + i) % channels;
            let src = &input[i * plane_in..(i + 1) * plane_in];
            let ahead = input.get((i + AHEAD) * plane_in..(i + AHEAD + 1) * plane_in);
            // 1. Interior of the padded plane (the zero border stays from `vec!`).
            for iy in 0..g.h {
                if let Some(next) = ahead {
                    prefetch_row(&next[iy * g.w..(iy + 1) * g.w]);
                }
                let row = &src[iy * g.w..(iy + 1) * g.w];
                let y = iy + pad;
                if S == 1 {
                    scratch[y * pw + pad..y * pw + pad + g.w].copy_from_slice(row);
                } else {
                    deinterleave::<L>(row, pad, &mut scratch[y * 2 * pw..(y + 1) * 2 * pw], pw);
                }
            }
            for (t, tap) in taps[..K * K].iter_mut().enumerate() {
                *tap = L::splat(weights[c * K * K + t]);
            }
            let b = bias[c];
            let dst = &mut out[i * plane_out..(i + 1) * plane_out];
            tiles::<L, K, S, ACT>(g, &scratch, pw, &taps, b, dst);
        }
    }
}

/// While a plane is copied, the plane this many ahead is prefetched row by
/// row. One plane read at a time is a single stream, which this VM serves at
/// ~7 GB/s from DRAM (four streams: ~16 GB/s); inside a network the
/// expanded tensors are mostly not in cache any more. Smallest subnet, 1
/// thread, per-node times relative to the stem + head, median of 3 runs:
/// depthwise stride 1 −17 %, stride 2 −12 % (1 and 2 planes ahead gave less).
const AHEAD: usize = 4;

/// Asks for `row`'s cache lines in L2 (x86_64; a no-op elsewhere).
#[inline(always)]
fn prefetch_row(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for chunk in row.chunks(16) {
        // SAFETY: prefetching is a hint; the address is in `row`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
                chunk.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Computes every output tile of one channel from its zero-bordered `scratch` plane.
///
/// # Safety
/// `scratch` holds the padded plane (`S` phases of `pw` columns per padded row, plus the rows
/// the last tile reads), `dst` holds `g.ho · g.wo` floats, and `L` is supported by the CPU.
#[inline(always)]
unsafe fn tiles<L: Lanes, const K: usize, const S: usize, const ACT: u8>(
    g: &Geometry,
    scratch: &[f32],
    pw: usize,
    taps: &[L::V; MAX_TAPS],
    bias: f32,
    dst: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let base = scratch.as_ptr();
        for oy0 in (0..g.ho).step_by(ROWS) {
            for ox0 in (0..g.wo).step_by(L::N) {
                let mut acc = [L::splat(bias); ROWS];
                for ky in 0..K {
                    for kx in 0..K {
                        let tap = taps[ky * K + kx];
                        // Output (oy, ox) reads padded (oy·S + ky, ox·S + kx): phase kx % S, column ox + kx / S.
                        let col = ox0 + kx / S;
                        let phase = kx % S;
                        for (r, a) in acc.iter_mut().enumerate() {
                            let y = (oy0 + r) * S + ky;
                            let v = L::load(base.add((y * S + phase) * pw + col));
                            *a = L::mul_add(*a, v, tap);
                        }
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    let oy = oy0 + r;
                    if oy >= g.ho {
                        break;
                    }
                    let v = activate::<L, ACT>(*a);
                    let at = oy * g.wo + ox0;
                    if ox0 + L::N <= g.wo {
                        L::store(dst.as_mut_ptr().add(at), v);
                    } else {
                        let mut tail = [0f32; MAX_LANES];
                        L::store(tail.as_mut_ptr(), v);
                        let n = g.wo - ox0;
                        dst[at..at + n].copy_from_slice(&tail[..n]);
                    }
                }
            }
        }
    }
}

/// Stride 2: padded column `x = ix + pad` of `row` goes to phase `x % 2`
/// (the two halves of `dst`, `pw` floats each), position `x / 2`: `2·N`
/// inputs → two vectors per step ([`Lanes::load_deinterleaved`]; plain Rust
/// loops came out scalar in some (K, S, activation) instances).
///
/// # Safety
/// `L` must be supported by the running CPU.
#[inline(always)]
unsafe fn deinterleave<L: Lanes>(row: &[f32], pad: usize, dst: &mut [f32], pw: usize) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let (even, odd) = dst.split_at_mut(pw);
        // row[2m] lands at x = 2m + pad, row[2m + 1] at 2m + 1 + pad.
        let (first, second) = if pad.is_multiple_of(2) {
            (&mut even[pad / 2..], &mut odd[pad / 2..])
        } else {
            (&mut odd[pad / 2..], &mut even[pad / 2 + 1..])
        };
        let n = row.len() / 2;
        assert!(first.len() > n && second.len() >= n);
        let done = n / L::N * L::N;
        for m in (0..done).step_by(L::N) {
            // SAFETY: 2m + 2N ≤ row.len() and m + N ≤ n ≤ both destinations' lengths.
            let (a, b) = L::load_deinterleaved(row.as_ptr().add(2 * m));
            L::store(first.as_mut_ptr().add(m), a);
            L::store(second.as_mut_ptr().add(m), b);
        }
        if done < n {
            // The last < N pairs through a zero-padded stack copy, stored as whole
            // vectors: the lanes past `n` are zeros and land on the right-hand
            // padding, which must be zero anyway (the scratch layout leaves room
            // for a full vector there: `phase_width ≥ wo` rounded up to lanes).
            // Two small `memcpy` calls per row fewer than storing `n - done`
            // floats (the smallest subnet's 408×14² stride-2 layer: 0.15–0.18 →
            // 0.14–0.15 ms per run in the network).
            let rest = &row[2 * done..2 * n];
            let mut pairs = [0f32; 2 * MAX_LANES];
            pairs[..rest.len()].copy_from_slice(rest);
            let (a, b) = L::load_deinterleaved(pairs.as_ptr());
            assert!(first.len() >= done + L::N && second.len() >= done + L::N);
            L::store(first.as_mut_ptr().add(done), a);
            L::store(second.as_mut_ptr().add(done), b);
        }
        if row.len() % 2 == 1 {
            first[n] = row[2 * n];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory model ([`crate::memory`]) predicts the scratch this kernel allocates.
    #[test]
    fn scratch_size_is_what_the_memory_model_predicts() {
        fn check<const K: usize, const S: usize>() {
            for side in [7, 14, 28, 56, 112, 9, 15] {
                for lanes in [4, 8, 16] {
                    let g = Geometry::new(K, S, side, side);
                    let layout = Scratch::new::<K, S>(&g, lanes);
                    assert_eq!(
                        layout.rows * S * layout.phase_width,
                        crate::memory::depthwise_scratch_floats(K, S, side, side, lanes),
                        "K {K} S {S} side {side} lanes {lanes}"
                    );
                }
            }
        }
        check::<3, 1>();
        check::<3, 2>();
        check::<5, 1>();
        check::<5, 2>();
        check::<7, 1>();
        check::<7, 2>();
    }
}
