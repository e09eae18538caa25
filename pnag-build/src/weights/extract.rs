//! Extracts one subnet's weights from an OFA MobileNetV3 supernet checkpoint
//! (safetensors of `OFAMobileNetV3.state_dict()`), exactly as OFA's
//! `set_active_subnet` + `get_active_subnet(preserve_weight=True)` do:
//!
//! - depth: stage `s`, layer `l` of the subnet is supernet block `1 + 4s + l`;
//! - expand ratio: the first `make_divisible(in * e, 8)` channels of the
//!   inverted bottleneck, depthwise conv, their batch norms, the SE reduce /
//!   expand (SE width `make_divisible(mid / 4, 8)`) and the point-linear input;
//! - kernel size: the centre crop of the 7x7 kernel, passed through the learned
//!   `7to5_matrix` (and then `5to3_matrix`) as `F.linear(crop, M)`;
//! - stem, first block and head: copied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pnag_runtime::arch::{make_divisible, Arch, Width};
use pnag_runtime::spec::NetworkSpec;
use pnag_runtime::weights::{
    expected_tensors, parse_safetensors, read_f32, serialize_f32, synthetic_tensor, WeightTensor,
};
use pnag_runtime::{RuntimeError, Weights, WeightsSource};
use safetensors::SafeTensors;

/// The largest kernel and expand ratio of the supernet.
const MAX_KERNEL: usize = 7;
const MAX_EXPAND: usize = 6;

/// Why a supernet checkpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The checkpoint could not be read.
    #[error("supernet checkpoint `{path}`: {source}")]
    Io {
        /// The checkpoint.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The checkpoint is the other width's supernet.
    #[error("supernet {origin}: `first_conv.conv.weight` has {found} output channels, so this is not the w{expected} supernet ({hint})")]
    Width {
        /// The checkpoint.
        origin: String,
        /// The width asked for.
        expected: Width,
        /// Output channels of its stem.
        found: usize,
        /// Which width it likely is.
        hint: String,
    },
    #[error("{origin} is a subnet checkpoint (it has `{example}`), not an OFA supernet: use it directly with `pnag infer --weights`")]
    /// A subnet checkpoint was given where a supernet is needed.
    SubnetCheckpoint {
        /// The checkpoint.
        origin: String,
        /// A tensor name that shows it.
        example: String,
    },
    /// Tensors are missing, misshapen or not f32.
    #[error(transparent)]
    Weights(#[from] RuntimeError),
    /// A PyTorch checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(#[from] crate::weights::checkpoint::CheckpointError),
}

/// Names and shapes of every tensor of OFA's `ofa_mbv3_d234_e346_k357_w{width}` state dict
/// (without `num_batches_tracked`).
pub fn supernet_tensors(width: Width) -> Vec<(String, Vec<usize>)> {
    // Blocks 0, stem and head are those of any subnet; take them from the largest.
    let largest = NetworkSpec::new(Arch::largest(), width, 224).expect("valid resolution");
    let mut out: Vec<(String, Vec<usize>)> = expected_tensors(&largest)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("blocks.") || n.starts_with("blocks.0."))
        .collect();
    let head_at = out
        .iter()
        .position(|(n, _)| n.starts_with("final_expand_layer"))
        .expect("head present");
    let mut blocks = Vec::new();
    for b in largest.blocks.iter().filter(|b| b.slot.is_some()) {
        let p = format!("blocks.{}.conv", b.index);
        let mid = make_divisible((b.in_channels * MAX_EXPAND) as f64, 8);
        let bn = |blocks: &mut Vec<(String, Vec<usize>)>, prefix: &str, c: usize| {
            for stat in ["weight", "bias", "running_mean", "running_var"] {
                blocks.push((format!("{prefix}.bn.bn.{stat}"), vec![c]));
            }
        };
        blocks.push((
            format!("{p}.inverted_bottleneck.conv.conv.weight"),
            vec![mid, b.in_channels, 1, 1],
        ));
        bn(&mut blocks, &format!("{p}.inverted_bottleneck"), mid);
        blocks.push((format!("{p}.depth_conv.conv.5to3_matrix"), vec![9, 9]));
        blocks.push((format!("{p}.depth_conv.conv.7to5_matrix"), vec![25, 25]));
        blocks.push((
            format!("{p}.depth_conv.conv.conv.weight"),
            vec![mid, 1, MAX_KERNEL, MAX_KERNEL],
        ));
        bn(&mut blocks, &format!("{p}.depth_conv"), mid);
        if b.se_channels.is_some() {
            let se = make_divisible((mid / 4) as f64, 8);
            blocks.push((
                format!("{p}.depth_conv.se.fc.reduce.weight"),
                vec![se, mid, 1, 1],
            ));
            blocks.push((format!("{p}.depth_conv.se.fc.reduce.bias"), vec![se]));
            blocks.push((
                format!("{p}.depth_conv.se.fc.expand.weight"),
                vec![mid, se, 1, 1],
            ));
            blocks.push((format!("{p}.depth_conv.se.fc.expand.bias"), vec![mid]));
        }
        blocks.push((
            format!("{p}.point_linear.conv.conv.weight"),
            vec![b.out_channels, mid, 1, 1],
        ));
        bn(&mut blocks, &format!("{p}.point_linear"), b.out_channels);
    }
    out.splice(head_at..head_at, blocks);
    out
}

/// Seeded synthetic (**untrained**) supernet, serialized as safetensors: the
/// same formula as `Weights::synthetic`, keyed by supernet tensor names. For
/// tests and benchmarks; `make_extract_fixtures.py` builds the same in PyTorch.
pub fn synthetic_supernet(width: Width, seed: u64) -> Vec<u8> {
    let tensors: Vec<(String, WeightTensor)> = supernet_tensors(width)
        .into_iter()
        .map(|(name, shape)| {
            let data = synthetic_tensor(&name, &shape, seed);
            (name, WeightTensor { shape, data })
        })
        .collect();
    serialize_f32(tensors.iter().map(|(n, t)| (n.as_str(), t)), None)
}

/// `t[:d0, :d1, ...]` for the leading dims in `dims` (the rest kept whole).
fn prefix_slice(t: &WeightTensor, dims: &[usize]) -> WeightTensor {
    let mut shape = t.shape.clone();
    shape[..dims.len()].copy_from_slice(dims);
    let rank = shape.len();
    let mut src_strides = vec![1; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        src_strides[d] = src_strides[d + 1] * t.shape[d + 1];
    }
    let count: usize = shape.iter().product();
    let mut data = Vec::with_capacity(count);
    let mut idx = vec![0usize; rank];
    for _ in 0..count {
        data.push(
            t.data[idx
                .iter()
                .zip(&src_strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()],
        );
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    WeightTensor { shape, data }
}

/// OFA's `DynamicSeparableConv2d.get_active_filter`: depthwise kernel `[C,1,7,7]`
/// to `[C,1,k,k]` through the learned transform matrices.
fn active_kernel(
    w7: &WeightTensor,
    k: usize,
    matrices: &BTreeMap<usize, WeightTensor>,
) -> WeightTensor {
    let c = w7.shape[0];
    let (mut src_k, mut cur) = (MAX_KERNEL, w7.data.clone());
    while src_k > k {
        let (dst_k, off) = (src_k - 2, 1);
        let m = &matrices[&src_k]; // [dst², dst²], applied as x · Mᵀ
        let n = dst_k * dst_k;
        let mut next = vec![0f32; c * n];
        let mut crop = vec![0f32; n];
        for ch in 0..c {
            for y in 0..dst_k {
                for x in 0..dst_k {
                    crop[y * dst_k + x] = cur[ch * src_k * src_k + (y + off) * src_k + (x + off)];
                }
            }
            for j in 0..n {
                next[ch * n + j] = (0..n).map(|i| crop[i] * m.data[j * n + i]).sum();
            }
        }
        cur = next;
        src_k = dst_k;
    }
    WeightTensor {
        shape: vec![c, 1, k, k],
        data: cur,
    }
}

/// Reads a supernet checkpoint and extracts the subnet `arch` at `width`.
pub fn extract_file(path: &Path, width: Width, arch: Arch) -> Result<Weights, ExtractError> {
    let bytes = pnag_runtime::files::read_input(path, pnag_runtime::files::MAX_WEIGHTS_BYTES)
        .map_err(|source| ExtractError::Io {
            path: path.into(),
            source,
        })?;
    extract(&bytes, &format!("`{}`", path.display()), width, arch)
}

/// Extracts the subnet `arch` from supernet checkpoint bytes — safetensors or
/// a PyTorch `torch.save` file, either format, detected by content
/// ([`crate::weights::checkpoint`]); `origin` names them in errors.
pub fn extract(
    bytes: &[u8],
    origin: &str,
    width: Width,
    arch: Arch,
) -> Result<Weights, ExtractError> {
    let converted;
    let bytes = match crate::weights::checkpoint::detect(bytes) {
        crate::weights::checkpoint::Format::Safetensors => bytes,
        _ => {
            // Same tensors, same code path: the state dict as in-memory safetensors.
            let tensors = crate::weights::checkpoint::read_state_dict(bytes, origin)?;
            converted = serialize_f32(tensors.iter().map(|(n, t)| (n.as_str(), t)), None);
            &converted
        }
    };
    let st = parse_safetensors(bytes, origin)?;
    check_width(&st, origin, width)?;
    // Every supernet tensor must be there with its shape, whatever this subnet uses.
    let manifest = supernet_tensors(width);
    let present: std::collections::BTreeSet<&str> =
        st.names().into_iter().map(String::as_str).collect();
    let missing: Vec<String> = manifest
        .iter()
        .filter(|(n, _)| !present.contains(n.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    if !missing.is_empty() {
        // A subnet's depthwise weight is `…depth_conv.conv.weight`; a supernet's is `…depth_conv.conv.conv.weight`.
        let subnet_name = present
            .iter()
            .find(|n| n.starts_with("blocks.1.") && n.ends_with(".depth_conv.conv.weight"));
        if let Some(example) = subnet_name {
            return Err(ExtractError::SubnetCheckpoint {
                origin: origin.into(),
                example: example.to_string(),
            });
        }
        // Extra tensors (e.g. optimizer state) are harmless; missing ones are all listed.
        return Err(RuntimeError::MissingTensors {
            origin: origin.into(),
            names: missing,
        }
        .into());
    }
    let shapes: BTreeMap<&str, &[usize]> = manifest
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let read = |name: &str| read_f32(&st, origin, name, shapes[name]);

    let spec = NetworkSpec::new(arch, width, 224).expect("valid resolution");
    let mut out = BTreeMap::new();
    for (name, _) in expected_tensors(&spec) {
        let block = name
            .strip_prefix("blocks.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(b, _)| b.parse::<usize>().ok());
        let Some((b, slot)) = block
            .map(|i| &spec.blocks[i])
            .and_then(|b| b.slot.map(|s| (b, s)))
        else {
            out.insert(name.clone(), read(&name)?); // stem, first block, head: copied
            continue;
        };
        let local = name
            .split_once(".conv.")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let sup = |rest: &str| format!("blocks.{}.conv.{rest}", 1 + slot);
        let mid = b.mid_channels;
        let tensor = match local {
            "inverted_bottleneck.conv.weight" => prefix_slice(
                &read(&sup("inverted_bottleneck.conv.conv.weight"))?,
                &[mid, b.in_channels],
            ),
            "depth_conv.conv.weight" => {
                let w7 = prefix_slice(&read(&sup("depth_conv.conv.conv.weight"))?, &[mid]);
                let mut mats = BTreeMap::new();
                mats.insert(7, read(&sup("depth_conv.conv.7to5_matrix"))?);
                mats.insert(5, read(&sup("depth_conv.conv.5to3_matrix"))?);
                active_kernel(&w7, b.kernel, &mats)
            }
            "point_linear.conv.weight" => prefix_slice(
                &read(&sup("point_linear.conv.conv.weight"))?,
                &[b.out_channels, mid],
            ),
            se if se.starts_with("depth_conv.se.fc.") => {
                let s = b.se_channels.expect("SE tensor only in SE blocks");
                let dims: &[usize] = match se {
                    "depth_conv.se.fc.reduce.weight" => &[s, mid],
                    "depth_conv.se.fc.reduce.bias" => &[s],
                    "depth_conv.se.fc.expand.weight" => &[mid, s],
                    _ => &[mid],
                };
                prefix_slice(&read(&sup(se))?, dims)
            }
            bn => {
                // `<layer>.bn.<stat>` ← `<layer>.bn.bn.<stat>`, first channels.
                let (layer, stat) = bn.split_once(".bn.").expect("batch-norm tensor");
                let c = if layer == "point_linear" {
                    b.out_channels
                } else {
                    mid
                };
                prefix_slice(&read(&sup(&format!("{layer}.bn.bn.{stat}")))?, &[c])
            }
        };
        out.insert(name, tensor);
    }
    let source = WeightsSource::Extracted {
        supernet: origin.to_string(),
        arch: arch.to_string(),
    };
    Ok(Weights::from_tensors(out, source, &spec)?)
}

fn check_width(st: &SafeTensors<'_>, origin: &str, width: Width) -> Result<(), ExtractError> {
    let expected = width.channels()[0];
    if let Ok(view) = st.tensor("first_conv.conv.weight") {
        let found = view.shape().first().copied().unwrap_or(0);
        if found != expected {
            let hint = Width::ALL
                .iter()
                .find(|w| w.channels()[0] == found)
                .map(|w| format!("it looks like w{w}; pass --width {w}"))
                .unwrap_or_else(|| "no OFA MobileNetV3 width has that stem".into());
            return Err(ExtractError::Width {
                origin: origin.into(),
                expected: width,
                found,
                hint,
            });
        }
    }
    Ok(())
}
