//! The size baseline for `scripts/ci/deploy-proof.sh`: the same tract runtime,
//! but the arch is read at run time and the weights from a file (nothing embedded).
//!
//! `plain_tract ARCH [WEIGHTS.safetensors]` (synthetic UNTRAINED weights without a file).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let arch = pnag_runtime::Arch::parse(&args.next().ok_or("usage: plain_tract ARCH [WEIGHTS]")?)?;
    let spec = pnag_runtime::NetworkSpec::new(arch, pnag_runtime::Width::W1_2, 224)?;
    let weights = match args.next() {
        Some(path) => pnag_runtime::Weights::load(path, &spec)?,
        None => pnag_runtime::Weights::synthetic(&spec, 0),
    };
    let net = pnag_runtime::Network::new(spec, &weights, Default::default())?;
    let shape = net.input_shape();
    let logits = net.run(&shape, &vec![0.0; shape.iter().product()])?;
    println!(
        "top-1 class {} ({})",
        logits.top_k(0, 1)[0].0,
        weights.source
    );
    Ok(())
}
