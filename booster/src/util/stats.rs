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
}
