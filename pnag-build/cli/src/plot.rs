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
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
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
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let margin = (hi - lo) * 0.05;
    lo -= margin;
    hi += margin;
    let sx = |v: f64| PAD_L + (v - lo) / (hi - lo) * (W - PAD_L - PAD_R);
    let sy = |v: f64| H - PAD_B - (v - lo) / (hi - lo) * (H - PAD_B - PAD_T);
    let mut s = open_svg(W, title);
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
    for (k, dash) in [
        (1.0, ""),
        (1.1, r#" stroke-dasharray="4 3""#),
        (0.9, r#" stroke-dasharray="4 3""#),
    ] {
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
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2" fill="#1f77b4" fill-opacity="0.5"/>"##,
            sx(*m),
            sy(*p)
        );
    }
    close_svg(
        &mut s,
        &format!("measured ({unit})"),
        &format!("predicted ({unit})"),
    );
    s
}

/// The SVG element, white background and centred title, for a plot `width` wide.
fn open_svg(width: f64, title: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="20" text-anchor="middle" font-size="13">{}</text>
"#,
        W / 2.0,
        escape(title)
    )
}

/// Axis labels under and left of the plot area, then the closing tag.
fn close_svg(s: &mut String, x_label: &str, y_label: &str) {
    let (x, y) = ((PAD_L + W - PAD_R) / 2.0, (PAD_T + H - PAD_B) / 2.0);
    let _ = write!(
        s,
        r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>
<text x="14" y="{y}" text-anchor="middle" transform="rotate(-90 14 {y})">{}</text>
</svg>
"#,
        H - 12.0,
        escape(x_label),
        escape(y_label)
    );
}

fn fmt_tick(t: f64) -> String {
    if t.abs() >= 100.0 || t.fract().abs() < 1e-9 {
        format!("{t:.0}")
    } else {
        format!("{t:.1}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const PALETTE: [&str; 10] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Frontiers: one polyline of (cost, top-1) points per method, with a legend.
pub fn frontier_svg(title: &str, unit: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    let pts = series.iter().flat_map(|(_, p)| p.iter().copied());
    let (x0, x1, y0, y1) = pts.fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), (x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    let (x0, x1, y0, y1) = if x0.is_finite() {
        (x0, x1.max(x0 + 1e-9), y0, y1.max(y0 + 1e-9))
    } else {
        (0.0, 1.0, 0.0, 1.0)
    };
    let (mx, my) = ((x1 - x0) * 0.05, (y1 - y0) * 0.05);
    let (x0, x1, y0, y1) = (x0 - mx, x1 + mx, y0 - my, y1 + my);
    let (w, h) = (W + 170.0, H);
    let sx = |v: f64| PAD_L + (v - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy = |v: f64| h - PAD_B - (v - y0) / (y1 - y0) * (h - PAD_B - PAD_T);
    let mut s = open_svg(w, title);
    for t in nice_ticks(x0, x1) {
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{PAD_T}" x2="{x}" y2="{}" stroke="#eee"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
            h - PAD_B,
            h - PAD_B + 16.0,
            fmt_tick(t),
            x = sx(t)
        );
    }
    for t in nice_ticks(y0, y1) {
        let _ = writeln!(
            s,
            r##"<line x1="{PAD_L}" y1="{y}" x2="{}" y2="{y}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            W - PAD_R,
            PAD_L - 6.0,
            sy(t) + 4.0,
            fmt_tick(t),
            y = sy(t)
        );
    }
    for (i, (name, points)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut sorted = points.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let line: Vec<String> = sorted
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.5" stroke-opacity="0.8"/>"#,
            line.join(" ")
        );
        for &(x, y) in &sorted {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                sx(x),
                sy(y)
            );
        }
        let ly = PAD_T + 10.0 + 16.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            W + 4.0,
            ly - 9.0,
            W + 18.0,
            ly,
            escape(name)
        );
    }
    close_svg(&mut s, &format!("cost ({unit})"), "predicted top-1 (%)");
    s
}
