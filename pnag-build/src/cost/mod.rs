//! Cost models: one per device, behind one interface (subnet → latency in ms),
//! plus MACs as a device-independent cost. The registry lists what `pnag
//! devices` shows; every table is embedded, so no files are needed at run time.

mod lut;

pub use lut::{note10_keys, nsganetv2_keys, LatencyTable, LayerKey};

use pnag_runtime::{Arch, ArchError, NetworkSpec, Width};
use serde::Serialize;

/// Why a cost could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// No cost model has this name.
    #[error("unknown device `{0}` (see `pnag devices`)")]
    UnknownDevice(String),
    /// The device has no data for this width.
    #[error("device `{device}` has no data for width {width} (supported: {supported})")]
    Width {
        /// The device.
        device: &'static str,
        /// Width asked for.
        width: Width,
        /// The widths it has data for.
        supported: String,
    },
    /// The device has no data for this resolution.
    #[error("device `{device}` has no data for resolution {resolution} (supported: {supported})")]
    Resolution {
        /// The device.
        device: &'static str,
        /// Resolution asked for.
        resolution: u32,
        /// The resolutions it has data for.
        supported: String,
    },
    /// A latency table line could not be parsed.
    #[error("latency table `{table}` line {line}: {reason}")]
    Table {
        /// The table's file.
        table: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    #[error("latency table `{table}` has no entry `{key}`")]
    /// The table has no row for a layer the arch uses.
    MissingKey {
        /// The table's file.
        table: String,
        /// The row key looked up.
        key: String,
    },
    /// A learned or fitted model could not be loaded.
    #[error("cost model: {0}")]
    Model(String),
    /// The arch is not in the search space.
    #[error(transparent)]
    Arch(#[from] ArchError),
}

pub use pnag_runtime::CostUnit;

/// Description of a registered device, for `pnag devices`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// The name to use in targets files and `--device`.
    pub name: &'static str,
    /// `mobile`, `CPU`, `GPU`, …
    pub kind: &'static str,
    /// What its costs are measured in.
    pub unit: CostUnit,
    /// How a cost is computed.
    pub model: &'static str,
    /// Widths it has data for.
    pub widths: Vec<String>,
    /// Resolutions it has data for.
    pub resolutions: String,
    /// Where its data comes from.
    pub source: &'static str,
}

const NOTE10_RESOLUTIONS: [u32; 5] = [160, 176, 192, 208, 224];
const NOTE10_TABLES: [&str; 5] = [
    include_str!("../../data/ofa_note10_lut/160_lookup_table.yaml"),
    include_str!("../../data/ofa_note10_lut/176_lookup_table.yaml"),
    include_str!("../../data/ofa_note10_lut/192_lookup_table.yaml"),
    include_str!("../../data/ofa_note10_lut/208_lookup_table.yaml"),
    include_str!("../../data/ofa_note10_lut/224_lookup_table.yaml"),
];
const I7_TABLE: &str = include_str!("../../data/nsganetv2_i7-8700K_lut.yaml");

/// A cost model for one device (`Sync`: a frontier runs its grid searches on all cores).
pub trait CostModel: Send + Sync {
    /// What the device is and what its model covers.
    fn info(&self) -> DeviceInfo;
    /// Cost of `arch` at `width` and `resolution` (unit: `info().unit`).
    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError>;
    /// [`CostModel::cost`] of several archs (the same numbers; batched where that is faster).
    fn cost_many(
        &self,
        archs: &[Arch],
        width: Width,
        resolution: u32,
    ) -> Result<Vec<f64>, CostError> {
        archs
            .iter()
            .map(|&a| self.cost(a, width, resolution))
            .collect()
    }
    /// A hash of the model's data: a generator records it and refuses to run
    /// against a cost model that has changed since it was trained.
    fn content_hash(&self) -> u64;
}

/// A word-at-a-time hasher (rustc's "Fx" hash) for the hot memo tables keyed
/// by small plain values (archs, layer keys): several times cheaper than the
/// default SipHash there, and nothing in them comes from an adversary.
#[derive(Debug, Clone, Copy, Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A `HashMap` hashed with [`FxHasher`].
pub type FxMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
/// A `HashSet` hashed with [`FxHasher`].
pub type FxSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

pub use pnag_runtime::hash::fnv1a64;

/// OFA's Samsung Note10 lookup tables (mobile, w1.2, 160–224 px in steps of 16).
pub struct Note10 {
    tables: Vec<LatencyTable>,
}

impl Note10 {
    /// Loads the embedded Note10 tables.
    pub fn new() -> Result<Self, CostError> {
        let tables = NOTE10_RESOLUTIONS
            .iter()
            .zip(NOTE10_TABLES)
            .map(|(r, text)| {
                LatencyTable::parse(&format!("data/ofa_note10_lut/{r}_lookup_table.yaml"), text)
            })
            .collect::<Result<_, _>>()?;
        Ok(Note10 { tables })
    }
}

impl CostModel for Note10 {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "note10",
            kind: "mobile (Samsung Note10)",
            unit: CostUnit::Ms,
            model: "OFA per-layer lookup table (sum of layer means)",
            widths: vec!["1.2".into()],
            resolutions: "160, 176, 192, 208, 224".into(),
            source: "han-cai/files ofa/note10 (OFA)",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        if width != Width::W1_2 {
            return Err(CostError::Width {
                device: "note10",
                width,
                supported: "1.2".into(),
            });
        }
        let table = NOTE10_RESOLUTIONS
            .iter()
            .position(|&r| r == resolution)
            .ok_or(CostError::Resolution {
                device: "note10",
                resolution,
                supported: "160, 176, 192, 208, 224".into(),
            })?;
        self.tables[table].sum(note10_keys(&NetworkSpec::new(arch, width, resolution)?))
    }

    fn content_hash(&self) -> u64 {
        fnv1a64(NOTE10_TABLES.iter().map(|t| t.as_bytes()))
    }
}

/// nsganetv2's Intel i7-8700K lookup table (CPU, w1.0 and w1.2, 128–256 px).
pub struct I7_8700k {
    table: LatencyTable,
}

impl I7_8700k {
    /// Loads the embedded i7-8700K table.
    pub fn new() -> Result<Self, CostError> {
        Ok(I7_8700k {
            table: LatencyTable::parse("data/nsganetv2_i7-8700K_lut.yaml", I7_TABLE)?,
        })
    }
}

impl CostModel for I7_8700k {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "i7-8700k",
            kind: "cpu (Intel i7-8700K)",
            unit: CostUnit::Ms,
            model: "nsganetv2 per-layer lookup table (sum of layer means)",
            widths: vec!["1.0".into(), "1.2".into()],
            resolutions: "128..=256, step 4".into(),
            source: "human-analysis/nsganetv2 data/i7-8700K_lut.yaml",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        self.table
            .sum(nsganetv2_keys(&NetworkSpec::new(arch, width, resolution)?))
    }

    fn content_hash(&self) -> u64 {
        fnv1a64([I7_TABLE.as_bytes()])
    }
}

/// NVIDIA TITAN Xp, learned from HELP's measured latencies (`models/predictors/titan-xp`).
/// Unit: ms per batch of 64 images — HELP's batch-1 GPU numbers are launch-overhead
/// dominated (even a fitted model reaches Spearman 0.76 on them), batch 64 measures the network.
pub struct TitanXp {
    predictor: crate::predictor::LearnedPredictor,
}

impl TitanXp {
    /// Loads the embedded TITAN Xp predictor.
    pub fn new() -> Result<Self, CostError> {
        Ok(TitanXp {
            predictor: crate::predictor::embedded("titan-xp")
                .map_err(|e| CostError::Model(e.to_string()))?,
        })
    }
}

impl CostModel for TitanXp {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "titan-xp",
            kind: "gpu (NVIDIA TITAN Xp)",
            unit: CostUnit::Ms,
            model: "learned from 4,000 HELP measurements (ms per batch of 64)",
            widths: vec!["1.2".into()],
            resolutions: "128..=224, step 4".into(),
            source: "HayeonLee/HELP data/ofa (MIT)",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        Ok(self.cost_many(&[arch], width, resolution)?[0])
    }

    fn cost_many(
        &self,
        archs: &[Arch],
        width: Width,
        resolution: u32,
    ) -> Result<Vec<f64>, CostError> {
        if width != Width::W1_2 {
            return Err(CostError::Width {
                device: "titan-xp",
                width,
                supported: "1.2".into(),
            });
        }
        if !(128..=224).contains(&resolution) || !resolution.is_multiple_of(4) {
            return Err(CostError::Resolution {
                device: "titan-xp",
                resolution,
                supported: "128..=224, step 4".into(),
            });
        }
        Ok(self.predictor.predict_many(archs, resolution))
    }

    fn content_hash(&self) -> u64 {
        self.predictor.content_hash()
    }
}

const HOST_MODEL: &str = include_str!("../../models/host/host.json");

/// This machine, measured with tract (`pnag profile-device host` writes
/// `models/host/host.json`; the embedded default was measured on the machine type in it).
pub struct Host {
    model: crate::host::HostModel,
}

impl Host {
    /// Loads the embedded host model.
    pub fn new() -> Result<Self, CostError> {
        let model = serde_json::from_str(HOST_MODEL)
            .map_err(|e| CostError::Model(format!("models/host/host.json: {e}")))?;
        Ok(Host { model })
    }

    /// The fitted model and how it was measured.
    pub fn model(&self) -> &crate::host::HostModel {
        &self.model
    }
}

impl CostModel for Host {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "host",
            kind: "this machine (tract)",
            unit: CostUnit::Ms,
            model: "per-block table fitted to whole-network tract measurements",
            widths: vec![self.model.width.clone()],
            resolutions: self.model.resolution.to_string(),
            source: "pnag profile-device host (models/host/host.json)",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        if width.to_string() != self.model.width {
            return Err(CostError::Width {
                device: "host",
                width,
                supported: self.model.width.clone(),
            });
        }
        if resolution != self.model.resolution {
            return Err(CostError::Resolution {
                device: "host",
                resolution,
                supported: format!(
                    "{} (re-run `pnag profile-device host --resolution {resolution}`)",
                    self.model.resolution
                ),
            });
        }
        Ok(self.model.predict(&arch))
    }

    fn content_hash(&self) -> u64 {
        fnv1a64([HOST_MODEL.as_bytes()])
    }
}

/// Multiply-accumulates (OFA's `count_net_flops`), the device-independent cost.
pub struct Macs;

impl CostModel for Macs {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            name: "macs",
            kind: "device-independent",
            unit: CostUnit::Mmacs,
            model: "exact count, as OFA count_net_flops",
            widths: vec!["1.0".into(), "1.2".into()],
            resolutions: "128..=256, step 4".into(),
            source: "computed",
        }
    }

    fn cost(&self, arch: Arch, width: Width, resolution: u32) -> Result<f64, CostError> {
        Ok(NetworkSpec::new(arch, width, resolution)?.macs() as f64 / 1e6)
    }

    fn content_hash(&self) -> u64 {
        fnv1a64([b"count_net_flops".as_slice()])
    }
}

/// Names of the registered devices, in `pnag devices` order.
pub const DEVICES: [&str; 5] = ["note10", "i7-8700k", "titan-xp", "host", "macs"];

/// The cost model registered as `name`.
pub fn device(name: &str) -> Result<Box<dyn CostModel>, CostError> {
    match name {
        "note10" => Ok(Box::new(Note10::new()?)),
        "i7-8700k" => Ok(Box::new(I7_8700k::new()?)),
        "titan-xp" => Ok(Box::new(TitanXp::new()?)),
        "host" => Ok(Box::new(Host::new()?)),
        "macs" => Ok(Box::new(Macs)),
        other => Err(CostError::UnknownDevice(other.to_string())),
    }
}
