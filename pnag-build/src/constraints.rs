//! Several constraints per budget: beside the latency (or MACs) limit the
//! generator is conditioned on, the bytes a build embeds for the subnet's
//! weights (exact: [`pnag_runtime::weights::embedded_bytes`]) and the peak
//! activation memory of one run (predicted from the layer plan:
//! [`pnag_runtime::memory::peak_activation_bytes`], within ±1 % of a counting
//! allocator on 208 measured runs, docs/models). The frontier answers with the most
//! accurate candidate meeting all of them ([`crate::generator::Frontier::answer_within`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use pnag_runtime::memory::{peak_activation_bytes, RunShape};
use pnag_runtime::{Arch, NetworkSpec, Width};

/// A budget's limits besides the cost the generator is conditioned on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Embedded weight bytes (the safetensors file at the budget's dtype).
    pub weights_bytes: Option<u64>,
    /// Peak live activation bytes of one run.
    pub peak_bytes: Option<u64>,
}

impl Limits {
    /// True when neither limit is set.
    pub fn is_empty(&self) -> bool {
        self.weights_bytes.is_none() && self.peak_bytes.is_none()
    }

    /// True when `f` is within every set limit.
    pub fn admit(&self, f: Footprint) -> bool {
        self.weights_bytes.is_none_or(|w| f.weights_bytes <= w)
            && self.peak_bytes.is_none_or(|p| f.peak_bytes <= p)
    }
}

/// A subnet's memory costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Footprint {
    /// Exact bytes of its embedded weights file.
    pub weights_bytes: u64,
    /// Predicted peak activation bytes of one run.
    pub peak_bytes: u64,
}

/// Megabytes (10⁶ bytes), as budgets state them.
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Bytes of a positive megabyte limit (rounded down: a limit is never loosened).
pub fn bytes_of_mb(mb: f64) -> u64 {
    (mb * 1e6).floor() as u64
}

/// [`Footprint`]s of archs at one width and resolution, for the embedded dtype and
/// weights origin of a build, cached (a frontier asks for the same archs often).
pub struct Footprints {
    width: Width,
    resolution: u32,
    half: bool,
    origin: String,
    run: RunShape,
    /// Per arch: its peak bytes and its weights' data bytes (header excluded: cheap).
    cheap: RefCell<HashMap<Arch, (u64, u64)>>,
    exact: RefCell<HashMap<Arch, Footprint>>,
}

impl Footprints {
    /// `half`: f16 weights; `origin`: the weights' source line stored in the file;
    /// `threads`: the app's worker threads (each depthwise worker has its own scratch).
    pub fn new(width: Width, resolution: u32, half: bool, origin: &str, threads: usize) -> Self {
        Footprints {
            width,
            resolution,
            half,
            origin: origin.into(),
            run: RunShape {
                threads,
                ..RunShape::default()
            },
            cheap: RefCell::new(HashMap::new()),
            exact: RefCell::new(HashMap::new()),
        }
    }

    fn spec(&self, arch: Arch) -> Option<NetworkSpec> {
        NetworkSpec::new(arch, self.width, self.resolution).ok()
    }

    /// The arch's footprint, exact (`None` for a resolution the layer plan refuses).
    pub fn of(&self, arch: Arch) -> Option<Footprint> {
        if let Some(f) = self.exact.borrow().get(&arch) {
            return Some(*f);
        }
        let spec = self.spec(arch)?;
        let f = Footprint {
            weights_bytes: pnag_runtime::weights::embedded_bytes(&spec, self.half, &self.origin),
            peak_bytes: peak_activation_bytes(&spec, self.run),
        };
        self.exact.borrow_mut().insert(arch, f);
        Some(f)
    }

    /// True when the arch is within `limits`. Decided from its peak bytes and its weights'
    /// data bytes (cheap) whenever the safetensors header cannot change the outcome — it
    /// is positive and below [`HEADER_BOUND`] plus the origin line — and from the exact
    /// size otherwise: a search checks tens of thousands of archs, few near the limit.
    pub fn admits(&self, arch: Arch, limits: &Limits) -> bool {
        if limits.is_empty() {
            return self.spec(arch).is_some();
        }
        let cached = self.cheap.borrow().get(&arch).copied();
        let Some((peak, data)) = cached.or_else(|| {
            let spec = self.spec(arch)?;
            let width = if self.half { 2 } else { 4 };
            let c = (
                peak_activation_bytes(&spec, self.run),
                pnag_runtime::weights::tensor_elements(&spec) * width,
            );
            self.cheap.borrow_mut().insert(arch, c);
            Some(c)
        }) else {
            return false;
        };
        if limits.peak_bytes.is_some_and(|p| peak > p) {
            return false;
        }
        let Some(w) = limits.weights_bytes else {
            return true;
        };
        let (least, most) = (
            data + 8,
            data + 8 + HEADER_BOUND + 6 * self.origin.len() as u64,
        );
        if least > w {
            return false;
        }
        most <= w || self.of(arch).is_some_and(|f| f.weights_bytes <= w)
    }
}

/// More than any subnet's safetensors header needs without its origin line (the
/// largest subnet's is ~36 KB; a test keeps the margin).
pub const HEADER_BOUND: u64 = 64 * 1024;

/// Which constraint an answer is closest to: the largest share of its limit used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// The latency (or MACs) budget.
    Cost,
    /// `weights_mb`.
    Weights,
    /// `peak_memory_mb`.
    PeakMemory,
}

impl Binding {
    /// Which constraint binds: the one whose limit is most used (`cost / budget`, …).
    pub fn of(cost: f64, budget: Option<f64>, f: Footprint, limits: &Limits) -> Binding {
        let shares = [
            (Binding::Cost, budget.map(|b| cost / b)),
            (
                Binding::Weights,
                limits
                    .weights_bytes
                    .map(|w| f.weights_bytes as f64 / w as f64),
            ),
            (
                Binding::PeakMemory,
                limits.peak_bytes.map(|p| f.peak_bytes as f64 / p as f64),
            ),
        ];
        shares
            .into_iter()
            .filter_map(|(b, s)| s.map(|s| (b, s)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Binding::Cost, |(b, _)| b)
    }

    /// Its key in a targets file.
    pub fn key(self, cost_key: &str) -> String {
        match self {
            Binding::Cost => cost_key.into(),
            Binding::Weights => "weights_mb".into(),
            Binding::PeakMemory => "peak_memory_mb".into(),
        }
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Binding::Cost => "cost",
            Binding::Weights => "weights",
            Binding::PeakMemory => "peak memory",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::random_archs;

    #[test]
    fn the_header_bound_holds_with_margin_and_admission_is_exact() {
        for width in [Width::W1_0, Width::W1_2] {
            let spec = NetworkSpec::new(Arch::largest(), width, 224).unwrap();
            let data = pnag_runtime::weights::tensor_elements(&spec) * 4;
            let header = pnag_runtime::weights::embedded_bytes(&spec, false, "") - data - 8;
            assert!(header * 3 / 2 < HEADER_BOUND, "{header} bytes of header");
        }
        let fp = Footprints::new(Width::W1_2, 224, true, "synthetic (untrained, seed 0)", 2);
        for arch in random_archs(40, 3) {
            let exact = fp.of(arch).unwrap();
            for delta in [-100_000i64, -1, 0, 1, 100_000] {
                let w = (exact.weights_bytes as i64 + delta) as u64;
                let p = (exact.peak_bytes as i64 + delta) as u64;
                for limits in [
                    Limits {
                        weights_bytes: Some(w),
                        peak_bytes: None,
                    },
                    Limits {
                        weights_bytes: None,
                        peak_bytes: Some(p),
                    },
                    Limits {
                        weights_bytes: Some(w),
                        peak_bytes: Some(p),
                    },
                ] {
                    assert_eq!(
                        fp.admits(arch, &limits),
                        limits.admit(exact),
                        "{arch} {limits:?}"
                    );
                }
            }
        }
    }
}
