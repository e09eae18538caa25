//! Where the time of one subnet goes in `pnag bench engines`: ours per node
//! (timed around each tract node's eval) and, when onnxruntime runs, ORT's
//! own profiler per graph node, both grouped into the same layer kinds. The
//! two are profiled in alternating rounds and each node's median over rounds
//! is kept, so a slow spell of the VM does not land on one engine only.
//!
//! The two engines split the work differently: we fuse bias, activation,
//! residual add and the squeeze-excite scale into the convs; onnxruntime's
//! optimized graph fuses ReLU into its NCHWc convs but runs h-swish, the
//! residual adds and the squeeze-excite multiply as nodes of their own, and
//! adds NCHW ⇄ NCHWc layout reorders. [`ort_layer_kind`] counts each
//! unfused activation and residual add with the conv it follows, as ours
//! does; the squeeze-excite multiply stays under squeeze-excite on ORT's
//! side (ours is inside the next 1x1 conv).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use pnag_cli::profile::time_network;
use pnag_runtime::{BlockSpec, Network, NetworkOptions, NetworkSpec};
use serde::Serialize;

use super::python::{NodeTimes, OrtNode};
use crate::bench::common::fmt_opt;
use pnag_build::stats::median;

/// Layer kind of a tract node, from the OFA-derived node names the graph
/// builder gives and the op that runs it. Our 1x1 op (and tract's matmul, in
/// the plain graph) fuse activations and residual adds, so those count as 1x1 conv time.
pub fn layer_kind(spec: &NetworkSpec, node: &str, op: &str) -> String {
    match block_of(spec, node) {
        Some(_) if node.contains(".se.") => "squeeze-excite".into(),
        Some(b) if op.starts_with("DepthWise") || node.contains("depth_conv.conv") => {
            depthwise_kind(b)
        }
        Some(_)
            if op.starts_with("OptMatMul")
                || op.starts_with("PnagPointwise")
                || node.contains("einsum") =>
        {
            ONE_BY_ONE.into()
        }
        Some(_) if node.contains(".act") => "activations (not fused)".into(),
        Some(_) if node.contains("residual") => "residual add (not fused)".into(),
        Some(_) => "other block ops".into(),
        None if node.starts_with("first_conv") => "stem conv 3x3".into(),
        None => "head (final expand, pool, feature mix, classifier)".into(),
    }
}

/// The block a node of `blocks.N. …` belongs to.
fn block_of<'a>(spec: &'a NetworkSpec, name: &str) -> Option<&'a BlockSpec> {
    let index = name.strip_prefix("blocks.")?.split('.').next()?;
    spec.blocks.get(index.parse::<usize>().ok()?)
}

fn depthwise_kind(b: &BlockSpec) -> String {
    format!("depthwise {}x{} stride {}", b.kernel, b.kernel, b.stride)
}

const ONE_BY_ONE: &str = "1x1 conv (fused bias, act, residual)";

#[derive(Debug, Serialize)]
struct BreakdownRow {
    kind: String,
    ms: f64,
    share: f64,
    gmacs: Option<f64>,
}

#[derive(Debug, Serialize)]
struct NodeRow {
    node: String,
    op: String,
    ms: f64,
    share: f64,
}

#[derive(Debug, Serialize)]
pub struct Breakdown {
    /// Median of the plain runs between the profiled ones.
    unprofiled_ms: f64,
    kinds: Vec<BreakdownRow>,
    /// Every node, slowest first (the markdown shows the first [`TOP_NODES`]).
    nodes: Vec<NodeRow>,
}

/// Nodes listed in the per-node table.
const TOP_NODES: usize = 12;

/// Each node's median over rounds (a node missing from a round counts as 0 there).
pub fn median_times(rounds: &[NodeTimes]) -> NodeTimes {
    let mut all: BTreeMap<&(String, String), Vec<f64>> = BTreeMap::new();
    for round in rounds {
        for (key, &ms) in round {
            all.entry(key).or_default().push(ms);
        }
    }
    all.into_iter()
        .map(|(key, mut v)| {
            v.resize(rounds.len(), 0.0);
            v.sort_by(f64::total_cmp);
            (key.clone(), v[v.len() / 2])
        })
        .collect()
}

/// Our network built once, timed node by node in blocks of runs.
pub struct OursProfiler {
    net: Network,
}

impl OursProfiler {
    pub fn new(spec: &NetworkSpec, threads: usize) -> Result<Self> {
        let options = NetworkOptions {
            batch: 1,
            threads,
            ..Default::default()
        };
        let net = Network::synthetic(spec.clone(), 0, options)?;
        Ok(OursProfiler { net })
    }

    /// Each node's mean over `runs` profiled runs, and the median ms of
    /// `runs` plain runs timed first (after `warmup` untimed ones).
    pub fn block(&self, warmup: usize, runs: usize, input: &[f32]) -> Result<(NodeTimes, f64)> {
        let shape = self.net.input_shape();
        let plain = time_network(&self.net, warmup, runs, &mut || {})?;
        let runs = runs.max(1);
        let mut by_node: BTreeMap<(String, String), Duration> = BTreeMap::new();
        for _ in 0..runs {
            self.net.run_profiled(&shape, input, &mut |node, op, d| {
                *by_node
                    .entry((node.to_string(), op.to_string()))
                    .or_default() += d;
            })?;
        }
        let times = by_node
            .into_iter()
            .map(|(key, d)| (key, d.as_secs_f64() * 1e3 / runs as f64))
            .collect();
        Ok((times, plain.median_ms))
    }
}

impl Breakdown {
    /// Our node times grouped by [`layer_kind`], with GMAC/s for the conv
    /// kinds; `unprofiled` are the plain runs' times.
    pub fn new(spec: &NetworkSpec, times: &NodeTimes, unprofiled: Vec<f64>) -> Self {
        let mut macs: BTreeMap<String, u64> = BTreeMap::new();
        for b in &spec.blocks {
            *macs.entry(depthwise_kind(b)).or_default() +=
                (b.mid_channels * b.kernel * b.kernel * b.out_size * b.out_size) as u64;
            *macs.entry(ONE_BY_ONE.into()).or_default() += (b
                .expand_channels
                .map_or(0, |m| b.in_channels * m * b.in_size * b.in_size)
                + b.mid_channels * b.out_channels * b.out_size * b.out_size)
                as u64;
        }
        let (by_kind, total) = sum_by_kind(times, |node, op| layer_kind(spec, node, op));
        let mut kinds: Vec<BreakdownRow> = by_kind
            .into_iter()
            .map(|(kind, ms)| BreakdownRow {
                share: ms / total,
                gmacs: macs.get(&kind).map(|&m| m as f64 / (ms * 1e-3) / 1e9),
                kind,
                ms,
            })
            .collect();
        kinds.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        let mut nodes: Vec<NodeRow> = times
            .iter()
            .map(|((node, op), &ms)| NodeRow {
                node: node.clone(),
                op: op.clone(),
                ms,
                share: ms / total,
            })
            .collect();
        nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        Breakdown {
            unprofiled_ms: median(&unprofiled),
            kinds,
            nodes,
        }
    }
}

/// Our layer kind for an onnxruntime node of OFA's exported subnet. ORT
/// names nodes after PyTorch's modules (`/blocks.1/conv/depth_conv/act/Relu_output_0_nchwc`).
pub fn ort_layer_kind(spec: &NetworkSpec, node: &str, op: &str) -> String {
    if op.starts_with("Reorder") {
        return REORDERS.into();
    }
    let name = node.trim_start_matches('/').replace('/', ".");
    match block_of(spec, &name) {
        Some(_) if name.contains(".se.") => "squeeze-excite".into(),
        Some(b) if name.contains("depth_conv") => depthwise_kind(b),
        // The 1x1 convs, their h-swish nodes and the block's residual Add.
        Some(_)
            if name.contains("inverted_bottleneck")
                || name.contains("point_linear")
                || op == "Add" =>
        {
            ONE_BY_ONE.into()
        }
        Some(_) => "other block ops".into(),
        None if name.starts_with("first_conv") => "stem conv 3x3".into(),
        None => "head (final expand, pool, feature mix, classifier)".into(),
    }
}

const REORDERS: &str = "NCHW ⇄ NCHWc reorders (onnxruntime only)";

/// One layer kind in both engines.
#[derive(Debug, Serialize)]
pub struct OrtKindRow {
    pub kind: String,
    pub ms: f64,
    pub share: f64,
}

/// onnxruntime's profile of the breakdown subnet, grouped like ours.
#[derive(Debug, Serialize)]
pub struct OrtBreakdown {
    /// Median of the unprofiled runs (ORT's profiler adds per-node overhead).
    pub unprofiled_ms: f64,
    pub kinds: Vec<OrtKindRow>,
    pub nodes: Vec<OrtNode>,
}

impl OrtBreakdown {
    /// ORT's node times (medians over rounds) grouped by [`ort_layer_kind`];
    /// `unprofiled` are the plain runs' times.
    pub fn new(spec: &NetworkSpec, times: &NodeTimes, unprofiled: Vec<f64>) -> Self {
        let (by_kind, total) = sum_by_kind(times, |node, op| ort_layer_kind(spec, node, op));
        let kinds = by_kind
            .into_iter()
            .map(|(kind, ms)| OrtKindRow {
                kind,
                ms,
                share: ms / total,
            })
            .collect();
        let mut nodes: Vec<OrtNode> = times
            .iter()
            .map(|((node, op), &ms)| OrtNode {
                node: node.clone(),
                op: op.clone(),
                ms,
            })
            .collect();
        nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        OrtBreakdown {
            unprofiled_ms: median(&unprofiled),
            kinds,
            nodes,
        }
    }
}

/// Node times summed per layer kind (`kind` classifies a node and op), and their total.
fn sum_by_kind(
    times: &NodeTimes,
    kind: impl Fn(&str, &str) -> String,
) -> (BTreeMap<String, f64>, f64) {
    let mut by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for ((node, op), ms) in times {
        *by_kind.entry(kind(node, op)).or_default() += ms;
    }
    let total = by_kind.values().sum();
    (by_kind, total)
}

/// The report's breakdown section: per layer kind (ours beside onnxruntime's
/// when profiled), the FMA peak, our slowest nodes.
pub fn markdown(
    arch: &str,
    threads: usize,
    rounds: usize,
    breakdown: &Breakdown,
    ort: Option<&OrtBreakdown>,
    peak: Option<f64>,
) -> String {
    let threads = match threads {
        1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    let mut s = String::new();
    let ours_sum: f64 = breakdown.kinds.iter().map(|k| k.ms).sum();
    match ort {
        None => {
            s.push_str(&format!("\nWhere our time goes ({arch} arch, {threads}, per-node timing, medians over {rounds} rounds; the nodes sum to {ours_sum:.2} ms against {:.2} ms for unprofiled runs):\n\n| layer kind | ms | share | GMAC/s |\n|---|---:|---:|---:|\n", breakdown.unprofiled_ms));
            for b in &breakdown.kinds {
                s.push_str(&format!(
                    "| {} | {:.2} | {:.1} % | {} |\n",
                    b.kind,
                    b.ms,
                    b.share * 100.0,
                    fmt_opt(b.gmacs, 1)
                ));
            }
        }
        Some(o) => {
            let ort_sum: f64 = o.kinds.iter().map(|k| k.ms).sum();
            s.push_str(&format!(
                "\nWhere the time goes, ours vs onnxruntime ({arch} arch, {threads}; per-node timing, ours and then \
                 onnxruntime's profiler in {rounds} alternating rounds, each node's median over rounds). Our nodes sum to \
                 {ours_sum:.2} ms (unprofiled runs {:.2} ms), onnxruntime's to {ort_sum:.2} ms (unprofiled {:.2} ms). \
                 onnxruntime's unfused activations and residual adds count with the conv they follow, as in ours; its \
                 squeeze-excite multiply stays under squeeze-excite (ours applies the scale inside the next 1x1 conv):\n\n\
                 | layer kind | ours ms | ours share | ours GMAC/s | ORT ms | ORT share | ours / ORT |\n|---|---:|---:|---:|---:|---:|---:|\n",
                breakdown.unprofiled_ms, o.unprofiled_ms
            ));
            let ort_kind = |kind: &str| o.kinds.iter().find(|k| k.kind == kind);
            for b in &breakdown.kinds {
                let theirs = ort_kind(&b.kind);
                s.push_str(&format!(
                    "| {} | {:.2} | {:.1} % | {} | {} | {} | {} |\n",
                    b.kind,
                    b.ms,
                    b.share * 100.0,
                    fmt_opt(b.gmacs, 1),
                    fmt_opt(theirs.map(|k| k.ms), 2),
                    fmt_opt(theirs.map(|k| k.share * 100.0), 1)
                        + if theirs.is_some() { " %" } else { "" },
                    fmt_opt(theirs.map(|k| b.ms / k.ms), 2),
                ));
            }
            for k in o
                .kinds
                .iter()
                .filter(|k| !breakdown.kinds.iter().any(|b| b.kind == k.kind))
            {
                s.push_str(&format!(
                    "| {} | — | — | — | {:.2} | {:.1} % | — |\n",
                    k.kind,
                    k.ms,
                    k.share * 100.0
                ));
            }
        }
    }
    if let Some(peak) = peak {
        s.push_str(&format!(
            "\nOne core's measured FMA peak (12 independent AVX2 FMA chains): {peak:.1} GMAC/s.\n"
        ));
    }
    s.push_str(&format!("\nOur slowest {TOP_NODES} nodes (same run):\n\n| node | tract op | ms | share |\n|---|---|---:|---:|\n"));
    for n in breakdown.nodes.iter().take(TOP_NODES) {
        s.push_str(&format!(
            "| `{}` | {} | {:.2} | {:.1} % |\n",
            n.node,
            n.op,
            n.ms,
            n.share * 100.0
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnag_runtime::{Arch, Width};

    /// Node names as onnxruntime 1.2x names the optimized graph of OFA's
    /// exported smallest subnet (from its profiler), and ours.
    #[test]
    fn both_engines_nodes_fall_into_the_same_kinds() {
        let spec = NetworkSpec::new(Arch::smallest(), Width::W1_2, 224).unwrap();
        let ort = |node: &str, op: &str| ort_layer_kind(&spec, node, op);
        let ours = |node: &str, op: &str| layer_kind(&spec, node, op);
        let dw_s2 = "depthwise 3x3 stride 2";
        assert_eq!(
            ort("/blocks.1/conv/depth_conv/act/Relu_output_0_nchwc", "Conv"),
            dw_s2
        );
        assert_eq!(
            ours("blocks.1.conv.depth_conv.conv", "PnagDepthwise"),
            dw_s2
        );
        assert_eq!(
            ort("/blocks.8/conv/depth_conv/act/Mul", "Mul"),
            "depthwise 3x3 stride 1"
        );
        let one = "1x1 conv (fused bias, act, residual)";
        assert_eq!(
            ort(
                "/blocks.1/conv/inverted_bottleneck/act/Relu_output_0_nchwc",
                "Conv"
            ),
            one
        );
        assert_eq!(ort("/blocks.0/Add", "Add"), one);
        assert_eq!(
            ours("blocks.2.conv.point_linear.conv", "PnagPointwise"),
            one
        );
        assert_eq!(
            ort("/blocks.10/conv/depth_conv/se/ReduceMean_1", "ReduceMean"),
            "squeeze-excite"
        );
        assert_eq!(
            ours("blocks.10.conv.depth_conv.se.fc", "PnagSqueezeExcite"),
            "squeeze-excite"
        );
        assert_eq!(ort("/first_conv/act/Div", "Div"), "stem conv 3x3");
        assert_eq!(ours("first_conv.conv", "PnagIm2colConv"), "stem conv 3x3");
        let head = "head (final expand, pool, feature mix, classifier)";
        assert_eq!(ort("/classifier/linear/Gemm", "Gemm"), head);
        assert_eq!(ours("feature_mix_layer.conv", "PnagMatVec"), head);
        assert_eq!(ort("ReorderOutput_token_151", "ReorderOutput"), REORDERS);
    }
}
