//! Supernet weight extraction against OFA's own `set_active_subnet` +
//! `get_active_subnet(preserve_weight=True)` (fixtures by make_extract_fixtures.py),
//! and the extracted subnet's tract logits against OFA's PyTorch subnet.

use pnag_build::weights::extract::{extract, supernet_tensors, synthetic_supernet};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec};
use pnag_tests::{load_extract_reference, sample_positions, synthetic_input, width};

#[test]
fn supernet_manifest_equals_ofa_state_dict() {
    let reference = load_extract_reference();
    for m in &reference.supernets {
        assert_eq!(
            supernet_tensors(width(m.width)),
            m.tensors,
            "w{:.1}",
            m.width
        );
    }
}

#[test]
fn extracted_tensors_and_logits_equal_ofa() {
    let reference = load_extract_reference();
    let mut worst_value = 0f64;
    for case in &reference.cases {
        let w = width(case.width);
        let arch = Arch::parse(&case.arch).unwrap();
        let weights = extract(
            &synthetic_supernet(w, case.seed),
            "synthetic supernet",
            w,
            arch,
        )
        .unwrap();
        let ours: Vec<_> = weights.tensors().collect();
        let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
        let mut expected_names: Vec<&str> = case.tensors.iter().map(|t| t.name.as_str()).collect();
        expected_names.sort();
        assert_eq!(
            names, expected_names,
            "tensor names of {} w{:.1}",
            case.arch, case.width
        );
        for t in &case.tensors {
            let got = weights.get(&t.name).unwrap();
            assert_eq!(got.shape, t.shape, "{}", t.name);
            for (&p, &v) in sample_positions(got.data.len()).iter().zip(&t.values) {
                let d = (got.data[p] as f64 - v).abs();
                worst_value = worst_value.max(d);
                assert!(
                    d <= 1e-6,
                    "{} [{}]: ours {} OFA {} ({} w{:.1})",
                    t.name,
                    p,
                    got.data[p],
                    v,
                    case.arch,
                    case.width
                );
            }
            let sum: f64 = got.data.iter().map(|&x| x as f64).sum();
            let sum_sq: f64 = got.data.iter().map(|&x| (x as f64).powi(2)).sum();
            assert!(
                (sum - t.sum).abs() <= 1e-6 * (1.0 + t.sum_sq),
                "{} sum {sum} vs {}",
                t.name,
                t.sum
            );
            assert!(
                (sum_sq - t.sum_sq).abs() <= 1e-6 * (1.0 + t.sum_sq),
                "{} sum_sq {sum_sq} vs {}",
                t.name,
                t.sum_sq
            );
        }
        let r = case.resolution as usize;
        let spec = NetworkSpec::new(arch, w, case.resolution).unwrap();
        let net = Network::new(spec, &weights, NetworkOptions::default()).unwrap();
        let logits = net
            .run(&[1, 3, r, r], &synthetic_input(case.seed, 1, r))
            .unwrap();
        let max_logit = case.logits.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = logits
            .data
            .iter()
            .zip(&case.logits)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!(
            "w{:.1} {}: logits max |diff| {:.2e} x max|logit|",
            case.width,
            case.arch,
            diff / max_logit
        );
        assert!(
            diff <= 1e-5 * max_logit,
            "{} w{:.1}: logits differ by {diff}",
            case.arch,
            case.width
        );
    }
    eprintln!("worst sampled tensor value difference: {worst_value:.2e}");
}
