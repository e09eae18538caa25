//! `pnag generate`.

use super::*;

#[test]
fn generate_answers_every_budget_and_rejects_bad_ones() {
    let out = pnag(&[
        "generate", "--device", "note10", "--budget", "30", "--budget", "60", "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, budget) in rows.iter().zip([30.0, 60.0]) {
        let arch = Arch::parse(row["arch"].as_str().unwrap()).unwrap();
        assert!(row["cost"].as_f64().unwrap() <= budget);
        assert_eq!(
            row["mmacs"].as_f64().unwrap(),
            NetworkSpec::new(arch, Width::W1_2, 224).unwrap().macs() as f64 / 1e6
        );
    }
    assert!(fails(&["generate", "--device", "note10", "--budget", "5"])
        .contains("below device `note10`'s minimum 17.77 ms"));
    assert!(
        fails(&["generate", "--device", "note10", "--budget", "NaN"])
            .contains("not a positive number")
    );
    assert!(fails(&["generate", "--device", "note10", "--budget", "-3"])
        .contains("not a positive number"));
    assert!(fails(&["generate", "--device", "pixel9", "--budget", "30"]).contains("pixel9"));
    let e = fails(&[
        "generate", "--device", "note10", "--budget", "30", "--budget", "40", "--budget", "30",
    ]);
    assert!(e.contains("--budget 30 is given twice"), "{e}");
    let e = fails(&[
        "generate",
        "--device",
        "note10",
        "--budget",
        "30",
        "--samples",
        "0",
    ]);
    assert!(e.contains("samples in 1..=100000"), "{e}");
    assert!(fails(&[
        "generate",
        "--device",
        "note10",
        "--budget",
        "30",
        "--model",
        "/nonexistent"
    ])
    .contains("/nonexistent/generator.json"));
    let out = pnag(&["generate", "--device", "note10", "--budget", "400"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: budget 400 ms is above"));
}
