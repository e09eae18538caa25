//! The build.rs API end to end (without cargo): a targets TOML in, the
//! generator's choices and each chosen subnet's weights out — the same answers
//! as `pnag generate`, deterministic, and every problem reported at once.

use std::path::{Path, PathBuf};

use pnag_build::deploy::{BudgetError, BuildProblem};
use pnag_build::extract::{extract, synthetic_supernet};
use pnag_build::generator::GeneratorError;
use pnag_build::generator::{GenerateOptions, Generator};
use pnag_build::objective::Objective;
use pnag_build::Config;
use pnag_runtime::selection::{selection_path, Selection};
use pnag_runtime::{NetworkSpec, Weights, Width};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pnag-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compile(dir: &Path, toml: &str) -> Result<Selection, pnag_build::BuildError> {
    std::fs::write(dir.join("t.toml"), toml).unwrap();
    Config::new()
        .targets("t.toml")
        .manifest_dir(dir)
        .out_dir(dir.join("out"))
        .cargo_metadata(false)
        .compile()
}

const NOTE10: &str = "device = \"note10\"\nseed = 3\n[[budget]]\nname = \"fast\"\nlatency_ms = 25\n[[budget]]\nname = \"big\"\nlatency_ms = 60\n";

#[test]
fn each_budget_gets_the_generators_answer_and_only_its_weights() {
    let dir = tmp("answers");
    let sel = compile(&dir, NOTE10).unwrap();
    assert_eq!(
        sel,
        Selection::read(&selection_path(&dir.join("out"))).unwrap(),
        "what compile returns is what the macro reads"
    );
    let generator = Generator::embedded("note10").unwrap();
    let objective = Objective::new("note10", Width::W1_2, 224).unwrap();
    for (net, budget) in sel.networks.iter().zip([25.0, 60.0]) {
        let expected = generator
            .generate(
                &objective,
                budget,
                &GenerateOptions {
                    seed: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (net.arch.to_string(), net.predicted_cost, net.predicted_top1),
            (expected.arch.clone(), expected.cost, expected.top1)
        );
        assert!(net.predicted_cost <= budget, "{}: feasible", net.name);
        let spec = NetworkSpec::new(net.arch, Width::W1_2, 224).unwrap();
        assert_eq!((net.macs, net.params), (spec.macs(), spec.params()));
        // Exactly this subnet's tensors, the seeded synthetic ones, labelled untrained.
        let weights = Weights::load(&net.weights_file, &spec).unwrap();
        let synthetic = Weights::synthetic(&spec, 0);
        assert!(weights.tensors().eq(synthetic.tensors()));
        assert!(net.untrained() && net.weights_origin.contains("untrained"));
    }
    assert_ne!(sel.networks[0].arch, sel.networks[1].arch);
}

#[test]
fn same_file_same_bytes() {
    let (a, b) = (tmp("same-a"), tmp("same-b"));
    compile(&a, NOTE10).unwrap();
    compile(&b, NOTE10).unwrap();
    for f in ["0-fast.safetensors", "1-big.safetensors"] {
        assert_eq!(
            std::fs::read(a.join("out/pnag").join(f)).unwrap(),
            std::fs::read(b.join("out/pnag").join(f)).unwrap()
        );
    }
}

#[test]
fn supernet_weights_are_extracted_for_each_chosen_arch() {
    let dir = tmp("supernet");
    let supernet = synthetic_supernet(Width::W1_2, 11);
    std::fs::write(dir.join("ofa_w12.safetensors"), &supernet).unwrap();
    let toml = "device = \"host\"\n[weights]\nsource = \"supernet\"\npath = \"ofa_w12.safetensors\"\n[[budget]]\nname = \"a\"\nlatency_ms = 30\n";
    let sel = compile(&dir, toml).unwrap();
    let net = &sel.networks[0];
    assert!(!net.untrained());
    let arch = net.arch;
    let spec = NetworkSpec::new(arch, Width::W1_2, 224).unwrap();
    let expected = extract(&supernet, "s", Width::W1_2, arch).unwrap();
    assert!(Weights::load(&net.weights_file, &spec)
        .unwrap()
        .tensors()
        .eq(expected.tensors()));
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let dir = tmp("problems");
    let toml = "device = \"note10\"\n[[budget]]\nname = \"tiny\"\nlatency_ms = 5\n[[budget]]\nname = \"ok\"\nlatency_ms = 40\n[[budget]]\nname = \"tinier\"\nlatency_ms = 1\n";
    let err = compile(&dir, toml).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    // Typed: the caller can tell a budget below the device's range from other problems.
    assert!(matches!(
        &err.problems[0],
        BuildProblem::Budget { name, source: BudgetError::Generate(GeneratorError::BelowMinimum { .. }), .. } if name == "tiny"
    ));
    assert!(err.problems[0].to_string().ends_with("t.toml:4: budget `tiny`: budget 5 ms is below device `note10`'s minimum 17.77 ms (its cheapest known subnet)"), "{}", err.problems[0]);
    assert!(
        err.problems[1]
            .to_string()
            .contains("t.toml:10: budget `tinier`"),
        "{}",
        err.problems[1]
    );
    assert!(
        !selection_path(&dir.join("out")).exists(),
        "nothing is handed to the macro when a budget fails"
    );

    let err = compile(
        &dir,
        "device = \"note10\"\nwidth = 1.0\n[[budget]]\nname = \"a\"\nlatency_ms = 40\n",
    )
    .unwrap_err();
    assert!(
        err.problems[0]
            .to_string()
            .contains("trained for w1.2 at 224 px, the file asks for w1.0 at 224 px"),
        "{err}"
    );

    let err = compile(&dir, "device = \"note10\"\n[weights]\nsource = \"subnets\"\npath = \"nowhere\"\n[[budget]]\nname = \"a\"\nlatency_ms = 40\n").unwrap_err();
    assert!(
        err.problems[0]
            .to_string()
            .contains("nowhere/a.safetensors"),
        "{err}"
    );

    let err = compile(
        &dir,
        "device = \"note10\"\nmodel = \"no-such-dir\"\n[[budget]]\nname = \"a\"\nlatency_ms = 40\n",
    )
    .unwrap_err();
    assert!(
        err.problems[0].to_string().contains("t.toml:2: `model`"),
        "{err}"
    );
}

#[test]
fn the_target_triple_picks_its_file() {
    let config = Config::new()
        .targets("targets/host.toml")
        .targets_for("aarch64-linux-android", "targets/note10.toml")
        .manifest_dir("/app");
    // PNAG_TARGETS is not set by the test harness; it would win over both.
    if std::env::var_os("PNAG_TARGETS").is_none() {
        assert_eq!(
            config
                .clone()
                .target_triple("aarch64-linux-android")
                .resolve_targets()
                .unwrap(),
            Path::new("/app/targets/note10.toml")
        );
        assert_eq!(
            config
                .target_triple("x86_64-unknown-linux-gnu")
                .resolve_targets()
                .unwrap(),
            Path::new("/app/targets/host.toml")
        );
    }
}

#[test]
fn shipped_targets_files_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in [
        "targets/note10.toml",
        "targets/i7-8700k.toml",
        "targets/titan-xp.toml",
        "targets/host.toml",
        "examples/classify/targets/host.toml",
    ] {
        let dir = tmp(&f.replace('/', "-"));
        let sel = Config::new()
            .targets(root.join(f))
            .out_dir(&dir)
            .cargo_metadata(false)
            .compile()
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            sel.networks.iter().all(|n| n.predicted_cost <= n.budget),
            "{f}"
        );
    }
}
