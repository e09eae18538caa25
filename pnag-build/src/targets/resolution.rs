//! `resolution`: one number (today's behaviour: every budget at that size), `"auto"`
//! (the generator picks per budget from the device's whole grid) or a list the app
//! allows (`[160, 192, 224]`: picked from those). Each size must be one the device's cost
//! model and the width's accuracy model cover.

use pnag_runtime::arch::{check_resolution, Width};
use serde::Deserialize;
use toml::Spanned;

use super::Checker;
use crate::generator::resolutions::resolution_grid;
use crate::objective::Objective;

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawResolution {
    Number(i64),
    Word(String),
    List(Vec<i64>),
}

/// What resolutions a built-in device covers: `None` for an added device (its probe's
/// one resolution, checked elsewhere) or an unknown one (already reported).
pub(super) struct Coverage<'a> {
    pub device: Option<&'a str>,
    pub width: Width,
}

impl Coverage<'_> {
    fn covers(&self, r: u32) -> bool {
        self.device
            .is_none_or(|d| Objective::new(d, self.width, r).is_ok())
    }

    fn grid(&self) -> Vec<u32> {
        self.device
            .map_or_else(Vec::new, |d| resolution_grid(d, self.width))
    }
}

/// The resolutions a file allows, ascending (one for a fixed size); 224 when unset.
pub(super) fn check_resolutions(
    c: &mut Checker<'_>,
    raw: Option<&Spanned<RawResolution>>,
    coverage: &Coverage<'_>,
) -> Vec<u32> {
    let Some(raw) = raw else {
        return vec![224];
    };
    let span = Some(raw.span());
    let bad = |c: &mut Checker<'_>, message: String| {
        c.error(span.clone(), "resolution", message);
        vec![224]
    };
    let listed: Vec<i64> = match raw.get_ref() {
        RawResolution::Number(n) => vec![*n],
        RawResolution::List(list) if list.is_empty() => {
            return bad(
                c,
                "an empty list; list the sizes the app allows, or write \"auto\"".into(),
            )
        }
        RawResolution::List(list) => list.clone(),
        RawResolution::Word(w) if w == "auto" => {
            let grid = coverage.grid();
            return match (coverage.device, grid.len()) {
                (None, _) => bad(
                    c,
                    "\"auto\" searches a built-in device's grid; an added device runs at the \
                     resolution it was probed at: write that number"
                        .into(),
                ),
                (Some(d), 1) => bad(
                    c,
                    format!(
                        "device `{d}`'s cost model covers {} px only, so \"auto\" has nothing to \
                         choose from: write `resolution = {}`",
                        grid[0], grid[0]
                    ),
                ),
                _ => grid,
            };
        }
        RawResolution::Word(w) => {
            return bad(
                c,
                format!("`{w}`: expected a number of pixels, a list of them, or \"auto\""),
            )
        }
    };
    let mut out = Vec::new();
    for n in listed {
        let Some(r) = u32::try_from(n).ok().and_then(|v| check_resolution(v).ok()) else {
            return bad(
                c,
                format!("resolution {n} is not supported; expected a multiple of 4 in 128..=256"),
            );
        };
        if !coverage.covers(r) {
            let grid = coverage.grid();
            return bad(
                c,
                format!(
                    "{r} px is outside device `{}`'s grid at w{}: {grid:?} (the sizes its cost model \
                     and the accuracy model both cover)",
                    coverage.device.unwrap_or("?"),
                    coverage.width
                ),
            );
        }
        out.push(r);
    }
    out.sort_unstable();
    out.dedup();
    out
}
