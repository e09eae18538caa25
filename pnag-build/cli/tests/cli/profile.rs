//! `pnag profile`.

use super::*;

#[test]
fn profile_writes_csv_rows() {
    let csv = tmp("profile.csv");
    let out = pnag(&[
        "profile",
        "--random",
        "2",
        "--seed",
        "3",
        "--width",
        "1.0",
        "--resolution",
        "128",
        "--warmup",
        "0",
        "--runs",
        "1",
        "--out",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "arch,width,resolution,threads,median_ms,p10_ms,p90_ms,macs_m"
    );
    assert_eq!(lines.len(), 3);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (row, arch) in rows
        .as_array()
        .unwrap()
        .iter()
        .zip(pnag_build::sample::random_archs(2, 3))
    {
        assert_eq!(row["arch"], arch.to_string());
        assert!(row["median_ms"].as_f64().unwrap() > 0.0);
    }
    assert!(fails(&["profile", "--random", "1", "--runs", "0"]).contains("--runs"));
}

#[test]
fn thread_counts_are_capped_as_in_targets_files() {
    let e = fails(&["profile", "--arch", SMALLEST, "--threads", "2000"]);
    assert!(
        e.contains("expected a whole number of threads in 1..=256"),
        "{e}"
    );
    let e = fails(&["profile", "--arch", SMALLEST, "--threads", "0"]);
    assert!(e.contains("1..=256"), "{e}");
}
