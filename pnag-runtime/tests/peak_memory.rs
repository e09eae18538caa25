//! The peak-memory model ([`pnag_runtime::memory::peak_activation_bytes`]) against what a
//! counting allocator sees during `Network::run`: the high-water mark of live heap bytes
//! above the live bytes after loading and warm-up. `pnag bench memory` does the same over
//! 52 subnets × 2 resolutions × 1 and 2 threads (docs/models/memory).

use pnag_runtime::memory::{peak_activation_bytes, CountingAllocator, RunShape};
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Simd, Weights, Width};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

#[test]
fn predicted_peak_is_within_two_percent_of_the_measured_one() {
    let middle =
        "3,3,3,3,3:5,5,5,0,5,5,5,0,5,5,5,0,5,5,5,0,5,5,5,0:4,4,4,0,4,4,4,0,4,4,4,0,4,4,4,0,4,4,4,0";
    for arch in [Arch::smallest(), middle.parse().unwrap(), Arch::largest()] {
        for resolution in [160, 224] {
            let spec = NetworkSpec::new(arch, Width::W1_2, resolution).unwrap();
            let weights = Weights::synthetic(&spec, 0);
            let net = Network::new(spec.clone(), &weights, NetworkOptions::default()).unwrap();
            let shape = net.input_shape();
            let input = vec![0.25f32; shape.iter().product()];
            for _ in 0..3 {
                net.run(&shape, &input).unwrap();
            }
            let base = ALLOCATOR.reset_peak();
            let logits = net.run(&shape, &input).unwrap();
            let measured = (ALLOCATOR.peak() - base) as f64;
            drop(logits);
            let run = RunShape {
                batch: 1,
                threads: 1,
                lanes: Simd::Best.path().lanes(),
            };
            let predicted = peak_activation_bytes(&spec, run) as f64;
            let error = (predicted - measured) / measured;
            eprintln!("{arch} at {resolution} px: predicted {predicted} B, measured {measured} B ({:+.2} %)", 100.0 * error);
            assert!(
                error.abs() < 0.02,
                "{arch} at {resolution} px: predicted {predicted} B, measured {measured} B"
            );
        }
    }
}
