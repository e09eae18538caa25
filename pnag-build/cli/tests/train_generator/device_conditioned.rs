//! The device-conditioned generator's training (feature `train`) checked against
//! the pure-Rust inference that ships: conditioned on a device, the Rust policy
//! assigns every arch the log-probability tch sampled it with; the same seed
//! gives the same weights; the manifest records devices and held-out ones.

use pnag_build::device::reference_archs;
use pnag_build::generator::device_conditioned::{ConditionedGenerator, DEVICE_PROJECTION};
use pnag_build::generator::WEIGHTS_FILE;
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_cli::train::device_conditioned::{
    sample_conditioned_with_tch, train_conditioned, ConditionedConfig, TrainingDevice,
};
use pnag_runtime::weights::{parse_safetensors, read_f32};

fn device(name: &str) -> TrainingDevice {
    let objective = Objective::new(name, DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let reference_ms = objective.cost_many(&reference_archs()).unwrap();
    TrainingDevice {
        objective,
        reference_ms,
    }
}

#[test]
fn conditioned_rust_policy_matches_tch_and_training_is_deterministic() {
    let _turn = super::TCH.lock().unwrap_or_else(|e| e.into_inner());
    let devices = [device("note10"), device("i7-8700k")];
    let cfg = ConditionedConfig {
        k: 3,
        iterations: 12,
        samples_per_budget: 4,
        devices_per_iteration: 2,
        threads: 1,
        seed: 3,
        ..Default::default()
    };
    let tmp = std::env::temp_dir().join(format!("pnag-train-cond-{}", std::process::id()));
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let held = vec!["titan-xp".to_string()];
    let g = train_conditioned(&devices, &held, &cfg, Some(&a), &mut |_, _| {}).unwrap();
    assert_eq!(g.conditioning.devices, ["note10", "i7-8700k"]);
    assert_eq!(g.conditioning.held_out, held);
    assert_eq!(g.manifest.budgets, [0.0, 0.5, 1.0]);
    assert!(
        !a.join(".train").exists(),
        "checkpoints removed after a finished run"
    );

    let bytes = std::fs::read(a.join(WEIGHTS_FILE)).unwrap();
    let st = parse_safetensors(&bytes, "test").unwrap();
    let tensors: Vec<_> = st
        .names()
        .into_iter()
        .map(|n| {
            let shape = st.tensor(n).unwrap().shape().to_vec();
            (n.clone(), read_f32(&st, "test", n, &shape).unwrap())
        })
        .collect();
    assert!(tensors.iter().any(|(n, _)| n == DEVICE_PROJECTION));
    let loaded = ConditionedGenerator::load(&a).unwrap();
    for d in &devices {
        let budget_idx: Vec<usize> = (0..3).flat_map(|k| [k; 8]).collect();
        let sampled =
            sample_conditioned_with_tch(&tensors, 3, &budget_idx, &d.reference_ms, 17).unwrap();
        let g = loaded.for_device(&d.objective, &d.reference_ms).unwrap();
        let budgets = &g.manifest.budgets;
        for ((arch, lp_tch), &k) in sampled.iter().zip(&budget_idx) {
            let v = g.policy().budget_vector(budgets, budgets[k]);
            let lp_rust = g.policy().log_prob(&v, arch);
            assert!(
                (lp_rust - lp_tch).abs() < 1e-4 * lp_tch.abs().max(1.0),
                "{}: {arch}: rust {lp_rust} vs tch {lp_tch}",
                d.objective.device
            );
        }
    }

    train_conditioned(&devices, &held, &cfg, Some(&b), &mut |_, _| {}).unwrap();
    assert_eq!(bytes, std::fs::read(b.join(WEIGHTS_FILE)).unwrap());
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn train_conditioned_refuses_bad_settings_before_training() {
    let out = std::env::temp_dir().join(format!("pnag-train-cond-bad-{}", std::process::id()));
    for (bad, says) in [
        (
            ["--hold-out", "my-phone"],
            "`my-phone` is not a device of the shipped space",
        ),
        (
            ["--iterations", "0"],
            "--iterations and --devices-per-iteration must be ≥ 1",
        ),
        (["--samples", "1"], "--samples ≥ 2"),
    ] {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_pnag"))
            .args(["train-conditioned", "--out"])
            .arg(&out)
            .args(bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{bad:?} accepted");
        assert!(
            stderr.contains(says) && !stderr.contains("panicked"),
            "{bad:?}: {stderr}"
        );
    }
    assert!(!out.exists(), "nothing written for bad settings");
}
