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

use pnag_runtime::selection::{selection_path, SelectedNetwork, Selection, SELECTION_FORMAT};
use pnag_runtime::weights::write_atomic;
use pnag_runtime::{Arch, NetworkSpec, Weights, WeightsSource};

use crate::extract::extract;
use crate::generator::{GenerateOptions, Generator};
use crate::objective::Objective;
use crate::targets::{Budget, RuntimeKind, Targets, TargetsError, WeightsPlan};

/// Environment variable that overrides the targets file.
pub const TARGETS_ENV: &str = "PNAG_TARGETS";

/// Every problem a build found, reported together.
pub struct BuildError {
    pub problems: Vec<String>,
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
            problems: errors.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Builder for one compile step; nothing happens until [`Config::compile`].
#[derive(Debug, Clone, Default)]
pub struct Config {
    default_targets: Option<PathBuf>,
    by_triple: Vec<(String, PathBuf)>,
    manifest_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    target_triple: Option<String>,
    cargo_metadata: bool,
    samples: Option<usize>,
}

impl Config {
    pub fn new() -> Self {
        Config {
            cargo_metadata: true,
            ..Default::default()
        }
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
            None => Err(BuildError {
                problems: vec![format!("no targets file: call `Config::targets(\"targets/<device>.toml\")` or set {TARGETS_ENV}")],
            }),
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
        let out_dir = self.out_dir.clone().or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from)).ok_or_else(|| BuildError {
            problems: vec!["no output directory: run from a build script (OUT_DIR) or call `Config::out_dir`".into()],
        })?;
        let mut problems = Vec::new();

        let generator = match &targets.model {
            Some((dir, line)) => {
                self.cargo(format!("rerun-if-changed={}", dir.display()));
                Generator::load(dir).map_err(|e| format!("{}: `model`: {e}", targets.at(*line)))
            }
            None => Generator::embedded(&targets.device)
                .map_err(|e| format!("{}: `device`: {e}", targets.path.display())),
        };
        let generator = generator.map_err(|p| BuildError { problems: vec![p] })?;
        if generator.manifest.width != targets.width.to_string()
            || generator.manifest.resolution != targets.resolution
        {
            return Err(BuildError {
                problems: vec![format!(
                    "{}: `width`/`resolution`: the generator for `{}` was trained for w{} at {} px, the file asks for w{} at {} px",
                    targets.path.display(),
                    targets.device,
                    generator.manifest.width,
                    generator.manifest.resolution,
                    targets.width,
                    targets.resolution
                )],
            });
        }
        let objective = Objective::new(&targets.device, targets.width, targets.resolution)
            .map_err(|e| BuildError {
                problems: vec![format!("{}: `device`: {e}", targets.path.display())],
            })?;
        let unit = objective.unit().label();
        let mut opts = GenerateOptions {
            seed: targets.seed,
            ..Default::default()
        };
        if let Some(n) = self.samples {
            opts.samples = n;
        }
        let chosen_by = match &targets.model {
            Some((dir, _)) => format!("generator {} (seed {})", dir.display(), targets.seed),
            None => format!(
                "shipped generator models/{} (seed {})",
                targets.device, targets.seed
            ),
        };

        // A supernet checkpoint is read once for all budgets.
        let supernet = match &targets.weights {
            WeightsPlan::Supernet(p) => {
                self.cargo(format!("rerun-if-changed={}", p.display()));
                match std::fs::read(p) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        return Err(BuildError {
                            problems: vec![format!(
                                "{}: `weights.path`: cannot read supernet `{}`: {e}",
                                targets.path.display(),
                                p.display()
                            )],
                        })
                    }
                }
            }
            _ => None,
        };

        let dir = out_dir.join("pnag");
        std::fs::create_dir_all(&dir).map_err(|e| BuildError {
            problems: vec![format!("cannot create `{}`: {e}", dir.display())],
        })?;
        let mut networks = Vec::new();
        let ctx = BudgetContext {
            targets: &targets,
            generator: &generator,
            objective: &objective,
            opts: &opts,
            supernet: supernet.as_deref(),
            dir: &dir,
            unit,
            chosen_by: &chosen_by,
        };
        for (i, budget) in targets.budgets.iter().enumerate() {
            match self.select(&ctx, i, budget) {
                Ok(network) => networks.push(network),
                Err(e) => problems.push(format!(
                    "{}: budget `{}`: {e}",
                    targets.at(budget.line),
                    budget.name
                )),
            }
        }
        if !problems.is_empty() {
            return Err(BuildError { problems });
        }
        let selection = Selection {
            format: SELECTION_FORMAT,
            targets: absolute(&targets.path),
            device: targets.device.clone(),
            runtime: match targets.runtime {
                RuntimeKind::Cpu => "cpu".into(),
                RuntimeKind::Cuda => "cuda".into(),
            },
            cuda_fallback: targets.cuda_fallback,
            threads: targets.threads,
            networks,
        };
        let json = serde_json::to_string_pretty(&selection).expect("selection serializes");
        write_atomic(&selection_path(&out_dir), json.as_bytes()).map_err(|e| BuildError {
            problems: vec![e.to_string()],
        })?;
        Ok(selection)
    }
}

/// What every budget of one targets file shares.
struct BudgetContext<'a> {
    targets: &'a Targets,
    generator: &'a Generator,
    objective: &'a Objective,
    opts: &'a GenerateOptions,
    supernet: Option<&'a [u8]>,
    dir: &'a Path,
    unit: &'static str,
    chosen_by: &'a str,
}

impl Config {
    /// Generates one budget's arch and writes its weights; the error is located by the caller.
    fn select(
        &self,
        ctx: &BudgetContext<'_>,
        index: usize,
        budget: &Budget,
    ) -> Result<SelectedNetwork, String> {
        let t = ctx.targets;
        let generated = ctx
            .generator
            .generate(ctx.objective, budget.value, ctx.opts)
            .map_err(|e| e.to_string())?;
        if let Some(w) = &generated.warning {
            self.cargo(format!(
                "warning={}: budget `{}`: {w}",
                t.at(budget.line),
                budget.name
            ));
        }
        let arch = Arch::parse(&generated.arch)
            .map_err(|e| format!("generator produced an invalid arch: {e}"))?;
        let spec = NetworkSpec::new(arch, t.width, t.resolution).map_err(|e| e.to_string())?;
        let weights = match &t.weights {
            WeightsPlan::Synthetic { seed } => Weights::synthetic(&spec, *seed),
            WeightsPlan::Supernet(p) => {
                let origin = format!("`{}`", p.display());
                extract(ctx.supernet.unwrap_or_default(), &origin, t.width, arch)
                    .map_err(|e| e.to_string())?
            }
            WeightsPlan::Subnets(d) => {
                let file = d.join(format!("{}.safetensors", budget.name));
                self.cargo(format!("rerun-if-changed={}", file.display()));
                Weights::load(&file, &spec).map_err(|e| format!("{e} (weights for arch {arch})"))?
            }
        };
        let file = ctx
            .dir
            .join(format!("{index}-{}.safetensors", file_stem(&budget.name)));
        write_atomic(&file, &weights.to_safetensors()).map_err(|e| e.to_string())?;
        Ok(SelectedNetwork {
            name: budget.name.clone(),
            budget: budget.value,
            unit: ctx.unit.into(),
            arch: generated.arch.clone(),
            width: t.width.to_string(),
            resolution: t.resolution,
            predicted_cost: generated.cost,
            predicted_top1: generated.top1,
            macs: spec.macs(),
            params: spec.params(),
            chosen_by: ctx.chosen_by.into(),
            weights_file: absolute(&file),
            weights_origin: weights.source.origin(),
            synthetic_seed: match weights.source {
                WeightsSource::Synthetic { seed } => Some(seed),
                _ => None,
            },
        })
    }
}

/// A file name for a budget name (names are free text in the TOML).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
