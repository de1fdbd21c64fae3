//! Small statistics helpers shared by objectives and metrics.

/// Weighted `alpha`-quantile of `(value, weight)` pairs: the smallest value whose cumulative weight
/// reaches `alpha` of the total. Sorts `pairs` in place. `None` when the total weight is zero.
pub fn weighted_quantile(pairs: &mut [(f64, f64)], alpha: f64) -> Option<f64> {
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if total <= 0.0 || pairs.is_empty() {
        return None;
    }
    let target = alpha * total;
    let mut acc = 0.0;
    for (v, w) in pairs.iter() {
        acc += w;
        if acc >= target - 1e-12 * total {
            return Some(*v);
        }
    }
    pairs.last().map(|p| p.0)
}

/// The `alpha`-quantile of unweighted `values` interpolated between order statistics at position
/// `alpha * (n + 1)` (counted from 1; the minimum below `1 / (n + 1)`, the maximum above
/// `n / (n + 1)`): XGBoost's `common::Quantile`, which its absolute and quantile losses use for
/// leaf values. Sorts `values` in place. `None` when empty.
pub fn interpolated_quantile(values: &mut [f64], alpha: f64) -> Option<f64> {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    if alpha <= 1.0 / (nf + 1.0) {
        return Some(values[0]);
    }
    if alpha >= nf / (nf + 1.0) {
        return Some(values[n - 1]);
    }
    let x = alpha * (nf + 1.0);
    let k = (x.floor() - 1.0).max(0.0);
    let d = (x - 1.0) - k;
    let i = (k as usize).min(n - 1);
    let (v0, v1) = (values[i], values[(i + 1).min(n - 1)]);
    Some(v0 + d * (v1 - v0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles() {
        let mut p: Vec<(f64, f64)> = [5.0, 1.0, 3.0, 2.0, 4.0].iter().map(|v| (*v, 1.0)).collect();
        assert_eq!(weighted_quantile(&mut p, 0.5), Some(3.0));
        assert_eq!(weighted_quantile(&mut p, 0.2), Some(1.0));
        assert_eq!(weighted_quantile(&mut p, 1.0), Some(5.0));
        let mut w = vec![(1.0, 10.0), (2.0, 1.0)];
        assert_eq!(weighted_quantile(&mut w, 0.5), Some(1.0));
        assert_eq!(weighted_quantile(&mut [], 0.5), None);
    }

    #[test]
    fn interpolated_quantiles_follow_the_n_plus_one_rule() {
        let q = |v: &[f64], a: f64| interpolated_quantile(&mut v.to_vec(), a).unwrap();
        // Even count: the median halves the two middle values.
        assert_eq!(q(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert_eq!(q(&[5.0, 1.0, 3.0, 2.0, 4.0], 0.5), 3.0);
        // Position 0.25 * 5 = 1.25: a quarter of the way from the 1st to the 2nd value.
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.25);
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], 0.1), 1.0);
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], 0.9), 4.0);
        assert_eq!(q(&[7.0], 0.5), 7.0);
        assert_eq!(interpolated_quantile(&mut [], 0.5), None);
    }
}
