//! `pnag arch`.

use super::*;

#[test]
fn arch_json_reports_blocks_macs_params() {
    let out = pnag(&[
        "arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "160",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let spec = NetworkSpec::new(Arch::smallest(), Width::W1_0, 160).unwrap();
    assert_eq!(v["blocks"].as_array().unwrap().len(), 11);
    assert!((v["macs_m"].as_f64().unwrap() - spec.macs() as f64 / 1e6).abs() < 1e-9);
    assert!((v["params_m"].as_f64().unwrap() - spec.params() as f64 / 1e6).abs() < 1e-9);
    // The stem's output and the first block's (16 channels each at 80² for w1.0, 160 px)
    // are live together: at least that much.
    let peak = pnag_runtime::memory::peak_activation_bytes(&spec, Default::default());
    assert!(peak >= 2 * 16 * 80 * 80 * 4);
    assert!((v["peak_memory_mb"].as_f64().unwrap() - peak as f64 / 1e6).abs() < 1e-9);
}

#[test]
fn bad_arch_width_resolution_are_clear_errors() {
    assert!(fails(&["arch", "2,2,2,2,2:3,3"]).contains("expected 3 groups"));
    assert!(
        fails(&["arch", &SMALLEST.replacen("2,2,2,2,2", "2,2,2,2", 1)])
            .contains("group `depths` must have 5")
    );
    assert!(fails(&["arch", &SMALLEST.replacen(":3,3", ":4,3", 1)])
        .contains("kernel 4 is not in the space"));
    assert!(fails(&["arch", &SMALLEST.replace(',', ";")]).contains("group `depths` must have 5"));
    assert!(fails(&["arch", SMALLEST, "--resolution", "226"]).contains("resolution 226"));
    assert!(fails(&["arch", SMALLEST, "--width", "1.5"]).contains("width 1.5"));
}

#[test]
fn a_huge_bad_arch_is_reported_once_and_truncated() {
    let huge = "2,".repeat(60_000);
    let e = fails(&["arch", &huge]);
    assert!(e.len() < 1000, "{} bytes of error", e.len());
    assert_eq!(e.matches("(120000 characters)").count(), 1, "{e}");
}
