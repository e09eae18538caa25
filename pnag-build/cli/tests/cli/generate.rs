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

#[test]
fn generate_searches_resolutions_within_limits_and_rejects_bad_ones() {
    let out = pnag(&[
        "generate",
        "--device",
        "note10",
        "--budget",
        "15",
        "--budget",
        "40",
        "--resolution",
        "auto",
        "--weights-mb",
        "30",
        "--peak-memory-mb",
        "5",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (row, budget) in v.as_array().unwrap().iter().zip([15.0, 40.0]) {
        assert!(row["cost"].as_f64().unwrap() <= budget);
        assert!([160, 176, 192, 208, 224].contains(&row["resolution"].as_u64().unwrap()));
        assert!(row["footprint"]["weights_bytes"].as_u64().unwrap() <= 30_000_000);
        assert!(row["footprint"]["peak_bytes"].as_u64().unwrap() <= 5_000_000);
    }
    // 15 ms is below the cheapest 224 px subnet: only a smaller image answers it.
    assert!(v[0]["resolution"].as_u64().unwrap() < 224);
    let bad = |extra: &[&str]| {
        let mut args = vec!["generate", "--device", "note10", "--budget", "30"];
        args.extend_from_slice(extra);
        fails(&args)
    };
    assert!(bad(&["--weights-mb", "0"])
        .contains("--weights-mb 0: expected a positive number of megabytes"));
    assert!(bad(&["--peak-memory-mb", "NaN"])
        .contains("--peak-memory-mb NaN: expected a positive number"));
    assert!(bad(&["--weights-mb", "5"]).contains("`weights_mb` 5 is below 18.49 MB"));
    assert!(bad(&["--resolution", "big"])
        .contains("expected `auto`, a number or a comma-separated list"));
    assert!(bad(&["--resolution", "232"]).contains("232"));
    let e = fails(&[
        "generate",
        "--device",
        "host",
        "--budget",
        "20",
        "--resolution",
        "auto",
    ]);
    assert!(e.contains("covers 224 px only"), "{e}");
}
