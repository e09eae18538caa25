//! Subnet weights: loading OFA-named safetensors, validating them against the
//! subnet's plan, and a seeded synthetic initializer for demos and profiling.
//!
//! Tensor names are exactly the keys of OFA's subnet `state_dict()`, so
//! `safetensors.torch.save_file(subnet.state_dict(), f)` loads as-is. OFA's
//! integer `num_batches_tracked` buffers are accepted and ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Result, RuntimeError};
use crate::files::write_atomic;
use crate::spec::{NetworkSpec, NUM_CLASSES};

/// One f32 tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// Where a set of weights came from; synthetic weights are *untrained*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSource {
    /// Read from a safetensors file.
    File(PathBuf),
    /// Embedded in the binary (`network!`), with a label.
    Embedded(String),
    /// Extracted from an OFA supernet checkpoint.
    Extracted {
        /// The supernet checkpoint.
        supernet: String,
        /// The extracted subnet's arch string.
        arch: String,
    },
    /// Deterministic pseudo-random weights (not trained).
    Synthetic {
        /// The generator seed.
        seed: u64,
    },
}

impl WeightsSource {
    /// True for weights that were never trained (labelled as such wherever they show).
    pub fn is_untrained(&self) -> bool {
        matches!(self, WeightsSource::Synthetic { .. })
    }

    /// How errors name these weights.
    pub fn origin(&self) -> String {
        match self {
            WeightsSource::File(p) => format!("`{}`", p.display()),
            WeightsSource::Embedded(name) => format!("`{name}` (embedded)"),
            WeightsSource::Extracted { supernet, .. } => {
                format!("extracted from supernet {supernet}")
            }
            WeightsSource::Synthetic { seed } => format!("synthetic (untrained, seed {seed})"),
        }
    }
}

impl std::fmt::Display for WeightsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin())
    }
}

/// The weights of one subnet, keyed by OFA state-dict name, validated against its spec.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Where the tensors came from.
    pub source: WeightsSource,
    tensors: BTreeMap<String, WeightTensor>,
}

/// Names and shapes of every tensor a subnet needs, in OFA state-dict order.
pub fn expected_tensors(spec: &NetworkSpec) -> Vec<(String, Vec<usize>)> {
    fn conv_bn(
        out: &mut Vec<(String, Vec<usize>)>,
        prefix: &str,
        cout: usize,
        cin: usize,
        k: usize,
    ) {
        out.push((format!("{prefix}.conv.weight"), vec![cout, cin, k, k]));
        for stat in ["weight", "bias", "running_mean", "running_var"] {
            out.push((format!("{prefix}.bn.{stat}"), vec![cout]));
        }
    }
    let mut out = Vec::new();
    conv_bn(&mut out, "first_conv", spec.stem_channels, 3, 3);
    for b in &spec.blocks {
        let p = format!("blocks.{}.conv", b.index);
        if let Some(m) = b.expand_channels {
            conv_bn(
                &mut out,
                &format!("{p}.inverted_bottleneck"),
                m,
                b.in_channels,
                1,
            );
        }
        conv_bn(
            &mut out,
            &format!("{p}.depth_conv"),
            b.mid_channels,
            1,
            b.kernel,
        );
        if let Some(se) = b.se_channels {
            let fc = format!("{p}.depth_conv.se.fc");
            out.push((
                format!("{fc}.reduce.weight"),
                vec![se, b.mid_channels, 1, 1],
            ));
            out.push((format!("{fc}.reduce.bias"), vec![se]));
            out.push((
                format!("{fc}.expand.weight"),
                vec![b.mid_channels, se, 1, 1],
            ));
            out.push((format!("{fc}.expand.bias"), vec![b.mid_channels]));
        }
        conv_bn(
            &mut out,
            &format!("{p}.point_linear"),
            b.out_channels,
            b.mid_channels,
            1,
        );
    }
    conv_bn(
        &mut out,
        "final_expand_layer",
        spec.final_expand_channels,
        spec.last_block_channels(),
        1,
    );
    out.push((
        "feature_mix_layer.conv.weight".into(),
        vec![spec.feature_mix_channels, spec.final_expand_channels, 1, 1],
    ));
    out.push((
        "classifier.linear.weight".into(),
        vec![NUM_CLASSES, spec.feature_mix_channels],
    ));
    out.push(("classifier.linear.bias".into(), vec![NUM_CLASSES]));
    out
}

impl Weights {
    /// Reads and validates a safetensors file for `spec`.
    pub fn load(path: impl AsRef<Path>, spec: &NetworkSpec) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            crate::files::read_input(path, crate::files::MAX_WEIGHTS_BYTES).map_err(|source| {
                RuntimeError::Io {
                    path: path.into(),
                    source,
                }
            })?;
        // A PyTorch checkpoint is not safetensors: say what it is and what to do.
        let legacy_pickle =
            bytes.len() > 14 && bytes[0] == 0x80 && bytes[2] == 0x8a && bytes[3] == 10;
        if bytes.starts_with(b"PK\x03\x04") || legacy_pickle {
            return Err(RuntimeError::TorchCheckpoint { path: path.into() });
        }
        Self::from_safetensors(&bytes, WeightsSource::File(path.into()), spec)
    }

    /// Parses and validates safetensors bytes (e.g. from `include_bytes!`).
    pub fn from_safetensors(
        bytes: &[u8],
        source: WeightsSource,
        spec: &NetworkSpec,
    ) -> Result<Self> {
        let origin = source.origin();
        let st = parse_safetensors(bytes, &origin)?;
        let expected = expected_tensors(spec);
        check_names(
            &origin,
            &expected,
            &st.names()
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )?;
        let mut tensors = BTreeMap::new();
        for (name, shape) in expected {
            let tensor = read_f32(&st, &origin, &name, &shape)?;
            tensors.insert(name, tensor);
        }
        Ok(Weights { source, tensors })
    }

    /// Validates tensors produced in memory (e.g. extracted from a supernet).
    pub fn from_tensors(
        tensors: BTreeMap<String, WeightTensor>,
        source: WeightsSource,
        spec: &NetworkSpec,
    ) -> Result<Self> {
        let origin = source.origin();
        let expected = expected_tensors(spec);
        check_names(
            &origin,
            &expected,
            &tensors.keys().map(String::as_str).collect::<Vec<_>>(),
        )?;
        for (name, shape) in &expected {
            let t = &tensors[name];
            if &t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
                return Err(RuntimeError::Shape {
                    origin,
                    name: name.clone(),
                    expected: shape.clone(),
                    found: t.shape.clone(),
                });
            }
            check_finite(&origin, name, &t.data)?;
        }
        Ok(Weights { source, tensors })
    }

    #[cfg(feature = "engine")]
    /// No tensors (graphs of single layers whose weights are passed directly).
    pub(crate) fn empty() -> Self {
        Weights {
            source: WeightsSource::Embedded("none".into()),
            tensors: BTreeMap::new(),
        }
    }

    /// Deterministic, seeded, **untrained** weights for any subnet.
    ///
    /// Element `i` of tensor `name` is `center + half_width * u`, where `u` in
    /// [-1, 1) comes from splitmix64 at counter `i` of a stream keyed by
    /// `fnv1a64(name) ^ splitmix64(seed)`. Conv and linear weights get
    /// half-width `2 / sqrt(fan_in)` (variance 4/3 per fan-in, which keeps
    /// signals alive through ReLU / h-swish without exploding); batch-norm
    /// gets non-trivial statistics (gamma, var in [0.5, 1.5]; beta, mean in
    /// [-0.2, 0.2]). `tests/fixtures/make_ofa_fixtures.py` implements the same
    /// formula in numpy, which is how OFA's PyTorch code checks our network.
    pub fn synthetic(spec: &NetworkSpec, seed: u64) -> Self {
        let tensors = expected_tensors(spec)
            .into_iter()
            .map(|(name, shape)| {
                let data = synthetic_tensor(&name, &shape, seed);
                (name, WeightTensor { shape, data })
            })
            .collect();
        Weights {
            source: WeightsSource::Synthetic { seed },
            tensors,
        }
    }

    /// The tensor called `name`; the weights were validated against the spec,
    /// so every name from [`expected_tensors`] is present.
    pub fn get(&self, name: &str) -> Result<&WeightTensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| RuntimeError::MissingTensors {
                origin: self.source.origin(),
                names: vec![name.to_string()],
            })
    }

    /// Every tensor by name, in name order.
    pub fn tensors(&self) -> impl Iterator<Item = (&String, &WeightTensor)> {
        self.tensors.iter()
    }

    /// Serializes to safetensors bytes (OFA names, f32).
    pub fn to_safetensors(&self) -> Vec<u8> {
        serialize_f32(
            self.tensors.iter().map(|(n, t)| (n.as_str(), t)),
            Some(("pnag.source", self.source.origin())),
        )
    }

    /// Serializes to safetensors bytes storing every tensor as IEEE half precision
    /// (half the bytes; [`read_f32`] widens them back at load). Refuses a weight
    /// beyond float16's range (±65504) instead of storing an infinity.
    pub fn to_safetensors_f16(&self) -> Result<Vec<u8>> {
        let mut halves = Vec::with_capacity(self.tensors.len());
        for (name, t) in &self.tensors {
            if let Some((index, &value)) =
                t.data.iter().enumerate().find(|(_, v)| v.abs() > F16_MAX)
            {
                return Err(RuntimeError::F16Range {
                    origin: self.source.origin(),
                    name: name.clone(),
                    index,
                    value,
                });
            }
            let bytes: Vec<u8> = t
                .data
                .iter()
                .flat_map(|&v| f32_to_f16(v).to_le_bytes())
                .collect();
            halves.push((name.as_str(), t.shape.clone(), bytes));
        }
        let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = halves
            .iter()
            .map(|(n, shape, bytes)| {
                let view = safetensors::tensor::TensorView::new(Dtype::F16, shape.clone(), bytes);
                (*n, view.expect("two bytes per element of the shape"))
            })
            .collect();
        let meta =
            std::collections::HashMap::from([("pnag.source".to_string(), self.source.origin())]);
        Ok(safetensors::serialize(views, &Some(meta)).expect("in-memory serialization"))
    }

    /// Writes safetensors atomically (temporary file, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_safetensors())
    }
}

/// Elements of every tensor [`expected_tensors`] lists, counted without building the
/// list (a search checks weight limits on thousands of archs): the embedded file's data is
/// this times 4 bytes (f32) or 2 (f16); [`embedded_bytes`] adds the header.
pub fn tensor_elements(spec: &NetworkSpec) -> u64 {
    let conv_bn = |cout: usize, cin: usize, k: usize| cout * cin * k * k + 4 * cout;
    let mut n = conv_bn(spec.stem_channels, 3, 3);
    for b in &spec.blocks {
        if let Some(m) = b.expand_channels {
            n += conv_bn(m, b.in_channels, 1);
        }
        n += conv_bn(b.mid_channels, 1, b.kernel);
        if let Some(se) = b.se_channels {
            n += 2 * se * b.mid_channels + se + b.mid_channels;
        }
        n += conv_bn(b.out_channels, b.mid_channels, 1);
    }
    n += conv_bn(spec.final_expand_channels, spec.last_block_channels(), 1);
    n += spec.feature_mix_channels * spec.final_expand_channels;
    (n + NUM_CLASSES * spec.feature_mix_channels + NUM_CLASSES) as u64
}

/// Exact size in bytes of the safetensors file [`Weights::to_safetensors`] (`half = false`)
/// or [`Weights::to_safetensors_f16`] (`half = true`) writes for `spec` with source `origin`
/// ([`WeightsSource::origin`]): what a build embeds. safetensors' own serializer lays out the
/// header over zero-length stand-ins, so the header's bytes (names, shapes, offsets,
/// alignment padding) are counted, not estimated.
pub fn embedded_bytes(spec: &NetworkSpec, half: bool, origin: &str) -> u64 {
    /// A tensor's dtype and shape, with no data.
    struct Shape(Dtype, Vec<usize>, usize);
    impl safetensors::View for &Shape {
        fn dtype(&self) -> Dtype {
            self.0
        }
        fn shape(&self) -> &[usize] {
            &self.1
        }
        fn data(&self) -> std::borrow::Cow<'_, [u8]> {
            std::borrow::Cow::Borrowed(&[])
        }
        fn data_len(&self) -> usize {
            self.2
        }
    }
    let (dtype, width) = if half {
        (Dtype::F16, 2)
    } else {
        (Dtype::F32, 4)
    };
    let shapes: Vec<(String, Shape)> = expected_tensors(spec)
        .into_iter()
        .map(|(name, shape)| {
            let len = shape.iter().product::<usize>() * width;
            (name, Shape(dtype, shape, len))
        })
        .collect();
    let data: usize = shapes.iter().map(|(_, s)| s.2).sum();
    let meta = std::collections::HashMap::from([("pnag.source".to_string(), origin.to_string())]);
    let header = safetensors::serialize(shapes.iter().map(|(n, s)| (n.as_str(), s)), &Some(meta))
        .expect("in-memory serialization");
    (header.len() + data) as u64
}

/// Parses a safetensors header, naming `origin` on failure.
pub fn parse_safetensors<'a>(bytes: &'a [u8], origin: &str) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|source| RuntimeError::NotSafetensors {
        origin: origin.into(),
        source,
    })
}

/// Compares the tensor names present with the ones expected (ignoring OFA's
/// `num_batches_tracked` buffers) and reports every difference at once.
pub fn check_names(
    origin: &str,
    expected: &[(String, Vec<usize>)],
    present: &[&str],
) -> Result<()> {
    let wanted: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let have: BTreeSet<&str> = present.iter().copied().collect();
    let unexpected: Vec<String> = have
        .iter()
        .filter(|n| !wanted.contains(*n) && !n.ends_with(".num_batches_tracked"))
        .map(|n| n.to_string())
        .collect();
    let missing: Vec<String> = expected
        .iter()
        .filter(|(n, _)| !have.contains(n.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    let origin = origin.to_string();
    match (missing.is_empty(), unexpected.is_empty()) {
        (true, true) => Ok(()),
        (false, false) => Err(RuntimeError::OtherSubnet {
            origin,
            missing,
            unexpected,
        }),
        (false, true) => Err(RuntimeError::MissingTensors {
            origin,
            names: missing,
        }),
        (true, false) => Err(RuntimeError::UnexpectedTensors {
            origin,
            names: unexpected,
        }),
    }
}

/// Reads tensor `name` as f32 with the expected shape, or names what is wrong.
pub fn read_f32(
    st: &SafeTensors<'_>,
    origin: &str,
    name: &str,
    shape: &[usize],
) -> Result<WeightTensor> {
    let view = st.tensor(name).map_err(|_| RuntimeError::MissingTensors {
        origin: origin.into(),
        names: vec![name.into()],
    })?;
    if !matches!(view.dtype(), Dtype::F32 | Dtype::F16) {
        return Err(RuntimeError::DType {
            origin: origin.into(),
            name: name.into(),
            found: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != shape {
        return Err(RuntimeError::Shape {
            origin: origin.into(),
            name: name.into(),
            expected: shape.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    let data: Vec<f32> = match view.dtype() {
        // Half-precision weights (`[weights] dtype = "f16"`) are widened exactly.
        Dtype::F16 => view
            .data()
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        _ => view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    };
    check_finite(origin, name, &data)?;
    Ok(WeightTensor {
        shape: shape.to_vec(),
        data,
    })
}

/// Refuses a tensor holding NaN or an infinity, naming it, the count and the first one.
pub fn check_finite(origin: &str, name: &str, data: &[f32]) -> Result<()> {
    let mut bad = data.iter().enumerate().filter(|(_, v)| !v.is_finite());
    match bad.next() {
        None => Ok(()),
        Some((index, &value)) => Err(RuntimeError::NonFinite {
            origin: origin.into(),
            name: name.into(),
            count: 1 + bad.count(),
            index,
            value,
        }),
    }
}

/// Serializes named f32 tensors as safetensors bytes, with one optional metadata entry.
pub fn serialize_f32<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a WeightTensor)>,
    meta: Option<(&str, String)>,
) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .into_iter()
        .map(|(n, t)| {
            let view = safetensors::tensor::TensorView::new(
                Dtype::F32,
                t.shape.clone(),
                f32_bytes(&t.data),
            );
            (
                n.to_string(),
                view.expect("a WeightTensor's data matches its shape"),
            )
        })
        .collect();
    let meta = meta.map(|(k, v)| std::collections::HashMap::from([(k.to_string(), v)]));
    safetensors::serialize(views, &meta).expect("in-memory serialization")
}

fn f32_bytes(data: &[f32]) -> &[u8] {
    // f32 has no padding and any byte pattern is a valid u8; safetensors is little-endian.
    #[cfg(target_endian = "big")]
    compile_error!("weights serialization assumes a little-endian target");
    // SAFETY: the pointer and byte length come from one live `&[f32]`, u8 has alignment 1 and
    // every byte of an f32 is initialized; the returned slice borrows `data`.
    unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data)) }
}

/// The 64-bit golden-ratio increment of splitmix64.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output mix (Steele, Lea & Flood 2014).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` values uniform in [-1, 1) (multiples of 2^-23) from the stream `key`.
pub fn synthetic_uniform(key: &str, seed: u64, n: usize) -> Vec<f32> {
    let state = crate::hash::fnv1a64([key.as_bytes()]) ^ splitmix64(seed.wrapping_mul(GOLDEN));
    (0..n as u64)
        .map(|i| {
            let z = splitmix64(state.wrapping_add((i + 1).wrapping_mul(GOLDEN)));
            (z >> 40) as f32 / 8_388_608.0 - 1.0
        })
        .collect()
}

/// The synthetic value formula of [`Weights::synthetic`] for one tensor (also
/// used for synthetic OFA supernets, keyed by supernet tensor names).
pub fn synthetic_tensor(name: &str, shape: &[usize], seed: u64) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let (center, half): (f32, f32) =
        if name.ends_with(".bn.weight") || name.ends_with(".bn.running_var") {
            (1.0, 0.5)
        } else if name.ends_with(".bn.bias") || name.ends_with(".bn.running_mean") {
            (0.0, 0.2)
        } else if name.ends_with(".bias") {
            (0.0, 0.1)
        } else {
            let fan_in: usize = shape[1..].iter().product();
            (0.0, (4.0 / fan_in as f64).sqrt() as f32)
        };
    synthetic_uniform(name, seed, n)
        .into_iter()
        .map(|u| center + half * u)
        .collect()
}

/// Largest finite IEEE half-precision value.
pub const F16_MAX: f32 = 65504.0;

/// IEEE 754 half precision to single, exactly (every half is a float).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (h >> 10) & 0x1f;
    let man = u32::from(h & 0x3ff);
    match exp {
        // Zero and subnormals: man × 2⁻²⁴.
        0 => sign * man as f32 * f32::from_bits(0x3380_0000),
        0x1f if man == 0 => sign * f32::INFINITY,
        0x1f => f32::from_bits(0x7fc0_0000 | (man << 13) | (u32::from(h & 0x8000) << 16)),
        e => f32::from_bits(
            (u32::from(h & 0x8000) << 16) | ((u32::from(e) + 112) << 23) | (man << 13),
        ),
    }
}

/// Single to IEEE 754 half precision, rounding to nearest even (as `tensor.half()`):
/// overflow gives ±infinity, tiny values subnormals or ±0, NaN stays NaN.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal half (or zero): shift the full significand into 10 bits.
        if e < -10 {
            return sign;
        }
        let full = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = full >> shift;
        let rest = full & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        let round = rest > mid || (rest == mid && half & 1 == 1);
        return sign | (half + round as u32) as u16;
    }
    let half = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    let round = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
    // A carry out of the significand correctly bumps the exponent (up to infinity).
    sign | (half + round as u32) as u16
}
