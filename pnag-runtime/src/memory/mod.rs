//! Predicted peak memory of one `Network::run`: the largest set of live
//! activation bytes, walked from the layer plan ([`NetworkSpec`]) the way
//! tract's plan runs it. Tract evaluates the nodes in order and frees each
//! tensor right after its last consumer; our ops allocate their output (and
//! the depthwise conv a zero-bordered scratch plane per thread) before they
//! read their inputs. So at node `n` the live set is every earlier tensor still
//! needed by `n` or a later node, plus `n`'s output and scratch.
//!
//! Not counted (allocated once and kept between runs, so part of the loaded
//! footprint, not of a run): the weights, the stem's im2col buffer (kept by
//! the op) and the 1×1 convs' packed-column buffers (one per worker thread). `pnag bench
//! memory` measures the same quantity with a counting allocator; tract's own
//! bookkeeping (a few KB per run) is the difference.

mod counting;

pub use counting::CountingAllocator;

use crate::spec::{BlockSpec, NetworkSpec, NUM_CLASSES};

/// Output rows one depthwise tile computes (`ops::depthwise::kernel`'s tile height).
pub(crate) const DEPTHWISE_TILE_ROWS: usize = 8;

/// Floats of the zero-bordered scratch one depthwise call uses per thread for a
/// `k`×`k`, stride-`s` conv of an `h`×`w` plane with `lanes`-wide vectors: the
/// padded rows the last tile reads, each split in `s` phases of a lanes-rounded width.
pub(crate) fn depthwise_scratch_floats(
    k: usize,
    s: usize,
    h: usize,
    w: usize,
    lanes: usize,
) -> usize {
    let out = |n: usize| (n + 2 * (k / 2) - k) / s + 1;
    let (ho, wo) = (out(h), out(w));
    let phase_width = wo.div_ceil(lanes) * lanes + (k - 1) / s;
    let ho_r = ho.div_ceil(DEPTHWISE_TILE_ROWS) * DEPTHWISE_TILE_ROWS;
    let rows = ((ho_r - 1) * s + k).max(h + k / 2);
    rows * s * phase_width
}

/// Multiply-adds below which a layer runs on the calling thread (`threads::PARALLEL_MIN_MACS`).
pub(crate) const PARALLEL_MIN_MACS: usize = 400_000;

/// What [`peak_activation_bytes`] assumes about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunShape {
    /// Images per run.
    pub batch: usize,
    /// Worker threads (each depthwise worker holds its own scratch plane).
    pub threads: usize,
    /// Vector width of the kernels (8 for AVX2, 16 for AVX-512, 4 for NEON / portable):
    /// it rounds the depthwise scratch rows.
    pub lanes: usize,
}

impl Default for RunShape {
    fn default() -> Self {
        RunShape {
            batch: 1,
            threads: 1,
            lanes: 16,
        }
    }
}

/// One node of the walk: the bytes it allocates (output, scratch freed on return)
/// and the earlier nodes whose outputs it reads.
struct Node {
    output: u64,
    scratch: u64,
    inputs: Vec<usize>,
}

/// The peak live activation bytes of one run of `spec` (f32 tensors).
pub fn peak_activation_bytes(spec: &NetworkSpec, run: RunShape) -> u64 {
    peak_of(&nodes(spec, run))
}

/// The largest live set over the walk: at each node, the outputs still needed
/// at or after it, plus its own output and scratch.
fn peak_of(nodes: &[Node]) -> u64 {
    let mut last_use: Vec<usize> = (0..nodes.len()).collect();
    for (n, node) in nodes.iter().enumerate() {
        for &i in &node.inputs {
            last_use[i] = last_use[i].max(n);
        }
    }
    let (mut live, mut peak) = (0u64, 0u64);
    for (n, node) in nodes.iter().enumerate() {
        peak = peak.max(live + node.output + node.scratch);
        live += node.output;
        for (i, &last) in last_use[..=n].iter().enumerate() {
            if last == n {
                live -= nodes[i].output;
            }
        }
    }
    peak
}

/// The nodes of the specialized plan (`graph::build_model` with our ops), in run order.
fn nodes(spec: &NetworkSpec, run: RunShape) -> Vec<Node> {
    let mut w = Walk {
        nodes: Vec::new(),
        run,
    };
    // The caller's image, copied into tract's input tensor.
    let image = w.push(w.map(3, spec.resolution), 0, vec![]);
    let mut x = w.push(w.map(spec.stem_channels, spec.stem_size), 0, vec![image]);
    for block in &spec.blocks {
        x = w.block(block, x);
    }
    let expand = w.push(
        w.map(spec.final_expand_channels, spec.final_size),
        0,
        vec![x],
    );
    let pooled = w.push(w.map(spec.final_expand_channels, 1), 0, vec![expand]);
    let mix = w.push(w.map(spec.feature_mix_channels, 1), 0, vec![pooled]);
    w.push(w.map(NUM_CLASSES, 1), 0, vec![mix]);
    w.nodes
}

/// The nodes so far, and the run they are counted for.
struct Walk {
    nodes: Vec<Node>,
    run: RunShape,
}

impl Walk {
    /// Bytes of a batch of f32 maps.
    fn map(&self, channels: usize, side: usize) -> u64 {
        (self.run.batch * channels * side * side) as u64 * 4
    }

    /// Adds a node; returns its index.
    fn push(&mut self, output: u64, scratch: u64, inputs: Vec<usize>) -> usize {
        self.nodes.push(Node {
            output,
            scratch,
            inputs,
        });
        self.nodes.len() - 1
    }

    /// One MBConv block: expand 1×1 (if any) → depthwise → squeeze-excite scale (if any)
    /// → project 1×1 reading the scale and the residual. Returns the block output's node.
    fn block(&mut self, block: &BlockSpec, x: usize) -> usize {
        let (run, mid) = (self.run, block.mid_channels);
        let expanded = match block.expand_channels {
            Some(m) => self.push(self.map(m, block.in_size), 0, vec![x]),
            None => x,
        };
        let (k, s, h) = (block.kernel, block.stride, block.in_size);
        let planes = run.batch * mid;
        let workers = if run.threads > 1
            && planes > 1
            && planes * block.out_size * block.out_size * k * k >= PARALLEL_MIN_MACS
        {
            // One contiguous run of channels per thread, as the kernel splits them.
            planes.div_ceil(planes.div_ceil(run.threads))
        } else {
            1
        };
        let scratch = (workers * depthwise_scratch_floats(k, s, h, h, run.lanes)) as u64 * 4;
        let depthwise = self.push(self.map(mid, block.out_size), scratch, vec![expanded]);
        let mut inputs = vec![depthwise];
        if block.se_channels.is_some() {
            inputs.push(self.push(self.map(mid, 1), 0, vec![depthwise]));
        }
        if block.residual {
            inputs.push(x);
        }
        self.push(self.map(block.out_channels, block.out_size), 0, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{Arch, Width};

    #[test]
    fn a_chain_peaks_at_its_largest_neighbouring_pair() {
        // a -> b -> c: while b runs, a and b are live; a is freed after b.
        let chain = |sizes: &[u64]| -> Vec<Node> {
            sizes
                .iter()
                .enumerate()
                .map(|(i, &output)| Node {
                    output,
                    scratch: 0,
                    inputs: if i == 0 { vec![] } else { vec![i - 1] },
                })
                .collect()
        };
        assert_eq!(peak_of(&chain(&[10, 30, 5, 20])), 40);
        // A residual keeps the first tensor alive across the chain.
        let mut nodes = chain(&[10, 30, 5]);
        nodes.push(Node {
            output: 7,
            scratch: 3,
            inputs: vec![2, 0],
        });
        assert_eq!(peak_of(&nodes), 10 + 30 + 5);
        nodes[1].output = 1;
        assert_eq!(peak_of(&nodes), 10 + 5 + 7 + 3);
    }

    #[test]
    fn larger_subnets_and_images_need_more() {
        let peak = |arch: Arch, r: u32| {
            peak_activation_bytes(
                &NetworkSpec::new(arch, Width::W1_2, r).unwrap(),
                RunShape::default(),
            )
        };
        assert!(peak(Arch::smallest(), 160) < peak(Arch::smallest(), 224));
        assert!(peak(Arch::smallest(), 224) < peak(Arch::largest(), 224));
        // At least the stem's output and the first block's (both 112² maps at 224 px).
        let spec = NetworkSpec::new(Arch::largest(), Width::W1_2, 224).unwrap();
        let first = (spec.stem_channels + spec.blocks[0].out_channels) * 112 * 112 * 4;
        assert!(peak(Arch::largest(), 224) >= first as u64);
    }

    #[test]
    fn the_scratch_formula_matches_a_hand_count() {
        // 7×7 stride 1 on 14×14 with 8 lanes: 16 + 6 floats wide, 16 − 1 + 7 = 22 rows.
        assert_eq!(depthwise_scratch_floats(7, 1, 14, 14, 8), 22 * 22);
        // 3×3 stride 2 on 112×112 with 16 lanes: ho = 56 → 64 + 1 wide per phase,
        // max((56 − 1)·2 + 3, 112 + 1) = 113 rows, 2 phases.
        assert_eq!(depthwise_scratch_floats(3, 2, 112, 112, 16), 113 * 2 * 65);
    }
}
