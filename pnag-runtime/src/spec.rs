//! The concrete layer plan of one subnet: channels, strides, activations and
//! feature-map sizes for an [`Arch`] at a [`Width`] and input resolution,
//! derived exactly as OFA's `OFAMobileNetV3.get_active_subnet` does. The graph
//! builder, the weight loader and the MACs / parameter counts all read it, so
//! they cannot disagree about the network's shape.

use crate::arch::{
    check_resolution, make_divisible, Arch, ArchError, Width, SLOTS_PER_STAGE, STAGES,
};

/// Stage strides, activations and squeeze-excite use, from OFA's `ofa_mbv3.py`.
const STAGE_STRIDES: [usize; STAGES] = [2, 2, 2, 1, 2];
const STAGE_ACTS: [Activation; STAGES] = [
    Activation::Relu,
    Activation::Relu,
    Activation::HSwish,
    Activation::HSwish,
    Activation::HSwish,
];
const STAGE_SE: [bool; STAGES] = [false, true, false, true, true];
/// OFA's `SEModule.REDUCTION`.
const SE_REDUCTION: usize = 4;
/// ImageNet classes.
pub const NUM_CLASSES: usize = 1000;

/// Activation after a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)`
    Relu,
    /// `x * relu6(x + 3) / 6`
    HSwish,
}

/// One MBConv block (`blocks.{index}` in OFA's state dict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSpec {
    /// Index in the subnet's `blocks` list (0 is the fixed first block).
    pub index: usize,
    /// Search-space slot (0-based) for searchable blocks, `None` for the fixed first block.
    pub slot: Option<usize>,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Inverted-bottleneck width; `None` when the block has no expansion conv (expand ratio 1).
    pub expand_channels: Option<usize>,
    /// Channels of the depthwise conv (the expansion width, or the input width without one).
    pub mid_channels: usize,
    /// Expand ratio (3, 4 or 6; 1 for the fixed first block).
    pub expand_ratio: u8,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Depthwise stride.
    pub stride: usize,
    /// Activation of the expansion and depthwise convs.
    pub activation: Activation,
    /// Squeeze-excite bottleneck width, when the stage uses SE.
    pub se_channels: Option<usize>,
    /// Identity shortcut (stride 1 and equal in/out channels).
    pub residual: bool,
    /// Input and output feature-map side lengths.
    pub in_size: usize,
    /// Output feature-map side length.
    pub out_size: usize,
}

/// The full layer plan of a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The subnet.
    pub arch: Arch,
    /// Supernet width.
    pub width: Width,
    /// Input resolution in pixels.
    pub resolution: usize,
    /// Channels of the stem conv.
    pub stem_channels: usize,
    /// Output side of the stem conv.
    pub stem_size: usize,
    /// The MBConv blocks, in order.
    pub blocks: Vec<BlockSpec>,
    /// Channels of the final 1x1 expansion.
    pub final_expand_channels: usize,
    /// Channels of the feature-mix layer before the classifier.
    pub feature_mix_channels: usize,
    /// Side of the last feature map (global-pooled).
    pub final_size: usize,
}

/// PyTorch's output size for `padding = k / 2`.
fn conv_out(size: usize, kernel: usize, stride: usize) -> usize {
    (size + 2 * (kernel / 2) - kernel) / stride + 1
}

impl NetworkSpec {
    /// Plans the subnet; the only fallible input is the resolution.
    pub fn new(arch: Arch, width: Width, resolution: u32) -> Result<Self, ArchError> {
        let resolution = check_resolution(resolution)? as usize;
        let ch = width.channels();
        let stem_size = conv_out(resolution, 3, 2);
        let mut blocks = Vec::new();
        // Fixed first block: 3x3 depthwise + point-linear, no expansion, ReLU.
        blocks.push(BlockSpec {
            index: 0,
            slot: None,
            in_channels: ch[0],
            out_channels: ch[1],
            expand_channels: None,
            mid_channels: ch[0],
            expand_ratio: 1,
            kernel: 3,
            stride: 1,
            activation: Activation::Relu,
            se_channels: None,
            residual: ch[0] == ch[1],
            in_size: stem_size,
            out_size: stem_size,
        });
        let (mut c, mut size) = (ch[1], stem_size);
        for stage in 0..STAGES {
            let out = ch[2 + stage];
            for layer in 0..arch.depths()[stage] as usize {
                let slot = stage * SLOTS_PER_STAGE + layer;
                let (k, e) = (arch.kernels()[slot] as usize, arch.expands()[slot]);
                let stride = if layer == 0 { STAGE_STRIDES[stage] } else { 1 };
                // DynamicMBConvLayer.active_middle_channel
                let mid = make_divisible((c * e as usize) as f64, 8);
                let out_size = conv_out(size, k, stride);
                blocks.push(BlockSpec {
                    index: blocks.len(),
                    slot: Some(slot),
                    in_channels: c,
                    out_channels: out,
                    expand_channels: Some(mid),
                    mid_channels: mid,
                    expand_ratio: e,
                    kernel: k,
                    stride,
                    activation: STAGE_ACTS[stage],
                    se_channels: STAGE_SE[stage]
                        .then(|| make_divisible((mid / SE_REDUCTION) as f64, 8)),
                    residual: stride == 1 && c == out,
                    in_size: size,
                    out_size,
                });
                c = out;
                size = out_size;
            }
        }
        Ok(NetworkSpec {
            arch,
            width,
            resolution,
            stem_channels: ch[0],
            stem_size,
            blocks,
            final_expand_channels: ch[7],
            feature_mix_channels: ch[8],
            final_size: size,
        })
    }

    /// Channels entering the final expand layer.
    pub fn last_block_channels(&self) -> usize {
        self.blocks
            .last()
            .map(|b| b.out_channels)
            .unwrap_or(self.stem_channels)
    }

    /// Multiply-accumulates of one image, counted as OFA's `count_net_flops`
    /// (convolutions and the classifier; BN, activations and pooling are free).
    pub fn macs(&self) -> u64 {
        let conv = |cin: usize, cout: usize, k: usize, size: usize, groups: usize| {
            (cin * cout * k * k * size * size / groups) as u64
        };
        let mut total = conv(3, self.stem_channels, 3, self.stem_size, 1);
        for b in &self.blocks {
            if let Some(m) = b.expand_channels {
                total += conv(b.in_channels, m, 1, b.in_size, 1);
            }
            total += conv(
                b.mid_channels,
                b.mid_channels,
                b.kernel,
                b.out_size,
                b.mid_channels,
            );
            if let Some(se) = b.se_channels {
                total += 2 * (b.mid_channels * se) as u64;
            }
            total += conv(b.mid_channels, b.out_channels, 1, b.out_size, 1);
        }
        total += conv(
            self.last_block_channels(),
            self.final_expand_channels,
            1,
            self.final_size,
            1,
        );
        total += (self.final_expand_channels * self.feature_mix_channels) as u64;
        total + (self.feature_mix_channels * NUM_CLASSES) as u64
    }

    /// Trainable parameters, counted as OFA's `count_parameters`
    /// (conv weights, BN affine weights, SE and classifier biases).
    pub fn params(&self) -> u64 {
        let mut total = 3 * self.stem_channels * 9 + 2 * self.stem_channels;
        for b in &self.blocks {
            if let Some(m) = b.expand_channels {
                total += b.in_channels * m + 2 * m;
            }
            total += b.mid_channels * b.kernel * b.kernel + 2 * b.mid_channels;
            if let Some(se) = b.se_channels {
                total += b.mid_channels * se + se + se * b.mid_channels + b.mid_channels;
            }
            total += b.mid_channels * b.out_channels + 2 * b.out_channels;
        }
        total += self.last_block_channels() * self.final_expand_channels
            + 2 * self.final_expand_channels;
        total += self.final_expand_channels * self.feature_mix_channels;
        total += self.feature_mix_channels * NUM_CLASSES + NUM_CLASSES;
        total as u64
    }
}
