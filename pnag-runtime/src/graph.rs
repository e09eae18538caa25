//! Builds the tract graph of one subnet from its [`NetworkSpec`] and [`Weights`].
//!
//! Batch norm is folded into the preceding convolution at load time; the
//! squeeze-excite and global-average pooling divisions by `H*W` are folded into
//! the following 1x1 convolution, and the SE's h-sigmoid `relu6(x+3)/6` into
//! the SE expand conv (leaving a clamp to [0, 1]). What remains is convs,
//! ReLU / h-swish, sums, one multiply per SE block and the residual adds.
//! With our ops the SE multiply goes into the next 1x1 conv's weights.
//! Depthwise convs with their activation become one [`DepthwiseConv`] node,
//! and 1x1 convs with their activation or residual add one [`PointwiseConv`]
//! node, unless the options ask for tract's own ops (CUDA, or for comparison).

use tract_core::internal::*;
use tract_core::ops::change_axes::AxisOp;
use tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_core::ops::nn::{DataFormat, Reduce, Reducer};

use crate::ops::{
    DepthwiseConv, DepthwiseKernel, Im2colConv, MatVec, PointwiseConv, SqueezeExcite,
};
use crate::options::{Kernels, NetworkOptions};
use crate::spec::{Activation, BlockSpec, NetworkSpec};
use crate::weights::Weights;

/// Batch-norm epsilon of OFA's MobileNetV3 (`bn_param=(0.1, 1e-5)`).
pub const BN_EPS: f64 = 1e-5;

/// Builds the (unoptimized) typed model: input `[batch, 3, R, R]` f32, output `[batch, 1000]`.
///
/// This walks `spec.blocks`; code emitted by `pnag_macros::network!` instead
/// calls [`SubnetGraph::block_with`] once per block with literal [`BlockSpec`]s
/// and the one depthwise kernel variant each needs.
pub fn build_model(
    spec: &NetworkSpec,
    weights: &Weights,
    options: &NetworkOptions,
) -> TractResult<TypedModel> {
    let mut g = SubnetGraph::stem(weights, options, spec.resolution)?;
    for block in &spec.blocks {
        g.block(block)?;
    }
    g.head(spec.final_size)
}

/// A subnet graph under construction, one stage at a time: [`stem`](Self::stem),
/// then [`block`](Self::block) for every block in order, then [`head`](Self::head).
pub struct SubnetGraph<'a> {
    g: GraphBuilder<'a>,
    x: OutletId,
}

impl<'a> SubnetGraph<'a> {
    /// The input `[options.batch, 3, resolution, resolution]` and the first conv
    /// (3x3, stride 2, h-swish).
    pub fn stem(
        weights: &'a Weights,
        options: &NetworkOptions,
        resolution: usize,
    ) -> TractResult<Self> {
        let batch = options.batch;
        let mut g = GraphBuilder {
            model: TypedModel::default(),
            weights,
            specialized: options.graph_kernels() == Kernels::Specialized,
            simd: options.simd,
        };
        let r = resolution;
        let mut x = g.model.add_source("input", f32::fact([batch, 3, r, r]))?;
        if g.specialized {
            let (shape, weight, bias) = g.fold_bn("first_conv")?;
            let op = Im2colConv::new(shape[2], 2, &weight, bias, Some(Activation::HSwish))?
                .with_simd(g.simd);
            x = g.wire("first_conv.conv", op, &[x])?;
        } else {
            x = g.conv_bn("first_conv", x, 2, 1)?;
            x = g.act("first_conv.act", x, Activation::HSwish)?;
        }
        Ok(SubnetGraph { g, x })
    }

    /// Appends one MBConv block (its depthwise kernel variant chosen at run time).
    pub fn block(&mut self, block: &BlockSpec) -> TractResult<()> {
        let kernel = DepthwiseKernel::for_shape(block.kernel, block.stride).with_context(|| {
            format!(
                "block {}: no depthwise kernel {}x{} stride {}",
                block.index, block.kernel, block.kernel, block.stride
            )
        })?;
        self.block_with(block, kernel)
    }

    /// Appends one MBConv block whose depthwise conv runs `kernel`
    /// (which must match the block's kernel size and stride).
    pub fn block_with(&mut self, block: &BlockSpec, kernel: DepthwiseKernel) -> TractResult<()> {
        ensure!(
            kernel.kernel_size() == block.kernel && kernel.stride() == block.stride,
            "block {}: {kernel:?} given for a {}x{} stride-{} depthwise conv",
            block.index,
            block.kernel,
            block.kernel,
            block.stride
        );
        self.x = self.g.block(block, kernel, self.x)?;
        Ok(())
    }

    /// Final expand conv, global pooling over the `final_size`² map, feature mix and classifier.
    pub fn head(self, final_size: usize) -> TractResult<TypedModel> {
        let SubnetGraph { mut g, mut x } = self;
        x = g.pointwise_bn(
            "final_expand_layer",
            x,
            None,
            Some(Activation::HSwish),
            None,
        )?;
        let area = (final_size * final_size) as f32;
        x = g.wire(
            "global_avg_pool",
            Reduce::new(tvec![2, 3], Reducer::Sum),
            &[x],
        )?;
        // Mean = sum / area, folded into the feature-mix weights.
        let fm = g.tensor("feature_mix_layer.conv.weight")?;
        let fm_w: Vec<f32> = fm.data.iter().map(|w| w / area).collect();
        let cls = g.tensor("classifier.linear.weight")?;
        let (classes, features) = (cls.shape[0], cls.shape[1]);
        let bias = g.tensor("classifier.linear.bias")?.data.clone();
        if g.specialized {
            let mix = MatVec::new(fm_w, vec![0.0; fm.shape[0]], Some(Activation::HSwish))?
                .with_simd(g.simd);
            x = g.wire("feature_mix_layer.conv", mix, &[x])?;
            let classifier = MatVec::new(cls.data.clone(), bias, None)?.with_simd(g.simd);
            x = g.wire("classifier.linear", classifier, &[x])?;
        } else {
            x = g.conv("feature_mix_layer.conv", x, &fm.shape, fm_w, None, 1, 1)?;
            x = g.act("feature_mix_layer.act", x, Activation::HSwish)?;
            x = g.conv(
                "classifier.linear",
                x,
                &[classes, features, 1, 1],
                cls.data.clone(),
                Some(bias),
                1,
                1,
            )?;
        }
        x = g.wire("logits.squeeze_w", AxisOp::Rm(3), &[x])?;
        x = g.wire("logits.squeeze_h", AxisOp::Rm(2), &[x])?;
        g.model.select_output_outlets(&[x])?;
        Ok(g.model)
    }
}

/// One depthwise conv + bias + activation as a model (input `[n, C, h, w]`,
/// `weights` `[C, K, K]`), with our [`DepthwiseConv`] or tract's grouped `Conv`
/// and activation nodes: what `pnag bench depthwise` times layer by layer.
pub fn depthwise_layer(
    kernel: DepthwiseKernel,
    activation: Activation,
    weights: Vec<f32>,
    bias: Vec<f32>,
    input: [usize; 4],
    kernels: Kernels,
) -> TractResult<TypedModel> {
    single_layer(input, kernels, |g, x| {
        if g.specialized {
            let op = DepthwiseConv::new(kernel, activation, weights, bias)?;
            return g.wire("depth_conv.conv", op, &[x]);
        }
        let (c, k) = (bias.len(), kernel.kernel_size());
        let y = g.conv(
            "depth_conv.conv",
            x,
            &[c, 1, k, k],
            weights,
            Some(bias),
            kernel.stride(),
            c,
        )?;
        g.act("depth_conv.act", y, activation)
    })
}

/// One 1x1 conv + folded-BN bias + optional activation over `input`
/// (`[n, cin, h, w]`): our [`PointwiseConv`] or tract's conv and activation
/// (the per-layer benchmark).
pub fn pointwise_layer(
    activation: Option<Activation>,
    weights: Vec<f32>,
    bias: Vec<f32>,
    input: [usize; 4],
    kernels: Kernels,
) -> TractResult<TypedModel> {
    single_layer(input, kernels, |g, x| {
        if g.specialized {
            let op = PointwiseConv::new(&weights, bias, activation, false)?;
            return g.wire("conv", op, &[x]);
        }
        let shape = [bias.len(), input[1], 1, 1];
        let y = g.conv("conv", x, &shape, weights, Some(bias), 1, 1)?;
        match activation {
            Some(a) => g.act("act", y, a),
            None => Ok(y),
        }
    })
}

/// A model of one layer over an `input`-shaped source, wired by `build`
/// (our ops or tract's, per `kernels`).
fn single_layer(
    input: [usize; 4],
    kernels: Kernels,
    build: impl FnOnce(&mut GraphBuilder, OutletId) -> TractResult<OutletId>,
) -> TractResult<TypedModel> {
    let none = Weights::empty();
    let mut g = GraphBuilder {
        model: TypedModel::default(),
        weights: &none,
        specialized: kernels == Kernels::Specialized,
        simd: crate::Simd::Best,
    };
    let x = g.model.add_source("input", f32::fact(input))?;
    let y = build(&mut g, x)?;
    g.model.select_output_outlets(&[y])?;
    Ok(g.model)
}

struct GraphBuilder<'a> {
    model: TypedModel,
    weights: &'a Weights,
    /// Depthwise and 1x1 convs as our ops (else tract's `Conv` and activation nodes).
    specialized: bool,
    /// The vector code our ops run.
    simd: crate::Simd,
}

impl<'a> GraphBuilder<'a> {
    fn tensor(&self, name: &str) -> TractResult<&'a crate::weights::WeightTensor> {
        self.weights.get(name).map_err(|e| anyhow!(e.to_string()))
    }

    fn wire(
        &mut self,
        name: &str,
        op: impl Into<Box<dyn TypedOp>>,
        inputs: &[OutletId],
    ) -> TractResult<OutletId> {
        Ok(self.model.wire_node(name, op, inputs)?[0])
    }

    fn scalar(&mut self, name: &str, v: f32) -> TractResult<OutletId> {
        self.model.add_const(name, tensor0(v))
    }

    fn binary(
        &mut self,
        name: &str,
        op: tract_core::ops::binary::TypedBinOp,
        a: OutletId,
        b: OutletId,
    ) -> TractResult<OutletId> {
        Ok(tract_core::ops::change_axes::wire_with_rank_broadcast(
            name,
            &mut self.model,
            op,
            &[a, b],
        )?[0])
    }

    /// A 2-D convolution, NCHW, OIHW kernel, PyTorch `padding = k / 2`.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        name: &str,
        x: OutletId,
        shape: &[usize],
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        stride: usize,
        group: usize,
    ) -> TractResult<OutletId> {
        let (cout, k) = (shape[0], shape[2]);
        let kernel = self.model.add_const(
            format!("{name}.weight"),
            Tensor::from_shape(shape, &weight)?,
        )?;
        let bias = match bias {
            Some(b) => self
                .model
                .add_const(format!("{name}.bias"), Tensor::from_shape(&[cout], &b)?)?,
            None => self.scalar(&format!("{name}.bias"), 0.0)?,
        };
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(k, k),
            padding: PaddingSpec::Explicit(tvec!(k / 2, k / 2), tvec!(k / 2, k / 2)),
            dilations: None,
            strides: Some(tvec!(stride, stride)),
            input_channels: shape[1] * group,
            output_channels: cout,
        };
        let op = Conv {
            pool_spec,
            kernel_fmt: KernelFormat::OIHW,
            group,
            q_params: None,
        };
        self.wire(name, op, &[x, kernel, bias])
    }

    /// `{prefix}.conv` followed by `{prefix}.bn`, folded into one conv with bias.
    fn conv_bn(
        &mut self,
        prefix: &str,
        x: OutletId,
        stride: usize,
        group: usize,
    ) -> TractResult<OutletId> {
        let (shape, weight, bias) = self.fold_bn(prefix)?;
        self.conv(
            &format!("{prefix}.conv"),
            x,
            &shape,
            weight,
            Some(bias),
            stride,
            group,
        )
    }

    /// The weight shape, weights and bias of `{prefix}.conv` with `{prefix}.bn` folded in.
    fn fold_bn(&self, prefix: &str) -> TractResult<(Vec<usize>, Vec<f32>, Vec<f32>)> {
        let w = self.tensor(&format!("{prefix}.conv.weight"))?;
        let bn = |stat: &str| self.tensor(&format!("{prefix}.bn.{stat}")).map(|t| &t.data);
        let (gamma, beta, mean, var) = (
            bn("weight")?,
            bn("bias")?,
            bn("running_mean")?,
            bn("running_var")?,
        );
        let cout = w.shape[0];
        let per_out = w.data.len() / cout;
        let scale: Vec<f64> = (0..cout)
            .map(|o| gamma[o] as f64 / (var[o] as f64 + BN_EPS).sqrt())
            .collect();
        let weight: Vec<f32> = w
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| (v as f64 * scale[i / per_out]) as f32)
            .collect();
        let bias: Vec<f32> = (0..cout)
            .map(|o| (beta[o] as f64 - mean[o] as f64 * scale[o]) as f32)
            .collect();
        Ok((w.shape.clone(), weight, bias))
    }

    fn act(&mut self, name: &str, x: OutletId, act: Activation) -> TractResult<OutletId> {
        match act {
            Activation::Relu => {
                let zero = self.scalar(&format!("{name}.zero"), 0.0)?;
                self.binary(name, tract_core::ops::math::max(), x, zero)
            }
            Activation::HSwish => self.wire(name, tract_core::ops::nn::hard_swish(), &[x]),
        }
    }

    fn block(
        &mut self,
        b: &BlockSpec,
        kernel: DepthwiseKernel,
        input: OutletId,
    ) -> TractResult<OutletId> {
        let p = format!("blocks.{}.conv", b.index);
        let mut x = input;
        if b.expand_channels.is_some() {
            let ib = format!("{p}.inverted_bottleneck");
            x = self.pointwise_bn(&ib, x, None, Some(b.activation), None)?;
        }
        let dw = format!("{p}.depth_conv");
        if self.specialized {
            let (_, weight, bias) = self.fold_bn(&dw)?;
            let op = DepthwiseConv::new(kernel, b.activation, weight, bias)?.with_simd(self.simd);
            x = self.wire(&format!("{dw}.conv"), op, &[x])?;
        } else {
            x = self.conv_bn(&dw, x, b.stride, b.mid_channels)?;
            x = self.act(&format!("{dw}.act"), x, b.activation)?;
        }
        let mut se_scale = None;
        if b.se_channels.is_some() {
            let scale = self.squeeze_excite(&format!("{p}.depth_conv.se"), x, b.out_size)?;
            if self.specialized {
                se_scale = Some(scale); // applied by the point-linear op to its weights
            } else {
                x = self.binary(
                    &format!("{p}.depth_conv.se.scale"),
                    tract_core::ops::math::mul(),
                    x,
                    scale,
                )?;
            }
        }
        let residual = b.residual.then_some(input);
        self.pointwise_bn(&format!("{p}.point_linear"), x, se_scale, None, residual)
    }

    /// `{prefix}` 1x1 conv + batch norm over `x` (times the squeeze-excite
    /// `se_scale`, our op only), then the activation, then `+ residual`: one
    /// [`PointwiseConv`] node, or tract's conv, activation and add.
    fn pointwise_bn(
        &mut self,
        prefix: &str,
        x: OutletId,
        se_scale: Option<OutletId>,
        act: Option<Activation>,
        residual: Option<OutletId>,
    ) -> TractResult<OutletId> {
        if self.specialized {
            let (_, weight, bias) = self.fold_bn(prefix)?;
            let mut op =
                PointwiseConv::new(&weight, bias, act, residual.is_some())?.with_simd(self.simd);
            if se_scale.is_some() {
                op = op.with_input_scale();
            }
            let inputs: TVec<OutletId> = [Some(x), se_scale, residual]
                .into_iter()
                .flatten()
                .collect();
            return self.wire(&format!("{prefix}.conv"), op, &inputs);
        }
        let mut y = self.conv_bn(prefix, x, 1, 1)?;
        if let Some(act) = act {
            y = self.act(&format!("{prefix}.act"), y, act)?;
        }
        if let Some(r) = residual {
            let name = format!("{prefix}.residual");
            y = self.binary(&name, tract_core::ops::math::add(), y, r)?;
        }
        Ok(y)
    }

    /// The squeeze-excite scale `h_sigmoid(expand(relu(reduce(mean(x)))))`
    /// (`[n, C, 1, 1]`; the block multiplies `x` by it), with the mean's
    /// `1/(H*W)` folded into `reduce` and h-sigmoid's `(.+3)/6` into `expand`;
    /// one [`SqueezeExcite`] node when specialized.
    fn squeeze_excite(&mut self, p: &str, x: OutletId, size: usize) -> TractResult<OutletId> {
        if self.specialized {
            let t = |s: &str| self.tensor(&format!("{p}.fc.{s}"));
            let op = SqueezeExcite::new(
                t("reduce.weight")?.data.clone(),
                t("reduce.bias")?.data.clone(),
                &t("expand.weight")?.data,
                &t("expand.bias")?.data,
            )?
            .with_simd(self.simd);
            return self.wire(&format!("{p}.fc"), op, &[x]);
        }
        let area = (size * size) as f32;
        let pooled = self.wire(
            &format!("{p}.pool"),
            Reduce::new(tvec![2, 3], Reducer::Sum),
            &[x],
        )?;
        let rw = self.tensor(&format!("{p}.fc.reduce.weight"))?;
        let (r_shape, r_w) = (rw.shape.clone(), rw.data.iter().map(|w| w / area).collect());
        let r_b = self.tensor(&format!("{p}.fc.reduce.bias"))?.data.clone();
        let mut y = self.conv(
            &format!("{p}.fc.reduce"),
            pooled,
            &r_shape,
            r_w,
            Some(r_b),
            1,
            1,
        )?;
        y = self.act(&format!("{p}.fc.relu"), y, Activation::Relu)?;
        let ew = self.tensor(&format!("{p}.fc.expand.weight"))?;
        let (e_shape, e_w) = (ew.shape.clone(), ew.data.iter().map(|w| w / 6.0).collect());
        let e_b = self
            .tensor(&format!("{p}.fc.expand.bias"))?
            .data
            .iter()
            .map(|b| b / 6.0 + 0.5)
            .collect();
        y = self.conv(&format!("{p}.fc.expand"), y, &e_shape, e_w, Some(e_b), 1, 1)?;
        let (zero, one) = (
            self.scalar(&format!("{p}.zero"), 0.0)?,
            self.scalar(&format!("{p}.one"), 1.0)?,
        );
        y = self.binary(
            &format!("{p}.h_sigmoid.lo"),
            tract_core::ops::math::max(),
            y,
            zero,
        )?;
        self.binary(
            &format!("{p}.h_sigmoid.hi"),
            tract_core::ops::math::min(),
            y,
            one,
        )
    }
}
