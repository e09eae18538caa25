//! The OFA accuracy predictor's 128-d features and PNAG's 120-d one-hot
//! against the shared data set's reference encoder (`make_encoding_fixtures.py`).

use pnag_runtime::encoding::{ofa_predictor_features, pnag_onehot, PNAG_FEATURES};
use pnag_runtime::Arch;
use pnag_tests::load_encoding_cases;

#[test]
fn ofa_features_equal_reference_encoder() {
    let cases = load_encoding_cases();
    assert!(cases.len() >= 15);
    for case in cases {
        let arch = Arch::parse(&case.arch).unwrap();
        let f = ofa_predictor_features(&arch, case.resolution).unwrap();
        let ones: Vec<usize> = f
            .iter()
            .enumerate()
            .filter(|(_, &v)| v == 1.0)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ones, case.ones, "{} r{}", case.arch, case.resolution);
        assert!(f.iter().all(|&v| v == 0.0 || v == 1.0));
        // PNAG's arch2tensor is the same kernel-then-expand layout without the resolution.
        assert_eq!(&f[..PNAG_FEATURES], &pnag_onehot(&arch)[..]);
    }
}
