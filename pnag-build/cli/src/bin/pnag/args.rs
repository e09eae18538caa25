//! Arguments several commands share: the subnet's width and resolution, arch strings,
//! thread counts and the generator's inference settings.

use clap::Args;
use pnag_build::GenerateOptions;
use pnag_runtime::{Arch, Width};

#[derive(Args)]
pub struct NetArgs {
    /// Width multiplier of the OFA supernet: 1.0 or 1.2.
    #[arg(long, default_value = "1.2")]
    pub width: Width,
    /// Input resolution in pixels (multiple of 4 in 128..=256).
    #[arg(long, default_value_t = 224)]
    pub resolution: u32,
}

/// Arch arguments: parsed strictly, and the error names the argument without echoing a
/// (possibly huge) bad value a second time — `ArchError` already quotes it, truncated.
#[derive(Clone)]
pub struct ArchParser;

impl clap::builder::TypedValueParser for ArchParser {
    type Value = Arch;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Arch, clap::Error> {
        let name = arg.map_or_else(|| "ARCH".to_string(), |a| a.to_string());
        let text = value.to_string_lossy();
        Arch::parse(&text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {e}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// `--threads`: the same bound as a targets file's `threads`.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let max = pnag_runtime::MAX_THREADS;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number of threads in 1..={max}")),
    }
}

/// How the generator answers (shared by `generate` and `bench frontier`).
#[derive(Debug, clap::Args)]
pub struct InferenceArgs {
    /// Candidates sampled per round (at least 1).
    #[arg(long, default_value_t = GenerateOptions::default().samples, value_parser = parse_samples)]
    samples: usize,
    /// Hill-climbing moves after sampling (0 = the paper's inference alone: the best sample).
    #[arg(value_parser = crate::args::count(0, 100_000), long, default_value_t = GenerateOptions::default().refine_steps)]
    refine_steps: usize,
    /// Best sampled candidates the refinement starts from.
    #[arg(value_parser = crate::args::count(0, 1_000), long, default_value_t = GenerateOptions::default().refine_starts)]
    refine_starts: usize,
}

impl InferenceArgs {
    pub fn options(&self) -> GenerateOptions {
        GenerateOptions {
            samples: self.samples,
            refine_steps: self.refine_steps,
            refine_starts: self.refine_starts,
            ..Default::default()
        }
    }
}

/// `--samples`: at least one candidate per round (0 would never answer).
pub fn parse_samples(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err("expected a whole number of samples in 1..=100000".into()),
    }
}

/// A count flag's parser: a whole number in `lo..=hi`, one error naming the range otherwise
/// (no count a user can type makes a command allocate without bound).
pub fn count(lo: u64, hi: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(lo..=hi)
}

/// `--device`: a built-in device, or the name of a device added with `pnag device add`
/// (checked, and its file read, when the command opens it).
#[derive(Debug, Clone)]
pub enum DeviceArg {
    /// A device with a built-in cost model.
    BuiltIn(pnag_build::BuiltinDevice),
    /// An added device's name.
    Added(String),
}

impl std::str::FromStr for DeviceArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match pnag_build::BuiltinDevice::from_name(s) {
            Some(d) => DeviceArg::BuiltIn(d),
            None => DeviceArg::Added(s.to_string()),
        })
    }
}

impl std::fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceArg::BuiltIn(d) => f.write_str(d.name()),
            DeviceArg::Added(name) => f.write_str(name),
        }
    }
}
