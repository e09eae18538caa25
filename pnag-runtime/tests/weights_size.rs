//! `weights::embedded_bytes` is the exact size of the file a build embeds, f32 and f16.

use pnag_runtime::weights::{embedded_bytes, expected_tensors, tensor_elements};
use pnag_runtime::{Arch, NetworkSpec, Weights, Width};

#[test]
fn embedded_bytes_is_the_serialized_files_size() {
    let middle: Arch =
        "3,4,2,3,4:3,5,7,0,5,5,5,5,3,3,0,0,7,5,3,0,5,7,3,3:4,6,3,0,3,4,6,4,6,3,0,0,4,4,6,0,3,6,4,6"
            .parse()
            .unwrap();
    for arch in [Arch::smallest(), middle, Arch::largest()] {
        for (width, resolution) in [(Width::W1_2, 224), (Width::W1_0, 160)] {
            let spec = NetworkSpec::new(arch, width, resolution).unwrap();
            let listed: usize = expected_tensors(&spec)
                .iter()
                .map(|(_, shape)| shape.iter().product::<usize>())
                .sum();
            assert_eq!(tensor_elements(&spec), listed as u64, "{arch}");
            for seed in [0, 12345] {
                let weights = Weights::synthetic(&spec, seed);
                let origin = weights.source.origin();
                let f32_file = weights.to_safetensors().len() as u64;
                let f16_file = weights.to_safetensors_f16().unwrap().len() as u64;
                assert_eq!(
                    embedded_bytes(&spec, false, &origin),
                    f32_file,
                    "{arch} f32"
                );
                assert_eq!(embedded_bytes(&spec, true, &origin), f16_file, "{arch} f16");
            }
        }
    }
}
