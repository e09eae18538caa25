//! Per-layer latency lookup tables (OFA's Note10 tables, nsganetv2's i7-8700K
//! table) and the layer keys OFA-style subnets map to. A network's latency is
//! the sum of its layers' mean latencies, as OFA's `LatencyEstimator` and
//! nsganetv2's `look_up_latency` compute it.

use std::collections::HashMap;

use pnag_runtime::NetworkSpec;

use super::CostError;

/// `key -> mean latency (ms)` parsed from the two-level YAML the tables use:
/// `key:` at column 0, then indented `field: number` lines.
#[derive(Debug, Clone)]
pub struct LatencyTable {
    pub name: String,
    means: HashMap<String, f64>,
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
        })
    }

    pub fn len(&self) -> usize {
        self.means.len()
    }

    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    fn get(&self, key: String) -> Result<f64, CostError> {
        self.means.get(&key).copied().ok_or(CostError::MissingKey {
            table: self.name.clone(),
            key,
        })
    }

    /// Sum of `keys` (all must be present).
    pub fn sum(&self, keys: Vec<String>) -> Result<f64, CostError> {
        keys.into_iter().map(|k| self.get(k)).sum()
    }
}

/// Layer keys of OFA's Samsung Note10 tables (w1.2): `expand` is the middle width.
pub fn note10_keys(spec: &NetworkSpec) -> Vec<String> {
    let (r, fs) = (spec.resolution, spec.stem_size);
    let mut keys = vec![format!(
        "Conv-input:{r}x{r}x3-output:{fs}x{fs}x{}",
        spec.stem_channels
    )];
    for b in &spec.blocks {
        let hs = u8::from(b.activation == pnag_runtime::Activation::HSwish);
        keys.push(format!(
            "expanded_conv-input:{i}x{i}x{}-output:{o}x{o}x{}-expand:{}-kernel:{}-stride:{}-idskip:{}-se:{}-hs:{hs}",
            b.in_channels,
            b.out_channels,
            b.mid_channels,
            b.kernel,
            b.stride,
            u8::from(b.residual),
            u8::from(b.se_channels.is_some()),
            i = b.in_size,
            o = b.out_size,
        ));
    }
    let (f, c, fe, fm) = (
        spec.final_size,
        spec.last_block_channels(),
        spec.final_expand_channels,
        spec.feature_mix_channels,
    );
    keys.push(format!("Conv_1-input:{f}x{f}x{c}-output:{f}x{f}x{fe}"));
    keys.push(format!("AvgPool2D-input:{f}x{f}x{fe}-output:1x1x{fe}"));
    keys.push(format!("Conv_2-input:1x1x{fe}-output:1x1x{fm}"));
    keys.push(format!("Logits-input:1x1x{fm}-output:1000"));
    keys
}

/// Layer keys of nsganetv2's i7-8700K table (w1.0 and w1.2): `expand` is the ratio.
pub fn nsganetv2_keys(spec: &NetworkSpec) -> Vec<String> {
    let (r, fs) = (spec.resolution, spec.stem_size);
    let mut keys = vec![format!(
        "first_conv-input:{r}x{r}x3-output:{fs}x{fs}x{}",
        spec.stem_channels
    )];
    for b in &spec.blocks {
        keys.push(format!(
            "MBConv-input:{i}x{i}x{}-output:{o}x{o}x{}-expand:{}-kernel:{}-stride:{}-idskip:{}-se:{}",
            b.in_channels,
            b.out_channels,
            b.expand_ratio,
            b.kernel,
            b.stride,
            u8::from(b.residual),
            u8::from(b.se_channels.is_some()),
            i = b.in_size,
            o = b.out_size,
        ));
    }
    let (f, c, fe, fm) = (
        spec.final_size,
        spec.last_block_channels(),
        spec.final_expand_channels,
        spec.feature_mix_channels,
    );
    keys.push(format!(
        "final_expand_layer-input:{f}x{f}x{c}-output:{f}x{f}x{fe}"
    ));
    keys.push(format!("feature_mix_layer-input:1x1x{fe}-output:1x1x{fm}"));
    keys.push(format!("classifier-input:{fm}-output:1000"));
    keys
}
