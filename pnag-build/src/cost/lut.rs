//! Per-layer latency lookup tables (OFA's Note10 tables, nsganetv2's i7-8700K
//! table) and the layer keys OFA-style subnets map to. A network's latency is
//! the sum of its layers' mean latencies, as OFA's `LatencyEstimator` and
//! nsganetv2's `look_up_latency` compute it.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use pnag_runtime::NetworkSpec;

use super::CostError;

/// `key -> mean latency (ms)` parsed from the two-level YAML the tables use:
/// `key:` at column 0, then indented `field: number` lines.
#[derive(Debug)]
pub struct LatencyTable {
    /// The table's file name, for errors.
    pub name: String,
    means: HashMap<String, f64>,
    /// Rows already looked up, by their unformatted key: hashing ten numbers
    /// is much cheaper than formatting the key (a refinement costs ~1,000
    /// archs of ~25 layers per budget).
    memo: RwLock<crate::fxhash::FxMap<LayerKey, f64>>,
}

impl LatencyTable {
    /// Parses a table; errors name the file and line.
    pub fn parse(name: &str, text: &str) -> Result<Self, CostError> {
        let mut means = HashMap::new();
        let mut key: Option<&str> = None;
        for (i, line) in text.lines().enumerate() {
            let bad = |what: &str| CostError::Table {
                table: name.to_string(),
                line: i + 1,
                reason: what.to_string(),
            };
            if line.trim().is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                key = Some(
                    line.trim_end()
                        .strip_suffix(':')
                        .ok_or_else(|| bad("a layer key must end with ':'"))?,
                );
            } else if let Some((field, value)) = line.trim().split_once(':') {
                if field == "mean" {
                    let k = key.ok_or_else(|| bad("'mean' before any layer key"))?;
                    let v: f64 = value
                        .trim()
                        .parse()
                        .map_err(|_| bad("'mean' is not a number"))?;
                    means.insert(k.to_string(), v);
                }
            } else {
                return Err(bad("expected 'field: value'"));
            }
        }
        Ok(LatencyTable {
            name: name.to_string(),
            means,
            memo: RwLock::default(),
        })
    }

    /// Number of rows (layer keys).
    pub fn len(&self) -> usize {
        self.means.len()
    }

    /// True for a table without rows.
    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    fn get(&self, key: LayerKey) -> Result<f64, CostError> {
        if let Some(v) = self.memo.read().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(v);
        }
        let text = key.to_string();
        let v = self
            .means
            .get(&text)
            .copied()
            .ok_or(CostError::MissingKey {
                table: self.name.clone(),
                key: text,
            })?;
        if let Ok(mut m) = self.memo.write() {
            m.insert(key, v);
        }
        Ok(v)
    }

    /// Sum of `keys` (all must be present), in order.
    pub fn sum(&self, keys: Vec<LayerKey>) -> Result<f64, CostError> {
        keys.into_iter().map(|k| self.get(k)).sum()
    }
}

/// One row of a lookup table, unformatted: which layer and its numbers
/// (`Display` gives the table's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKey {
    layer: Layer,
    n: [u32; 10],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Layer {
    Note10Stem,
    Note10Block,
    Note10FinalExpand,
    Note10Pool,
    Note10FeatureMix,
    Note10Logits,
    Nsga2Stem,
    Nsga2Block,
    Nsga2FinalExpand,
    Nsga2FeatureMix,
    Nsga2Classifier,
}

fn key(layer: Layer, numbers: &[usize]) -> LayerKey {
    let mut n = [0u32; 10];
    for (slot, &v) in n.iter_mut().zip(numbers) {
        *slot = v as u32;
    }
    LayerKey { layer, n }
}

impl fmt::Display for LayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.n;
        match self.layer {
            Layer::Note10Stem => write!(f, "Conv-input:{0}x{0}x3-output:{1}x{1}x{2}", n[0], n[1], n[2]),
            Layer::Note10Block => write!(
                f,
                "expanded_conv-input:{0}x{0}x{1}-output:{2}x{2}x{3}-expand:{4}-kernel:{5}-stride:{6}-idskip:{7}-se:{8}-hs:{9}",
                n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9]
            ),
            Layer::Note10FinalExpand => write!(f, "Conv_1-input:{0}x{0}x{1}-output:{0}x{0}x{2}", n[0], n[1], n[2]),
            Layer::Note10Pool => write!(f, "AvgPool2D-input:{0}x{0}x{1}-output:1x1x{1}", n[0], n[1]),
            Layer::Note10FeatureMix => write!(f, "Conv_2-input:1x1x{}-output:1x1x{}", n[0], n[1]),
            Layer::Note10Logits => write!(f, "Logits-input:1x1x{}-output:1000", n[0]),
            Layer::Nsga2Stem => write!(f, "first_conv-input:{0}x{0}x3-output:{1}x{1}x{2}", n[0], n[1], n[2]),
            Layer::Nsga2Block => write!(
                f,
                "MBConv-input:{0}x{0}x{1}-output:{2}x{2}x{3}-expand:{4}-kernel:{5}-stride:{6}-idskip:{7}-se:{8}",
                n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8]
            ),
            Layer::Nsga2FinalExpand => write!(f, "final_expand_layer-input:{0}x{0}x{1}-output:{0}x{0}x{2}", n[0], n[1], n[2]),
            Layer::Nsga2FeatureMix => write!(f, "feature_mix_layer-input:1x1x{}-output:1x1x{}", n[0], n[1]),
            Layer::Nsga2Classifier => write!(f, "classifier-input:{}-output:1000", n[0]),
        }
    }
}

/// Layer keys of OFA's Samsung Note10 tables (w1.2): `expand` is the middle width.
pub fn note10_keys(spec: &NetworkSpec) -> Vec<LayerKey> {
    let (r, fs) = (spec.resolution, spec.stem_size);
    let mut keys = vec![key(Layer::Note10Stem, &[r, fs, spec.stem_channels])];
    for b in &spec.blocks {
        let hs = usize::from(b.activation == pnag_runtime::Activation::HSwish);
        keys.push(key(
            Layer::Note10Block,
            &[
                b.in_size,
                b.in_channels,
                b.out_size,
                b.out_channels,
                b.mid_channels,
                b.kernel,
                b.stride,
                usize::from(b.residual),
                usize::from(b.se_channels.is_some()),
                hs,
            ],
        ));
    }
    let (f, c, fe, fm) = (
        spec.final_size,
        spec.last_block_channels(),
        spec.final_expand_channels,
        spec.feature_mix_channels,
    );
    keys.push(key(Layer::Note10FinalExpand, &[f, c, fe]));
    keys.push(key(Layer::Note10Pool, &[f, fe]));
    keys.push(key(Layer::Note10FeatureMix, &[fe, fm]));
    keys.push(key(Layer::Note10Logits, &[fm]));
    keys
}

/// Layer keys of nsganetv2's i7-8700K table (w1.0 and w1.2): `expand` is the ratio.
pub fn nsganetv2_keys(spec: &NetworkSpec) -> Vec<LayerKey> {
    let (r, fs) = (spec.resolution, spec.stem_size);
    let mut keys = vec![key(Layer::Nsga2Stem, &[r, fs, spec.stem_channels])];
    for b in &spec.blocks {
        keys.push(key(
            Layer::Nsga2Block,
            &[
                b.in_size,
                b.in_channels,
                b.out_size,
                b.out_channels,
                b.expand_ratio as usize,
                b.kernel,
                b.stride,
                usize::from(b.residual),
                usize::from(b.se_channels.is_some()),
            ],
        ));
    }
    let (f, c, fe, fm) = (
        spec.final_size,
        spec.last_block_channels(),
        spec.final_expand_channels,
        spec.feature_mix_channels,
    );
    keys.push(key(Layer::Nsga2FinalExpand, &[f, c, fe]));
    keys.push(key(Layer::Nsga2FeatureMix, &[fe, fm]));
    keys.push(key(Layer::Nsga2Classifier, &[fm]));
    keys
}
