//! Devices the tool has never seen, from one probe run and no training.
//!
//! `pnag-probe` measures the 20 reference subnets
//! ([`pnag_runtime::references::REFERENCES`]) on the target; [`ProbeFile::parse`]
//! checks that file strictly. [`calibrate`] then predicts the device's latency
//! two ways and keeps the one with the smaller leave-one-out error over the
//! references: a fit in the *device space* learned from 20 known devices
//! ([`crate::device::space`]), or the *closest known device's model,
//! calibrated* as `scale × model + offset`. Those leave-one-out errors are the
//! uncertainty a build uses as its margin. A generator answers for the new
//! device ([`GeneratorChoice`]): by default the built-in one whose device
//! calibrates best ([`Generator::transfer`]: budgets are placed among its
//! budget embeddings through the calibration), or the device-conditioned one
//! conditioned on the probe's latencies ([`crate::generator::device_conditioned`]);
//! either way the search and refinement score subnets with the new device's
//! predicted latency.
//! `pnag bench devices` measures all of this with every known device held out.

mod probe_file;
pub mod space;

pub use probe_file::ProbeFile;

use std::path::Path;

use pnag_runtime::arch::Width;
use pnag_runtime::references::REFERENCES;
use pnag_runtime::Arch;
use serde::{Deserialize, Serialize};

use crate::cost::BuiltinDevice;
use crate::device::space::{
    additive, AdditiveCost, Calibration, DeviceSpace, SpaceError, SpaceFit,
};
use crate::generator::device_conditioned::ConditionedGenerator;
use crate::generator::{Generator, GeneratorError};
use crate::objective::{Objective, ObjectiveError, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use crate::stats::{affine_loo, mean, quantile_nearest};

/// Version of the device file layout.
pub const DEVICE_FORMAT: u32 = 2;

/// Why a probe or device file was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the probe file is wrong.
    #[error("{origin}:{line}: {reason}")]
    Probe {
        /// The probe file.
        origin: String,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The device file is not JSON of the device layout.
    #[error("device file {origin}: {source}")]
    Json {
        /// The device file.
        origin: String,
        /// The parser's error (line and column).
        source: serde_json::Error,
    },
    /// The device file's probe no longer calibrates (for the reason given).
    #[error("device file {origin}: {source}")]
    Recalibrate {
        /// The device file.
        origin: String,
        /// Why calibrating its probe again failed.
        source: Box<DeviceError>,
    },
    /// The shipped device space is unusable.
    #[error("the shipped device space: {source}")]
    Space {
        /// What is wrong with it.
        #[from]
        source: SpaceError,
    },
    /// The device file is inconsistent or unreadable.
    #[error("device file {origin}: {reason}")]
    File {
        /// The device file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// Not a name a device may have.
    #[error("device name `{name}`: {reason}")]
    Name {
        /// The name (shortened, control characters escaped).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No known device's latencies are an increasing affine map of the probe's.
    #[error("no known device's latencies rise with these reference latencies (every calibration has a scale ≤ 0), so nothing can predict this device; re-run pnag-probe on it")]
    NoCalibration,
    /// Nothing known covers the probe's setting (the device space and generators are at 224 px).
    #[error("the device space and the shipped generators cover 224 px; the probe ran w{width} at {resolution} px (run pnag-probe --resolution 224)")]
    NoBase {
        /// The probe's width.
        width: Width,
        /// The probe's resolution.
        resolution: u32,
    },
}

/// Checks a device name where one enters (`pnag device add`, `--device`, targets files,
/// device files): 1–64 ASCII letters, digits, `-` or `_` (it becomes a file name), and not
/// a built-in device's.
pub fn check_name(name: &str) -> Result<(), DeviceError> {
    let bad = |reason: &str| DeviceError::Name {
        name: probe_file::printable(&name.chars().take(64).collect::<String>()),
        reason: reason.into(),
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(bad("expected 1–64 letters, digits, `-` or `_`"));
    }
    if BuiltinDevice::from_name(name).is_some() {
        return Err(bad("shadows a built-in device; choose another"));
    }
    Ok(())
}

/// How many references near a budget set its default margin ([`DeviceFile::margin_at`]).
pub const LOCAL_REFERENCES: usize = 5;

/// The added device: its probe, its latency model and uncertainty, and the
/// generator that answers for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceFile {
    /// Layout version.
    pub format: u32,
    /// The device's name (what targets files and `--device` use).
    pub name: String,
    /// How its latency is predicted.
    pub method: LatencyMethod,
    /// The predicted latency: an additive model (ms), see [`crate::device::space`].
    pub model: Vec<f64>,
    /// The other method's model: searches use the larger of the two predictions.
    pub guard: Vec<f64>,
    /// Leave-one-out relative errors over the references: median.
    pub loo_median_error: f64,
    /// Leave-one-out relative errors over the references: 90th percentile (the
    /// default margin for budgets).
    pub loo_p90_error: f64,
    /// The chosen method's leave-one-out relative error at each reference (in
    /// [`REFERENCES`] order): where the prediction is less sure, budgets get a wider margin.
    pub loo_errors: Vec<f64>,
    /// Every candidate method's mean leave-one-out error (how `method` was chosen).
    pub candidates: Vec<(LatencyMethod, f64)>,
    /// The built-in device whose generator answers for this one.
    pub generator: String,
    /// `this device's ms ≈ generator_scale × the generator device's cost + generator_offset`
    /// over the references: where budgets fall among the generator's budget embeddings.
    pub generator_scale: f64,
    /// See `generator_scale` (ms).
    pub generator_offset: f64,
    /// What was measured, and how.
    pub probe: ProbeFile,
    /// Which generator answers for the device (`pnag device add --generator`).
    #[serde(default)]
    pub answers_with: GeneratorChoice,
}

/// How an added device's latency is predicted from its reference latencies. Written in
/// device files as `"device space"` or `"calibrated <known device>"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum LatencyMethod {
    /// The device space's fit ([`space::DeviceSpace::fit`]).
    DeviceSpace,
    /// A known device's additive model, `scale × model + offset` ([`space::Calibration`]).
    Calibrated(String),
}

impl std::fmt::Display for LatencyMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LatencyMethod::DeviceSpace => f.write_str("device space"),
            LatencyMethod::Calibrated(d) => write!(f, "calibrated {d}"),
        }
    }
}

impl From<LatencyMethod> for String {
    fn from(m: LatencyMethod) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for LatencyMethod {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "device space" {
            return Ok(LatencyMethod::DeviceSpace);
        }
        match s.strip_prefix("calibrated ") {
            Some(d) if !d.is_empty() => Ok(LatencyMethod::Calibrated(d.to_string())),
            _ => Err(format!(
                "unknown method `{s}`; expected `device space` or `calibrated <known device>`"
            )),
        }
    }
}

/// Which generator answers for an added device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorChoice {
    /// The built-in generator whose device calibrates best (`generator`), transferred.
    #[default]
    Borrowed,
    /// The shipped device-conditioned generator, conditioned on the probe's latencies.
    DeviceConditioned,
}

impl std::str::FromStr for GeneratorChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "borrowed" => Ok(GeneratorChoice::Borrowed),
            "device-conditioned" => Ok(GeneratorChoice::DeviceConditioned),
            _ => Err(format!(
                "unknown generator `{s}`; expected `borrowed` or `device-conditioned`"
            )),
        }
    }
}

/// A device's two latency predictions from its reference latencies.
pub struct Predictions {
    /// The fit in the device space.
    pub space: SpaceFit,
    /// The closest known device, calibrated.
    pub closest: Calibration,
}

impl Predictions {
    /// Whether the device-space fit is kept: its mean leave-one-out error is not
    /// larger than the calibration's (the rule `pnag device add` follows).
    pub fn space_wins(&self) -> bool {
        mean(&self.space.loo_errors) <= mean(&self.closest.loo_errors)
    }
}

/// Both predictions of a device whose `refs` measured `ms`; `None` when no known
/// device (outside `exclude`) calibrates with a positive scale.
pub fn predict(
    space: &DeviceSpace,
    refs: &[Arch],
    ms: &[f64],
    exclude: &[&str],
) -> Result<Option<Predictions>, SpaceError> {
    let fitted = space.fit(refs, ms)?;
    Ok(space.closest(refs, ms, exclude).map(|closest| Predictions {
        space: fitted,
        closest,
    }))
}

/// The reference subnets as archs.
pub fn reference_archs() -> Vec<Arch> {
    REFERENCES
        .iter()
        .map(|a| Arch::parse(a).expect("the reference set is valid"))
        .collect()
}

/// Describes a probed device (no training): fits it in the shipped device space
/// and calibrates every known device's model to it, keeps whichever has the
/// smaller mean leave-one-out error over the references, and picks the
/// built-in generator whose device calibrates best. `exclude` leaves known
/// devices out (leave-out studies).
pub fn calibrate(
    name: &str,
    probe: &ProbeFile,
    exclude: &[&str],
) -> Result<DeviceFile, DeviceError> {
    let space = DeviceSpace::embedded()?;
    describe(name, probe, &space, exclude)
}

/// [`calibrate`] against a given device space.
pub fn describe(
    name: &str,
    probe: &ProbeFile,
    space: &DeviceSpace,
    exclude: &[&str],
) -> Result<DeviceFile, DeviceError> {
    if probe.resolution != space.resolution {
        return Err(DeviceError::NoBase {
            width: probe.width,
            resolution: probe.resolution,
        });
    }
    let no_base = || DeviceError::NoCalibration;
    let refs = reference_archs();
    let ms = &probe.latency_ms;
    let both = predict(space, &refs, ms, exclude)?.ok_or_else(no_base)?;
    let space_wins = both.space_wins();
    let Predictions {
        space: fitted,
        closest,
    } = both;
    let candidates = vec![
        (LatencyMethod::DeviceSpace, mean(&fitted.loo_errors)),
        (
            LatencyMethod::Calibrated(closest.name.clone()),
            mean(&closest.loo_errors),
        ),
    ];
    let (method, model, guard, errors) = if space_wins {
        (
            candidates[0].0.clone(),
            fitted.theta,
            closest.theta,
            fitted.loo_errors,
        )
    } else {
        (
            candidates[1].0.clone(),
            closest.theta,
            fitted.theta,
            closest.loo_errors,
        )
    };
    // The generator: the built-in device closest to the new one, mapped onto it.
    let predicted: Vec<f64> = refs.iter().map(|a| additive(&model, a)).collect();
    let mut best: Option<(f64, &str, f64, f64)> = None;
    for g in BuiltinDevice::WITH_LATENCY
        .map(BuiltinDevice::name)
        .iter()
        .filter(|g| !exclude.contains(g))
    {
        let Ok(objective) = Objective::new(g, DEFAULT_WIDTH, DEFAULT_RESOLUTION) else {
            continue;
        };
        let Ok(x) = objective.cost_many(&refs) else {
            continue;
        };
        let (scale, offset, loo) = affine_loo(&x, &predicted);
        if scale > 0.0 && best.is_none_or(|b| mean(&loo) < b.0) {
            best = Some((mean(&loo), g, scale, offset));
        }
    }
    let (_, generator, generator_scale, generator_offset) = best.ok_or_else(no_base)?;
    Ok(DeviceFile {
        format: DEVICE_FORMAT,
        name: name.into(),
        method,
        model,
        guard,
        loo_median_error: quantile_nearest(errors.clone(), 0.5),
        loo_p90_error: quantile_nearest(errors.clone(), 0.9),
        loo_errors: errors,
        candidates,
        generator: generator.into(),
        generator_scale,
        generator_offset,
        probe: probe.clone(),
        answers_with: GeneratorChoice::Borrowed,
    })
}

impl DeviceFile {
    /// The device's predicted latency (ms).
    pub fn latency(&self, arch: &Arch) -> f64 {
        additive(&self.model, arch)
    }

    /// The default margin for `budget` (ms): the largest leave-one-out error
    /// among the [`LOCAL_REFERENCES`] references whose predicted latency is
    /// closest to the budget, and never less than the overall 90th percentile —
    /// relative errors are larger at the cheap end, where a fixed margin missed.
    pub fn margin_at(&self, budget: f64) -> f64 {
        let refs = reference_archs();
        let mut by_distance: Vec<(f64, f64)> = refs
            .iter()
            .zip(&self.loo_errors)
            .map(|(a, &e)| ((self.latency(a) - budget).abs(), e))
            .collect();
        by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
        by_distance
            .iter()
            .take(LOCAL_REFERENCES)
            .map(|x| x.1)
            .fold(self.loo_p90_error, f64::max)
    }

    /// The device as an objective (the larger of its two predicted latencies,
    /// the default accuracy model).
    pub fn objective(&self) -> Result<Objective, ObjectiveError> {
        Objective::custom(
            self.name.clone(),
            Box::new(self.cost_model()),
            self.probe.width,
            self.probe.resolution,
        )
    }

    /// The device's latency as searches, builds and `pnag predict` see it: the
    /// larger of its two predictions, at the probe's width and resolution.
    pub fn cost_model(&self) -> AdditiveCost {
        AdditiveCost {
            thetas: vec![self.model.clone(), self.guard.clone()],
            width: self.probe.width,
            resolution: self.probe.resolution,
        }
    }

    /// The name of the generator that answers for the device (for messages).
    pub fn generator_name(&self) -> &str {
        match self.answers_with {
            GeneratorChoice::Borrowed => &self.generator,
            GeneratorChoice::DeviceConditioned => crate::generator::device_conditioned::CONDITIONED,
        }
    }

    /// The generator that answers for the device ([`DeviceFile::answers_with`]):
    /// the built-in one named by `generator`, transferred, or the
    /// device-conditioned one, conditioned on the probe's reference latencies.
    pub fn generator(&self, objective: &Objective) -> Result<Generator, GeneratorError> {
        match self.answers_with {
            GeneratorChoice::Borrowed => Generator::embedded(&self.generator)?.transfer(
                objective,
                self.generator_scale,
                self.generator_offset,
            ),
            GeneratorChoice::DeviceConditioned => {
                ConditionedGenerator::embedded()?.for_device(objective, &self.probe.latency_ms)
            }
        }
    }

    /// Reads and checks a device file (JSON).
    pub fn load(path: &Path) -> Result<Self, DeviceError> {
        let origin = path.display().to_string();
        let text = pnag_runtime::files::read_input_text(path, pnag_runtime::files::MAX_TEXT_BYTES)
            .map_err(|source| DeviceError::Io {
                path: origin.clone(),
                source,
            })?;
        let bad = |reason: String| DeviceError::File {
            origin: origin.clone(),
            reason,
        };
        let d: DeviceFile = serde_json::from_str(&text).map_err(|source| DeviceError::Json {
            origin: origin.clone(),
            source,
        })?;
        if d.format != DEVICE_FORMAT {
            return Err(bad(format!(
                "format {} (this pnag reads {DEVICE_FORMAT}; re-run `pnag device add` with the probe file)",
                d.format
            )));
        }
        check_name(&d.name)?;
        // A device file answers for the device it is named after: a copy under another
        // name would silently answer as the original.
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if stem.as_deref() != Some(d.name.as_str()) {
            return Err(bad(format!(
                "it describes device `{}`; a device file is `<name>.json` after its device (re-run `pnag device add` under the new name)",
                d.name
            )));
        }
        d.probe.check(&origin)?;
        // Edited by hand into inconsistency? Everything must follow from the probe.
        let again = calibrate(&d.name, &d.probe, &[]).map_err(|e| DeviceError::Recalibrate {
            origin: origin.clone(),
            source: Box::new(e),
        })?;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
        let same = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y))
        };
        let same_model = same(&d.model, &again.model) && same(&d.guard, &again.guard);
        if d.method != again.method
            || !same_model
            || d.generator != again.generator
            || !close(d.generator_scale, again.generator_scale)
            || !close(d.generator_offset, again.generator_offset)
            || !close(d.loo_p90_error, again.loo_p90_error)
            || !same(&d.loo_errors, &again.loo_errors)
        {
            return Err(bad(format!(
                "its model ({}, generator {}) does not follow from its probe ({}, generator {}); re-run `pnag device add`",
                d.method, d.generator, again.method, again.generator
            )));
        }
        Ok(d)
    }
}
