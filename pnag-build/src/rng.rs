//! The project's seeded random numbers (splitmix64): same seed, same stream, on every
//! machine — the arch samples, the generator's sampling and the searches all draw from it.

use pnag_runtime::weights::{splitmix64, GOLDEN};

/// A small deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        splitmix64(self.state)
    }

    /// Uniform in `0..n` (multiply-shift; bias is below 2^-32 for small `n`).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// A uniformly chosen item of a non-empty slice.
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
