//! Our tract ops — every custom op a subnet's plan runs — and what they share (the
//! input-fact check and the bitwise weight comparison tract's `Eq` needs):
//!
//! - [`depthwise`]: depthwise convs specialized by kernel size and stride;
//! - [`pointwise`]: 1×1 convs with bias, activation, residual (and the squeeze-excite
//!   scale) fused;
//! - [`stem`]: the 3×3 stride-2 stem conv as im2col + the pointwise kernel;
//! - [`squeeze_excite`]: the blocks' squeeze-excite (pool, two FCs, hard sigmoid);
//! - [`matvec`]: the head's fully connected layers (and squeeze-excite's FCs).

pub mod depthwise;
pub mod matvec;
pub mod pointwise;
pub mod squeeze_excite;
pub mod stem;

pub use depthwise::{DepthwiseConv, DepthwiseKernel};
pub use matvec::MatVec;
pub use pointwise::PointwiseConv;
pub use squeeze_excite::SqueezeExcite;
pub use stem::Im2colConv;

use tract_core::internal::*;

/// The concrete shape of an f32 input fact, or an error naming `op`.
pub(crate) fn f32_shape(fact: &TypedFact, op: &str) -> TractResult<TVec<usize>> {
    ensure!(
        fact.datum_type == f32::datum_type(),
        "{op}: f32 input expected"
    );
    fact.shape
        .as_concrete()
        .map(|s| s.into())
        .with_context(|| format!("{op}: the input shape must be known"))
}

/// Bitwise equality of weights, so that op equality is reflexive (NaN == NaN).
pub(crate) fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
