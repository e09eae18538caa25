//! NaN and infinity are never masked: they propagate through the shipped kernels as they do
//! in PyTorch (`relu(nan) = nan`, `hardswish(nan) = nan`, a NaN pixel reaches every logit
//! through the convolutions and the global pool), and weights holding them are refused.

mod common;

use std::collections::BTreeMap;

use pnag_runtime::ops::{DepthwiseConv, DepthwiseKernel};
use pnag_runtime::{
    Activation, Arch, Network, NetworkOptions, NetworkSpec, RuntimeError, Weights, WeightsSource,
    Width,
};

use common::{run_op, values};

fn spec() -> NetworkSpec {
    NetworkSpec::new(Arch::smallest(), Width::W1_0, 128).unwrap()
}

#[test]
fn one_nan_pixel_makes_every_logit_nan_as_in_pytorch() {
    let spec = spec();
    let net = Network::new(
        spec.clone(),
        &Weights::synthetic(&spec, 3),
        NetworkOptions::default(),
    )
    .unwrap();
    let shape = net.input_shape();
    let mut input = values(shape.iter().product(), 5);
    let finite = net.run(&shape, &input).unwrap();
    assert!(finite.row(0).iter().all(|v| v.is_finite()));
    // In PyTorch the NaN spreads through each conv's window, ReLU and h-swish keep it, and
    // the global average pool carries it into every channel, so every logit is NaN.
    input[7 * 128 + 9] = f32::NAN;
    let logits = net.run(&shape, &input).unwrap();
    assert!(
        logits.row(0).iter().all(|v| v.is_nan()),
        "{:?}",
        &logits.row(0)[..8]
    );
    input.iter_mut().for_each(|v| *v = f32::INFINITY);
    let logits = net.run(&shape, &input).unwrap();
    assert!(logits.row(0).iter().all(|v| !v.is_finite()));
}

/// The depthwise op's fused ReLU / h-swish on every instruction set: NaN stays NaN in exactly
/// the outputs whose window holds it (a 3x3 window around the NaN), the rest stay finite.
#[test]
fn fused_activations_keep_nan_on_every_instruction_set() {
    let (c, h, w) = (2, 9, 17);
    let mut x = values(c * h * w, 1);
    x[4 * w + 8] = f32::NAN; // channel 0, row 4, column 8
    let wt = values(c * 9, 2);
    let bias = values(c, 3);
    for act in [Activation::Relu, Activation::HSwish] {
        for simd in common::simd_paths() {
            let op = DepthwiseConv::new(
                DepthwiseKernel::for_shape(3, 1).unwrap(),
                act,
                wt.clone(),
                bias.clone(),
            )
            .unwrap()
            .with_simd(simd);
            let out = run_op(op, [1, c, h, w], &x, 1);
            for (i, v) in out.iter().enumerate() {
                let (ch, r, col) = (i / (h * w), (i / w) % h, i % w);
                let touched = ch == 0 && r.abs_diff(4) <= 1 && col.abs_diff(8) <= 1;
                assert_eq!(v.is_nan(), touched, "{act:?} {simd:?} output {i} = {v}");
            }
        }
    }
}

#[test]
fn weights_holding_nan_or_infinity_are_refused_naming_the_tensor() {
    let spec = spec();
    let good = Weights::synthetic(&spec, 1);
    let name = "first_conv.conv.weight";
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut tensors: BTreeMap<_, _> = good
            .tensors()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        let t = tensors.get_mut(name).unwrap();
        t.data[5] = bad;
        t.data[9] = bad;
        // In memory (what supernet extraction produces) ...
        let err =
            Weights::from_tensors(tensors.clone(), WeightsSource::Synthetic { seed: 1 }, &spec)
                .unwrap_err();
        assert!(
            matches!(&err, RuntimeError::NonFinite { name: n, count: 2, index: 5, .. } if n == name),
            "{err}"
        );
        // ... and from a safetensors file.
        let file = pnag_runtime::weights::serialize_f32(
            tensors.iter().map(|(n, t)| (n.as_str(), t)),
            None,
        );
        let err = Weights::from_safetensors(&file, WeightsSource::Embedded("t".into()), &spec)
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(name) && msg.contains("2 non-finite value(s)"),
            "{msg}"
        );
    }
}

/// A weight beyond float16's range is refused when stored as f16, never turned into an
/// infinity (which loading would then refuse far from the cause).
#[test]
fn weights_beyond_half_precision_are_refused_when_stored_as_f16() {
    let spec = spec();
    let good = Weights::synthetic(&spec, 1);
    assert!(good.to_safetensors_f16().is_ok());
    let mut tensors: BTreeMap<_, _> = good
        .tensors()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    tensors.get_mut("classifier.linear.weight").unwrap().data[3] = 70000.0;
    let big = Weights::from_tensors(tensors, WeightsSource::Synthetic { seed: 1 }, &spec).unwrap();
    let err = big.to_safetensors_f16().unwrap_err();
    assert!(
        matches!(&err, RuntimeError::F16Range { name, index: 3, .. } if name == "classifier.linear.weight"),
        "{err}"
    );
    assert!(err.to_string().contains("65504"), "{err}");
}
