//! Minimal SVG plots for reports: predicted-vs-measured scatters (with the
//! y = x line and the ±10 % band) — no plotting dependency.

use std::fmt::Write;

const W: f64 = 480.0;
const H: f64 = 420.0;
const PAD_L: f64 = 64.0;
const PAD_B: f64 = 52.0;
const PAD_T: f64 = 36.0;
const PAD_R: f64 = 16.0;

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= 6.0).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

/// Scatter of `predicted` (y) against `measured` (x) with y = x and ±10 % lines.
pub fn scatter_svg(title: &str, unit: &str, measured: &[f64], predicted: &[f64]) -> String {
    let all = measured.iter().chain(predicted).copied();
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let margin = (hi - lo) * 0.05;
    lo -= margin;
    hi += margin;
    let sx = |v: f64| PAD_L + (v - lo) / (hi - lo) * (W - PAD_L - PAD_R);
    let sy = |v: f64| H - PAD_B - (v - lo) / (hi - lo) * (H - PAD_B - PAD_T);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="20" text-anchor="middle" font-size="13">{}</text>
"#,
        W / 2.0,
        escape(title)
    );
    for t in nice_ticks(lo, hi) {
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#eee"/><text x="{x}" y="{}" text-anchor="middle">{t}</text>
<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">{t}</text>
"##,
            PAD_T,
            H - PAD_B,
            H - PAD_B + 16.0,
            PAD_L,
            W - PAD_R,
            PAD_L - 6.0,
            sy(t) + 4.0,
            x = sx(t),
            y = sy(t),
            t = fmt_tick(t)
        );
    }
    // y = x and the ±10 % band.
    for (k, dash) in [(1.0, ""), (1.1, r#" stroke-dasharray="4 3""#), (0.9, r#" stroke-dasharray="4 3""#)] {
        let _ = writeln!(
            s,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888"{dash}/>"##,
            sx(lo),
            sy(lo * k),
            sx(hi),
            sy(hi * k)
        );
    }
    for (m, p) in measured.iter().zip(predicted) {
        let _ = writeln!(s, r##"<circle cx="{:.1}" cy="{:.1}" r="2" fill="#1f77b4" fill-opacity="0.5"/>"##, sx(*m), sy(*p));
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">measured ({u})</text>
<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">predicted ({u})</text>
</svg>
"#,
        (PAD_L + W - PAD_R) / 2.0,
        H - 12.0,
        (PAD_T + H - PAD_B) / 2.0,
        (PAD_T + H - PAD_B) / 2.0,
        u = escape(unit)
    );
    s
}

fn fmt_tick(t: f64) -> String {
    if t.abs() >= 100.0 || t.fract().abs() < 1e-9 { format!("{t:.0}") } else { format!("{t:.1}") }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
