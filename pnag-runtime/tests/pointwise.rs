//! The fused 1x1 conv op against a direct f64 evaluation of
//! `act(W · x + b) + residual`, run through a real tract plan: no / ReLU /
//! h-swish activation, with and without the residual, output channel counts
//! off the 6-row tile, pixel counts off the 8/16-pixel tile (1x1, 7x7, 3x5, …),
//! with and without the squeeze-excite input scale,
//! batch 2, 1 and 2 threads, the AVX2/NEON path and the portable one. On
//! aarch64 (run under qemu by scripts/ci/cross.sh) `Simd::Best` is the NEON code.

use pnag_runtime::ops::{MatVec, PointwiseConv, SqueezeExcite};
use pnag_runtime::{Activation, Simd};
use tract_core::internal::*;

mod common;
use common::{run_model, run_op, values};

#[derive(Debug, Clone, Copy)]
struct Case {
    act: Option<Activation>,
    residual: bool,
    /// Squeeze-excite input scale `[batch, cin, 1, 1]` (`with_input_scale`).
    scaled: bool,
    batch: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
}

impl Case {
    fn out_len(&self) -> usize {
        self.batch * self.cout * self.h * self.w
    }
}

fn reference(
    c: &Case,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    scale: &[f32],
    res: &[f32],
) -> Vec<f32> {
    let hw = c.h * c.w;
    let mut y = vec![0f32; c.out_len()];
    for n in 0..c.batch {
        for m in 0..c.cout {
            for p in 0..hw {
                let mut acc = bias[m] as f64;
                for k in 0..c.cin {
                    let s = if c.scaled {
                        scale[n * c.cin + k] as f64
                    } else {
                        1.0
                    };
                    acc += wt[m * c.cin + k] as f64 * x[(n * c.cin + k) * hw + p] as f64 * s;
                }
                let acc = match c.act {
                    Some(Activation::Relu) => acc.max(0.0),
                    Some(Activation::HSwish) => acc * (acc + 3.0).clamp(0.0, 6.0) / 6.0,
                    None => acc,
                };
                let at = (n * c.cout + m) * hw + p;
                y[at] = (acc + if c.residual { res[at] as f64 } else { 0.0 }) as f32;
            }
        }
    }
    y
}

/// Runs the op in a one-node tract plan.
#[allow(clippy::too_many_arguments)]
fn run(
    c: &Case,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    scale: &[f32],
    res: &[f32],
    simd: Simd,
    threads: usize,
) -> Vec<f32> {
    let mut op = PointwiseConv::new(wt, bias.to_vec(), c.act, c.residual)
        .unwrap()
        .with_simd(simd);
    if c.scaled {
        op = op.with_input_scale();
    }
    let mut model = TypedModel::default();
    let mut inputs = vec![model
        .add_source("x", f32::fact([c.batch, c.cin, c.h, c.w]))
        .unwrap()];
    let mut values_in = vec![Tensor::from_shape(&[c.batch, c.cin, c.h, c.w], x)
        .unwrap()
        .into_tvalue()];
    if c.scaled {
        let shape = [c.batch, c.cin, 1, 1];
        inputs.push(model.add_source("scale", f32::fact(shape)).unwrap());
        values_in.push(Tensor::from_shape(&shape, scale).unwrap().into_tvalue());
    }
    if c.residual {
        let shape = [c.batch, c.cout, c.h, c.w];
        inputs.push(model.add_source("residual", f32::fact(shape)).unwrap());
        values_in.push(Tensor::from_shape(&shape, res).unwrap().into_tvalue());
    }
    let y = model.wire_node("pw", op, &inputs).unwrap();
    model.select_output_outlets(&y).unwrap();
    run_model(model, values_in.into(), threads)
}

fn check(c: &Case, simd: Simd, threads: usize) {
    let x = values(c.batch * c.cin * c.h * c.w, 1);
    let wt = values(c.cout * c.cin, 2);
    let bias = values(c.cout, 3);
    let res = values(c.out_len(), 4);
    let scale = values(c.batch * c.cin, 8);
    let want = reference(c, &x, &wt, &bias, &scale, &res);
    let got = run(c, &x, &wt, &bias, &scale, &res, simd, threads);
    assert_eq!(got.len(), want.len());
    // f32 sums of `cin` products of values in [-1, 1): error grows like sqrt(cin).
    let tol = 1e-6 * (c.cin as f32).max(1.0) + 1e-6;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{c:?} {simd:?} {threads} threads: out[{i}] = {g}, want {w}"
        );
    }
}

#[test]
fn every_activation_residual_and_awkward_size_matches_the_reference() {
    let acts = [None, Some(Activation::Relu), Some(Activation::HSwish)];
    // 4×4, 8×8 and 16×12 take the unpacked path (whole tiles of pixels) when unscaled.
    let sizes = [
        (1, 1),
        (2, 3),
        (3, 5),
        (4, 4),
        (7, 7),
        (5, 9),
        (8, 8),
        (14, 14),
        (16, 12),
    ];
    for act in acts {
        for residual in [false, true] {
            for (h, w) in sizes {
                for (cin, cout) in [(1, 1), (5, 7), (16, 13), (24, 72)] {
                    let case = Case {
                        act,
                        residual,
                        // Both with and without the squeeze-excite scale, across the sizes.
                        scaled: (h + cin) % 2 == 1,
                        batch: 2,
                        cin,
                        cout,
                        h,
                        w,
                    };
                    for simd in common::simd_paths() {
                        check(&case, simd, 1);
                    }
                }
            }
        }
    }
}

#[test]
fn threads_split_channels_or_pixels_without_changing_the_result() {
    // Both past the op's threading threshold: more channels than pixels
    // (split by weight panels) and more pixels than channels (split by columns).
    let wide = Case {
        scaled: true,
        act: Some(Activation::HSwish),
        residual: false,
        batch: 1,
        cin: 160,
        cout: 963,
        h: 7,
        w: 7,
    };
    let tall = Case {
        scaled: false,
        act: None,
        residual: true,
        batch: 2,
        cin: 37,
        cout: 45,
        h: 29,
        w: 31,
    };
    // Aligned rows, unscaled (read in place), several column chunks per thread.
    let aligned = Case {
        scaled: false,
        act: Some(Activation::Relu),
        residual: true,
        batch: 1,
        cin: 160,
        cout: 24,
        h: 32,
        w: 32,
    };
    // Packed, scaled, several column chunks per thread.
    let chunked = Case {
        scaled: true,
        h: 17,
        w: 19,
        ..aligned
    };
    for case in [wide, tall, aligned, chunked] {
        for simd in common::simd_paths() {
            check(&case, simd, 2);
        }
        check(&case, Simd::Best, 1);
    }
}

#[test]
fn bad_weights_and_shapes_are_errors() {
    let err = PointwiseConv::new(&[0.0; 10], vec![0.0; 3], None, false).unwrap_err();
    assert!(err.to_string().contains("expected 3 x cin values"), "{err}");
    let op = PointwiseConv::new(&[0.0; 12], vec![0.0; 3], None, true).unwrap();
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([1, 5, 2, 2])).unwrap();
    let r = model.add_source("r", f32::fact([1, 3, 2, 2])).unwrap();
    let err = model.wire_node("pw", op.clone(), &[x, r]).unwrap_err();
    assert!(
        format!("{err:?}").contains("expected input [n, 4, h, w]"),
        "{err:?}"
    );
    let x = model.add_source("x4", f32::fact([1, 4, 2, 2])).unwrap();
    let err = model.wire_node("pw2", op.clone(), &[x]).unwrap_err();
    assert!(
        format!("{err:?}").contains("expected 2 inputs, got 1"),
        "{err:?}"
    );
    let r = model.add_source("r3", f32::fact([1, 3, 2, 1])).unwrap();
    let err = model.wire_node("pw3", op.clone(), &[x, r]).unwrap_err();
    assert!(
        format!("{err:?}").contains("is not the output's shape"),
        "{err:?}"
    );
    // The squeeze-excite scale must be [n, cin, 1, 1].
    let scaled = op.with_input_scale();
    let s = model.add_source("s", f32::fact([1, 4, 2, 2])).unwrap();
    let r = model.add_source("r4", f32::fact([1, 3, 2, 2])).unwrap();
    let err = model.wire_node("pw4", scaled, &[x, s, r]).unwrap_err();
    assert!(
        format!("{err:?}").contains("input scale [1, 4, 2, 2] is not [1, 4, 1, 1]"),
        "{err:?}"
    );
    // The im2col conv names the channel count it expects.
    use pnag_runtime::ops::Im2colConv;
    let conv = Im2colConv::new(3, 2, &[0.0; 2 * 3 * 9], vec![0.0; 2], None).unwrap();
    let err = model.wire_node("stem", conv, &[x]).unwrap_err();
    assert!(
        format!("{err:?}").contains("expected input [n, 3, h, w], got [1, 4, 2, 2]"),
        "{err:?}"
    );
}

/// `Im2colConv` (the stem) against a direct f64 conv: zero padding `k / 2`,
/// 3×3 and 5×5, stride 1 and 2, odd and tiny maps, batch 2.
#[test]
fn im2col_conv_matches_a_direct_convolution() {
    use pnag_runtime::ops::Im2colConv;
    for (k, s) in [(3, 2), (3, 1), (5, 2)] {
        for (h, w) in [(1, 1), (2, 5), (7, 7), (9, 4), (16, 16)] {
            let (batch, cin, cout) = (2, 3, 7);
            let x = values(batch * cin * h * w, 5);
            let wt = values(cout * cin * k * k, 6);
            let bias = values(cout, 7);
            let out = |n: usize| (n + 2 * (k / 2) - k) / s + 1;
            let (ho, wo) = (out(h), out(w));
            let mut want = Vec::new();
            for n in 0..batch {
                for m in 0..cout {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let mut acc = bias[m] as f64;
                            for c in 0..cin {
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let iy = (oy * s + ky) as isize - (k / 2) as isize;
                                        let ix = (ox * s + kx) as isize - (k / 2) as isize;
                                        if (0..h as isize).contains(&iy)
                                            && (0..w as isize).contains(&ix)
                                        {
                                            let xv = x[((n * cin + c) * h + iy as usize) * w
                                                + ix as usize];
                                            acc += xv as f64
                                                * wt[((m * cin + c) * k + ky) * k + kx] as f64;
                                        }
                                    }
                                }
                            }
                            want.push((acc * (acc + 3.0).clamp(0.0, 6.0) / 6.0) as f32);
                        }
                    }
                }
            }
            let op = Im2colConv::new(k, s, &wt, bias.clone(), Some(Activation::HSwish)).unwrap();
            let mut model = TypedModel::default();
            let src = model
                .add_source("x", f32::fact([batch, cin, h, w]))
                .unwrap();
            let y = model.wire_node("conv", op, &[src]).unwrap();
            model.select_output_outlets(&y).unwrap();
            let plan = model.into_runnable().unwrap();
            let input = Tensor::from_shape(&[batch, cin, h, w], &x).unwrap();
            let got = plan.run(tvec![input.into_tvalue()]).unwrap();
            let got = got[0].to_plain_array_view::<f32>().unwrap();
            assert_eq!(got.shape(), &[batch, cout, ho, wo]);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{k}x{k} s{s} {h}x{w}: out[{i}] = {g}, want {w}"
                );
            }
        }
    }
    let err = Im2colConv::new(3, 2, &[0.0; 26], vec![0.0], None).unwrap_err();
    assert!(
        err.to_string().contains("expected 1 x cin x 3 x 3 values"),
        "{err}"
    );
}

/// The head's fully connected op ([`MatVec`]) is the 1x1 conv on a 1x1 map:
/// the same reference, row counts off its 4-row step, `cin` off the vector
/// width, batch 2, sizes past the threading threshold at 2 threads.
#[test]
fn matvec_matches_the_reference() {
    for act in [None, Some(Activation::HSwish)] {
        for (cin, cout) in [(1, 1), (13, 6), (37, 9), (1152, 1001)] {
            let c = Case {
                act,
                residual: false,
                scaled: false,
                batch: 2,
                cin,
                cout,
                h: 1,
                w: 1,
            };
            let x = values(c.batch * cin, 1);
            let wt = values(cout * cin, 2);
            let bias = values(cout, 3);
            let want = reference(&c, &x, &wt, &bias, &[], &[]);
            for simd in common::simd_paths() {
                for threads in [1, 2] {
                    let op = MatVec::new(wt.clone(), bias.clone(), act)
                        .unwrap()
                        .with_simd(simd);
                    let got = run_op(op, [2, cin, 1, 1], &x, threads);
                    let tol = 1e-6 * cin as f32 + 1e-6;
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - w).abs() <= tol * w.abs().max(1.0),
                            "{c:?} {simd:?} {threads} threads: out[{i}] = {g}, want {w}"
                        );
                    }
                }
            }
        }
    }
    let err = MatVec::new(vec![0.0; 10], vec![0.0; 3], None).unwrap_err();
    assert!(
        err.to_string().contains("expected 3 x cin weights"),
        "{err}"
    );
}

/// Squeeze-excite as one op against OFA's formula in f64:
/// `h_sigmoid(W_e · relu(W_r · mean(x) + b_r) + b_e)`, h-sigmoid = relu6(· + 3) / 6.
/// Channel counts off the vector width, maps of 1 to 196 pixels, batch 2.
#[test]
fn squeeze_excite_matches_ofa_formula() {
    for (c, cr, h, w) in [(8, 2, 7, 7), (37, 9, 5, 3), (136, 32, 14, 14), (3, 1, 1, 1)] {
        let x = values(2 * c * h * w, 1);
        let (rw, rb) = (values(cr * c, 2), values(cr, 3));
        let (ew, eb) = (values(c * cr, 4), values(c, 5));
        let mut want = Vec::new();
        for img in x.chunks(c * h * w) {
            let mean: Vec<f64> = img
                .chunks(h * w)
                .map(|p| p.iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64)
                .collect();
            let hidden: Vec<f64> = (0..cr)
                .map(|j| {
                    let z: f64 = (0..c).map(|k| rw[j * c + k] as f64 * mean[k]).sum();
                    (z + rb[j] as f64).max(0.0)
                })
                .collect();
            want.extend((0..c).map(|m| {
                let z: f64 = (0..cr).map(|j| ew[m * cr + j] as f64 * hidden[j]).sum();
                ((z + eb[m] as f64 + 3.0).clamp(0.0, 6.0) / 6.0) as f32
            }));
        }
        for simd in common::simd_paths() {
            let op = SqueezeExcite::new(rw.clone(), rb.clone(), &ew, &eb)
                .unwrap()
                .with_simd(simd);
            let got = run_op(op, [2, c, h, w], &x, 1);
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5,
                    "{c}->{cr} {h}x{w} {simd:?}: scale[{i}] = {g}, want {w}"
                );
            }
        }
    }
    // Reduce and expand that do not chain are refused when the op is built.
    let err = SqueezeExcite::new(
        values(8 * 2, 1),
        values(2, 2),
        &values(8 * 3, 3),
        &values(8, 4),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("squeeze-excite: reduce is 8 -> 2 but expand is 3 -> 8"),
        "{err}"
    );
}
