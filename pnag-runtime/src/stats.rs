//! The one quantile of the project (linear interpolation between the two nearest sorted
//! samples, NumPy's default): the probe's timings, the CLI's timings and every report's
//! p10 / median / p90 use it, so a "p90" means the same thing everywhere.

/// The `p` quantile (0..=1) with linear interpolation; NaN for no samples.
pub fn quantile(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let x = p * (s.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (x - lo as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn interpolates_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0, 0.5, 0.9, 1]) == [1, 2.5, 3.7, 4]
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(super::quantile(&v, 0.0), 1.0);
        assert_eq!(super::quantile(&v, 0.5), 2.5);
        assert!((super::quantile(&v, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(super::quantile(&v, 1.0), 4.0);
        assert!(super::quantile(&[], 0.5).is_nan());
    }
}
