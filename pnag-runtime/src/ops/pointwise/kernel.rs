//! The 1×1 convolution of one image as a matrix product on NCHW data,
//! generic over the vector ISA ([`Lanes`]) and the fused activation `ACT`.
//!
//! `out[m, p] = act(Σ_k W[m, k] · x[k, p] + bias[m]) + residual[m, p]`, with
//! `x` as `[cin, hw]`. The weights are packed once, at load time, into panels
//! of [`MR`] output channels, k-major, so each step of the inner loop
//! broadcasts `MR` consecutive floats against two input vectors: `2·MR`
//! independent FMA chains.
//!
//! Columns are walked in chunks whose `x` slice fits in L2 while all panels
//! sweep it; each panel (`cin · MR` floats) stays in L1 across the chunk.
//! When `hw` is a multiple of the tile (112²–28² maps) the tiles read `x` in
//! place. Otherwise (14×14, 7×7), and when the squeeze-excite scale applies,
//! each chunk is first copied into tiles of two vectors of pixels, k-major
//! ([`pack_columns`], scaled on the way): read in place, a tile's `cin` rows
//! lie `hw` floats apart and straddle cache lines, which held the deep layers
//! (7×7 maps, 768 channels in) to ~22 GMAC/s.

use std::ops::Range;

use crate::simd::{activate, Lanes, MAX_LANES};

/// Output channels per tile (rows of a weight panel).
pub(crate) const MR: usize = 6;
/// Bytes of `x` one chunk of columns may span (half a typical L2).
const CHUNK_BYTES: usize = 128 * 1024;

/// `weights` (`[cout, cin]`, row-major) as panels of [`MR`] rows, k-major;
/// the last panel is padded with zero rows.
pub(crate) fn pack(weights: &[f32], cout: usize, cin: usize) -> Vec<f32> {
    let mut packed = vec![0.0; cout.div_ceil(MR) * cin * MR];
    for (m, row) in weights.chunks_exact(cin).take(cout).enumerate() {
        let panel = &mut packed[(m / MR) * cin * MR..];
        for (k, &w) in row.iter().enumerate() {
            panel[k * MR + m % MR] = w;
        }
    }
    packed
}

/// One layer's shape and constants.
pub(crate) struct Layer<'a> {
    pub cin: usize,
    pub cout: usize,
    /// Pixels per channel (`h · w`).
    pub hw: usize,
    /// [`pack`]ed weights.
    pub packed: &'a [f32],
    pub bias: &'a [f32],
}

/// Raw pointers to one image's tensors (shared by the threads, which write
/// disjoint regions of `out`).
#[derive(Clone, Copy)]
pub(crate) struct Image {
    /// `[cin, hw]`
    pub x: *const f32,
    /// `[cin]`: multiplies input channel `k` (the squeeze-excite scale), or null.
    pub scale: *const f32,
    /// `[cout, hw]`, or null for no residual.
    pub residual: *const f32,
    /// `[cout, hw]`
    pub out: *mut f32,
}

// SAFETY: an `Image` is only dereferenced inside `region`, whose callers give
// each thread a disjoint part of `out` and read-only access to the inputs.
unsafe impl Send for Image {}
unsafe impl Sync for Image {}

/// Computes output channels `panels.start·MR .. min(panels.end·MR, cout)` ×
/// pixels `cols` of one image.
///
/// # Safety
/// `L` must be supported by the running CPU; `img` must hold `cin·hw` /
/// `cout·hw` floats; `panels` and `cols` must be in range; no other thread
/// may write the same region of `out`.
#[inline(always)]
pub(crate) unsafe fn region<L: Lanes, const ACT: u8>(
    layer: &Layer,
    img: Image,
    panels: Range<usize>,
    cols: Range<usize>,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let nr = 2 * L::N;
        // Rows `hw` apart stay aligned when `hw` is a multiple of the tile, and
        // then reading `x` in place measured faster than packing it (the copy
        // is not repaid on the 112², 56² and 28² maps, where `cout` is small).
        if img.scale.is_null()
            && layer.hw.is_multiple_of(nr)
            && cols.start.is_multiple_of(nr)
            && cols.len().is_multiple_of(nr)
        {
            direct::<L, ACT>(layer, img, panels, cols)
        } else {
            packed::<L, ACT>(layer, img, panels, cols)
        }
    }
}

/// [`region`] reading full tiles straight from `x` (`cols` in whole tiles).
///
/// # Safety
/// As [`region`], and `cols` starts and ends on whole tiles of `2·L::N` pixels.
#[inline(always)]
unsafe fn direct<L: Lanes, const ACT: u8>(
    layer: &Layer,
    img: Image,
    panels: Range<usize>,
    cols: Range<usize>,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let (cin, hw, nr) = (layer.cin, layer.hw, 2 * L::N);
        let chunk = ((CHUNK_BYTES / (4 * cin)) / nr * nr).max(nr);
        let mut c0 = cols.start;
        while c0 < cols.end {
            let c1 = (c0 + chunk).min(cols.end);
            for p in panels.clone() {
                let w = layer.packed.as_ptr().add(p * cin * MR);
                for n in (c0..c1).step_by(nr) {
                    let acc = tile::<L, 2>(cin, img.x.add(n), hw, w);
                    store_full::<L, ACT>(layer, img, p * MR, n, &acc);
                }
            }
            c0 = c1;
        }
    }
}

/// [`region`] on a packed copy of each chunk of columns (scaled per input
/// channel when `img.scale` is set; the last partial tile zero-padded).
///
/// # Safety
/// As [`region`].
#[inline(always)]
unsafe fn packed<L: Lanes, const ACT: u8>(
    layer: &Layer,
    img: Image,
    panels: Range<usize>,
    cols: Range<usize>,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let (cin, nr) = (layer.cin, 2 * L::N);
        let chunk = ((CHUNK_BYTES / (4 * cin)) / nr * nr)
            .max(nr)
            .min(cols.len().next_multiple_of(nr));
        // Taken out of the thread-local rather than used in a `with` closure: a
        // closure does not inherit the caller's `target_feature`, and the
        // kernels would not inline into it.
        let mut buf = PACKED_X.take();
        let xs = aligned(&mut buf, cin * chunk);
        let mut c0 = cols.start;
        while c0 < cols.end {
            let width = chunk.min(cols.end - c0);
            pack_columns(layer, img, c0, width, nr, xs);
            for p in panels.clone() {
                let w = layer.packed.as_ptr().add(p * cin * MR);
                for t in 0..width.div_ceil(nr) {
                    let (n, len) = (c0 + t * nr, nr.min(width - t * nr));
                    let x = xs.as_ptr().add(t * cin * nr);
                    if len == nr {
                        let acc = tile::<L, 2>(cin, x, nr, w);
                        store_full::<L, ACT>(layer, img, p * MR, n, &acc);
                    } else if len <= L::N {
                        let acc = tile::<L, 1>(cin, x, nr, w);
                        store_part::<L, ACT, 1>(layer, img, p * MR, n, len, &acc);
                    } else {
                        let acc = tile::<L, 2>(cin, x, nr, w);
                        store_part::<L, ACT, 2>(layer, img, p * MR, n, len, &acc);
                    }
                }
            }
            c0 += width;
        }
        PACKED_X.set(buf);
    }
}

thread_local! {
    /// Each thread's packed-activations buffer, reused across calls.
    static PACKED_X: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `len` floats of `buf` starting on a 64-byte boundary (so a tile's rows
/// never straddle cache lines).
fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buf.resize(len + 16, 0.0);
    let skip = buf.as_ptr().align_offset(64).min(16);
    &mut buf[skip..skip + len]
}

/// Copies pixels `c0 .. c0 + width` of every input channel (times its
/// scale, if any) into tiles of `nr` pixels, k-major (`xs[t][k][0..nr]`), so
/// the inner loop reads one contiguous stream instead of `cin` rows `hw`
/// apart; a last partial tile is zero-padded.
///
/// # Safety
/// `img.x` must hold `cin · hw` floats, `img.scale` (if not null) `cin`, and
/// `c0 + width ≤ hw`.
#[inline(always)]
unsafe fn pack_columns(
    layer: &Layer,
    img: Image,
    c0: usize,
    width: usize,
    nr: usize,
    xs: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let cin = layer.cin;
        for k in 0..cin {
            let row = std::slice::from_raw_parts(img.x.add(k * layer.hw + c0), width);
            let s = if img.scale.is_null() {
                1.0
            } else {
                *img.scale.add(k)
            };
            for (t, src) in row.chunks(nr).enumerate() {
                let dst = &mut xs[(t * cin + k) * nr..][..nr];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = v * s;
                }
                dst[src.len()..].fill(0.0);
            }
        }
    }
}

/// `MR` output channels × `V` vectors of pixels: `Σ_k w[k, r] · x[k·stride ..]`.
///
/// # Safety
/// `x` is readable for `V·L::N` floats at each of the `cin` rows `stride` apart, `w` for
/// `cin·MR` floats, and `L` is supported by the CPU.
#[inline(always)]
unsafe fn tile<L: Lanes, const V: usize>(
    cin: usize,
    x: *const f32,
    stride: usize,
    w: *const f32,
) -> [[L::V; V]; MR] {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let mut acc = [[L::splat(0.0); V]; MR];
        for k in 0..cin {
            let xk = x.add(k * stride);
            let xv: [L::V; V] = std::array::from_fn(|v| L::load(xk.add(v * L::N)));
            let wk = w.add(k * MR);
            for (r, a) in acc.iter_mut().enumerate() {
                let b = L::splat(*wk.add(r));
                for (a, &x) in a.iter_mut().zip(&xv) {
                    *a = L::mul_add(*a, b, x);
                }
            }
        }
        acc
    }
}

/// Bias, activation and residual in registers, then one store per vector.
///
/// # Safety
/// Output rows `first..first + MR` (clipped to `cout`) × pixels `n..n + 2·L::N` are in
/// `img.out` (and in `img.residual` when set), written by no other thread; `L` is supported.
#[inline(always)]
unsafe fn store_full<L: Lanes, const ACT: u8>(
    layer: &Layer,
    img: Image,
    m0: usize,
    n: usize,
    acc: &[[L::V; 2]; MR],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        for (r, a) in acc.iter().enumerate().take(layer.cout.saturating_sub(m0)) {
            let b = L::splat(layer.bias[m0 + r]);
            let at = (m0 + r) * layer.hw + n;
            for (h, &v) in a.iter().enumerate() {
                let mut y = activate::<L, ACT>(L::add(v, b));
                if !img.residual.is_null() {
                    y = L::add(y, L::load(img.residual.add(at + h * L::N)));
                }
                L::store(img.out.add(at + h * L::N), y);
            }
        }
    }
}

/// Like [`store_full`] for the first `width` pixels only.
///
/// # Safety
/// As [`store_full`] for pixels `n..n + width`.
#[inline(always)]
unsafe fn store_part<L: Lanes, const ACT: u8, const V: usize>(
    layer: &Layer,
    img: Image,
    m0: usize,
    n: usize,
    width: usize,
    acc: &[[L::V; V]; MR],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let mut row = [0f32; 2 * MAX_LANES];
        for (r, a) in acc.iter().enumerate().take(layer.cout.saturating_sub(m0)) {
            let b = L::splat(layer.bias[m0 + r]);
            for (h, &v) in a.iter().enumerate() {
                L::store(
                    row.as_mut_ptr().add(h * L::N),
                    activate::<L, ACT>(L::add(v, b)),
                );
            }
            let at = (m0 + r) * layer.hw + n;
            for (j, &y) in row[..width].iter().enumerate() {
                let res = if img.residual.is_null() {
                    0.0
                } else {
                    *img.residual.add(at + j)
                };
                *img.out.add(at + j) = y + res;
            }
        }
    }
}
