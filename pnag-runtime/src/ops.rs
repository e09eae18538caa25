//! What our tract ops ([`crate::depthwise`], [`crate::pointwise`]) share:
//! the input-fact check and the bitwise weight comparison tract's `Eq` needs.

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
