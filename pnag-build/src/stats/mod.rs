//! Small statistics shared by the models and the reports: means, quantiles, least
//! squares (ridge, Cholesky), the affine calibration with its leave-one-out errors,
//! and the model-quality metrics ([`metrics`]). One definition of each, so a "p90" or a
//! "MAPE" means the same thing in every report.

pub mod metrics;

pub use metrics::Metrics;
/// The `p` quantile with linear interpolation between the two nearest sorted samples
/// (NaN for no values): the probe's and the benchmarks' p10 / median / p90.
pub use pnag_runtime::stats::quantile;

/// The median (interpolated between the two middle values; NaN for no values).
pub fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Mean of a non-empty slice.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Dense ridge least squares: `argmin ‖X w − y‖² + Σ penalty_j w_j²` over the
/// first `penalty.len()` columns of each row (normal equations; for the few
/// hundred features the stand-in predictors use).
pub fn ridge(rows: &[Vec<f64>], y: &[f64], penalty: &[f64]) -> Vec<f64> {
    let p = penalty.len();
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for (row, &t) in rows.iter().zip(y) {
        for r in 0..p {
            if row[r] == 0.0 {
                continue;
            }
            b[r] += row[r] * t;
            for c in 0..p {
                a[r * p + c] += row[r] * row[c];
            }
        }
    }
    for r in 0..p {
        a[r * p + r] += penalty[r];
    }
    cholesky_solve(&mut a, &b, p)
}

/// Solves the symmetric positive-definite system `A x = b` (A overwritten).
pub fn cholesky_solve(a: &mut [f64], b: &[f64], n: usize) -> Vec<f64> {
    for j in 0..n {
        let d = a[j * n + j] - (0..j).map(|k| a[j * n + k].powi(2)).sum::<f64>();
        a[j * n + j] = d.max(1e-12).sqrt();
        for i in j + 1..n {
            let s = a[i * n + j] - (0..j).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>();
            a[i * n + j] = s / a[j * n + j];
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| a[i * n + k] * y[k]).sum::<f64>()) / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| a[k * n + i] * x[k]).sum::<f64>()) / a[i * n + i];
    }
    x
}

/// `(scale, offset)` of the least-squares line through `(x, y)`.
fn fit(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let scale = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (scale, my - scale * mx)
}

/// Leave-one-out relative errors of the affine fit.
fn loo_errors(x: &[f64], y: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let (xs, ys): (Vec<f64>, Vec<f64>) = x
                .iter()
                .zip(y)
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, (a, b))| (*a, *b))
                .unzip();
            let (s, o) = fit(&xs, &ys);
            ((s * x[i] + o) - y[i]).abs() / y[i]
        })
        .collect()
}

/// The affine calibration `y ≈ scale × x + offset` and its leave-one-out
/// relative errors: `(scale, offset, errors)`.
pub fn affine_loo(x: &[f64], y: &[f64]) -> (f64, f64, Vec<f64>) {
    let (scale, offset) = fit(x, y);
    (scale, offset, loo_errors(x, y))
}

/// The `q` quantile as the sample nearest to position `q·(n − 1)` of the sorted values
/// (no interpolation; NaN for no values). The device margins use it: a margin is one of
/// the measured leave-one-out errors, never a value between two of them. Reports that
/// compare with the probe's timings use [`quantile`] (interpolated) instead.
pub fn quantile_nearest(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}
