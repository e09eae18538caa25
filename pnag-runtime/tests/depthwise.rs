//! The specialized depthwise op against a direct f64 evaluation of PyTorch's
//! definition (zero padding `K / 2`, bias, ReLU / h-swish), run through a real
//! tract plan: every kernel size × stride × activation, odd and tiny maps
//! (borders everywhere), channel counts off the SIMD width, batch 2, 1 and 2
//! threads, the AVX2/NEON path and the portable one. On aarch64 (run under
//! qemu by scripts/ci/cross.sh) `Simd::Best` is the NEON code.

use pnag_runtime::ops::{DepthwiseConv, DepthwiseKernel};
use pnag_runtime::Simd;
use pnag_runtime::{Activation, Arch, Kernels, Network, NetworkOptions, NetworkSpec};
use pnag_runtime::{Weights, Width};

mod common;
use common::{run_op, values};

struct Case {
    k: usize,
    stride: usize,
    act: Activation,
    batch: usize,
    channels: usize,
    h: usize,
    w: usize,
}

fn reference(c: &Case, x: &[f32], wt: &[f32], bias: &[f32]) -> Vec<f32> {
    let p = c.k / 2;
    let out = |n: usize| (n + 2 * p - c.k) / c.stride + 1;
    let (ho, wo) = (out(c.h), out(c.w));
    let mut y = Vec::with_capacity(c.batch * c.channels * ho * wo);
    for n in 0..c.batch {
        for ch in 0..c.channels {
            let plane = &x[(n * c.channels + ch) * c.h * c.w..][..c.h * c.w];
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = bias[ch] as f64;
                    for ky in 0..c.k {
                        for kx in 0..c.k {
                            let iy = (oy * c.stride + ky) as isize - p as isize;
                            let ix = (ox * c.stride + kx) as isize - p as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < c.h && (ix as usize) < c.w {
                                acc += plane[iy as usize * c.w + ix as usize] as f64
                                    * wt[(ch * c.k + ky) * c.k + kx] as f64;
                            }
                        }
                    }
                    y.push(match c.act {
                        Activation::Relu => acc.max(0.0),
                        Activation::HSwish => acc * (acc + 3.0).clamp(0.0, 6.0) / 6.0,
                    } as f32);
                }
            }
        }
    }
    y
}

/// Runs the op in a one-node tract plan.
fn run(c: &Case, x: &[f32], wt: &[f32], bias: &[f32], simd: Simd, threads: usize) -> Vec<f32> {
    let kernel = DepthwiseKernel::for_shape(c.k, c.stride).unwrap();
    let op = DepthwiseConv::new(kernel, c.act, wt.to_vec(), bias.to_vec())
        .unwrap()
        .with_simd(simd);
    run_op(op, [c.batch, c.channels, c.h, c.w], x, threads)
}

fn check(c: &Case, simd: Simd, threads: usize) {
    let x = values(c.batch * c.channels * c.h * c.w, 1);
    let wt = values(c.channels * c.k * c.k, 2);
    let bias = values(c.channels, 3);
    let want = reference(c, &x, &wt, &bias);
    let got = run(c, &x, &wt, &bias, simd, threads);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{}x{} stride {} {:?} {:?} {threads} threads, {}x{} map, {} channels: output {i} is {g}, expected {w}",
            c.k, c.k, c.stride, c.act, simd, c.h, c.w, c.channels
        );
    }
}

#[test]
fn every_kernel_stride_and_activation_matches_the_definition() {
    for k in [3, 5, 7] {
        for stride in [1, 2] {
            for act in [Activation::Relu, Activation::HSwish] {
                // 1..=3: the kernel is wider than the map; 7, 14: OFA's last stages;
                // 9, 17: neither a multiple of 4 nor of 8 lanes.
                for (h, w) in [
                    (1, 1),
                    (2, 3),
                    (3, 2),
                    (5, 5),
                    (7, 7),
                    (9, 17),
                    (14, 14),
                    (17, 9),
                ] {
                    for channels in [1, 3, 9] {
                        let case = Case {
                            k,
                            stride,
                            act,
                            batch: 2,
                            channels,
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
}

#[test]
fn threads_split_channels_without_changing_the_result() {
    // Large enough to pass the op's threading threshold.
    for (k, stride) in [(3, 1), (7, 2)] {
        let case = Case {
            k,
            stride,
            act: Activation::HSwish,
            batch: 1,
            channels: 37,
            h: 56,
            w: 56,
        };
        check(&case, Simd::Best, 2);
        check(&case, Simd::Best, 1);
    }
}

#[test]
fn mismatched_kernel_and_weights_are_errors() {
    let kernel = DepthwiseKernel::new::<5, 1>();
    let err =
        DepthwiseConv::new(kernel, Activation::Relu, vec![0.0; 24], vec![0.0; 1]).unwrap_err();
    assert!(err.to_string().contains("expected 1 x 25 values"), "{err}");
    assert!(DepthwiseKernel::for_shape(4, 1).is_none());
    assert!(DepthwiseKernel::for_shape(3, 3).is_none());
}

#[test]
fn whole_networks_on_our_ops_agree_with_tracts_own_ops() {
    // Ours at 2 threads (the run executes on a worker of the network's pool,
    // every op splits its work) against tract's own ops on the calling thread.
    for arch in [Arch::smallest(), Arch::largest()] {
        let spec = NetworkSpec::new(arch, Width::W1_2, 224).unwrap();
        let weights = Weights::synthetic(&spec, 7);
        let net = |kernels, threads| {
            let options = NetworkOptions {
                kernels,
                threads,
                ..Default::default()
            };
            Network::new(spec.clone(), &weights, options).unwrap()
        };
        let (ours, tract) = (net(Kernels::Specialized, 2), net(Kernels::Tract, 1));
        let shape = ours.input_shape();
        let input = values(shape.iter().product(), 11);
        let (a, b) = (
            ours.run(&shape, &input).unwrap(),
            tract.run(&shape, &input).unwrap(),
        );
        let scale = b.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = a
            .data
            .iter()
            .zip(&b.data)
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= 1e-5 * scale.max(1.0),
            "{arch}: max |Δ logit| {worst} (scale {scale})"
        );
    }
}
