//! One `[[budget]]` table: its name and limits — `latency_ms` (or `macs_m` for
//! device `macs`), `weights_mb`, `peak_memory_mb` — each defaulting to the same
//! key at the top of the file.

use serde::Deserialize;
use toml::Spanned;

use super::{Budget, Checker, MAX_NAME_CHARS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    pub(super) name: Spanned<String>,
    latency_ms: Option<Spanned<f64>>,
    macs_m: Option<Spanned<f64>>,
    weights_mb: Option<Spanned<f64>>,
    peak_memory_mb: Option<Spanned<f64>>,
}

/// The limits a file sets for all its budgets (its top-level keys).
pub(super) struct RawLimits {
    pub latency_ms: Option<Spanned<f64>>,
    pub macs_m: Option<Spanned<f64>>,
    pub weights_mb: Option<Spanned<f64>>,
    pub peak_memory_mb: Option<Spanned<f64>>,
}

/// A positive, finite limit, or one located error.
fn limit(c: &mut Checker<'_>, value: &Spanned<f64>, field: &str, budget: &str) -> Option<f64> {
    let v = *value.get_ref();
    if v.is_finite() && v > 0.0 {
        return Some(v);
    }
    c.error(
        Some(value.span()),
        field,
        format!("budget `{budget}`: {v} is not a positive number"),
    );
    None
}

/// The budget's name checked (non-empty, short, unique); one error each.
fn check_name(c: &mut Checker<'_>, raw: &RawBudget, seen: &[String]) -> bool {
    let name = raw.name.get_ref();
    let problem = if name.trim().is_empty() {
        "empty name".to_string()
    } else if name.chars().count() > MAX_NAME_CHARS {
        let shown: String = name.chars().take(24).collect();
        format!(
            "name `{shown}…` has {} characters; at most {MAX_NAME_CHARS}",
            name.chars().count()
        )
    } else if seen.contains(name) {
        format!("budget `{name}` is listed twice")
    } else {
        return true;
    };
    c.error(Some(raw.name.span()), "budget.name", problem);
    false
}

pub(super) fn check_budget(
    c: &mut Checker<'_>,
    b: &Spanned<RawBudget>,
    defaults: &RawLimits,
    unit_is_macs: bool,
    seen: &[String],
) -> Option<Budget> {
    let raw = b.get_ref();
    let name = raw.name.get_ref().clone();
    let mut ok = check_name(c, raw, seen);
    let (wanted, wrong) = if unit_is_macs {
        ("macs_m", [&raw.latency_ms, &defaults.latency_ms])
    } else {
        ("latency_ms", [&raw.macs_m, &defaults.macs_m])
    };
    if let Some(w) = wrong.into_iter().flatten().next() {
        let (field, why) = if unit_is_macs {
            (
                "budget.latency_ms",
                "device `macs` budgets are in millions of MACs: use `macs_m`",
            )
        } else {
            (
                "budget.macs_m",
                "this device's budgets are latencies: use `latency_ms` (or device = \"macs\")",
            )
        };
        c.error(Some(w.span()), field, why);
        return None;
    }
    let own_cost = if unit_is_macs {
        &raw.macs_m
    } else {
        &raw.latency_ms
    };
    let default_cost = if unit_is_macs {
        &defaults.macs_m
    } else {
        &defaults.latency_ms
    };
    let mut get = |own: &Option<Spanned<f64>>, default: &Option<Spanned<f64>>, key: &str| {
        let v = own.as_ref().or(default.as_ref())?;
        let checked = limit(c, v, &format!("budget.{key}"), &name);
        ok &= checked.is_some();
        checked
    };
    let value = get(own_cost, default_cost, wanted);
    let weights_mb = get(&raw.weights_mb, &defaults.weights_mb, "weights_mb");
    let peak_memory_mb = get(
        &raw.peak_memory_mb,
        &defaults.peak_memory_mb,
        "peak_memory_mb",
    );
    let set = [
        own_cost,
        default_cost,
        &raw.weights_mb,
        &defaults.weights_mb,
    ]
    .into_iter()
    .chain([&raw.peak_memory_mb, &defaults.peak_memory_mb])
    .any(|v| v.is_some());
    if !set {
        c.error(
            Some(b.span()),
            &format!("budget.{wanted}"),
            format!(
                "budget `{name}` sets no limit: add `{wanted}`, `weights_mb` or `peak_memory_mb` \
                 (in the budget, or at the top of the file for every budget)"
            ),
        );
        return None;
    }
    let span = own_cost.as_ref().map_or(b.span(), |v| v.span());
    let (line, _) = c.line_col(span);
    ok.then_some(Budget {
        name,
        value,
        weights_mb,
        peak_memory_mb,
        line,
    })
}
