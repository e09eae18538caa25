//! The macros expand to the same values the runtime parser gives, and reject
//! bad input at compile time with a message at the literal (trybuild).

use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights, Width};

#[test]
fn arch_macro_equals_runtime_parse() {
    let tutorial = pnag_macros::arch!(
        "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0"
    );
    assert_eq!(
        tutorial,
        Arch::parse("2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0").unwrap()
    );
    let largest = pnag_macros::arch!(
        "4,4,4,4,4:7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7:6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6"
    );
    assert_eq!(largest, Arch::largest());
}

// An explicit arch with synthetic weights: no build.rs needed.
pnag_macros::network!(mod tutorial_net, arch = "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0", width = 1.2, resolution = 160, seed = 7);

#[test]
fn network_macro_hardcodes_the_runtime_plan() {
    let arch = Arch::parse(tutorial_net::ARCH).unwrap();
    let spec = NetworkSpec::new(arch, Width::W1_2, 160).unwrap();
    assert_eq!(tutorial_net::spec(), spec);
    assert_eq!(
        (
            &tutorial_net::DEPTHS,
            &tutorial_net::KERNELS,
            &tutorial_net::EXPANDS
        ),
        (arch.depths(), arch.kernels(), arch.expands())
    );
    assert_eq!(
        (tutorial_net::MACS, tutorial_net::PARAMS),
        (spec.macs(), spec.params())
    );
    const { assert!(tutorial_net::UNTRAINED) };
    assert_eq!(tutorial_net::BLOCKS.len(), spec.blocks.len());
    assert_eq!(
        tutorial_net::BLOCKS[5].kernel,
        7,
        "stage 3's first layer is 7x7 in the arch string"
    );
}

#[test]
fn network_macro_runs_the_same_numbers_as_the_runtime_graph() {
    let options = NetworkOptions::default();
    let ours = tutorial_net::build(options).unwrap();
    let spec = tutorial_net::spec();
    let reference = Network::new(spec.clone(), &Weights::synthetic(&spec, 7), options).unwrap();
    let shape = ours.input_shape();
    let input: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let (a, b) = (
        ours.run(&shape, &input).unwrap(),
        reference.run(&shape, &input).unwrap(),
    );
    assert_eq!(
        a, b,
        "the unrolled builder and the spec-driven builder must build the same graph"
    );
    assert!(ours.weights_source().is_untrained());
}

#[test]
fn bad_macro_input_fails_to_compile() {
    // Without OUT_DIR (no build.rs) a budget name cannot be resolved.
    std::env::remove_var("OUT_DIR");
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
    // With a selection written by pnag-build (a fixture), an unknown budget name lists the known ones.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/out");
    std::env::set_var("OUT_DIR", fixture);
    trybuild::TestCases::new().compile_fail("tests/ui-network/*.rs");
}
