//! Fixed-length encodings of an [`Arch`] for the cost and accuracy models.
//!
//! - [`pnag_onehot`]: PNAG's `arch2tensor` (120-d): for each of the 20 slots a
//!   kernel one-hot over (3, 5, 7), then for each slot an expand one-hot over
//!   (3, 4, 6); unused slots are all zero, so depth is implicit.
//! - [`ofa_predictor_features`]: the input of OFA's official accuracy predictor
//!   (`ofa/tutorial/accuracy_predictor.py`, `spec2feats`; 128-d): the same 120
//!   values followed by a resolution one-hot at `120 + (r - 112) / 16`.

use crate::arch::{Arch, ArchError, EXPANDS, KERNELS, SLOTS};

/// Length of PNAG's one-hot encoding.
pub const PNAG_FEATURES: usize = 6 * SLOTS;
/// Length of the OFA accuracy predictor's encoding.
pub const OFA_FEATURES: usize = PNAG_FEATURES + OFA_RESOLUTIONS.len();
/// Resolutions with a slot in the OFA predictor's encoding.
pub const OFA_RESOLUTIONS: [u32; 8] = [112, 128, 144, 160, 176, 192, 208, 224];

fn position(set: &[u8; 3], v: u8) -> Option<usize> {
    set.iter().position(|&x| x == v)
}

/// PNAG's 120-d one-hot (`arch2tensor`).
pub fn pnag_onehot(arch: &Arch) -> [f32; PNAG_FEATURES] {
    let mut f = [0.0; PNAG_FEATURES];
    for (slot, k, e) in arch.active_layers() {
        // Active layers hold values of the space by construction.
        if let (Some(ki), Some(ei)) = (position(&KERNELS, k), position(&EXPANDS, e)) {
            f[3 * slot + ki] = 1.0;
            f[3 * SLOTS + 3 * slot + ei] = 1.0;
        }
    }
    f
}

/// OFA's 128-d accuracy-predictor features; `resolution` must be one of [`OFA_RESOLUTIONS`].
pub fn ofa_predictor_features(
    arch: &Arch,
    resolution: u32,
) -> Result<[f32; OFA_FEATURES], ArchError> {
    let r = OFA_RESOLUTIONS
        .iter()
        .position(|&x| x == resolution)
        .ok_or(ArchError::EncodingResolution(resolution))?;
    let mut f = [0.0; OFA_FEATURES];
    f[..PNAG_FEATURES].copy_from_slice(&pnag_onehot(arch));
    f[PNAG_FEATURES + r] = 1.0;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_and_smallest_by_hand() {
        let big = pnag_onehot(&Arch::largest());
        for slot in 0..SLOTS {
            assert_eq!(&big[3 * slot..3 * slot + 3], &[0.0, 0.0, 1.0]);
            assert_eq!(&big[60 + 3 * slot..60 + 3 * slot + 3], &[0.0, 0.0, 1.0]);
        }
        let small = ofa_predictor_features(&Arch::smallest(), 160).unwrap();
        assert_eq!(small.iter().sum::<f32>(), 10.0 + 10.0 + 1.0);
        assert_eq!(&small[0..6], &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(&small[6..12], &[0.0; 6], "unused slots 3 and 4 of stage 1");
        assert_eq!(small[123], 1.0);
        assert!(matches!(
            ofa_predictor_features(&Arch::smallest(), 200),
            Err(ArchError::EncodingResolution(200))
        ));
    }
}
