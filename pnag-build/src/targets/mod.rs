//! `targets/<device>.toml`: the budgets an application ships for one device,
//! parsed with serde + toml and validated once into a checked [`Targets`].
//!
//! Every problem is reported at once, each as `file:line:column: field: what
//! was expected`, so a user fixes the whole file in one pass.
//!
//! ```toml
//! device = "note10"          # a cost model: note10, i7-8700k, titan-xp, host, macs
//! runtime = "cpu"            # or "cuda"; cuda_fallback = true runs on the CPU without a GPU
//! width = 1.2                # the generator's width (every shipped generator: 1.2)
//! resolution = 224
//! seed = 0                   # generator sampling seed (same seed, same networks)
//! threads = 1                # tract worker threads in the application
//! # model = "models/note10"  # a trained generator directory (default: the shipped one)
//!
//! [weights]                  # optional; default: synthetic (UNTRAINED demo weights)
//! source = "synthetic"       # "synthetic" | "supernet" | "subnets"
//! seed = 0                   # synthetic only
//! dtype = "f32"              # or "f16": half-size embedded weights, widened at load
//! # path = "ofa_w12.safetensors"  # supernet: an OFA supernet checkpoint (safetensors)
//! #                               # subnets: a directory with <budget name>.safetensors
//!
//! [[budget]]
//! name = "fast"
//! latency_ms = 25.0          # or macs_m = 300 for device "macs"
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use pnag_runtime::arch::Width;
use serde::Deserialize;
use toml::Spanned;

use crate::cost::BuiltinDevice;
use crate::device::DeviceFile;
use budget::{check_budget, RawBudget, RawLimits};
use resolution::{check_resolutions, Coverage, RawResolution};

pub use pnag_runtime::MAX_THREADS;

/// Most budgets one targets file may list. Each budget embeds its own network (20–45 MB of
/// f32 weights), so 64 already means gigabytes of binaries; more is a mistake, not a plan.
pub const MAX_BUDGETS: usize = 64;

/// Longest budget name, in characters: it becomes a Rust-facing name (`network!(..,
/// budget = "..")`) and part of a file name under `OUT_DIR`.
pub const MAX_NAME_CHARS: usize = 64;

/// One problem in a targets file, located as precisely as the file allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetsError {
    /// The targets file.
    pub file: PathBuf,
    /// 1-based line and column (0 when the problem has no location, e.g. an unreadable file).
    pub line: usize,
    /// 1-based column (0 without a location).
    pub column: usize,
    /// The field (`budget.latency_ms`, …); empty for file-level problems.
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for TargetsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file.display())?;
        }
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for TargetsError {}

pub use pnag_runtime::RuntimeKind;

/// Where each chosen network's weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsPlan {
    /// Seeded pseudo-random weights: UNTRAINED, for demos and latency work.
    /// Seeded pseudo-random weights: UNTRAINED, for demos and latency work.
    Synthetic {
        /// The weights' seed.
        seed: u64,
    },
    /// Extracted from an OFA supernet checkpoint (`pnag extract`).
    Supernet(PathBuf),
    /// Trained subnet weights, `<dir>/<budget name>.safetensors`.
    Subnets(PathBuf),
}

/// How the embedded weights are stored (`[weights] dtype`); networks always run in f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightsDtype {
    /// Single precision, as extracted (the default).
    #[default]
    F32,
    /// IEEE half precision: half the bytes in the binary, widened to f32 at load.
    F16,
}

/// One budget: its name (what `network!` refers to) and its limits; each unset limit
/// takes the file's top-level value, and a budget sets at least one.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The budget's name (what `network!(.., budget = "..")` names).
    pub name: String,
    /// The latency (or MACs) limit in the device's unit; `None`: no limit but the
    /// largest subnet's cost.
    pub value: Option<f64>,
    /// Embedded weight megabytes (10⁶ bytes) at the file's dtype.
    pub weights_mb: Option<f64>,
    /// Peak activation megabytes of one run.
    pub peak_memory_mb: Option<f64>,
    /// Line of the budget's cost (or of its table), for later errors (generator: below
    /// minimum, none feasible, unsatisfiable limits).
    pub line: usize,
}

/// A validated targets file. Relative paths are resolved against the file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// The file (absolute or as given).
    pub path: PathBuf,
    /// The device: built in, or added with its probe file.
    pub device: TargetDevice,
    /// Where the app runs its networks.
    pub runtime: RuntimeKind,
    /// Run on the CPU when CUDA is unusable.
    pub cuda_fallback: bool,
    /// Supernet width.
    pub width: Width,
    /// Input resolution: the file's number, or the largest it allows.
    pub resolution: u32,
    /// The resolutions each budget may pick from, ascending (`[resolution]` for a number).
    pub resolutions: Vec<u32>,
    /// Generator sampling seed.
    pub seed: u64,
    /// Threads each network runs with.
    pub threads: usize,
    /// `(path, line)` of a generator directory; `None` = the shipped one.
    pub model: Option<(PathBuf, usize)>,
    /// Where each network's weights come from.
    pub weights: WeightsPlan,
    /// How the embedded weights are stored.
    pub weights_dtype: WeightsDtype,
    /// The budgets, in file order.
    pub budgets: Vec<Budget>,
    /// Fraction each budget is shrunk by before generating (`margin`). `None`:
    /// an added device's own margin at each budget ([`DeviceFile::margin_at`]), 0
    /// for built-in devices ([`Targets::margin_at`]).
    pub margin: Option<f64>,
}

/// The device a targets file builds for.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetDevice {
    /// A device with a built-in cost model and shipped generator.
    BuiltIn(BuiltinDevice),
    /// A device added with `pnag device add` (`device_file = "…"`), loaded and checked.
    Added {
        /// Where its file is (resolved against the targets file's directory).
        file: PathBuf,
        /// The file's contents.
        device: Box<DeviceFile>,
    },
}

impl TargetDevice {
    /// The device's name (what `device = "…"` says).
    pub fn name(&self) -> &str {
        match self {
            TargetDevice::BuiltIn(d) => d.name(),
            TargetDevice::Added { device, .. } => &device.name,
        }
    }

    /// The added device's file contents, if it is one.
    pub fn added(&self) -> Option<&DeviceFile> {
        match self {
            TargetDevice::BuiltIn(_) => None,
            TargetDevice::Added { device, .. } => Some(device),
        }
    }

    /// Where the added device's file is, if it is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            TargetDevice::BuiltIn(_) => None,
            TargetDevice::Added { file, .. } => Some(file),
        }
    }
}

impl std::fmt::Display for TargetDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    device: Spanned<String>,
    device_file: Option<Spanned<String>>,
    margin: Option<Spanned<f64>>,
    runtime: Option<Spanned<String>>,
    #[serde(default)]
    cuda_fallback: bool,
    width: Option<Spanned<f64>>,
    resolution: Option<Spanned<RawResolution>>,
    seed: Option<u64>,
    threads: Option<Spanned<i64>>,
    model: Option<Spanned<String>>,
    weights: Option<Spanned<RawWeights>>,
    // Defaults for every budget.
    latency_ms: Option<Spanned<f64>>,
    macs_m: Option<Spanned<f64>>,
    weights_mb: Option<Spanned<f64>>,
    peak_memory_mb: Option<Spanned<f64>>,
    #[serde(rename = "budget")]
    budgets: Option<Vec<Spanned<RawBudget>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    /// Default: synthetic (what the README calls the default), so `[weights] dtype = "f16"`
    /// alone is a complete table.
    source: Option<Spanned<String>>,
    seed: Option<u64>,
    path: Option<Spanned<String>>,
    dtype: Option<Spanned<String>>,
}

/// Collects located errors while validating one file.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<TargetsError>,
}

impl Checker<'_> {
    fn line_col(&self, span: Range<usize>) -> (usize, usize) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    fn error(&mut self, span: Option<Range<usize>>, field: &str, message: impl Into<String>) {
        let (line, column) = span.map_or((0, 0), |s| self.line_col(s));
        self.errors.push(TargetsError {
            file: self.file.into(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Loads `device_file` (relative to the targets file) and checks it names `device`:
/// the file's path and contents.
fn added_device(
    c: &mut Checker,
    raw: &RawTargets,
    base: &Path,
) -> Option<(PathBuf, Box<DeviceFile>)> {
    let file = raw.device_file.as_ref()?;
    let span = Some(file.span());
    if let Err(e) = crate::device::check_name(raw.device.get_ref()) {
        c.error(Some(raw.device.span()), "device", e.to_string());
        return None;
    }
    let path = base.join(file.get_ref());
    match DeviceFile::load(&path) {
        Err(e) => {
            c.error(span, "device_file", e.to_string());
            None
        }
        Ok(d) if d.name != *raw.device.get_ref() => {
            c.error(
                span,
                "device_file",
                format!(
                    "`{}` describes device `{}`, not `{}`",
                    file.get_ref(),
                    d.name,
                    raw.device.get_ref()
                ),
            );
            None
        }
        Ok(d) => Some((path, Box::new(d))),
    }
}

impl Targets {
    /// The fraction `budget` is shrunk by before generating (see [`Targets::margin`]).
    pub fn margin_at(&self, budget: f64) -> f64 {
        self.margin
            .unwrap_or_else(|| self.device.added().map_or(0.0, |d| d.margin_at(budget)))
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, Vec<TargetsError>> {
        let text = pnag_runtime::files::read_input_text(path, pnag_runtime::files::MAX_TEXT_BYTES)
            .map_err(|e| {
                vec![TargetsError {
                    file: path.into(),
                    line: 0,
                    column: 0,
                    field: String::new(),
                    message: format!("cannot read the targets file: {e}"),
                }]
            })?;
        Self::parse(path, &text)
    }

    /// Validates the TOML `text` of the file `path` (used for error locations and relative paths).
    pub fn parse(path: &Path, text: &str) -> Result<Self, Vec<TargetsError>> {
        let mut c = Checker {
            file: path,
            text,
            errors: Vec::new(),
        };
        let raw: RawTargets = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let message = e.message().to_string();
                c.error(e.span(), "", message);
                return Err(c.errors);
            }
        };
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();

        let device_name = raw.device.get_ref().clone();
        let added = added_device(&mut c, &raw, &base);
        let builtin = BuiltinDevice::from_name(&device_name);
        if added.is_none() && raw.device_file.is_none() && builtin.is_none() {
            c.error(
                Some(raw.device.span()),
                "device",
                format!(
                    "unknown device `{device_name}`; expected one of {}, or an added device with `device_file = \"devices/{device_name}.json\"` (`pnag device add`)",
                    BuiltinDevice::names()
                ),
            );
        }
        let margin = match &raw.margin {
            None => None,
            // A built-in device's model is its own: a margin there would shrink every budget
            // unasked (`pnag generate --margin` refuses it too).
            Some(m) if raw.device_file.is_none() => {
                c.error(
                    Some(m.span()),
                    "margin",
                    format!("`margin` applies to added devices (with `device_file`); built-in `{device_name}` has its own model"),
                );
                None
            }
            Some(m) if (0.0..0.9).contains(m.get_ref()) => Some(*m.get_ref()),
            Some(m) => {
                c.error(
                    Some(m.span()),
                    "margin",
                    format!("{} is not a fraction in [0, 0.9)", m.get_ref()),
                );
                None
            }
        };
        let runtime = match raw
            .runtime
            .as_ref()
            .map(|r| (r.get_ref().as_str(), r.span()))
        {
            None | Some(("cpu", _)) => RuntimeKind::Cpu,
            Some(("cuda", _)) => RuntimeKind::Cuda,
            Some((other, span)) => {
                c.error(
                    Some(span),
                    "runtime",
                    format!("unknown runtime `{other}`; expected \"cpu\" or \"cuda\""),
                );
                RuntimeKind::Cpu
            }
        };
        let width = match &raw.width {
            None => Width::W1_2,
            Some(w) => match *w.get_ref() {
                x if (x - 1.0).abs() < 1e-9 => Width::W1_0,
                x if (x - 1.2).abs() < 1e-9 => Width::W1_2,
                x => {
                    c.error(
                        Some(w.span()),
                        "width",
                        format!("width {x} is not an OFA MobileNetV3 width; expected 1.0 or 1.2"),
                    );
                    Width::W1_2
                }
            },
        };
        let coverage = Coverage {
            device: builtin
                .filter(|_| raw.device_file.is_none())
                .map(BuiltinDevice::name),
            width,
        };
        let resolutions = check_resolutions(&mut c, raw.resolution.as_ref(), &coverage);
        let resolution = *resolutions.last().expect("at least one resolution");
        let threads = match &raw.threads {
            None => 1,
            Some(t) if *t.get_ref() >= 1 && *t.get_ref() <= MAX_THREADS as i64 => {
                *t.get_ref() as usize
            }
            Some(t) => {
                c.error(
                    Some(t.span()),
                    "threads",
                    format!("{} threads; expected 1..={MAX_THREADS}", t.get_ref()),
                );
                1
            }
        };
        let model = raw.model.as_ref().map(|m| {
            let (line, _) = c.line_col(m.span());
            (base.join(m.get_ref()), line)
        });
        let weights = check_weights(&mut c, raw.weights.as_ref(), &base);
        let weights_dtype = match raw
            .weights
            .as_ref()
            .and_then(|w| w.get_ref().dtype.as_ref())
        {
            None => WeightsDtype::F32,
            Some(d) => match d.get_ref().as_str() {
                "f32" => WeightsDtype::F32,
                "f16" => WeightsDtype::F16,
                other => {
                    c.error(
                        Some(d.span()),
                        "weights.dtype",
                        format!("unknown dtype `{other}`; expected \"f32\" or \"f16\""),
                    );
                    WeightsDtype::F32
                }
            },
        };
        let unit_is_macs = device_name == "macs";
        let defaults = RawLimits {
            latency_ms: raw.latency_ms.clone(),
            macs_m: raw.macs_m.clone(),
            weights_mb: raw.weights_mb.clone(),
            peak_memory_mb: raw.peak_memory_mb.clone(),
        };
        let mut budgets = Vec::new();
        match &raw.budgets {
            None => c.error(
                None,
                "budget",
                "no budgets: add at least one [[budget]] table with `name` and `latency_ms`",
            ),
            Some(list) if list.is_empty() => c.error(None, "budget", "no budgets"),
            Some(list) if list.len() > MAX_BUDGETS => c.error(
                Some(list[MAX_BUDGETS].span()),
                "budget",
                format!(
                    "{} budgets; at most {MAX_BUDGETS} per targets file (each embeds its own network)",
                    list.len()
                ),
            ),
            Some(list) => {
                let mut names = Vec::new();
                for b in list {
                    let checked = check_budget(&mut c, b, &defaults, unit_is_macs, &names);
                    names.push(b.get_ref().name.get_ref().clone());
                    if let Some(budget) = checked {
                        budgets.push(budget);
                    }
                }
            }
        }
        if let (Some((_, d)), Some(file)) = (&added, &raw.device_file) {
            if (d.probe.width, d.probe.resolution) != (width, resolution) {
                c.error(
                    Some(file.span()),
                    "device_file",
                    format!(
                        "device `{}` was probed at w{} {} px; this file builds w{width} {resolution} px",
                        d.name, d.probe.width, d.probe.resolution
                    ),
                );
            }
        }
        let device = match (added, builtin) {
            (Some((file, device)), _) => TargetDevice::Added { file, device },
            (None, Some(d)) if raw.device_file.is_none() => TargetDevice::BuiltIn(d),
            // Already reported: an unknown name, or a device file that did not load.
            _ => return Err(c.errors),
        };
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Targets {
            path: path.to_path_buf(),
            device,
            runtime,
            cuda_fallback: raw.cuda_fallback,
            width,
            resolution,
            resolutions,
            seed: raw.seed.unwrap_or(0),
            threads,
            model,
            weights,
            weights_dtype,
            budgets,
            margin,
        })
    }

    /// `file:line`, for problems found after validation (generator, weights).
    pub fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.path.display())
    }
}

fn check_weights(
    c: &mut Checker<'_>,
    raw: Option<&Spanned<RawWeights>>,
    base: &Path,
) -> WeightsPlan {
    let Some(w) = raw else {
        return WeightsPlan::Synthetic { seed: 0 };
    };
    let inner = w.get_ref();
    let path = inner.path.as_ref();
    let source = inner.source.as_ref();
    match source.map_or("synthetic", |s| s.get_ref().as_str()) {
        "synthetic" => {
            if let Some(p) = path {
                c.error(
                    Some(p.span()),
                    "weights.path",
                    "synthetic weights take no path (did you mean source = \"supernet\"?)",
                );
            }
            WeightsPlan::Synthetic {
                seed: inner.seed.unwrap_or(0),
            }
        }
        kind @ ("supernet" | "subnets") => {
            if inner.seed.is_some() {
                c.error(
                    Some(w.span()),
                    "weights.seed",
                    "only synthetic weights take a seed",
                );
            }
            match path {
                None => {
                    c.error(
                        Some(w.span()),
                        "weights.path",
                        format!("source = \"{kind}\" needs a `path`"),
                    );
                    WeightsPlan::Synthetic { seed: 0 }
                }
                Some(p) if kind == "supernet" => WeightsPlan::Supernet(base.join(p.get_ref())),
                Some(p) => WeightsPlan::Subnets(base.join(p.get_ref())),
            }
        }
        other => {
            c.error(source.map(|s| s.span()), "weights.source", format!("unknown weights source `{other}`; expected \"synthetic\", \"supernet\" or \"subnets\""));
            WeightsPlan::Synthetic { seed: 0 }
        }
    }
}

mod budget;
mod resolution;
#[cfg(test)]
mod tests;
