//! `pnag infer`: run a subnet on a NumPy image batch and write its logits.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pnag_cli::npy;
use pnag_runtime::{Arch, Network, NetworkOptions, NetworkSpec, Weights};

use crate::args::{parse_threads, ArchParser, NetArgs};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("weights_source").required(true).args(["weights", "seed"])))]
pub struct InferArgs {
    /// PNAG arch string.
    #[arg(value_parser = ArchParser, long)]
    arch: Arch,
    #[command(flatten)]
    net: NetArgs,
    /// Subnet weights: safetensors with OFA state-dict names.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Use seeded synthetic weights instead (UNTRAINED: the logits mean nothing).
    #[arg(long)]
    seed: Option<u64>,
    /// Input images: float32 .npy of shape [N, 3, R, R], normalized.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the logits: float32 .npy of shape [N, 1000].
    #[arg(long)]
    output: PathBuf,
    /// Worker threads (1..=256, as in targets files).
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    threads: usize,
}

pub fn infer(a: InferArgs) -> Result<()> {
    // Outputs are checked before any work: never a device, link or one of the inputs.
    pnag_runtime::files::check_output(&a.output)?;
    let inputs: Vec<&std::path::Path> = [Some(a.input.as_path()), a.weights.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    pnag_runtime::files::check_not_input(&a.output, &inputs)?;
    let spec = NetworkSpec::new(a.arch, a.net.width, a.net.resolution)?;
    let input = npy::read_f32(&a.input)?;
    let r = spec.resolution;
    if input.shape.len() != 4 || input.shape[1..] != [3, r, r] || input.shape[0] == 0 {
        return Err(npy::NpyError::Shape {
            path: a.input.clone(),
            expected: format!("[N, 3, {r}, {r}]"),
            found: input.shape,
        }
        .into());
    }
    // NaN and infinities propagate through the network as in PyTorch; say so up front.
    let non_finite = input.data.iter().filter(|v| !v.is_finite()).count();
    if non_finite > 0 {
        let first = input.data.iter().position(|v| !v.is_finite()).unwrap_or(0);
        eprintln!(
            "warning: `{}` holds {non_finite} NaN / infinite value(s) (first at flat index {first}): \
             they propagate, so the affected images' logits will not be finite",
            a.input.display()
        );
    }
    let weights = match (&a.weights, a.seed) {
        (Some(path), _) => Weights::load(path, &spec)?,
        (None, Some(seed)) => {
            eprintln!("note: using synthetic UNTRAINED weights (seed {seed}); the logits are not predictions");
            Weights::synthetic(&spec, seed)
        }
        (None, None) => bail!("give --weights FILE.safetensors or --seed N"),
    };
    let net = Network::new(
        spec,
        &weights,
        NetworkOptions {
            batch: input.shape[0],
            threads: a.threads,
            ..Default::default()
        },
    )?;
    let logits = net.run(&input.shape, &input.data)?;
    // Finite weights and inputs can still overflow float32 inside the network (weights of
    // 1e38, say): the logits are then NaN or infinite, which is reported like bad inputs.
    let bad_logits = logits.data.iter().filter(|v| !v.is_finite()).count();
    if bad_logits > 0 && non_finite == 0 {
        let largest = weights
            .tensors()
            .flat_map(|(_, t)| t.data.iter())
            .fold(0f32, |m, v| m.max(v.abs()));
        eprintln!(
            "warning: {bad_logits} of {} logits are NaN or infinite although every input value \
             is finite: the network overflows float32 (largest |weight| {largest:e}); these \
             weights are not a trained network's",
            logits.data.len()
        );
    }
    npy::write_f32(&a.output, &[logits.batch, 1000], &logits.data)?;
    eprintln!(
        "wrote logits [{}, 1000] to {}",
        logits.batch,
        a.output.display()
    );
    Ok(())
}
