//! `pnag infer`.

use super::*;

#[test]
fn infer_writes_the_networks_logits() {
    let r = 128;
    let input: Vec<f32> = (0..2 * 3 * r * r)
        .map(|i| ((i % 97) as f32 / 48.0) - 1.0)
        .collect();
    let x = tmp("x.npy");
    let y = tmp("y.npy");
    npy::write_f32(&x, &[2, 3, r, r], &input).unwrap();
    let out = pnag(&[
        "infer",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "128",
        "--seed",
        "5",
        "--input",
        x.to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNTRAINED"));
    let logits = npy::read_f32(&y).unwrap();
    assert_eq!(logits.shape, vec![2, 1000]);
    let spec = NetworkSpec::new(Arch::smallest(), Width::W1_0, 128).unwrap();
    let net = Network::synthetic(
        spec,
        5,
        NetworkOptions {
            batch: 2,
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(net.run(&[2, 3, r, r], &input).unwrap().data, logits.data);
}

#[test]
fn infer_bad_inputs_are_clear_errors() {
    let x = tmp("ok.npy");
    npy::write_f32(&x, &[1, 3, 128, 128], &vec![0.0; 3 * 128 * 128]).unwrap();
    let y = tmp("out.npy");
    let base = |input: &str, extra: &[&str]| {
        let mut a = vec![
            "infer",
            "--arch",
            SMALLEST,
            "--width",
            "1.0",
            "--resolution",
            "128",
            "--input",
            input,
            "--output",
            y.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| fails(&args.iter().map(String::as_str).collect::<Vec<_>>());

    assert!(run(base(
        x.to_str().unwrap(),
        &["--weights", "/nonexistent/w.safetensors"]
    ))
    .contains("/nonexistent/w.safetensors"));
    let e = run(base(
        x.to_str().unwrap(),
        &["--weights", "/nonexistent/w.safetensors"],
    ));
    assert_eq!(e.matches("os error 2").count(), 1, "the OS error once: {e}");
    let garbage = tmp("garbage.safetensors");
    std::fs::write(&garbage, b"not a safetensors file at all").unwrap();
    assert!(run(base(
        x.to_str().unwrap(),
        &["--weights", garbage.to_str().unwrap()]
    ))
    .contains("not a valid safetensors"));
    assert!(run(base(x.to_str().unwrap(), &[])).contains("--seed"));

    let wrong_shape = tmp("wrong_shape.npy");
    npy::write_f32(&wrong_shape, &[1, 3, 160, 160], &vec![0.0; 3 * 160 * 160]).unwrap();
    assert!(run(base(wrong_shape.to_str().unwrap(), &["--seed", "0"]))
        .contains("expected [N, 3, 128, 128]"));

    let f64_file = tmp("f64.npy");
    let mut bytes = npy::to_bytes(&[1, 3, 128, 128], &vec![0.0; 3 * 128 * 128]);
    let at = bytes.windows(3).position(|w| w == b"<f4").unwrap();
    bytes[at + 2] = b'8';
    std::fs::write(&f64_file, bytes).unwrap();
    assert!(run(base(f64_file.to_str().unwrap(), &["--seed", "0"])).contains("dtype `<f8`"));

    let not_npy = tmp("not.npy");
    std::fs::write(&not_npy, b"hello").unwrap();
    assert!(
        run(base(not_npy.to_str().unwrap(), &["--seed", "0"])).contains("not a NumPy .npy file")
    );
    assert!(!y.exists(), "no output on failure");
}
