//! The few vector operations our conv kernels need, per instruction set.
//!
//! The depthwise and pointwise kernels are written once, generic over
//! [`Lanes`]; each implementation here is a thin wrapper over one ISA's
//! intrinsics. All methods are `#[inline(always)]` so that, inlined into a
//! function compiled with `#[target_feature(enable = "avx2,fma")]`, they
//! become single AVX instructions.

/// Which vector code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Simd {
    /// The fastest code this CPU runs (checked at run time): AVX-512F (16 lanes) where its
    /// multiply-adds measure clearly faster than AVX2's (not on CPUs that split 512-bit
    /// operations in two, such as AMD Zen 4), else AVX2 + FMA (8), on x86_64; NEON on
    /// aarch64; else the portable code. The environment
    /// variable `PNAG_SIMD` (`avx512`, `avx2`, `portable`) overrides it, so a benchmark can
    /// time the AVX2 path on an AVX-512 host without rebuilding.
    #[default]
    Best,
    /// AVX-512F, 16 lanes (the portable code where the CPU lacks it).
    Avx512,
    /// AVX2 + FMA, 8 lanes (the portable code where the CPU lacks them).
    Avx2,
    /// Plain Rust (4 lanes, vectorized by the compiler for the baseline ISA).
    Portable,
}

/// The code a [`Simd`] choice runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdPath {
    /// AVX-512F.
    Avx512,
    /// AVX2 + FMA.
    Avx2,
    /// NEON.
    Neon,
    /// Portable Rust.
    Portable,
}

impl SimdPath {
    /// f32 lanes per vector.
    pub fn lanes(self) -> usize {
        match self {
            SimdPath::Avx512 => 16,
            SimdPath::Avx2 => 8,
            SimdPath::Neon | SimdPath::Portable => 4,
        }
    }

    /// Its name in reports and logs.
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Avx512 => "AVX-512F (16 lanes)",
            SimdPath::Avx2 => "AVX2 + FMA (8 lanes)",
            SimdPath::Neon => "NEON (4 lanes)",
            SimdPath::Portable => "portable (4 lanes)",
        }
    }
}

impl Simd {
    /// True when this CPU can run the path `self` names (`Best` and `Portable` always).
    pub fn available(self) -> bool {
        match self {
            Simd::Best | Simd::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Simd::Avx512 | Simd::Avx2 => false,
        }
    }

    /// The code this choice runs here (`Best` after `PNAG_SIMD`; a forced path the CPU
    /// lacks runs the portable code).
    pub fn path(self) -> SimdPath {
        let simd = match self {
            Simd::Best => from_env(),
            other => other,
        };
        match simd {
            Simd::Avx512 if simd.available() => SimdPath::Avx512,
            Simd::Avx2 if simd.available() => SimdPath::Avx2,
            Simd::Best if Simd::Avx512.available() && avx512_pays() => SimdPath::Avx512,
            Simd::Best if Simd::Avx2.available() => SimdPath::Avx2,
            Simd::Best if cfg!(target_arch = "aarch64") => SimdPath::Neon,
            _ => SimdPath::Portable,
        }
    }

    /// Parses `best`, `avx512`, `avx2` or `portable`.
    pub fn parse(s: &str) -> Option<Simd> {
        match s.trim().to_ascii_lowercase().as_str() {
            "best" => Some(Simd::Best),
            "avx512" | "avx-512" => Some(Simd::Avx512),
            "avx2" => Some(Simd::Avx2),
            "portable" => Some(Simd::Portable),
            _ => None,
        }
    }
}

/// Whether AVX-512F multiply-adds run clearly faster than AVX2's on this CPU, measured once
/// per process (~2 ms, [`fma_chains_seconds`]). Where a core has full 512-bit FMA units
/// the throughput ratio is ~2; where it splits them in two halves (Zen 4) it is ~1 and
/// the wider vectors only waste lanes on 7×7 and 14×14 planes (measured: 5 % slower end
/// to end), so `Best` keeps AVX2 there. The 1.4 threshold is far from both, so the choice
/// does not flip between runs on a noisy machine.
fn avx512_pays() -> bool {
    static PAYS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PAYS.get_or_init(|| {
        if !Simd::Avx512.available() {
            return false;
        }
        if !Simd::Avx2.available() {
            return true;
        }
        const ITERS: u32 = 20_000;
        match (
            fma_chains_seconds(Simd::Avx2, ITERS, 5),
            fma_chains_seconds(Simd::Avx512, ITERS, 5),
        ) {
            // Twice the floats per operation: AVX-512 pays when its time is well under AVX2's.
            (Some(t256), Some(t512)) => 2.0 * t256 / t512 > 1.4,
            _ => false,
        }
    })
}

/// Independent multiply-add chains (enough to hide the FMA latency on current cores).
const CHAINS: usize = 12;

/// [`CHAINS`] dependent multiply-add chains of `L` run `iters` steps (a [`SimdKernel`], so
/// it is compiled for each instruction set exactly as the conv kernels are).
struct FmaChains {
    iters: u32,
}

impl SimdKernel for FmaChains {
    type Output = f32;

    #[inline(always)]
    unsafe fn run<L: Lanes>(self) -> f32 {
        // SAFETY: `dispatch` runs this only with an `L` the CPU supports; the store writes
        // `L::N ≤ MAX_LANES` floats into a buffer of `MAX_LANES`.
        unsafe {
            let (a, b) = (L::splat(0.999_999), L::splat(1e-7));
            let mut acc = [L::splat(1.0); CHAINS];
            for _ in 0..self.iters {
                for x in acc.iter_mut() {
                    *x = L::mul_add(b, *x, a);
                }
            }
            let sum = acc.iter().fold(L::splat(0.0), |s, &x| L::add(s, x));
            let mut lanes = [0f32; MAX_LANES];
            L::store(lanes.as_mut_ptr(), sum);
            lanes[0]
        }
    }
}

/// The best of `tries` timings (seconds) of [`FmaChains`] on `simd`'s path; `None` when
/// this CPU cannot run that path (a forced path would silently run the portable code).
fn fma_chains_seconds(simd: Simd, iters: u32, tries: usize) -> Option<f64> {
    if !simd.available() {
        return None;
    }
    let best = (0..tries)
        .map(|_| {
            let start = std::time::Instant::now();
            // SAFETY: `FmaChains` has no preconditions beyond the CPU support `dispatch` checks.
            std::hint::black_box(unsafe {
                dispatch(
                    simd,
                    FmaChains {
                        iters: std::hint::black_box(iters),
                    },
                )
            });
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    Some(best)
}

impl Simd {
    /// One core's measured multiply-add peak on this path, in GMAC/s (12 independent FMA
    /// chains for ~0.3 s, best of 3), for benchmark reports; `None` when the CPU lacks it.
    pub fn fma_peak_gmacs(self) -> Option<f64> {
        const ITERS: u32 = 30_000_000;
        let lanes = match self.path() {
            SimdPath::Avx512 => 16.0,
            SimdPath::Avx2 => 8.0,
            SimdPath::Neon | SimdPath::Portable => 4.0,
        };
        let seconds = fma_chains_seconds(self, ITERS, 3)?;
        Some(f64::from(ITERS) * CHAINS as f64 * lanes / seconds / 1e9)
    }
}

/// `Best` as `PNAG_SIMD` says (read once; unset or unknown: `Best`).
fn from_env() -> Simd {
    static CHOICE: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        std::env::var("PNAG_SIMD")
            .ok()
            .and_then(|v| Simd::parse(&v))
            .unwrap_or(Simd::Best)
    })
}

/// The widest vector any [`Lanes`] has (AVX-512's 16 floats): stack buffers a kernel
/// stores whole vectors into are sized by it.
pub(crate) const MAX_LANES: usize = 16;

/// A kernel written once over [`Lanes`], run by [`dispatch`] with the chosen instruction set.
pub(crate) trait SimdKernel {
    /// What the kernel returns.
    type Output;

    /// Runs the kernel with vectors of `L`.
    ///
    /// # Safety
    /// The implementor's own preconditions (slice sizes, disjoint regions) hold, and `L`
    /// is usable on this CPU ([`dispatch`] guarantees the latter).
    unsafe fn run<L: Lanes>(self) -> Self::Output;
}

/// The one place that picks the instruction set ([`Simd::path`]): AVX-512F or AVX2 + FMA
/// when the CPU has them (std caches the check), NEON on aarch64, else portable code.
///
/// # Safety
/// `kernel`'s preconditions (its `run` documents them) hold.
#[inline(always)]
pub(crate) unsafe fn dispatch<K: SimdKernel>(simd: Simd, kernel: K) -> K::Output {
    match simd.path() {
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx512 => {
            /// Compiles the (inlined) kernel body with AVX-512F enabled.
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512<K: SimdKernel>(kernel: K) -> K::Output {
                // SAFETY: forwarded from `dispatch`'s caller; the CPU check was done there.
                unsafe { kernel.run::<Avx512>() }
            }
            // SAFETY: the CPU has AVX-512F (`path` checked); preconditions are our caller's.
            unsafe { avx512(kernel) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx2 => {
            /// Compiles the (inlined) kernel body with AVX2 and FMA enabled.
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<K: SimdKernel>(kernel: K) -> K::Output {
                // SAFETY: forwarded from `dispatch`'s caller; the CPU check was done there.
                unsafe { kernel.run::<Avx2Fma>() }
            }
            // SAFETY: the CPU has AVX2 and FMA (`path` checked); preconditions are our caller's.
            unsafe { avx2(kernel) }
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON is part of the aarch64 baseline; preconditions are our caller's.
        SimdPath::Neon => unsafe { kernel.run::<Neon>() },
        // SAFETY: portable code runs anywhere; preconditions are our caller's.
        _ => unsafe { kernel.run::<Portable>() },
    }
}

/// Fused activations (a const generic of the kernels).
pub(crate) const ACT_RELU: u8 = 0;
pub(crate) const ACT_HSWISH: u8 = 1;
pub(crate) const ACT_NONE: u8 = 2;

/// ReLU, h-swish `x · min(max(x + 3, 0), 6) / 6`, or nothing; NaN in, NaN out (as PyTorch).
///
/// The constant is the *first* operand of `max` / `min` everywhere: [`Lanes::max`] and
/// [`Lanes::min`] return their second operand when a lane is NaN, so a NaN activation stays
/// NaN instead of being clamped to 0 or 6.
///
/// # Safety
/// `L` is supported by the running CPU (no memory is touched).
#[inline(always)]
pub(crate) unsafe fn activate<L: Lanes, const ACT: u8>(x: L::V) -> L::V {
    // SAFETY: `L` is supported (this function's contract); no memory is accessed.
    unsafe {
        match ACT {
            ACT_RELU => L::max(L::splat(0.0), x),
            ACT_HSWISH => {
                let r6 = L::min(
                    L::splat(6.0),
                    L::max(L::splat(0.0), L::add(x, L::splat(3.0))),
                );
                L::mul(x, L::mul(r6, L::splat(1.0 / 6.0)))
            }
            _ => x,
        }
    }
}

/// A vector of `N` f32 lanes.
///
/// # Safety
/// The pointer methods read or write `N` consecutive f32s; callers guarantee
/// they are in bounds. The AVX2 implementation may only be used after a
/// runtime check for `avx2` and `fma`.
pub(crate) unsafe trait Lanes {
    const N: usize;
    type V: Copy;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `acc + a * b` (fused where the ISA has it).
    unsafe fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `if a > b { a } else { b }`: `b` where either is NaN (x86's `maxps`;
    /// NEON's `fmax` returns NaN then, which also keeps a NaN `b`).
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `if a < b { a } else { b }`: `b` where either is NaN.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Reads `2·N` floats and returns the even-indexed ones and the odd-indexed ones.
    unsafe fn load_deinterleaved(p: *const f32) -> (Self::V, Self::V);
}

/// Plain Rust on `[f32; 4]`: the compiler vectorizes it for the baseline ISA
/// (SSE2 on x86_64). Used when AVX2/FMA is missing and on other targets.
pub(crate) struct Portable;

// SAFETY: plain array code, valid on every CPU; the pointer methods read / write exactly `N`
// floats, as the trait documents.
unsafe impl Lanes for Portable {
    const N: usize = 4;
    type V = [f32; 4];
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 4] {
        [x; 4]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 4] {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { (p as *const [f32; 4]).read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 4]) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { (p as *mut [f32; 4]).write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn mul_add(acc: [f32; 4], a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| acc[i] + a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn add(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn max(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        // Not `f32::max`, which returns the non-NaN operand and would swallow a NaN `b`.
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    unsafe fn min(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| if a[i] < b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    unsafe fn load_deinterleaved(p: *const f32) -> ([f32; 4], [f32; 4]) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe {
            let v = (p as *const [f32; 8]).read_unaligned();
            (
                std::array::from_fn(|i| v[2 * i]),
                std::array::from_fn(|i| v[2 * i + 1]),
            )
        }
    }
}

/// AVX2 + FMA, 8 lanes (x86_64, detected at run time).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Avx2Fma;

// SAFETY: `N` = 8 matches `__m256`; only used through `dispatch`, after the AVX2 + FMA check.
#[cfg(target_arch = "x86_64")]
unsafe impl Lanes for Avx2Fma {
    const N: usize = 8;
    type V = std::arch::x86_64::__m256;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::x86_64::_mm256_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn load_deinterleaved(p: *const f32) -> (Self::V, Self::V) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe {
            use std::arch::x86_64::*;
            let (lo, hi) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
            // Within each 128-bit half: evens (or odds) of lo then of hi; the
            // 64-bit permute then orders the four pairs as lo0 lo1 hi0 hi1.
            let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
            let odd = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
            (
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
                    even,
                ))),
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
                    odd,
                ))),
            )
        }
    }
}

/// AVX-512F, 16 lanes (x86_64, detected at run time).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Avx512;

// SAFETY: `N` = 16 matches `__m512`; only used through `dispatch`, after the AVX-512F check.
#[cfg(target_arch = "x86_64")]
unsafe impl Lanes for Avx512 {
    const N: usize = 16;
    type V = std::arch::x86_64::__m512;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        // SAFETY: AVX-512F detected before this implementation is used (`dispatch`).
        unsafe { std::arch::x86_64::_mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller keeps `p..p + 16` in bounds; AVX-512F detected.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller keeps `p..p + 16` in bounds; AVX-512F detected.
        unsafe { std::arch::x86_64::_mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX-512F detected.
        unsafe { std::arch::x86_64::_mm512_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX-512F detected.
        unsafe { std::arch::x86_64::_mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX-512F detected.
        unsafe { std::arch::x86_64::_mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX-512F detected. `vmaxps` returns the second operand on NaN, as `maxps`.
        unsafe { std::arch::x86_64::_mm512_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX-512F detected. `vminps` returns the second operand on NaN, as `minps`.
        unsafe { std::arch::x86_64::_mm512_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn load_deinterleaved(p: *const f32) -> (Self::V, Self::V) {
        // SAFETY: the caller keeps `p..p + 32` in bounds; AVX-512F detected.
        unsafe {
            use std::arch::x86_64::*;
            let (lo, hi) = (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)));
            // Indices 0..16 pick from `lo`, 16..32 from `hi`.
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            (
                _mm512_permutex2var_ps(lo, even, hi),
                _mm512_permutex2var_ps(lo, odd, hi),
            )
        }
    }
}

/// NEON, 4 lanes (always present on aarch64).
#[cfg(target_arch = "aarch64")]
pub(crate) struct Neon;

// SAFETY: `N` = 4 matches `float32x4_t`; NEON is part of the aarch64 baseline.
#[cfg(target_arch = "aarch64")]
unsafe impl Lanes for Neon {
    const N: usize = 4;
    type V = std::arch::aarch64::float32x4_t;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vdupq_n_f32(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vst1q_f32(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vfmaq_f32(acc, a, b) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vaddq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vmulq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vmaxq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe { std::arch::aarch64::vminq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn load_deinterleaved(p: *const f32) -> (Self::V, Self::V) {
        // SAFETY: the caller upholds `Lanes`'s contract (pointers in bounds for the lanes read or
        // written; this ISA's features detected before its implementation is used).
        unsafe {
            let v = std::arch::aarch64::vld2q_f32(p);
            (v.0, v.1)
        }
    }
}
