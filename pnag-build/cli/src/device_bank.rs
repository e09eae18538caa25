//! The known devices: what the device space is learned from
//! (`pnag device space`) and what `pnag bench devices` holds out one at
//! a time. Each has a *true model* at 224 px (its cost model, or for measured
//! sets a stand-in predictor fit on all its rows, labelled as such) and a
//! *test set*: real measurements at 224 px where the data has them.

use pnag_build::device::space::fit_additive;
use pnag_build::objective::{Objective, DEFAULT_RESOLUTION, DEFAULT_WIDTH};
use pnag_build::predictor::features;
use pnag_build::sample::{covering_archs, macs_quantiles, random_archs};
use pnag_build::stats::ridge;
use pnag_runtime::{Arch, Width};

const HELP_CSV: &str = include_str!("../data/help_ofa_latency.csv");
const LULONGFEI_CSV: &str = include_str!("../data/lulongfei_ofa_w1.2_latency.csv");
const OFANAS_CSV: &str = include_str!("../data/ofanas_latency.csv");
const THIS_VM_2T: &str = include_str!("../data/this-vm_2t_ours.csv");
const THIS_VM_TRACT_OPS: &str = include_str!("../data/this-vm_1t_tract-ops.csv");

/// The setting the onboarding study (`scripts/bench/onboard-this-vm.sh`) adds as a new
/// device: held out in `pnag bench devices` like every other, and never in the
/// shipped device space.
pub const ONBOARDING_DEVICE: &str = "this-vm-2t";

/// Settings measured on the same hardware as `name` (itself included): a
/// leave-out fold of the device-conditioned generator keeps them all out.
pub fn same_hardware(name: &str) -> Vec<String> {
    const FAMILIES: [&[&str]; 5] = [
        &["titan-xp", "help-titan-xp-b1", "help-titan-xp-b32"],
        &["host", "this-vm-tract-ops", ONBOARDING_DEVICE],
        &[
            "help-2080ti-b1",
            "help-2080ti-b32",
            "help-2080ti-b64",
            "ofanas-2080ti-b64",
        ],
        &[
            "help-titan-rtx-b1",
            "help-titan-rtx-b32",
            "help-titan-rtx-b64",
        ],
        &["help-v100-b1", "help-v100-b32", "help-v100-b64"],
    ];
    FAMILIES.iter().find(|f| f.contains(&name)).map_or_else(
        || vec![name.to_string()],
        |f| f.iter().map(|s| s.to_string()).collect(),
    )
}

/// How a device's latency behaves, for reporting groups separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Phones and CPUs (compute bound, batch 1).
    Cpu,
    /// GPUs at batch 1: launch-overhead dominated.
    GpuBatch1,
    /// GPUs at batch 32 / 64.
    GpuBatched,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Cpu => "mobile / CPU",
            Group::GpuBatch1 => "GPU batch 1",
            Group::GpuBatched => "GPU batch 32/64",
        }
    }
}

enum Truth {
    /// A built-in cost model.
    Builtin(Objective),
    /// Log-linear stand-in predictor: weights over `features(arch, r)` + bias.
    StandIn(Vec<f64>),
}

/// One known device setting.
pub struct KnownDevice {
    pub name: String,
    pub group: Group,
    /// Where its true model comes from.
    pub origin: String,
    pub width: Width,
    truth: Truth,
    /// Latencies at 224 px to evaluate predictions on.
    pub test: Vec<(Arch, f64)>,
    /// Whether `test` is measured (else the true model on random archs).
    pub test_measured: bool,
    /// The built-in generator for it, if any.
    pub generator: Option<&'static str>,
}

impl KnownDevice {
    /// Its true model's latency (ms) at 224 px.
    pub fn latency(&self, arch: &Arch) -> f64 {
        match &self.truth {
            Truth::Builtin(o) => o.cost(*arch).expect("built-in models cover w1.2 at 224 px"),
            Truth::StandIn(w) => stand_in(w, arch, DEFAULT_RESOLUTION),
        }
    }

    /// The built-in objective, if it is one.
    pub fn objective(&self) -> Option<&Objective> {
        match &self.truth {
            Truth::Builtin(o) => Some(o),
            Truth::StandIn(_) => None,
        }
    }
}

fn row(arch: &Arch, resolution: u32) -> Vec<f64> {
    let mut r: Vec<f64> = features(arch, resolution)
        .into_iter()
        .map(f64::from)
        .collect();
    r.push(1.0);
    r
}

fn stand_in(w: &[f64], arch: &Arch, resolution: u32) -> f64 {
    row(arch, resolution)
        .iter()
        .zip(w)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        .exp()
}

/// Rows `(arch, resolution, ms)` of one column of a vendored CSV.
fn column(csv: &str, name: &str) -> Vec<(Arch, u32, f64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("vendored data: no column {name}"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // idx,"arch",resolution,values… (the arch is the only quoted field)
            let parts: Vec<&str> = l.split('"').collect();
            let rest: Vec<&str> = parts[2].trim_start_matches(',').split(',').collect();
            let arch = Arch::parse(parts[1]).expect("vendored arch strings are valid");
            // header: idx, arch, resolution, then values; `rest` starts at resolution.
            (
                arch,
                rest[0].parse().expect("resolution"),
                rest[col - 2].parse().expect("latency"),
            )
        })
        .collect()
}

/// Rows `(arch, resolution, median ms)` of a `pnag profile --out` CSV.
fn profiled(csv: &str) -> Vec<(Arch, u32, f64)> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // "arch",width,resolution,threads,median_ms,p10_ms,p90_ms,macs_m
            let parts: Vec<&str> = l.split('"').collect();
            let rest: Vec<&str> = parts[2].split(',').collect();
            (
                Arch::parse(parts[1]).expect("vendored arch strings are valid"),
                rest[2].parse().expect("resolution"),
                rest[4].parse().expect("latency"),
            )
        })
        .collect()
}

/// A measured set: `col` names its latency column (empty: a `pnag profile` CSV).
fn measured(
    name: &str,
    group: Group,
    width: Width,
    csv: &str,
    col: &str,
    source: &str,
) -> KnownDevice {
    let rows = if col.is_empty() {
        profiled(csv)
    } else {
        column(csv, col)
    };
    let x: Vec<Vec<f64>> = rows.iter().map(|(a, r, _)| row(a, *r)).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.2.ln()).collect();
    let mut penalty = vec![1e-3; x[0].len()];
    *penalty.last_mut().expect("features") = 0.0;
    let w = ridge(&x, &y, &penalty);
    KnownDevice {
        name: name.into(),
        group,
        origin: format!(
            "stand-in: log-linear predictor fit on all {} rows of {source}{}",
            rows.len(),
            if col.is_empty() {
                String::new()
            } else {
                format!(" `{col}`")
            }
        ),
        width,
        truth: Truth::StandIn(w),
        test: rows
            .iter()
            .filter(|r| r.1 == DEFAULT_RESOLUTION)
            .map(|r| (r.0, r.2))
            .collect(),
        test_measured: true,
        generator: None,
    }
}

fn builtin(name: &'static str, group: Group) -> KnownDevice {
    let o = Objective::new(name, DEFAULT_WIDTH, DEFAULT_RESOLUTION)
        .expect("built-in devices cover w1.2 at 224 px");
    let (test, test_measured, origin) = match name {
        "host" => {
            let host = pnag_build::cost::Host::new().expect("embedded host model");
            let pts = host
                .model()
                .validation
                .iter()
                .map(|p| (Arch::parse(&p.arch).expect("valid"), p.measured_ms))
                .collect();
            (pts, true, "cost model (tract on this machine type, 1 thread); tested on its measured hold-out archs".to_string())
        }
        "titan-xp" => (
            column(HELP_CSV, "titan_xp_64_ms")
                .into_iter()
                .filter(|r| r.1 == DEFAULT_RESOLUTION)
                .map(|r| (r.0, r.2))
                .collect(),
            true,
            "cost model (learned from HELP); tested on HELP's measured 224 px rows".into(),
        ),
        _ => (
            random_archs(1000, 0xdead)
                .into_iter()
                .map(|a| (a, o.cost(a).expect("covered")))
                .collect(),
            false,
            "cost model (lookup table); tested on 1,000 random archs of the table".into(),
        ),
    };
    KnownDevice {
        name: name.into(),
        group,
        origin,
        width: DEFAULT_WIDTH,
        truth: Truth::Builtin(o),
        test,
        test_measured,
        generator: Some(name),
    }
}

/// Every known device setting (21): the four built-in latency models, HELP's
/// other 11 GPU × batch columns, lulongfei's GPU and CPU, OFANAS' two GPUs, and
/// two settings measured on this VM (2 threads; tract's own ops at 1 thread).
pub fn known_devices() -> Vec<KnownDevice> {
    let mut out = vec![
        builtin("note10", Group::Cpu),
        builtin("i7-8700k", Group::Cpu),
        builtin("titan-xp", Group::GpuBatched),
        builtin("host", Group::Cpu),
    ];
    let help = "HayeonLee/HELP (MIT)";
    for gpu in ["2080ti", "titan_rtx", "titan_xp", "v100"] {
        for batch in [1, 32, 64] {
            if gpu == "titan_xp" && batch == 64 {
                continue; // the built-in `titan-xp`
            }
            let group = if batch == 1 {
                Group::GpuBatch1
            } else {
                Group::GpuBatched
            };
            out.push(measured(
                &format!("help-{}-b{batch}", gpu.replace('_', "-")),
                group,
                Width::W1_2,
                HELP_CSV,
                &format!("{gpu}_{batch}_ms"),
                help,
            ));
        }
    }
    let lulongfei = "lulongfei-luffy/once-for-all (Apache-2.0)";
    out.push(measured(
        "lulongfei-gpu-b1",
        Group::GpuBatch1,
        Width::W1_2,
        LULONGFEI_CSV,
        "gpu_b1_ms",
        lulongfei,
    ));
    out.push(measured(
        "lulongfei-cpu-b1",
        Group::Cpu,
        Width::W1_2,
        LULONGFEI_CSV,
        "cpu_b1_ms",
        lulongfei,
    ));
    let ofanas = "OFANAS/OFANAS_PerformanceEstimation (Apache-2.0)";
    out.push(measured(
        "ofanas-2080ti-b64",
        Group::GpuBatched,
        Width::W1_0,
        OFANAS_CSV,
        "rtx2080ti_b64_ms",
        ofanas,
    ));
    out.push(measured(
        "ofanas-p40-b64",
        Group::GpuBatched,
        Width::W1_0,
        OFANAS_CSV,
        "p40_b64_ms",
        ofanas,
    ));
    // Measured here with `pnag profile` (data/PROVENANCE.md).
    let here = "this VM (pnag profile, tract";
    out.push(measured(
        ONBOARDING_DEVICE,
        Group::Cpu,
        Width::W1_2,
        THIS_VM_2T,
        "",
        &format!("{here} with our ops, 2 threads)"),
    ));
    out.push(measured(
        "this-vm-tract-ops",
        Group::Cpu,
        Width::W1_2,
        THIS_VM_TRACT_OPS,
        "",
        &format!("{here}'s own ops, 1 thread)"),
    ));
    out
}

/// The archs every device's additive model is fit on (its true model's latencies).
pub fn fit_archs() -> Vec<Arch> {
    let mut a = covering_archs(1000, 7);
    a.extend(random_archs(1000, 8));
    a
}

/// A device's additive model (the device space's raw material).
pub fn additive_model(d: &KnownDevice, archs: &[Arch]) -> Vec<f64> {
    let samples: Vec<(Arch, f64)> = archs.iter().map(|a| (*a, d.latency(a))).collect();
    fit_additive(&samples)
}

/// `n` references: for n ≤ 20 an even spread of the probe's (ascending in MACs,
/// smallest and largest included); beyond 20, more archs at MACs quantiles of
/// another covering draw (what a longer probe would measure).
pub fn reference_set(n: usize) -> Vec<Arch> {
    let refs = pnag_build::device::reference_archs();
    if n <= refs.len() {
        let last = refs.len() - 1;
        let mut idx: Vec<usize> = (0..n)
            .map(|i| (i * last + (n - 1) / 2) / (n - 1).max(1))
            .collect();
        idx.dedup();
        return idx.into_iter().map(|i| refs[i]).collect();
    }
    let mut out = refs;
    out.extend(macs_quantiles(n - out.len(), 23));
    out
}
