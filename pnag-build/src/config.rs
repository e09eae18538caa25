//! The `build.rs` API: read a targets TOML, run the trained generator for each
//! budget, and hand the chosen networks (arch + that subnet's weights only) to
//! `pnag_macros::network!` through `$OUT_DIR/pnag/`.
//!
//! ```no_run
//! // build.rs of an application
//! fn main() -> Result<(), pnag_build::BuildError> {
//!     pnag_build::Config::new()
//!         .targets("targets/host.toml")
//!         .targets_for("aarch64-linux-android", "targets/note10.toml")
//!         .compile()?;
//!     Ok(())
//! }
//! ```
//!
//! Which targets file a build uses, first match wins: the `PNAG_TARGETS`
//! environment variable (relative to the crate), the file registered with
//! [`Config::targets_for`] for cargo's `TARGET` triple, the default
//! [`Config::targets`].

use std::fmt;
use std::path::{Path, PathBuf};

use std::collections::HashSet;

use pnag_runtime::files::write_atomic;
use pnag_runtime::selection::{
    content_hash, selection_path, SelectedNetwork, Selection, SELECTION_FORMAT,
};
use pnag_runtime::{ArchError, NetworkSpec, RuntimeError, Weights, WeightsSource, Width};

use crate::constraints::{bytes_of_mb, Binding, Footprints, Limits};
use crate::generator::resolutions::{objectives_at, Resolutions};
use crate::generator::{GenerateOptions, Generator, GeneratorError};
use crate::objective::{Objective, ObjectiveError};
use crate::targets::{Budget, Targets, TargetsError, WeightsDtype, WeightsPlan};
use crate::weights::extract::{extract, ExtractError};

/// Environment variable that overrides the targets file.
pub const TARGETS_ENV: &str = "PNAG_TARGETS";

/// Every problem a build found, reported together (one line each).
pub struct BuildError {
    /// What went wrong, in the order found.
    pub problems: Vec<BuildProblem>,
}

/// One thing a build could not do; `at` is `file:line` (or the file) it comes from.
#[derive(Debug, thiserror::Error)]
pub enum BuildProblem {
    /// Neither `Config::targets` nor `PNAG_TARGETS` named a file.
    #[error(
        "no targets file: call `Config::targets(\"targets/<device>.toml\")` or set {TARGETS_ENV}"
    )]
    NoTargets,
    /// Not run from a build script and no `Config::out_dir`.
    #[error("no output directory: run from a build script (OUT_DIR) or call `Config::out_dir`")]
    NoOutDir,
    /// The targets file is unreadable or invalid.
    #[error(transparent)]
    Targets(#[from] TargetsError),
    /// The generator (`model` directory or the shipped one for `device`) could not be loaded.
    #[error("{at}: `{field}`: {source}")]
    Generator {
        /// Where the generator was named.
        at: String,
        /// `model` or `device`.
        field: &'static str,
        /// Why loading failed.
        source: GeneratorError,
    },
    /// The generator was trained for another width or resolution than the file asks for.
    #[error("{at}: `width`/`resolution`: the generator for `{device}` was trained for w{trained_width} at {trained_resolution} px, the file asks for w{width} at {resolution} px")]
    TrainedFor {
        /// The targets file.
        at: String,
        /// The device.
        device: String,
        /// The generator's width.
        trained_width: String,
        /// The generator's resolution.
        trained_resolution: u32,
        /// The file's width.
        width: Width,
        /// The file's resolution.
        resolution: u32,
    },
    /// The device's cost or accuracy model is unavailable.
    #[error("{at}: `device`: {source}")]
    Device {
        /// The targets file.
        at: String,
        /// Why.
        source: ObjectiveError,
    },
    /// The `[weights]` supernet could not be read.
    #[error("{at}: `weights.path`: cannot read supernet `{}`: {source}", path.display())]
    Supernet {
        /// The targets file.
        at: String,
        /// The supernet path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output directory could not be created.
    #[error("cannot create `{}`: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// One budget could not be served.
    #[error("{at}: budget `{name}`: {source}")]
    Budget {
        /// `file:line` of the budget.
        at: String,
        /// The budget's name.
        name: String,
        /// Why.
        source: BudgetError,
    },
    /// Writing the selection failed.
    #[error(transparent)]
    Write(RuntimeError),
}

/// Why one budget got no network.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The generator found no answer (e.g. the budget is below the device's range).
    #[error(transparent)]
    Generate(#[from] GeneratorError),
    /// The generator's answer is not a valid subnet at this width and resolution.
    #[error("generator produced an invalid subnet: {0}")]
    Arch(#[from] ArchError),
    /// The supernet has no valid weights for the arch.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The subnet weights file is missing or does not fit the arch.
    #[error("{source} (weights for arch {arch})")]
    Weights {
        /// The chosen arch.
        arch: String,
        /// Why.
        source: RuntimeError,
    },
    /// The weights could not be written to the output directory.
    #[error(transparent)]
    Write(RuntimeError),
}

impl BuildError {
    fn one(problem: BuildProblem) -> Self {
        BuildError {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pnag-build found {} problem(s):", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

// `fn main() -> Result<(), BuildError>` prints Debug: make it the readable list.
impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BuildError {}

impl From<Vec<TargetsError>> for BuildError {
    fn from(errors: Vec<TargetsError>) -> Self {
        BuildError {
            problems: errors.into_iter().map(BuildProblem::Targets).collect(),
        }
    }
}

/// Builder for one compile step; nothing happens until [`Config::compile`].
///
/// [`Config::new`] and [`Config::default`] are the same: inside a build script, with
/// `cargo::` directives on.
///
/// ```
/// // Outside a build script: name the output directory and turn the `cargo::` lines off.
/// let dir = std::env::temp_dir().join(format!("pnag-config-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(
///     dir.join("app.toml"),
///     "device = \"macs\"\n[[budget]]\nname = \"small\"\nmacs_m = 300\n",
/// )?;
/// let selection = pnag_build::Config::new()
///     .targets(dir.join("app.toml"))
///     .out_dir(dir.join("out"))
///     .cargo_metadata(false)
///     .compile()?;
/// let net = &selection.networks[0];
/// assert!(net.predicted_cost <= 300.0 && net.untrained());
/// println!("{}: {} ({:.0} {})", net.name, net.arch, net.predicted_cost, net.unit);
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    default_targets: Option<PathBuf>,
    by_triple: Vec<(String, PathBuf)>,
    manifest_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    target_triple: Option<String>,
    cargo_metadata: bool,
    samples: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_targets: None,
            by_triple: Vec::new(),
            manifest_dir: None,
            out_dir: None,
            target_triple: None,
            cargo_metadata: true,
            samples: None,
        }
    }
}

impl Config {
    /// A configuration for a build script (same as [`Config::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The targets file used when nothing more specific applies (relative to the crate).
    pub fn targets(mut self, path: impl Into<PathBuf>) -> Self {
        self.default_targets = Some(path.into());
        self
    }

    /// The targets file for one cargo target triple (e.g. `aarch64-linux-android`).
    pub fn targets_for(mut self, triple: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.by_triple.push((triple.into(), path.into()));
        self
    }

    /// Where outputs go (default: cargo's `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The directory relative paths start from (default: `CARGO_MANIFEST_DIR`, else the current one).
    pub fn manifest_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// The triple to pick a targets file for (default: cargo's `TARGET`).
    pub fn target_triple(mut self, triple: impl Into<String>) -> Self {
        self.target_triple = Some(triple.into());
        self
    }

    /// Whether to print `cargo::` directives (default true; off for use outside build.rs).
    pub fn cargo_metadata(mut self, on: bool) -> Self {
        self.cargo_metadata = on;
        self
    }

    /// Generator candidates per round (default: [`GenerateOptions`]'s 30).
    pub fn samples(mut self, n: usize) -> Self {
        self.samples = Some(n);
        self
    }

    fn cargo(&self, line: impl fmt::Display) {
        if self.cargo_metadata {
            println!("cargo::{line}");
        }
    }

    /// Picks the targets file: `PNAG_TARGETS`, then the triple's, then the default.
    pub fn resolve_targets(&self) -> Result<PathBuf, BuildError> {
        let base = self
            .manifest_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from))
            .unwrap_or_default();
        let triple = self
            .target_triple
            .clone()
            .or_else(|| std::env::var("TARGET").ok());
        let chosen = std::env::var_os(TARGETS_ENV)
            .map(PathBuf::from)
            .or_else(|| {
                triple.and_then(|t| {
                    self.by_triple
                        .iter()
                        .find(|(tr, _)| *tr == t)
                        .map(|(_, p)| p.clone())
                })
            })
            .or_else(|| self.default_targets.clone());
        match chosen {
            Some(p) => Ok(base.join(p)),
            None => Err(BuildError::one(BuildProblem::NoTargets)),
        }
    }

    /// Runs the generator for every budget of the targets file and writes the selection.
    /// In a build script every problem is also printed as `cargo::error=`.
    pub fn compile(&self) -> Result<Selection, BuildError> {
        self.cargo(format!("rerun-if-env-changed={TARGETS_ENV}"));
        let result = self.compile_inner();
        if let Err(e) = &result {
            for p in &e.problems {
                self.cargo(format!("error={p}"));
            }
        }
        result
    }

    fn compile_inner(&self) -> Result<Selection, BuildError> {
        let path = self.resolve_targets()?;
        self.cargo(format!("rerun-if-changed={}", path.display()));
        let targets = Targets::load(&path)?;
        // Re-probing a device (`pnag device add` again) must re-select its networks.
        if let Some(f) = targets.device.file() {
            self.cargo(format!("rerun-if-changed={}", f.display()));
        }
        let file = targets.path.display().to_string();
        let out_dir = self
            .out_dir
            .clone()
            .or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from))
            .ok_or(BuildError::one(BuildProblem::NoOutDir))?;

        let device_problem = |source| {
            BuildError::one(BuildProblem::Device {
                at: file.clone(),
                source,
            })
        };
        // An added device's generator is transferred onto its objective: build that first.
        let added_objective = match targets.device.added() {
            Some(d) => Some(d.objective().map_err(device_problem)?),
            None => None,
        };
        let generator = match (&targets.model, targets.device.added(), &added_objective) {
            (None, Some(d), Some(objective)) => {
                d.generator(objective)
                    .map_err(|source| BuildProblem::Generator {
                        at: file.clone(),
                        field: "device_file",
                        source,
                    })
            }
            (Some((dir, line)), _, _) => {
                self.cargo(format!("rerun-if-changed={}", dir.display()));
                Generator::load(dir).map_err(|source| BuildProblem::Generator {
                    at: targets.at(*line),
                    field: "model",
                    source,
                })
            }
            _ => Generator::embedded(targets.device.name()).map_err(|source| {
                BuildProblem::Generator {
                    at: file.clone(),
                    field: "device",
                    source,
                }
            }),
        }
        .map_err(BuildError::one)?;
        // Built-in devices run the generator at any resolution their models cover (budgets
        // transferred, `Generator::frontier_at`); an added device at its probe's.
        if generator.manifest.width != targets.width.to_string()
            || (added_objective.is_some() && generator.manifest.resolution != targets.resolution)
        {
            return Err(BuildError::one(BuildProblem::TrainedFor {
                at: file,
                device: targets.device.name().to_string(),
                trained_width: generator.manifest.width.clone(),
                trained_resolution: generator.manifest.resolution,
                width: targets.width,
                resolution: targets.resolution,
            }));
        }
        let objectives = match added_objective {
            Some(o) => vec![o],
            None => objectives_at(targets.device.name(), targets.width, &targets.resolutions)
                .map_err(device_problem)?,
        };
        let mut opts = GenerateOptions {
            seed: targets.seed,
            // Weight or memory limits anywhere in the file: searches that make candidates for them.
            frugal: targets
                .budgets
                .iter()
                .any(|b| b.weights_mb.is_some() || b.peak_memory_mb.is_some()),
            ..Default::default()
        };
        if let Some(n) = self.samples {
            opts.samples = n;
        }
        let chosen_by = match (&targets.model, targets.device.added()) {
            (Some((dir, _)), _) => format!("generator {} (seed {})", dir.display(), targets.seed),
            (None, Some(d)) => format!(
                "added device `{}` ({}), shipped generator models/{}{} (seed {}, margin {})",
                d.name,
                d.method,
                d.generator_name(),
                match d.answers_with {
                    crate::device::GeneratorChoice::Borrowed => " transferred",
                    crate::device::GeneratorChoice::DeviceConditioned =>
                        " conditioned on its probe",
                },
                targets.seed,
                targets
                    .margin
                    .map_or("the device's own per budget".into(), |m| format!(
                        "{:.1} %",
                        m * 100.0
                    ))
            ),

            (None, None) => format!(
                "shipped generator models/{} (seed {})",
                targets.device, targets.seed
            ),
        };

        // A supernet checkpoint is read once for all budgets.
        let supernet = match &targets.weights {
            WeightsPlan::Supernet(p) => {
                self.cargo(format!("rerun-if-changed={}", p.display()));
                let bytes =
                    pnag_runtime::files::read_input(p, pnag_runtime::files::MAX_WEIGHTS_BYTES)
                        .map_err(|source| {
                            BuildError::one(BuildProblem::Supernet {
                                at: file.clone(),
                                path: p.clone(),
                                source,
                            })
                        })?;
                Some(bytes)
            }
            _ => None,
        };

        let dir = out_dir.join("pnag");
        std::fs::create_dir_all(&dir).map_err(|source| {
            BuildError::one(BuildProblem::CreateDir {
                dir: dir.clone(),
                source,
            })
        })?;
        // One writer at a time per output directory (two `pnag targets --out D` at once, or
        // a user's run beside cargo's): the second waits; the lock goes with the process.
        let _lock = lock_dir(&dir).map_err(|source| {
            BuildError::one(BuildProblem::CreateDir {
                dir: dir.clone(),
                source,
            })
        })?;
        pnag_runtime::files::remove_dead_temporaries(&dir, None);
        // What this tool wrote there before (the files the previous selection names).
        let previous = Selection::read(&selection_path(&out_dir)).ok();
        let ctx = BudgetContext {
            targets: &targets,
            generator: &generator,
            objectives: &objectives,
            opts: &opts,
            supernet: supernet.as_deref(),
            dir: &dir,
            chosen_by: &chosen_by,
        };
        let mut networks = Vec::new();
        let mut problems = Vec::new();
        let mut written = HashSet::new();
        // One frontier per resolution for the file: its budgets share the grid searches and
        // get monotone answers.
        let mut frontier = None;
        for budget in &targets.budgets {
            match self.select(&ctx, &mut frontier, budget, &mut written) {
                Ok(network) => networks.push(network),
                Err(source) => problems.push(BuildProblem::Budget {
                    at: targets.at(budget.line),
                    name: budget.name.clone(),
                    source,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(BuildError { problems });
        }
        let selection = Selection {
            format: SELECTION_FORMAT,
            targets: absolute(&targets.path),
            device: targets.device.name().to_string(),
            runtime: targets.runtime,
            cuda_fallback: targets.cuda_fallback,
            threads: targets.threads,
            networks,
        };
        // The commit point: the weights files are complete (each written atomically under a
        // name no earlier selection uses for other bytes); one rename switches to the new set.
        let json = serde_json::to_string_pretty(&selection).expect("selection serializes");
        write_atomic(&selection_path(&out_dir), json.as_bytes())
            .map_err(|e| BuildError::one(BuildProblem::Write(e)))?;
        if let Some(previous) = previous {
            remove_replaced(&dir, &previous, &selection);
        }
        Ok(selection)
    }
}

/// What every budget of one targets file shares.
struct BudgetContext<'a> {
    targets: &'a Targets,
    generator: &'a Generator,
    /// One per resolution the budgets may pick from.
    objectives: &'a [Objective],
    opts: &'a GenerateOptions,
    supernet: Option<&'a [u8]>,
    dir: &'a Path,
    chosen_by: &'a str,
}

impl Config {
    /// Generates one budget's arch and writes its weights; the error is located by the caller.
    fn select<'a>(
        &self,
        ctx: &BudgetContext<'a>,
        frontier: &mut Option<Resolutions<'a>>,
        budget: &Budget,
        written: &mut HashSet<String>,
    ) -> Result<SelectedNetwork, BudgetError> {
        let t = ctx.targets;
        let frontier = match frontier {
            Some(f) => f,
            None => frontier.insert(Resolutions::new(ctx.generator, ctx.objectives, ctx.opts)?),
        };
        // The margin keeps the prediction's error inside the budget; without a cost limit
        // the largest subnet's cost bounds it.
        let cost_limit = match budget.value {
            Some(v) => v * (1.0 - t.margin_at(v)),
            None => frontier.top(),
        };
        let limits = Limits {
            weights_bytes: budget.weights_mb.map(bytes_of_mb),
            peak_bytes: budget.peak_memory_mb.map(bytes_of_mb),
        };
        let origin = weights_origin(&t.weights, &budget.name);
        let footprints: Vec<Footprints> = ctx
            .objectives
            .iter()
            .map(|o| {
                let half = t.weights_dtype == WeightsDtype::F16;
                Footprints::new(t.width, o.resolution, half, &origin, t.threads)
            })
            .collect();
        let (mut generated, footprint) =
            frontier.answer_within(cost_limit, &limits, &footprints)?;
        generated.budget = budget.value.unwrap_or(cost_limit);
        let binding = Binding::of(
            generated.cost,
            budget.value.map(|_| cost_limit),
            footprint,
            &limits,
        )
        .key(
            if ctx.objectives[0].unit() == crate::cost::CostUnit::Mmacs {
                "macs_m"
            } else {
                "latency_ms"
            },
        );
        let arch = pnag_runtime::Arch::parse(&generated.arch)?;
        let spec = NetworkSpec::new(arch, t.width, generated.resolution)?;
        let weights = match &t.weights {
            WeightsPlan::Synthetic { seed } => Weights::synthetic(&spec, *seed),
            WeightsPlan::Supernet(p) => {
                let origin = format!("`{}`", p.display());
                extract(ctx.supernet.unwrap_or_default(), &origin, t.width, arch)?
            }
            WeightsPlan::Subnets(d) => {
                let file = d.join(format!("{}.safetensors", budget.name));
                self.cargo(format!("rerun-if-changed={}", file.display()));
                Weights::load(&file, &spec).map_err(|source| BudgetError::Weights {
                    arch: arch.to_string(),
                    source,
                })?
            }
        };
        // Named by content: budgets that chose the same subnet (and weights) share one file.
        let bytes = match t.weights_dtype {
            WeightsDtype::F32 => weights.to_safetensors(),
            WeightsDtype::F16 => {
                weights
                    .to_safetensors_f16()
                    .map_err(|source| BudgetError::Weights {
                        arch: arch.to_string(),
                        source,
                    })?
            }
        };
        // The search counted these bytes with the same serializer; a mismatch is a bug.
        debug_assert_eq!(bytes.len() as u64, footprint.weights_bytes);
        let hash = content_hash(&bytes);
        let file = ctx.dir.join(format!("{hash}.safetensors"));
        if written.insert(hash.clone()) {
            write_atomic(&file, &bytes).map_err(BudgetError::Write)?;
        }
        Ok(SelectedNetwork {
            name: budget.name.clone(),
            budget: generated.budget,
            cost_limit: budget.value.is_some(),
            unit: ctx.objectives[0].unit(),
            arch,
            width: t.width,
            resolution: generated.resolution,
            predicted_cost: generated.cost,
            predicted_top1: generated.top1,
            macs: spec.macs(),
            params: spec.params(),
            chosen_by: ctx.chosen_by.into(),
            weights_file: absolute(&file),
            weights_hash: hash,
            weights_origin: weights.source.origin(),
            synthetic_seed: match weights.source {
                WeightsSource::Synthetic { seed } => Some(seed),
                _ => None,
            },
            weights_limit_mb: budget.weights_mb,
            peak_memory_limit_mb: budget.peak_memory_mb,
            weights_bytes: bytes.len() as u64,
            peak_memory_bytes: footprint.peak_bytes,
            binding,
        })
    }
}

/// The origin line the budget's weights will carry ([`WeightsSource::origin`]), which the
/// embedded file stores: its exact size depends on it.
fn weights_origin(plan: &WeightsPlan, budget: &str) -> String {
    match plan {
        WeightsPlan::Synthetic { seed } => WeightsSource::Synthetic { seed: *seed }.origin(),
        WeightsPlan::Supernet(p) => WeightsSource::Extracted {
            supernet: format!("`{}`", p.display()),
            arch: String::new(),
        }
        .origin(),
        WeightsPlan::Subnets(d) => {
            WeightsSource::File(d.join(format!("{budget}.safetensors"))).origin()
        }
    }
}

/// Takes the output directory's lock file (`.lock`), waiting for another writer to finish.
fn lock_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))?;
    lock.lock()?;
    Ok(lock)
}

/// After the new selection is committed: removes the weights files the previous selection
/// named that the new one does not. Only those: this tool's own files (content-hash names it
/// wrote and recorded), never anything else in the directory — a user's weights kept there
/// are inputs, not outputs.
fn remove_replaced(dir: &Path, previous: &Selection, selection: &Selection) {
    let keep: HashSet<&str> = selection
        .networks
        .iter()
        .map(|n| n.weights_hash.as_str())
        .collect();
    for old in &previous.networks {
        let own_name =
            old.weights_hash.len() == 16 && old.weights_hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !own_name || keep.contains(old.weights_hash.as_str()) {
            continue;
        }
        let file = dir.join(format!("{}.safetensors", old.weights_hash));
        // Only the file of that name in this directory, and only if it still is what was
        // recorded (a user may have replaced it since).
        let recorded = std::fs::canonicalize(&old.weights_file).ok();
        if recorded.is_some() && recorded == std::fs::canonicalize(&file).ok() {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
