//! Bad supernet checkpoints: one clear error each, naming the tensor(s).

use std::collections::HashMap;

use pnag_build::weights::extract::{extract, supernet_tensors, synthetic_supernet, ExtractError};
use pnag_runtime::{Arch, RuntimeError, Weights, Width};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// Re-serializes `bytes` after `edit` may drop or change (name, dtype, shape, data) rows.
fn edited(
    bytes: &[u8],
    edit: impl Fn(&str, Dtype, Vec<usize>, Vec<u8>) -> Option<(Dtype, Vec<usize>, Vec<u8>)>,
) -> Vec<u8> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let rows: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter_map(|(n, v)| {
            edit(&n, v.dtype(), v.shape().to_vec(), v.data().to_vec()).map(|(d, s, b)| (n, d, s, b))
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = rows
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, &None::<HashMap<String, String>>).unwrap()
}

fn supernet() -> Vec<u8> {
    synthetic_supernet(Width::W1_0, 1)
}

#[test]
fn other_width_is_named_with_a_hint() {
    let err = extract(
        &supernet(),
        "`w10.safetensors`",
        Width::W1_2,
        Arch::smallest(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExtractError::Width { found: 16, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("pass --width 1.0"), "{err}");
}

#[test]
fn a_subnet_file_is_not_a_supernet() {
    let spec = pnag_runtime::NetworkSpec::new(Arch::largest(), Width::W1_0, 224).unwrap();
    let subnet = Weights::synthetic(&spec, 0).to_safetensors();
    let err = extract(
        &subnet,
        "`subnet.safetensors`",
        Width::W1_0,
        Arch::smallest(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExtractError::SubnetCheckpoint { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("pnag infer --weights"), "{err}");
}

#[test]
fn another_search_space_lists_every_missing_tensor() {
    // A supernet without elastic kernels (no transform matrices), as a ks=7-only OFA net would be.
    let bytes = edited(&supernet(), |n, d, s, b| {
        (!n.ends_with("_matrix")).then_some((d, s, b))
    });
    let err = extract(&bytes, "`k7.safetensors`", Width::W1_0, Arch::largest()).unwrap_err();
    let ExtractError::Weights(RuntimeError::MissingTensors { names, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(names.len(), 40);
    assert_eq!(
        names.len(),
        supernet_tensors(Width::W1_0)
            .iter()
            .filter(|(n, _)| n.ends_with("_matrix"))
            .count()
    );
}

#[test]
fn missing_tensors_are_all_listed() {
    let bytes = edited(&supernet(), |n, d, s, b| {
        (!n.ends_with("7to5_matrix") && n != "classifier.linear.bias").then_some((d, s, b))
    });
    let err = extract(&bytes, "`cut.safetensors`", Width::W1_0, Arch::largest()).unwrap_err();
    let ExtractError::Weights(RuntimeError::MissingTensors { names, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(names.len(), 20 + 1);
    assert!(err
        .to_string()
        .contains("blocks.20.conv.depth_conv.conv.7to5_matrix"));
}

#[test]
fn wrong_dtype_and_shape_name_the_tensor() {
    let target = "blocks.7.conv.depth_conv.conv.conv.weight";
    // (f32 and f16 are read; bfloat16 is not.)
    let bf16 = edited(&supernet(), |n, d, s, b| {
        Some(if n == target {
            (Dtype::BF16, s, b[..b.len() / 2].to_vec())
        } else {
            (d, s, b)
        })
    });
    let err = extract(&bf16, "`bf16.safetensors`", Width::W1_0, Arch::largest()).unwrap_err();
    assert!(
        matches!(&err, ExtractError::Weights(RuntimeError::DType { name, .. }) if name == target),
        "{err}"
    );

    let reshaped = edited(&supernet(), |n, d, s, b| {
        Some(if n == target {
            (d, vec![s[0], 49], b)
        } else {
            (d, s, b)
        })
    });
    let err = extract(
        &reshaped,
        "`shape.safetensors`",
        Width::W1_0,
        Arch::largest(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(target) && err.to_string().contains("expected [240, 1, 7, 7]"),
        "{err}"
    );
}

#[test]
fn garbage_is_not_safetensors() {
    let err = extract(
        b"\x80\x02}q\x00.",
        "`ofa.pth`",
        Width::W1_0,
        Arch::smallest(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::Weights(RuntimeError::NotSafetensors { .. })
        ),
        "{err}"
    );
}
