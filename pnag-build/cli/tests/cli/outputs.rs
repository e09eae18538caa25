//! Output paths of every writing command: never a device, a link or one of the inputs.

use super::*;

/// Outputs never replace a device, FIFO or symbolic link, never overwrite one of the run's
/// inputs, and are checked before the work (issue: `--output /dev/full` used to replace the
/// device node with a regular file).
#[test]
fn outputs_that_are_not_regular_files_or_are_inputs_are_refused_before_any_work() {
    let x = tmp("refuse-in.npy");
    npy::write_f32(&x, &[1, 3, 128, 128], &vec![0.0; 3 * 128 * 128]).unwrap();
    let infer = |output: &str| {
        fails(&[
            "infer",
            "--arch",
            SMALLEST,
            "--width",
            "1.0",
            "--resolution",
            "128",
            "--seed",
            "0",
            "--input",
            x.to_str().unwrap(),
            "--output",
            output,
        ])
    };
    let e = infer("/dev/full");
    assert!(e.contains("`/dev/full`: it is a character device"), "{e}");
    assert!(std::fs::symlink_metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    let link = tmp("refuse-link.npy");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let e = infer(link.to_str().unwrap());
    assert!(e.contains("it is a symbolic link"), "{e}");
    let fifo = tmp("refuse-fifo.npy");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let e = infer(fifo.to_str().unwrap());
    assert!(e.contains("it is a FIFO"), "{e}");
    let e = infer(x.to_str().unwrap());
    assert!(e.contains("it is the input"), "{e}");
    let e = infer(tmp("no-such-dir/y.npy").to_str().unwrap());
    assert!(e.contains("does not exist"), "{e}");
    // The input is untouched.
    assert_eq!(npy::read_f32(&x).unwrap().shape, vec![1, 3, 128, 128]);

    let sup = tmp("refuse-supernet.safetensors");
    let bytes = pnag_build::weights::extract::synthetic_supernet(Width::W1_0, 2);
    std::fs::write(&sup, &bytes).unwrap();
    let e = fails(&[
        "extract",
        "--supernet",
        sup.to_str().unwrap(),
        "--width",
        "1.0",
        "--arch",
        SMALLEST,
        "--out",
        sup.to_str().unwrap(),
    ]);
    assert!(e.contains("it is the input"), "{e}");
    assert_eq!(
        std::fs::read(&sup).unwrap(),
        bytes,
        "the checkpoint is intact"
    );
    let e = fails(&[
        "profile",
        "--random",
        "1",
        "--out",
        tmp("nodir/x.csv").to_str().unwrap(),
    ]);
    assert!(e.contains("does not exist"), "{e}");
}
