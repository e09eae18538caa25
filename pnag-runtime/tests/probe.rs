//! The device probe: every reference subnet measured with the shipping network, one
//! line each, with the settings in the header; bad options get one error and exit 2.

use std::process::Command;

use pnag_runtime::probe::{measure, to_csv, ProbeOptions, REFERENCES};
use pnag_runtime::{Arch, NetworkSpec, Width};

#[test]
fn references_are_valid_distinct_and_ascending_in_macs() {
    let macs: Vec<u64> = REFERENCES
        .iter()
        .map(|a| {
            NetworkSpec::new(Arch::parse(a).unwrap(), Width::W1_2, 224)
                .unwrap()
                .macs()
        })
        .collect();
    assert!(macs.windows(2).all(|w| w[0] <= w[1]), "{macs:?}");
    assert_eq!(REFERENCES[0], Arch::smallest().to_string());
    assert_eq!(REFERENCES[19], Arch::largest().to_string());
    let mut unique = REFERENCES.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), REFERENCES.len());
}

#[test]
fn the_probe_measures_every_reference_and_says_how() {
    let opts = ProbeOptions {
        resolution: 128,
        warmup: 0,
        runs: 3,
        rounds: 2,
        ..ProbeOptions::default()
    };
    let mut calls = Vec::new();
    let results = measure(&opts, |done, total| calls.push((done, total))).unwrap();
    // Two interleaved rounds over the 20 references (runs split 2 + 1), then the end.
    assert_eq!(calls.len(), 41);
    assert_eq!(calls.first(), Some(&(0, 40)));
    assert_eq!(calls.last(), Some(&(40, 40)));
    assert_eq!(results.len(), REFERENCES.len());
    for (r, arch) in results.iter().zip(REFERENCES) {
        assert_eq!(r.arch, arch);
        let t = r.timing;
        assert!(
            0.0 < t.p10_ms && t.p10_ms <= t.median_ms && t.median_ms <= t.p90_ms,
            "{r:?}"
        );
    }
    let csv = to_csv(&opts, &results);
    assert!(csv.starts_with("# pnag-probe format 1\n"));
    for line in [
        "# threads = 1",
        "# width = 1.2",
        "# resolution = 128",
        "# runs = 3",
        "# rounds = 2",
    ] {
        assert!(csv.contains(line), "{csv}");
    }
    assert_eq!(csv.lines().filter(|l| !l.starts_with('#')).count(), 21);
}

#[test]
fn the_probe_binary_explains_bad_options() {
    let probe = env!("CARGO_BIN_EXE_pnag-probe");
    let help = Command::new(probe).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--threads N"));
    for (args, message) in [
        (
            &["--threads", "0"][..],
            "--threads `0`: expected a whole number in 1..=256",
        ),
        (&["--runs"][..], "`--runs` needs a value"),
        (
            &["--rounds", "0"][..],
            "--rounds `0`: expected a whole number in 1..=100",
        ),
        (&["--width", "2.0"][..], "--width `2.0`"),
        (&["--resolution", "100"][..], "--resolution"),
        (&["--fast", "1"][..], "unknown option `--fast`"),
        (&["foo"][..], "unexpected argument `foo`"),
        (&["\u{1b}[31m"][..], "unexpected argument `\\u{1b}[31m`"),
    ] {
        let out = Command::new(probe).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(message) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    // Help on a full disk: one error, no panic.
    let full = std::fs::File::create("/dev/full").unwrap();
    let out = Command::new(probe)
        .arg("--help")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: writing to standard output"), "{err}");
}
