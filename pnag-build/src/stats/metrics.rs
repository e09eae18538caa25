//! Prediction-quality metrics used by `pnag report models`: RMSE, MAPE, the
//! share of predictions within ±10 % (nn-Meter's metric), Kendall τ-b and
//! Spearman ρ (HELP's metric).

use serde::{Deserialize, Serialize};

/// How well predictions match measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of pairs.
    pub n: usize,
    /// Root-mean-square error, in the measurement's unit.
    pub rmse: f64,
    /// Mean absolute percentage error, in %.
    pub mape: f64,
    /// Share of predictions within ±10 % of the measurement, in %.
    pub within_10pct: f64,
    /// Kendall's τ-b rank correlation.
    pub kendall_tau: f64,
    /// Spearman's ρ rank correlation.
    pub spearman_rho: f64,
}

impl Metrics {
    /// Metrics of `predicted` against `measured` (same length).
    pub fn new(predicted: &[f64], measured: &[f64]) -> Metrics {
        let n = predicted.len().min(measured.len());
        let (p, m) = (&predicted[..n], &measured[..n]);
        let rmse = (p.iter().zip(m).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64).sqrt();
        let rel: Vec<f64> = p.iter().zip(m).map(|(a, b)| ((a - b) / b).abs()).collect();
        Metrics {
            n,
            rmse,
            mape: 100.0 * rel.iter().sum::<f64>() / n as f64,
            within_10pct: 100.0 * rel.iter().filter(|&&r| r <= 0.10).count() as f64 / n as f64,
            kendall_tau: kendall_tau_b(p, m),
            spearman_rho: pearson(&ranks(p), &ranks(m)),
        }
    }
}

/// Average ranks (ties share the mean rank), as scipy's `rankdata`.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation ρ of two equally long series.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Pearson correlation of two equally long series.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Kendall's τ-b (tie-corrected), O(n²): the report's sets have a few thousand rows at most.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> f64 {
    let (mut concordant, mut discordant, mut ties_a, mut ties_b) = (0f64, 0f64, 0f64, 0f64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let (da, db) = (a[i] - a[j], b[i] - b[j]);
            if da == 0.0 && db == 0.0 {
                continue;
            } else if da == 0.0 {
                ties_a += 1.0;
            } else if db == 0.0 {
                ties_b += 1.0;
            } else if (da > 0.0) == (db > 0.0) {
                concordant += 1.0;
            } else {
                discordant += 1.0;
            }
        }
    }
    (concordant - discordant)
        / ((concordant + discordant + ties_a) * (concordant + discordant + ties_b)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_scipy_values() {
        // scipy.stats.kendalltau / spearmanr of these vectors: tau = 0.6, rho = 0.828571...
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0];
        let m = Metrics::new(&a, &b);
        assert!(
            (m.spearman_rho - 0.8285714285714286).abs() < 1e-12,
            "{}",
            m.spearman_rho
        );
        assert!((m.kendall_tau - 0.6).abs() < 1e-12, "{}", m.kendall_tau);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
    }
}
