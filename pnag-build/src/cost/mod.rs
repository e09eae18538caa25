//! Cost models: one per device, behind one interface (subnet → latency in ms),
//! plus MACs as a device-independent cost. The registry lists what `pnag
//! devices` shows; every table is embedded, so no files are needed at run time.

pub mod host;
mod lut;

pub use lut::{note10_keys, nsganetv2_keys, LatencyTable, LayerKey};

use pnag_runtime::hash::fnv1a64;
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
    /// An embedded model file is not JSON of its layout.
    #[error("cost model {file}: {source}")]
    Json {
        /// The model's file.
        file: &'static str,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    /// The learned latency predictor could not be loaded.
    #[error("cost model: {0}")]
    Predictor(#[from] crate::predictor::PredictorError),
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
            predictor: crate::predictor::embedded("titan-xp")?,
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
    model: crate::cost::host::HostModel,
}

impl Host {
    /// Loads the embedded host model.
    pub fn new() -> Result<Self, CostError> {
        let model = serde_json::from_str(HOST_MODEL).map_err(|source| CostError::Json {
            file: "models/host/host.json",
            source,
        })?;
        Ok(Host { model })
    }

    /// The fitted model and how it was measured.
    pub fn model(&self) -> &crate::cost::host::HostModel {
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

/// A device with a built-in cost model (and, but for `macs`, a shipped generator).
/// Added devices (`pnag device add`) are files instead: see [`crate::targets::TargetDevice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltinDevice {
    /// Samsung Note10 (OFA's lookup tables), ms.
    Note10,
    /// Intel i7-8700K (NSGANetV2's lookup table), ms.
    I7_8700k,
    /// NVIDIA TITAN Xp (learned from HELP's measurements), ms per batch of 64.
    TitanXp,
    /// This project's CI host, measured with tract (`pnag profile-device host`), ms.
    Host,
    /// Multiply-accumulates, the device-independent cost, M.
    Macs,
}

impl BuiltinDevice {
    /// Every built-in device, in `pnag devices` order.
    pub const ALL: [BuiltinDevice; 5] = [
        BuiltinDevice::Note10,
        BuiltinDevice::I7_8700k,
        BuiltinDevice::TitanXp,
        BuiltinDevice::Host,
        BuiltinDevice::Macs,
    ];

    /// The devices a known latency model calibrates added devices from (all but `macs`).
    pub const WITH_LATENCY: [BuiltinDevice; 4] = [
        BuiltinDevice::Note10,
        BuiltinDevice::I7_8700k,
        BuiltinDevice::TitanXp,
        BuiltinDevice::Host,
    ];

    /// The name used in targets files, `--device` and model directories.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinDevice::Note10 => "note10",
            BuiltinDevice::I7_8700k => "i7-8700k",
            BuiltinDevice::TitanXp => "titan-xp",
            BuiltinDevice::Host => "host",
            BuiltinDevice::Macs => "macs",
        }
    }

    /// The built-in device called `name`, if any.
    pub fn from_name(name: &str) -> Option<BuiltinDevice> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Every name, comma-separated (for error messages).
    pub fn names() -> String {
        Self::ALL.map(BuiltinDevice::name).join(", ")
    }

    /// Its cost model.
    pub fn cost_model(self) -> Result<Box<dyn CostModel>, CostError> {
        Ok(match self {
            BuiltinDevice::Note10 => Box::new(Note10::new()?),
            BuiltinDevice::I7_8700k => Box::new(I7_8700k::new()?),
            BuiltinDevice::TitanXp => Box::new(TitanXp::new()?),
            BuiltinDevice::Host => Box::new(Host::new()?),
            BuiltinDevice::Macs => Box::new(Macs),
        })
    }
}

impl std::fmt::Display for BuiltinDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BuiltinDevice {
    type Err = CostError;
    fn from_str(s: &str) -> Result<Self, CostError> {
        Self::from_name(s).ok_or_else(|| CostError::UnknownDevice(s.to_string()))
    }
}

/// The cost model of the built-in device called `name`.
pub fn device(name: &str) -> Result<Box<dyn CostModel>, CostError> {
    name.parse::<BuiltinDevice>()?.cost_model()
}
