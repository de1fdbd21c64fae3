//! `survival:cox`: the negative log partial likelihood of Cox's proportional hazards model.
//!
//! Labels are survival times; a negative label is a time right-censored at its absolute value.
//! Ties are handled as XGBoost does (Breslow): the risk set only shrinks once time moves past a
//! tied group. Rows are walked in increasing `|label|` (a stable sort, so tied rows keep their
//! index order); the order is sorted once and cached, and every round only re-checks in O(n)
//! that it still sorts the labels it is given (it re-sorts when not), so a training run costs one
//! O(n log n) sort and O(n) per round.

use std::sync::Mutex;

use crate::data::Targets;
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::metric::Metric;
use crate::objective::Objective;

/// Row indices sorted by `|label|`, ties in index order (XGBoost's `LabelAbsSort`).
pub fn abs_label_order(labels: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..labels.len() as u32).collect();
    order.sort_by(|&a, &b| {
        labels[a as usize]
            .abs()
            .total_cmp(&labels[b as usize].abs())
            .then(a.cmp(&b))
    });
    order
}

/// Whether `order` (a permutation of the rows) is exactly [`abs_label_order`] of `labels`.
fn is_abs_label_order(order: &[u32], labels: &[f32]) -> bool {
    order.len() == labels.len()
        && order.windows(2).all(|w| {
            let (a, b) = (labels[w[0] as usize].abs(), labels[w[1] as usize].abs());
            a < b || (a == b && w[0] < w[1])
        })
}

/// Gradients and hessians of the Cox loss at `margins` given the rows in [`abs_label_order`]
/// (the O(n) sweep after the sort). Weights scale each row's pair; they do not enter the risk sets.
pub fn cox_gradients(labels: &[f32], weights: Option<&[f32]>, margins: &[f64], order: &[u32], out: &mut [GradPair]) {
    // The risk-set denominator starts as the sum over every row and loses each tied group once
    // time has moved past it.
    let mut risk: f64 = order.iter().map(|&i| margins[i as usize].exp()).sum();
    let (mut r_k, mut s_k) = (0.0f64, 0.0f64);
    let (mut last_exp, mut last_abs, mut pending) = (0.0f64, 0.0f64, 0.0f64);
    for &i in order {
        let i = i as usize;
        let e = margins[i].exp();
        let y = labels[i] as f64;
        let abs_y = y.abs();
        pending += last_exp;
        if last_abs < abs_y {
            risk -= pending;
            pending = 0.0;
        }
        if y > 0.0 {
            r_k += 1.0 / risk;
            s_k += 1.0 / (risk * risk);
        }
        let event = if y > 0.0 { 1.0 } else { 0.0 };
        let w = weights.map_or(1.0, |w| w[i]) as f64;
        let g = e * r_k - event;
        let h = e * r_k - e * e * s_k;
        out[i] = GradPair::new((g * w) as f32, (h * w) as f32);
        last_abs = abs_y;
        last_exp = e;
    }
}

/// The naive O(n^2) reference of [`cox_gradients`] (unweighted): for each row, the sums over the
/// events whose risk set holds it, with Breslow's risk set `{j : |y_j| >= t_event}`, walked in the
/// same order so that tied events accumulate as XGBoost's sweep does.
#[cfg(test)]
pub fn cox_gradients_naive(labels: &[f32], margins: &[f64]) -> Vec<(f64, f64)> {
    let n = labels.len();
    let order = abs_label_order(labels);
    let pos: Vec<usize> = {
        let mut p = vec![0; n];
        for (k, &i) in order.iter().enumerate() {
            p[i as usize] = k;
        }
        p
    };
    (0..n)
        .map(|i| {
            let e = margins[i].exp();
            let (mut r, mut s) = (0.0, 0.0);
            // Events sorted before row i (or row i itself) in the sweep order.
            for j in 0..n {
                if labels[j] > 0.0 && pos[j] <= pos[i] {
                    let t = labels[j].abs();
                    let risk: f64 = (0..n).filter(|&k| labels[k].abs() >= t).map(|k| margins[k].exp()).sum();
                    r += 1.0 / risk;
                    s += 1.0 / (risk * risk);
                }
            }
            let event = if labels[i] > 0.0 { 1.0 } else { 0.0 };
            (e * r - event, e * r - e * e * s)
        })
        .collect()
}

/// `survival:cox`.
#[derive(Debug, Default)]
pub struct CoxObjective {
    /// The last sort by `|label|`, re-used while it still sorts the labels given.
    order: Mutex<Vec<u32>>,
}

impl CoxObjective {
    /// A Cox objective with an empty order cache.
    pub fn new() -> CoxObjective {
        CoxObjective::default()
    }

    fn with_order<R>(&self, labels: &[f32], f: impl FnOnce(&[u32]) -> R) -> R {
        let mut cached = match self.order.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !is_abs_label_order(&cached, labels) {
            *cached = abs_label_order(labels);
        }
        f(&cached)
    }
}

impl Objective for CoxObjective {
    fn name(&self) -> &str {
        "survival:cox"
    }

    fn validate_labels(&self, labels: &[f32]) -> Result<()> {
        match labels.iter().position(|y| !y.is_finite()) {
            Some(row) => Err(Error::InvalidLabel {
                row,
                value: labels[row] as f64,
                reason: "survival:cox needs finite survival times (negative = right-censored)".into(),
            }),
            None => Ok(()),
        }
    }

    fn gradients(&self, labels: &[f32], weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        self.with_order(labels, |order| cox_gradients(labels, weights, margins, order, out));
    }

    fn check_targets(&self, targets: &Targets<'_>) -> Result<()> {
        self.validate_labels(targets.labels)
    }

    fn score_to_margin(&self, score: f64) -> Result<f64> {
        if score <= 0.0 {
            return Err(Error::param(
                "base_score",
                format!("must be > 0 for survival:cox (a hazard ratio), got {score}"),
            ));
        }
        Ok(score.ln())
    }

    fn margin_to_score(&self, row: &mut [f32]) {
        row[0] = (row[0] as f64).exp() as f32;
    }

    fn default_metric(&self) -> Metric {
        Metric::CoxNloglik
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::survival::cox_nloglik;

    fn loss(labels: &[f32], m: &[f64]) -> f64 {
        // Breslow partial likelihood, summed over events (not divided).
        let mut l = 0.0;
        for (i, y) in labels.iter().enumerate() {
            if *y > 0.0 {
                let risk: f64 = (0..labels.len())
                    .filter(|&k| labels[k].abs() >= *y)
                    .map(|k| m[k].exp())
                    .sum();
                l -= m[i] - risk.ln();
            }
        }
        l
    }

    fn data() -> (Vec<f32>, Vec<f64>) {
        let labels = vec![3.0, -2.5, 5.0, 2.0, -7.0, 1.0, 4.0, -4.5, 6.0, 0.5];
        let margins = vec![0.1, -0.3, 0.7, 0.0, -1.0, 0.4, 0.2, 0.3, -0.5, 0.9];
        (labels, margins)
    }

    #[test]
    fn sweep_matches_naive_reference() {
        let (labels, margins) = data();
        let mut out = vec![GradPair::default(); labels.len()];
        CoxObjective::new().gradients(&labels, None, &margins, &mut out);
        for (gp, (g, h)) in out.iter().zip(cox_gradients_naive(&labels, &margins)) {
            assert!((gp.grad as f64 - g).abs() < 1e-6, "{} vs {g}", gp.grad);
            assert!((gp.hess as f64 - h).abs() < 1e-6, "{} vs {h}", gp.hess);
        }
    }

    #[test]
    fn ties_match_naive_reference() {
        let labels = vec![2.0, 2.0, -2.0, 1.0, 3.0, 3.0, -1.0, 2.0];
        let margins = vec![0.3, -0.2, 0.1, 0.5, -0.4, 0.2, 0.0, 0.6];
        let mut out = vec![GradPair::default(); labels.len()];
        CoxObjective::new().gradients(&labels, None, &margins, &mut out);
        for (gp, (g, h)) in out.iter().zip(cox_gradients_naive(&labels, &margins)) {
            assert!((gp.grad as f64 - g).abs() < 1e-6 && (gp.hess as f64 - h).abs() < 1e-6);
        }
    }

    #[test]
    fn gradient_is_the_derivative_of_the_loss() {
        // Without ties (`data` has none) the sweep's gradient is exactly d(loss)/d(margin_i).
        let (labels, margins) = data();
        let mut out = vec![GradPair::default(); labels.len()];
        cox_gradients(&labels, None, &margins, &abs_label_order(&labels), &mut out);
        let eps = 1e-5;
        for i in 0..labels.len() {
            let (mut up, mut down) = (margins.clone(), margins.clone());
            up[i] += eps;
            down[i] -= eps;
            let fd = (loss(&labels, &up) - loss(&labels, &down)) / (2.0 * eps);
            assert!(
                (fd - out[i].grad as f64).abs() < 1e-5,
                "row {i}: {fd} vs {}",
                out[i].grad
            );
            // The hessian is XGBoost's diagonal: d2/dm_i^2 of the loss.
            let mut gu = vec![GradPair::default(); labels.len()];
            let mut gd = vec![GradPair::default(); labels.len()];
            cox_gradients(&labels, None, &up, &abs_label_order(&labels), &mut gu);
            cox_gradients(&labels, None, &down, &abs_label_order(&labels), &mut gd);
            let fh = (gu[i].grad as f64 - gd[i].grad as f64) / (2.0 * eps);
            assert!(
                (fh - out[i].hess as f64).abs() < 1e-2,
                "row {i}: {fh} vs {}",
                out[i].hess
            );
        }
    }

    #[test]
    fn metric_is_loss_per_event_and_cache_follows_labels() {
        let (labels, margins) = data();
        let preds: Vec<f32> = margins.iter().map(|m| m.exp() as f32).collect();
        let events = labels.iter().filter(|y| **y > 0.0).count() as f64;
        assert!((cox_nloglik(&preds, &labels) - loss(&labels, &margins) / events).abs() < 1e-5);
        // The cached order is re-checked: new labels get their own order.
        let obj = CoxObjective::new();
        let mut a = vec![GradPair::default(); labels.len()];
        obj.gradients(&labels, None, &margins, &mut a);
        let rev: Vec<f32> = labels.iter().rev().copied().collect();
        obj.gradients(&rev, None, &margins, &mut a);
        for (gp, (g, _)) in a.iter().zip(cox_gradients_naive(&rev, &margins)) {
            assert!((gp.grad as f64 - g).abs() < 1e-6);
        }
    }

    proptest::proptest! {
        /// The O(n log n) sweep equals the O(n^2) reference on any labels, ties and censoring
        /// included (times drawn from few values so that ties are common).
        #[test]
        fn sweep_equals_reference(
            rows in proptest::collection::vec((-6i32..7, -2.0f64..2.0, 0.2f32..3.0), 1..40),
            weighted in proptest::bool::ANY,
        ) {
            let labels: Vec<f32> = rows.iter().map(|r| r.0 as f32 / 2.0).collect();
            let margins: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let weights: Vec<f32> = rows.iter().map(|r| r.2).collect();
            let w = weighted.then_some(weights.as_slice());
            let mut out = vec![GradPair::default(); labels.len()];
            CoxObjective::new().gradients(&labels, w, &margins, &mut out);
            for (i, (gp, (g, h))) in out.iter().zip(cox_gradients_naive(&labels, &margins)).enumerate() {
                let wi = w.map_or(1.0, |w| w[i]) as f64;
                proptest::prop_assert!((gp.grad as f64 - g * wi).abs() < 1e-5 * (1.0 + (g * wi).abs()));
                proptest::prop_assert!((gp.hess as f64 - h * wi).abs() < 1e-5 * (1.0 + (h * wi).abs()));
            }
        }
    }

    #[test]
    fn bad_labels_name_the_row() {
        let e = CoxObjective::new()
            .validate_labels(&[1.0, f32::NAN])
            .unwrap_err()
            .to_string();
        assert!(e.contains('1'), "{e}");
    }
}
