//! What a hostile or unlucky user meets: full and closed standard output, counts too large
//! to allocate, devices and directories given as files, planted links and Ctrl-C.

use std::process::Stdio;

use super::*;

/// A one-image float32 batch for the 128 px subnets the tests run.
fn image_128(name: &str) -> PathBuf {
    let x = tmp(name);
    npy::write_f32(&x, &[1, 3, 128, 128], &vec![0.5; 3 * 128 * 128]).unwrap();
    x
}

fn full() -> Stdio {
    std::fs::File::create("/dev/full").unwrap().into()
}

/// Every subcommand that prints, with stdout on /dev/full: one error line, status 1, never
/// a panic (`println!` panics there); the others run as usual.
#[test]
fn every_subcommand_survives_a_full_stdout() {
    let x = image_128("full-x.npy");
    let (x, y) = (x.to_str().unwrap().to_string(), tmp("full-y.npy"));
    let targets = format!("{}/../../targets/note10.toml", env!("CARGO_MANIFEST_DIR"));
    let printing: [&[&str]; 9] = [
        &["arch", SMALLEST],
        &["arch", SMALLEST, "--json"],
        &["devices"],
        &["predict", "--device", "note10", "--arch", SMALLEST],
        &["generate", "--device", "note10", "--budget", "30"],
        &["targets", &targets],
        &[
            "profile",
            "--random",
            "1",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--width",
            "1.0",
            "--resolution",
            "128",
        ],
        &["--help"],
        &["bench", "--help"],
    ];
    for args in printing {
        let out = Command::new(env!("CARGO_BIN_EXE_pnag"))
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if !args.iter().any(|a| a.ends_with("help")) {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains("error: writing to standard output"),
                "{args:?}: {err}"
            );
        }
    }
    // Commands that write files and talk on stderr only are unaffected.
    let out = Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args([
            "infer",
            "--arch",
            SMALLEST,
            "--width",
            "1.0",
            "--resolution",
            "128",
            "--seed",
            "1",
        ])
        .args(["--input", &x, "--output", y.to_str().unwrap()])
        .stdout(full())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A closed pipe (`pnag … | head -0`) ends the program quietly, as SIGPIPE would.
#[test]
fn a_closed_pipe_is_a_quiet_exit() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args([
            "generate", "--device", "note10", "--budget", "20", "--budget", "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // 141 when the pipe closed before the first line (the usual case), 0 if it was written first.
    assert!(
        matches!(out.status.code(), Some(141) | Some(0)),
        "{:?}: {err}",
        out.status
    );
}

#[test]
fn counts_are_bounded_before_any_allocation() {
    for args in [
        &["profile", "--runs", "18446744073709551615", "--random", "1"][..],
        &["profile", "--random", "18446744073709551615"][..],
        &["profile", "--runs", "4000000000", "--random", "1"][..],
        &[
            "bench",
            "frontier",
            "--device",
            "note10",
            "--random-samples",
            "99999999999",
        ][..],
    ] {
        let e = fails(args);
        assert!(e.contains("is not in"), "{args:?}: {e}");
    }
}

#[test]
fn devices_and_directories_are_not_input_files() {
    let e = fails(&[
        "device",
        "add",
        "d",
        "--probe",
        "/dev/zero",
        "--dir",
        tmp("zero").to_str().unwrap(),
    ]);
    assert!(e.contains("a character device"), "{e}");
    let x = image_128("zero-x.npy");
    let base = [
        "infer",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "128",
    ];
    let e = fails(
        &[
            &base[..],
            &[
                "--input",
                x.to_str().unwrap(),
                "--output",
                tmp("z.npy").to_str().unwrap(),
                "--weights",
                "/dev/zero",
            ],
        ]
        .concat(),
    );
    assert!(e.contains("a character device"), "{e}");
    let e = fails(
        &[
            &base[..],
            &[
                "--seed",
                "1",
                "--input",
                "/dev/zero",
                "--output",
                tmp("z2.npy").to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(e.contains("a character device"), "{e}");
    // A targets file naming /dev/zero as its device file.
    let t = tmp("zero.toml");
    std::fs::write(
        &t,
        "device = \"x\"\ndevice_file = \"/dev/zero\"\n[[budget]]\nname = \"a\"\nlatency_ms = 9\n",
    )
    .unwrap();
    let e = fails(&["targets", t.to_str().unwrap()]);
    assert!(e.contains("a character device"), "{e}");
}

#[test]
fn a_pytorch_checkpoint_given_as_weights_says_what_it_is() {
    let pt = format!(
        "{}/../tests/fixtures/checkpoints/mixed.zip.pt",
        env!("CARGO_MANIFEST_DIR")
    );
    let x = image_128("pt-x.npy");
    let e = fails(&[
        "infer",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "128",
        "--weights",
        &pt,
        "--input",
        x.to_str().unwrap(),
        "--output",
        tmp("pt-y.npy").to_str().unwrap(),
    ]);
    assert!(
        e.contains("is a PyTorch checkpoint (torch.save), not safetensors"),
        "{e}"
    );
}

/// Finite weights that overflow float32 inside the network are reported like non-finite
/// inputs, not passed off as logits.
#[test]
fn overflowing_weights_are_reported() {
    let spec = NetworkSpec::new(Arch::smallest(), Width::W1_0, 128).unwrap();
    let huge: Vec<(String, pnag_runtime::weights::WeightTensor)> =
        pnag_runtime::Weights::synthetic(&spec, 1)
            .tensors()
            .map(|(n, t)| {
                let mut t = t.clone();
                if n.ends_with("conv.weight") {
                    t.data.iter_mut().for_each(|v| *v = v.signum() * 3.4e38);
                }
                (n.clone(), t)
            })
            .collect();
    let w = tmp("huge.safetensors");
    std::fs::write(
        &w,
        pnag_runtime::weights::serialize_f32(huge.iter().map(|(n, t)| (n.as_str(), t)), None),
    )
    .unwrap();
    let x = image_128("huge-x.npy");
    let out = pnag(&[
        "infer",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "128",
        "--weights",
        w.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        tmp("huge-y.npy").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("overflows float32"), "{err}");
}

#[test]
fn negative_margins_and_odd_device_names_are_one_clear_error() {
    let e = fails(&[
        "generate", "--device", "note10", "--budget", "30", "--margin", "-0.1",
    ]);
    assert!(e.contains("--margin applies to added devices"), "{e}");
    let dir = tmp("names");
    for name in ["../x", ""] {
        let e = fails(&[
            "generate",
            "--device",
            name,
            "--devices-dir",
            dir.to_str().unwrap(),
            "--budget",
            "30",
        ]);
        assert!(e.contains("expected 1–64 letters"), "{name:?}: {e}");
        let e = fails(&[
            "predict",
            "--device",
            name,
            "--devices-dir",
            dir.to_str().unwrap(),
            "--arch",
            SMALLEST,
        ]);
        assert!(e.contains("expected 1–64 letters"), "{name:?}: {e}");
    }
}

/// A refused probe leaves no trace (no devices directory), and one unreadable device file
/// does not hide the others.
#[test]
fn refused_probes_create_nothing_and_bad_device_files_are_skipped() {
    let bad = tmp("bad-probe.csv");
    std::fs::write(&bad, "not a probe\n").unwrap();
    let dir = tmp("never/made/here");
    fails(&[
        "device",
        "add",
        "d",
        "--probe",
        bad.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!dir.exists() && !tmp("never").exists());
    let devices = tmp("mixed-devices");
    std::fs::create_dir_all(&devices).unwrap();
    std::fs::write(devices.join("broken.json"), "{ nope").unwrap();
    let out = pnag(&["devices", "--dir", devices.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("note10"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: skipped device file"));
}

/// `pnag targets FILE` without --out builds in a directory nobody can predict: links planted
/// under the old names (`pnag-targets-<pid>`) are never followed.
#[test]
fn targets_temporaries_cannot_be_redirected() {
    let tmpdir = tmp("planted");
    let victim = tmp("victim");
    std::fs::create_dir_all(&tmpdir).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    let me = std::process::id();
    for pid in me..me + 2000 {
        let _ = std::os::unix::fs::symlink(&victim, tmpdir.join(format!("pnag-targets-{pid}")));
    }
    let targets = format!("{}/../../targets/note10.toml", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_pnag"))
        .args(["targets", &targets])
        .env("TMPDIR", &tmpdir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "written through a planted link"
    );
    // Its own directory is gone again; the planted links were left alone.
    let left: Vec<_> = std::fs::read_dir(&tmpdir)
        .unwrap()
        .flatten()
        .filter(|e| !e.path().is_symlink())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Ctrl-C while the build writes: the temporary directory is gone when the process is.
#[test]
fn ctrl_c_removes_the_temporary_directory() {
    let tmpdir = tmp("sigint");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let targets = format!("{}/../../targets/note10.toml", env!("CARGO_MANIFEST_DIR"));
    for delay_ms in [300, 800] {
        let child = Command::new(env!("CARGO_BIN_EXE_pnag"))
            .args(["targets", &targets])
            .env("TMPDIR", &tmpdir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&tmpdir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "after {delay_ms} ms: {left:?} ({err})");
    }
}
