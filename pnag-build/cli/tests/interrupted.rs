//! A build killed at any moment leaves what `network!` reads consistent: the complete old
//! selection or the complete new one, every weights file it names present with the content
//! hash it records. `pnag targets --out D` runs exactly what an app's `build.rs` runs
//! (`pnag_build::Config::compile`); here it is killed (SIGKILL) at seeded random moments
//! while switching between two targets files whose budgets get different subnets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pnag_build::rng::SplitMix64;
use pnag_runtime::selection::{content_hash, selection_path, Selection};

/// Kill points per run of the test.
const KILLS: usize = 100;

fn pnag_targets(file: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args([
            "targets",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run pnag")
}

/// What identifies a selection independently of where its files live.
fn summary(sel: &Selection) -> Vec<(String, String, String)> {
    sel.networks
        .iter()
        .map(|n| (n.name.clone(), n.arch.to_string(), n.weights_hash.clone()))
        .collect()
}

/// The selection in `out` (there always is one: a complete run came first), checked whole.
fn read_consistent(out: &Path) -> Vec<(String, String, String)> {
    let sel = Selection::read(&selection_path(out)).expect("a readable selection");
    for n in &sel.networks {
        let bytes = std::fs::read(&n.weights_file).unwrap_or_else(|e| {
            panic!(
                "budget `{}`: weights {} missing: {e}",
                n.name, n.weights_file
            )
        });
        assert_eq!(
            content_hash(&bytes),
            n.weights_hash,
            "budget `{}`: torn weights",
            n.name
        );
    }
    summary(&sel)
}

#[test]
fn a_build_killed_at_any_moment_leaves_the_old_or_the_new_selection_whole() {
    let dir = std::env::temp_dir().join(format!("pnag-killed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, budgets: &[(&str, f64)]| -> PathBuf {
        let mut text = String::from("device = \"note10\"\nseed = 3\n");
        for (n, b) in budgets {
            text.push_str(&format!("[[budget]]\nname = \"{n}\"\nlatency_ms = {b}\n"));
        }
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // Budgets low in note10's range (17.8–92.4 ms): a run needs only the grid searches up
    // to them (`Frontier`), so the kill window is mostly spent writing.
    let old = write("old.toml", &[("fast", 20.0), ("big", 24.0)]);
    let new = write("new.toml", &[("fast", 22.0), ("big", 27.0)]);

    // The two complete selections, each in a directory of its own.
    let mut complete = Vec::new();
    let mut took = Duration::ZERO;
    for (file, name) in [(&old, "ref-old"), (&new, "ref-new")] {
        let start = Instant::now();
        assert!(pnag_targets(file, &dir.join(name))
            .wait()
            .unwrap()
            .success());
        took = took.max(start.elapsed());
        complete.push(read_consistent(&dir.join(name)));
    }
    assert_ne!(
        complete[0], complete[1],
        "the two files must select different subnets"
    );

    let out = dir.join("out");
    assert!(pnag_targets(&old, &out).wait().unwrap().success());
    let mut rng = SplitMix64::new(11);
    let window = took.as_millis() as u64 + 1;
    let (mut seen_old, mut seen_new) = (0, 0);
    for i in 0..KILLS {
        let file = if i % 2 == 0 { &new } else { &old };
        let mut child = pnag_targets(file, &out);
        std::thread::sleep(Duration::from_millis(rng.next_u64() % window));
        let _ = child.kill();
        let _ = child.wait();
        let found = read_consistent(&out);
        if found == complete[0] {
            seen_old += 1;
        } else if found == complete[1] {
            seen_new += 1;
        } else {
            panic!(
                "kill point {i}: a selection that is neither the old nor the new one: {found:?}"
            );
        }
    }
    eprintln!("{KILLS} kill points: old selection whole {seen_old} times, new {seen_new} times");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C during `pnag targets` without `--out` removes its temporary directory
/// (a killed run's is removed by the next run: `remove_dead_runs_temporaries`).
#[test]
fn ctrl_c_removes_the_temporary_directory() {
    let tmp = std::env::temp_dir().join(format!("pnag-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    // Enough budgets (~30 MB of weights each) that the run is still going when interrupted.
    let mut text = String::from("device = \"note10\"\nseed = 3\n");
    for i in 0..24 {
        let budget = 20.0 + 2.5 * i as f64;
        text.push_str(&format!(
            "[[budget]]\nname = \"b{i}\"\nlatency_ms = {budget}\n"
        ));
    }
    let file = tmp.join("many.toml");
    std::fs::write(&file, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args(["targets", file.to_str().unwrap()])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run pnag");
    // The run's directory: `pnag-targets-<pid>-<random>` (unpredictable, created exclusively).
    let prefix = format!("pnag-targets-{}-", child.id());
    let find = || {
        std::fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
    };
    let start = Instant::now();
    let run_dir = loop {
        if let Some(d) = find().filter(|d| d.join("pnag").exists()) {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary directory"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "interrupted, not finished: {status}"
    );
    assert!(!run_dir.exists(), "{} left behind", run_dir.display());
    assert!(find().is_none(), "a temporary directory left behind");
    std::fs::remove_dir_all(&tmp).unwrap();
}
