//! Every way a weights file can be wrong gets one clear error naming the file
//! and tensor, and never a panic.

use std::collections::HashMap;

use pnag_runtime::weights::expected_tensors;
use pnag_runtime::{Arch, NetworkSpec, RuntimeError, Weights, WeightsSource, Width};
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn spec() -> NetworkSpec {
    NetworkSpec::new(Arch::smallest(), Width::W1_0, 128).unwrap()
}

fn origin() -> WeightsSource {
    WeightsSource::Embedded("test.safetensors".into())
}

/// Serializes `tensors` (name, dtype, shape, bytes).
fn serialize(tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, &None::<HashMap<String, String>>).unwrap()
}

/// The synthetic weights of `spec()` as (name, dtype, shape, bytes) rows.
fn good_rows() -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let w = Weights::synthetic(&spec(), 1);
    w.tensors()
        .map(|(n, t)| {
            (
                n.clone(),
                Dtype::F32,
                t.shape.clone(),
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect()
}

#[test]
fn synthetic_weights_round_trip_through_safetensors_with_ofa_extras() {
    let mut rows = good_rows();
    // OFA's state_dict also holds int64 num_batches_tracked scalars: accepted and ignored.
    rows.push((
        "first_conv.bn.num_batches_tracked".into(),
        Dtype::I64,
        vec![],
        7i64.to_le_bytes().to_vec(),
    ));
    let loaded = Weights::from_safetensors(&serialize(&rows), origin(), &spec()).unwrap();
    let synthetic = Weights::synthetic(&spec(), 1);
    assert!(loaded.tensors().eq(synthetic.tensors()));
    let again = Weights::from_safetensors(&synthetic.to_safetensors(), origin(), &spec()).unwrap();
    assert!(again.tensors().eq(synthetic.tensors()));
}

#[test]
fn missing_file_names_the_path() {
    let err = Weights::load("/nonexistent/w.safetensors", &spec()).unwrap_err();
    assert!(matches!(err, RuntimeError::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/w.safetensors"),
        "{err}"
    );
}

#[test]
fn garbage_and_truncated_files_are_not_safetensors() {
    let err = Weights::from_safetensors(b"this is not safetensors", origin(), &spec()).unwrap_err();
    assert!(matches!(err, RuntimeError::NotSafetensors { .. }), "{err}");
    let bytes = serialize(&good_rows());
    let err = Weights::from_safetensors(&bytes[..bytes.len() / 2], origin(), &spec()).unwrap_err();
    assert!(matches!(err, RuntimeError::NotSafetensors { .. }), "{err}");
    assert!(err.to_string().contains("test.safetensors"));
}

#[test]
fn every_missing_tensor_is_listed() {
    let rows: Vec<_> = good_rows()
        .into_iter()
        .filter(|r| !r.0.starts_with("blocks.3.") && r.0 != "classifier.linear.bias")
        .collect();
    let err = Weights::from_safetensors(&serialize(&rows), origin(), &spec()).unwrap_err();
    let RuntimeError::MissingTensors { names, .. } = &err else {
        panic!("{err}")
    };
    let expected_missing = expected_tensors(&spec())
        .iter()
        .filter(|(n, _)| n.starts_with("blocks.3."))
        .count()
        + 1;
    assert_eq!(names.len(), expected_missing);
    assert!(err.to_string().contains("classifier.linear.bias"));
}

#[test]
fn weights_of_a_deeper_arch_are_rejected_as_unexpected() {
    let deeper = NetworkSpec::new(Arch::largest(), Width::W1_0, 128).unwrap();
    let bytes = Weights::synthetic(&deeper, 0).to_safetensors();
    let err = Weights::from_safetensors(&bytes, origin(), &spec()).unwrap_err();
    // Block indices shift with depth, so some names are missing and others unused.
    let RuntimeError::OtherSubnet {
        missing,
        unexpected,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert!(
        !missing.is_empty() && unexpected.iter().any(|n| n.starts_with("blocks.20.")),
        "{err}"
    );
}

#[test]
fn wrong_shape_names_tensor_expected_and_found() {
    let mut rows = good_rows();
    let row = rows
        .iter_mut()
        .find(|r| r.0 == "first_conv.conv.weight")
        .unwrap();
    row.2 = vec![16, 3, 9];
    let err = Weights::from_safetensors(&serialize(&rows), origin(), &spec()).unwrap_err();
    assert_eq!(err.to_string(), "weights `test.safetensors` (embedded): tensor `first_conv.conv.weight` has shape [16, 3, 9], expected [16, 3, 3, 3]");
}

#[test]
fn wrong_dtype_names_tensor() {
    // f32 and f16 are read (f16 widened); bfloat16 is not.
    let mut rows = good_rows();
    let row = rows
        .iter_mut()
        .find(|r| r.0 == "classifier.linear.bias")
        .unwrap();
    row.1 = Dtype::BF16;
    row.3.truncate(row.3.len() / 2);
    let err = Weights::from_safetensors(&serialize(&rows), origin(), &spec()).unwrap_err();
    assert!(
        matches!(&err, RuntimeError::DType { name, .. } if name == "classifier.linear.bias"),
        "{err}"
    );
}

#[test]
fn wrong_input_shape_is_an_error() {
    let net = pnag_runtime::Network::synthetic(spec(), 0, Default::default()).unwrap();
    let err = net
        .run(&[1, 3, 64, 64], &vec![0.0; 3 * 64 * 64])
        .unwrap_err();
    assert!(matches!(err, RuntimeError::InputShape { .. }), "{err}");
    let err = net.run(&[1, 3, 128, 128], &[0.0; 10]).unwrap_err();
    assert!(matches!(err, RuntimeError::InputShape { .. }), "{err}");
}
