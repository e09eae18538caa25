//! `--help` on every subcommand, and benchmark arguments checked before any work.

use super::*;

#[test]
fn every_subcommand_has_help() {
    for cmd in [
        vec![],
        vec!["arch"],
        vec!["infer"],
        vec!["profile"],
        vec!["extract"],
        vec!["devices"],
        vec!["predict"],
        vec!["profile-device"],
        vec!["train-predictor"],
        vec!["report"],
        vec!["report", "models"],
        vec!["bench"],
        vec!["bench", "engines"],
        vec!["bench", "depthwise"],
        vec!["bench", "pointwise"],
        vec!["bench", "extract"],
        vec!["bench", "frontier"],
        vec!["train"],
        vec!["train-conditioned"],
        vec!["device"],
        vec!["device", "add"],
        vec!["device", "space"],
        vec!["bench", "devices"],
        vec!["generate"],
        vec!["targets"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = pnag(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn bench_arguments_are_checked_before_any_measurement() {
    let out = tmp("bench-bad");
    let out = out.to_str().unwrap();
    assert!(
        fails(&["bench", "depthwise", "--threads", "0", "--out", out])
            .contains("every --threads value must be at least 1")
    );
    assert!(fails(&["bench", "pointwise", "--runs", "0", "--out", out])
        .contains("--runs and every --threads value must be at least 1"));
    assert!(fails(&[
        "bench",
        "engines",
        "--breakdown",
        "huge",
        "--tract-only",
        "--out",
        out
    ])
    .contains("--breakdown huge: expected smallest, middle or largest"));
    assert!(
        fails(&["bench", "engines", "--breakdown-threads", "0", "--out", out])
            .contains("0 is not in 1..=64")
    );
    assert!(fails(&[
        "bench",
        "frontier",
        "--device",
        "note10",
        "--ablations",
        "--only",
        "mnas,bogus",
        "--out",
        out
    ])
    .contains("invalid value 'bogus' for '--only"));
    for flag in [
        &["--refine-ablations"][..],
        &["--ablation-models", "m"][..],
        &["--only", "mnas"][..],
    ] {
        let mut args = vec!["bench", "frontier", "--device", "note10", "--out", out];
        args.extend(flag);
        assert!(
            fails(&args).contains("--ablations"),
            "{flag:?} without --ablations"
        );
    }
    assert!(
        !std::path::Path::new(out).exists(),
        "nothing written for bad arguments"
    );
}
