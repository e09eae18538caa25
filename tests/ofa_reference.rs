//! Checks the search space, the layer plan and the tract network against
//! OFA's own PyTorch code, through fixtures made by
//! `tests/fixtures/make_ofa_fixtures.py` (see that script for how).

use pnag_runtime::weights::expected_tensors;
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights};
use pnag_tests::{load_reference, synthetic_input, width};

/// Logits must agree with OFA's eval-mode PyTorch subnet to this fraction of
/// the largest |logit| of the case.
const RELATIVE_TOLERANCE: f32 = 1e-5;

#[test]
fn macs_and_params_equal_ofa_counters() {
    let (reference, _) = load_reference();
    assert!(reference.cost_cases.len() >= 40);
    for case in &reference.cost_cases {
        let spec = NetworkSpec::new(
            Arch::parse(&case.arch).unwrap(),
            width(case.width),
            case.resolution,
        )
        .unwrap();
        assert_eq!(
            spec.params(),
            case.ofa_count_parameters,
            "params of {} w{} r{}",
            case.arch,
            case.width,
            case.resolution
        );
        // OFA accumulates per-layer counts in float32 tensors, so its total is
        // the exact count rounded to float32 precision.
        let ours = spec.macs() as f64;
        let rel = (ours - case.ofa_count_net_flops).abs() / case.ofa_count_net_flops;
        assert!(
            rel < 1e-6,
            "MACs of {} w{} r{}: ours {ours}, OFA {}",
            case.arch,
            case.width,
            case.resolution,
            case.ofa_count_net_flops
        );
    }
}

#[test]
fn tensor_names_and_shapes_equal_ofa_state_dict() {
    let (reference, _) = load_reference();
    for m in &reference.tensor_manifests {
        let spec = NetworkSpec::new(Arch::parse(&m.arch).unwrap(), width(m.width), 224).unwrap();
        assert_eq!(
            expected_tensors(&spec),
            m.tensors,
            "state dict of {} w{}",
            m.arch,
            m.width
        );
    }
}

#[test]
fn logits_match_ofa_pytorch() {
    let (reference, logits) = load_reference();
    let mut worst = 0f32;
    for case in &reference.logit_cases {
        let spec = NetworkSpec::new(
            Arch::parse(&case.arch).unwrap(),
            width(case.width),
            case.resolution,
        )
        .unwrap();
        let weights = Weights::synthetic(&spec, case.seed);
        let r = case.resolution as usize;
        let net = Network::new(
            spec,
            &weights,
            NetworkOptions {
                batch: case.batch,
                threads: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let out = net
            .run(
                &[case.batch, 3, r, r],
                &synthetic_input(case.seed, case.batch, r),
            )
            .unwrap();
        let expected = &logits[case.offset..case.offset + case.len];
        assert_eq!(out.data.len(), expected.len());
        let max_diff = out
            .data
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let rel = max_diff / case.max_abs_logit;
        eprintln!(
            "w{:.1} r{} {}: max |diff| {max_diff:.3e} = {rel:.2e} x max|logit|",
            case.width, case.resolution, case.arch
        );
        worst = worst.max(rel);
        assert!(
            rel <= RELATIVE_TOLERANCE,
            "{} w{} r{}: relative error {rel:e}",
            case.arch,
            case.width,
            case.resolution
        );
    }
    eprintln!(
        "worst relative difference over {} cases: {worst:.2e}",
        reference.logit_cases.len()
    );
}
