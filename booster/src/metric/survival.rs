//! Survival metrics: `cox-nloglik`, `aft-nloglik` and `interval-regression-accuracy`, computed as
//! XGBoost computes them.

use crate::data::Targets;
use crate::objective::survival::aft::bounds_of;
use crate::objective::survival::cox::abs_label_order;
use crate::objective::survival::AftLoss;

/// The Cox negative log partial likelihood per event (XGBoost's `cox-nloglik`) of hazard ratios
/// `preds` (`exp(margin)`); Breslow ties, rows walked in increasing `|label|`. Weights do not
/// enter it, as in XGBoost. NaN when there is no event.
pub fn cox_nloglik(preds: &[f32], labels: &[f32]) -> f64 {
    let order = abs_label_order(labels);
    let mut risk: f64 = preds.iter().map(|p| *p as f64).sum();
    let (mut out, mut pending, mut events) = (0.0f64, 0.0f64, 0usize);
    for (k, &i) in order.iter().enumerate() {
        let i = i as usize;
        let p = preds[i] as f64;
        if labels[i] > 0.0 {
            out -= p.ln() - risk.ln();
            events += 1;
        }
        pending += p;
        let last = k + 1 == order.len();
        if last || labels[i].abs() < labels[order[k + 1] as usize].abs() {
            risk -= pending;
            pending = 0.0;
        }
    }
    if events == 0 {
        f64::NAN
    } else {
        out / events as f64
    }
}

/// Weighted mean over the rows of `f(lower, upper, prediction)`, summed in row order.
fn weighted_mean_bounds(preds: &[f32], targets: &Targets<'_>, f: impl Fn(f64, f64, f64) -> f64) -> f64 {
    let (mut s, mut sw) = (0.0f64, 0.0f64);
    for (i, p) in preds.iter().enumerate() {
        let (lo, hi) = bounds_of(targets, i);
        let w = targets.weights.map_or(1.0, |w| w[i]) as f64;
        s += f(lo, hi, *p as f64) * w;
        sw += w;
    }
    if sw > 0.0 {
        s / sw
    } else {
        0.0
    }
}

/// XGBoost's `aft-nloglik`: the weighted mean AFT loss of predicted times `preds`
/// (`exp(margin)`) against the label bounds (the labels when there are none).
pub fn aft_nloglik(preds: &[f32], targets: &Targets<'_>, loss: &AftLoss) -> f64 {
    weighted_mean_bounds(preds, targets, |lo, hi, p| loss.loss(lo, hi, p.ln()))
}

/// XGBoost's `interval-regression-accuracy`: the weighted share of rows whose predicted time lies
/// in `[lower, upper]`.
pub fn interval_accuracy(preds: &[f32], targets: &Targets<'_>) -> f64 {
    weighted_mean_bounds(preds, targets, |lo, hi, p| {
        let lp = p.ln();
        if lp >= lo.ln() && lp <= hi.ln() {
            1.0
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LabelBounds;
    use crate::params::AftDistribution;

    /// Naive Breslow partial likelihood per event: risk set `{k : |y_k| >= t}` rebuilt per event.
    fn naive_cox(preds: &[f32], labels: &[f32]) -> f64 {
        let (mut l, mut events) = (0.0, 0.0);
        for (i, y) in labels.iter().enumerate() {
            if *y > 0.0 {
                let risk: f64 = (0..labels.len())
                    .filter(|&k| labels[k].abs() >= *y)
                    .map(|k| preds[k] as f64)
                    .sum();
                l -= (preds[i] as f64).ln() - risk.ln();
                events += 1.0;
            }
        }
        l / events
    }

    #[test]
    fn cox_matches_naive_with_ties() {
        let labels = [2.0, -2.0, 5.0, 2.0, -7.0, 1.0, 4.0, -4.0, 6.0, 1.0];
        let preds = [1.1, 0.7, 2.0, 1.0, 0.4, 1.5, 1.2, 1.3, 0.6, 2.5];
        assert!((cox_nloglik(&preds, &labels) - naive_cox(&preds, &labels)).abs() < 1e-12);
        assert!(cox_nloglik(&preds, &[-1.0; 10]).is_nan());
    }

    #[test]
    fn aft_metrics_read_the_bounds() {
        let bounds = LabelBounds::new(vec![1.0, 2.0, 0.0, 3.0], vec![1.0, f32::INFINITY, 2.0, 5.0]).unwrap();
        let labels = [1.0; 4];
        let t = Targets {
            labels: &labels,
            weights: None,
            groups: None,
            bounds: Some(&bounds),
        };
        let preds = [1.0, 3.0, 2.5, 4.0];
        assert_eq!(interval_accuracy(&preds, &t), 0.75);
        let loss = AftLoss {
            dist: AftDistribution::Logistic,
            sigma: 1.0,
        };
        let want: f64 = (0..4)
            .map(|i| loss.loss(bounds.lower[i] as f64, bounds.upper[i] as f64, (preds[i] as f64).ln()))
            .sum::<f64>()
            / 4.0;
        assert!((aft_nloglik(&preds, &t, &loss) - want).abs() < 1e-12);
        // Right-censored logistic at the median: -ln(1 - F(0)) = ln 2.
        assert!((loss.loss(2.0, f64::INFINITY, 2f64.ln()) - 2f64.ln()).abs() < 1e-12);
    }
}
