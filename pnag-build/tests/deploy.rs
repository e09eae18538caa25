//! The build.rs API end to end (without cargo): a targets TOML in, the
//! generator's choices and each chosen subnet's weights out — the same answers
//! as `pnag generate`, deterministic, and every problem reported at once.

use std::path::{Path, PathBuf};

use pnag_build::config::{BudgetError, BuildProblem};
use pnag_build::generator::GeneratorError;
use pnag_build::generator::{GenerateOptions, Generator};
use pnag_build::objective::Objective;
use pnag_build::weights::extract::{extract, synthetic_supernet};
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
    let (sa, sb) = (compile(&a, NOTE10).unwrap(), compile(&b, NOTE10).unwrap());
    for (na, nb) in sa.networks.iter().zip(&sb.networks) {
        // Content-addressed: the same bytes get the same name in any OUT_DIR.
        assert_eq!(na.weights_hash, nb.weights_hash);
        let bytes = std::fs::read(&na.weights_file).unwrap();
        assert_eq!(bytes, std::fs::read(&nb.weights_file).unwrap());
        assert_eq!(
            pnag_runtime::selection::content_hash(&bytes),
            na.weights_hash
        );
        assert!(na
            .weights_file
            .ends_with(&format!("{}.safetensors", na.weights_hash)));
    }
}

#[test]
fn budgets_that_choose_the_same_subnet_share_one_weights_file() {
    let dir = tmp("shared");
    let toml = "device = \"note10\"\n[[budget]]\nname = \"a\"\nlatency_ms = 40\n[[budget]]\nname = \"b\"\nlatency_ms = 40\n[[budget]]\nname = \"c\"\nlatency_ms = 60\n";
    let sel = compile(&dir, toml).unwrap();
    let n = &sel.networks;
    assert_eq!(
        (n[0].arch, &n[0].weights_file),
        (n[1].arch, &n[1].weights_file)
    );
    assert_ne!(n[0].weights_file, n[2].weights_file);
    assert_eq!(weight_files(&dir).len(), 2, "one file per distinct subnet");
}

/// A second build into the same OUT_DIR never rewrites a file the first selection names
/// (names are content hashes), and once its selection is committed the files only the first
/// one named are gone; no temporary file is left behind.
#[test]
fn a_rebuild_commits_its_selection_then_removes_stale_weights() {
    let dir = tmp("rebuild");
    let first = compile(&dir, NOTE10).unwrap();
    let only_fast = "device = \"note10\"\nseed = 3\n[[budget]]\nname = \"fast\"\nlatency_ms = 25\n[[budget]]\nname = \"other\"\nlatency_ms = 33\n";
    let second = compile(&dir, only_fast).unwrap();
    assert_eq!(
        first.networks[0].weights_file,
        second.networks[0].weights_file
    );
    let mut named: Vec<String> = second
        .networks
        .iter()
        .map(|n| n.weights_file.clone())
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(weight_files(&dir), named);
    assert!(!std::path::Path::new(&first.networks[1].weights_file).exists());
    // A temporary file a killed run left behind is removed by the next run.
    // (A pid above Linux's largest, 2^22: never a live process.)
    let leftover = dir.join("out/pnag/.x.safetensors.tmp4194305");
    std::fs::write(&leftover, b"partial").unwrap();
    compile(&dir, only_fast).unwrap();
    assert!(!leftover.exists());
    let sel = Selection::read(&selection_path(&dir.join("out"))).unwrap();
    assert_eq!(sel, second);
}

/// The `.safetensors` files in a test's OUT_DIR, sorted, as absolute paths.
fn weight_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("out/pnag"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| std::path::absolute(p).unwrap().display().to_string())
        .collect();
    files.sort();
    files
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

/// `[weights] dtype = "f16"`: the embedded file stores half precision (about half the
/// bytes), and loading widens it to exactly the f16-rounded f32 weights.
#[test]
fn half_precision_weights_are_half_the_bytes_and_load_as_the_rounded_weights() {
    use pnag_runtime::weights::{f16_to_f32, f32_to_f16};
    let (a, b) = (tmp("f32"), tmp("f16"));
    let one = "device = \"note10\"\nseed = 3\n[weights]\nsource = \"synthetic\"\n";
    let budget = "[[budget]]\nname = \"fast\"\nlatency_ms = 25\n";
    let s32 = compile(&a, &format!("{one}{budget}")).unwrap();
    let s16 = compile(&b, &format!("{one}dtype = \"f16\"\n{budget}")).unwrap();
    let (n32, n16) = (&s32.networks[0], &s16.networks[0]);
    assert_eq!(n32.arch, n16.arch);
    let size = |p: &str| std::fs::metadata(p).unwrap().len() as f64;
    let ratio = size(&n16.weights_file) / size(&n32.weights_file);
    assert!((0.49..0.51).contains(&ratio), "f16 / f32 bytes = {ratio}");
    let spec = NetworkSpec::new(n16.arch, Width::W1_2, 224).unwrap();
    let (w32, w16) = (
        Weights::load(&n32.weights_file, &spec).unwrap(),
        Weights::load(&n16.weights_file, &spec).unwrap(),
    );
    for ((name, t32), (_, t16)) in w32.tensors().zip(w16.tensors()) {
        let rounded: Vec<f32> = t32
            .data
            .iter()
            .map(|&v| f16_to_f32(f32_to_f16(v)))
            .collect();
        assert_eq!(rounded, t16.data, "{name}");
    }
    // A bad dtype is one error at its line.
    let e = compile(&a, &format!("{one}dtype = \"bf16\"\n{budget}"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml:5") && e.contains("weights.dtype") && e.contains("\"f16\""),
        "{e}"
    );
}

/// The output directory holds the user's files too: only what an earlier selection of this
/// tool named (its content-hash weights files) is ever removed.
#[test]
fn files_the_tool_did_not_write_are_never_deleted() {
    let dir = tmp("keep");
    let first = compile(&dir, NOTE10).unwrap();
    // The user keeps subnet weights for these archs in OUT/pnag and builds from them
    // (the issue's `source = "subnets"`, `path = "OUT/pnag"`), plus other files there.
    for n in &first.networks {
        let spec = NetworkSpec::new(n.arch, n.width, n.resolution).unwrap();
        Weights::synthetic(&spec, 9)
            .save(dir.join(format!("out/pnag/{}.safetensors", n.name)))
            .unwrap();
    }
    let others = [
        dir.join("out/pnag/mine.safetensors"),
        dir.join("out/pnag/0123456789abcdef.safetensors"),
    ];
    for f in &others {
        std::fs::write(f, b"the user's").unwrap();
    }
    let subnets = format!("{NOTE10}[weights]\nsource = \"subnets\"\npath = \"out/pnag\"\n");
    for _ in 0..2 {
        let sel = compile(&dir, &subnets).unwrap();
        assert!(sel
            .networks
            .iter()
            .all(|n| std::path::Path::new(&n.weights_file).exists()));
    }
    // Back to synthetic weights: the subnets build's own files go, the user's stay.
    compile(&dir, NOTE10).unwrap();
    for n in &first.networks {
        assert!(
            dir.join(format!("out/pnag/{}.safetensors", n.name))
                .exists(),
            "{}",
            n.name
        );
    }
    for f in &others {
        assert_eq!(std::fs::read(f).unwrap(), b"the user's");
    }
}

/// Two builds into one output directory at once (two `pnag targets --out D`): serialized
/// by the directory's lock, so the selection on disk always names files that exist.
#[test]
fn concurrent_builds_into_one_directory_never_tear_the_selection() {
    let dir = tmp("concurrent");
    let other = "device = \"note10\"\nseed = 5\n[[budget]]\nname = \"mid\"\nlatency_ms = 40\n";
    std::fs::write(dir.join("a.toml"), NOTE10).unwrap();
    std::fs::write(dir.join("b.toml"), other).unwrap();
    for _ in 0..3 {
        let runs: Vec<_> = ["a.toml", "b.toml"]
            .into_iter()
            .map(|file| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    Config::new()
                        .targets(file)
                        .manifest_dir(&dir)
                        .out_dir(dir.join("out"))
                        .cargo_metadata(false)
                        .compile()
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for r in runs {
            r.join().unwrap().unwrap();
        }
        let sel = Selection::read(&selection_path(&dir.join("out"))).unwrap();
        for n in &sel.networks {
            assert!(
                std::path::Path::new(&n.weights_file).exists(),
                "{} is gone",
                n.weights_file
            );
        }
    }
}
