//! PNAG training with tch (feature `train`) checked against the pure-Rust
//! inference that ships: the Rust policy assigns every arch the log-probability
//! tch sampled it with, the evaluator learns Eq. 6, and the same seed gives
//! the same generator.
#![cfg(feature = "train")]

use std::path::Path;

use pnag_build::generator::{policy, Generator, WEIGHTS_FILE};
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_cli::train::generator::{sample_with_tch, train, PnagConfig};
use pnag_runtime::weights::{parse_safetensors, read_f32, WeightTensor};

/// The device-conditioned generator's training (one test binary: fewer release links in CI).
#[path = "train_generator/device_conditioned.rs"]
mod conditioned;

/// libtorch's random generator is global: tests that train take turns.
static TCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tiny() -> PnagConfig {
    PnagConfig {
        archs: 2_000,
        k: 3,
        evaluator_steps: 300,
        evaluator_batch: 64,
        evaluator_hidden: 64,
        iterations: 20,
        samples_per_budget: 8,
        threads: 1,
        seed: 5,
        ..Default::default()
    }
}

fn tensors(dir: &Path) -> Vec<(String, WeightTensor)> {
    let bytes = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    let st = parse_safetensors(&bytes, "test").unwrap();
    let mut names: Vec<String> = st.names().into_iter().cloned().collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let shape = st.tensor(&n).unwrap().shape().to_vec();
            let t = read_f32(&st, "test", &n, &shape).unwrap();
            (n, t)
        })
        .collect()
}

#[test]
fn rust_policy_matches_tch_and_training_is_deterministic() {
    let _turn = TCH.lock().unwrap_or_else(|e| e.into_inner());
    let objective = Objective::new("note10", DEFAULT_WIDTH, DEFAULT_RESOLUTION).unwrap();
    let tmp = std::env::temp_dir().join(format!("pnag-train-gen-{}", std::process::id()));
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let g = train(&objective, &tiny(), Some(&a), &mut |_, _, _| {}).unwrap();
    // Eq. 6 is learnable from the one-hot encoding: far above chance on held-out pairs.
    let pair_accuracy = g.manifest.training.evaluator_pair_accuracy.unwrap();
    assert!(pair_accuracy > 0.8, "{pair_accuracy}");
    assert!(
        !a.join(".train").exists(),
        "checkpoints are removed after a finished run"
    );

    // tch samples; the Rust policy must give each arch the same log-probability.
    let t = tensors(&a);
    assert!(t.iter().any(|(n, _)| n == policy::BUDGET_EMBEDDING));
    let budget_idx: Vec<usize> = (0..3).flat_map(|k| [k; 16]).collect();
    let sampled = sample_with_tch(&t, 3, &budget_idx, 11).unwrap();
    let loaded = Generator::load(&a).unwrap();
    let budgets = &loaded.manifest.budgets;
    for ((arch, lp_tch), &k) in sampled.iter().zip(&budget_idx) {
        let b = loaded.policy().budget_vector(budgets, budgets[k]);
        let lp_rust = loaded.policy().log_prob(&b, arch);
        assert!(
            (lp_rust - lp_tch).abs() < 1e-4 * lp_tch.abs().max(1.0),
            "{arch}: rust {lp_rust} vs tch {lp_tch}"
        );
    }

    // Same seed, same generator (weights and manifest budgets).
    train(&objective, &tiny(), Some(&b), &mut |_, _, _| {}).unwrap();
    assert_eq!(
        std::fs::read(a.join(WEIGHTS_FILE)).unwrap(),
        std::fs::read(b.join(WEIGHTS_FILE)).unwrap()
    );
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn train_refuses_bad_settings_before_training() {
    let out = std::env::temp_dir().join(format!("pnag-train-bad-{}", std::process::id()));
    for bad in [
        ["--k", "1"],
        ["--evaluator-steps", "0"],
        ["--elite", "0"],
        ["--archs", "10"],
    ] {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_pnag"))
            .args(["train", "--device", "note10", "--out"])
            .arg(&out)
            .args(bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{bad:?} accepted");
        assert!(
            stderr.contains("--evaluator-steps ≥ 1") && !stderr.contains("panicked"),
            "{bad:?}: {stderr}"
        );
    }
    assert!(!out.exists(), "nothing written for bad settings");
}
