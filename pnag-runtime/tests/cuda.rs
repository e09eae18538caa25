//! `Device::Cuda` on a machine without a usable GPU (like CI): a clear error, or
//! the CPU when the caller allows the fallback. Built with and without the
//! `cuda` feature (scripts/ci/test.sh runs both).

use pnag_runtime::{
    Arch, Device, Kernels, Network, NetworkOptions, NetworkSpec, RuntimeError, Weights, Width,
};

fn spec() -> NetworkSpec {
    NetworkSpec::new(Arch::smallest(), Width::W1_2, 128).unwrap()
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error() {
    let spec = spec();
    let weights = Weights::synthetic(&spec, 1);
    let options = NetworkOptions {
        device: Device::Cuda {
            fallback_to_cpu: false,
        },
        ..Default::default()
    };
    match Network::new(spec, &weights, options) {
        Err(RuntimeError::Cuda(msg)) => {
            let expected = if cfg!(feature = "cuda") {
                "no usable CUDA device or driver"
            } else {
                "built without the `cuda` feature"
            };
            assert!(msg.contains(expected), "{msg}");
        }
        Ok(_) => eprintln!("a CUDA device is usable here: nothing to check"),
        Err(other) => panic!("expected RuntimeError::Cuda, got {other}"),
    }
}

#[test]
fn the_fallback_runs_on_the_cpu_with_the_same_numbers() {
    let spec = spec();
    let weights = Weights::synthetic(&spec, 1);
    // On CUDA (and its CPU fallback) the graph has tract's own depthwise convs.
    let tract_cpu = NetworkOptions {
        kernels: Kernels::Tract,
        ..Default::default()
    };
    let cpu = Network::new(spec.clone(), &weights, tract_cpu).unwrap();
    let fallback = Network::new(
        spec,
        &weights,
        NetworkOptions {
            device: Device::Cuda {
                fallback_to_cpu: true,
            },
            ..Default::default()
        },
    )
    .unwrap();
    if fallback.device() != Device::Cpu {
        return; // a real GPU: the numbers are checked by the CPU tests only
    }
    let shape = cpu.input_shape();
    let input: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| (i % 17) as f32 / 17.0)
        .collect();
    assert_eq!(
        cpu.run(&shape, &input).unwrap(),
        fallback.run(&shape, &input).unwrap()
    );
}
