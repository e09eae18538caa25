//! `pnag extract`, then `pnag infer` with what it wrote.

use super::*;

#[test]
fn extract_then_infer_with_the_extracted_weights() {
    let sup = tmp("supernet.safetensors");
    std::fs::write(
        &sup,
        pnag_build::weights::extract::synthetic_supernet(Width::W1_0, 2),
    )
    .unwrap();
    let sub = tmp("sub.safetensors");
    let out = pnag(&[
        "extract",
        "--supernet",
        sup.to_str().unwrap(),
        "--width",
        "1.0",
        "--arch",
        SMALLEST,
        "--out",
        sub.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let x = tmp("x128.npy");
    npy::write_f32(&x, &[1, 3, 128, 128], &vec![0.5; 3 * 128 * 128]).unwrap();
    let y = tmp("y128.npy");
    let out = pnag(&[
        "infer",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "128",
        "--weights",
        sub.to_str().unwrap(),
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
    assert_eq!(npy::read_f32(&y).unwrap().shape, vec![1, 1000]);
    let err = fails(&[
        "extract",
        "--supernet",
        sup.to_str().unwrap(),
        "--width",
        "1.2",
        "--arch",
        SMALLEST,
        "--out",
        sub.to_str().unwrap(),
    ]);
    assert!(err.contains("not the w1.2 supernet"), "{err}");
}
