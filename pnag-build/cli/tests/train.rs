//! Training the learned predictors with tch (feature `train`): they learn,
//! and the same seed gives the same weights.
#![cfg(feature = "train")]

use pnag_build::predictor::Target;
use pnag_cli::datasets::help_titan_xp;
use pnag_cli::train::predictor::{train_best, train_predictor, PredictorTask, TrainConfig};

fn task() -> PredictorTask {
    PredictorTask {
        name: "titan-xp".into(),
        kind: "latency",
        unit: "ms",
        width: "1.2",
        data: help_titan_xp(),
        target: Target::Log,
    }
}

#[test]
fn learns_titan_xp_latency_and_is_deterministic() {
    let cfg = TrainConfig {
        epochs: 200,
        threads: 1,
        seed: 3,
        ..Default::default()
    };
    let linear = train_predictor(
        task(),
        &TrainConfig {
            hidden: vec![],
            ..cfg.clone()
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert!(
        linear.manifest.test.spearman_rho > 0.95,
        "{:?}",
        linear.manifest.test
    );
    let again = train_predictor(
        task(),
        &TrainConfig {
            hidden: vec![],
            ..cfg.clone()
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        linear.mlp().layers()[0].0.data,
        again.mlp().layers()[0].0.data,
        "same seed, same weights"
    );

    let best = train_best(
        task(),
        &TrainConfig { epochs: 3, ..cfg },
        &[vec![64, 64], vec![]],
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(best.manifest.candidates.len(), 2);
    let kept = best
        .manifest
        .candidates
        .iter()
        .find(|c| c.hidden == best.manifest.hidden)
        .unwrap();
    assert!(best
        .manifest
        .candidates
        .iter()
        .all(|c| kept.validation.mape <= c.validation.mape));
}
