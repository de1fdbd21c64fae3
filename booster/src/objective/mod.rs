//! Losses with their first and second derivatives, link functions and initial scores.
//!
//! Built-in objectives follow XGBoost's names and formulas; custom ones implement [`Objective`].

use std::sync::Arc;

use rayon::prelude::*;

use crate::data::Targets;
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::metric::Metric;
use crate::params::{ObjectiveKind, Params};
use crate::util::fastmath;
use crate::util::stats::weighted_quantile;

pub mod ranking;
pub mod survival;

/// Rows per parallel task when computing gradients (fixed: results never depend on threads).
const GRAD_CHUNK: usize = 8192;

/// The rows of one leaf and what a line search over them needs.
pub struct LeafRows<'a> {
    /// Row indices in the leaf.
    pub rows: &'a [u32],
    /// All labels.
    pub labels: &'a [f32],
    /// All current margins, row-major with `num_groups` outputs per row.
    pub margins: &'a [f64],
    /// Sample weights, if any.
    pub weights: Option<&'a [f32]>,
    /// The output (class) this tree belongs to.
    pub group: usize,
    /// Outputs per row.
    pub num_groups: usize,
}

/// A loss function. Implement it for a custom objective and pass it through
/// [`crate::TrainOptions::objective`].
pub trait Objective: Send + Sync + std::fmt::Debug {
    /// The objective's name, saved with the model.
    fn name(&self) -> &str;

    /// Outputs (trees) per boosting round. Default 1.
    fn num_groups(&self) -> usize {
        1
    }

    /// Checks that every label fits the objective.
    fn validate_labels(&self, _labels: &[f32]) -> Result<()> {
        Ok(())
    }

    /// Fills `out` (`num_rows * num_groups`, row-major) with gradient pairs at `margins`.
    fn gradients(&self, labels: &[f32], weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]);

    /// [`Objective::gradients`] from everything the data holds besides the features: objectives
    /// that read query groups (ranking) or label bounds (survival) override this; the default
    /// reads the labels and weights only. Training calls this one.
    fn gradients_for(&self, targets: &Targets<'_>, margins: &[f64], out: &mut [GradPair]) {
        self.gradients(targets.labels, targets.weights, margins, out)
    }

    /// Checks that a data set holds what the objective needs (labels that fit it; the query
    /// groups or label bounds it reads). The default checks the labels with
    /// [`Objective::validate_labels`].
    fn check_targets(&self, targets: &Targets<'_>) -> Result<()> {
        self.validate_labels(targets.labels)
    }

    /// The initial margin of each output when `base_score` is not given.
    fn initial_margin(&self, _labels: &[f32], _weights: Option<&[f32]>) -> Vec<f64> {
        vec![0.0; self.num_groups()]
    }

    /// Converts a user-given `base_score` (in output space, e.g. a probability) into a margin.
    fn score_to_margin(&self, score: f64) -> Result<f64> {
        Ok(score)
    }

    /// Converts one row's margins (`num_groups` values) into what metrics read: probabilities for
    /// classification, values for regression. Default: unchanged.
    fn margin_to_score(&self, _row: &mut [f32]) {}

    /// Number of prediction columns (`num_groups` by default; 1 for `multi:softmax`).
    fn prediction_columns(&self) -> usize {
        self.num_groups()
    }

    /// Converts one row's margins into the prediction the user sees (e.g. the class index for
    /// `multi:softmax`); writes `prediction_columns` values into `out`. Default: `margin_to_score`.
    fn predict_row(&self, margins: &[f32], out: &mut [f32]) {
        out.copy_from_slice(margins);
        self.margin_to_score(out);
    }

    /// The metric used when none is given.
    fn default_metric(&self) -> Metric {
        Metric::Rmse
    }

    /// The loss's own optimal constant for a leaf (added to the margins of its rows), if it has a
    /// closed form or a cheap line search; `None` means one Newton step from the gradients.
    fn line_search(&self, _leaf: &LeafRows<'_>) -> Option<f64> {
        None
    }

    /// Whether leaves are set by [`Objective::line_search`] also in Newton boosting (XGBoost does
    /// this for the absolute and quantile losses, whose hessian carries no information).
    fn refresh_leaves(&self) -> bool {
        false
    }
}

/// Computes gradients in parallel over fixed chunks of rows with a per-row function.
fn par_gradients(
    labels: &[f32],
    weights: Option<&[f32]>,
    margins: &[f64],
    out: &mut [GradPair],
    f: impl Fn(f32, f64) -> (f64, f64) + Sync,
) {
    out.par_chunks_mut(GRAD_CHUNK).enumerate().for_each(|(c, chunk)| {
        let start = c * GRAD_CHUNK;
        for (k, gp) in chunk.iter_mut().enumerate() {
            let i = start + k;
            let w = weights.map_or(1.0, |w| w[i]) as f64;
            let (g, h) = f(labels[i], margins[i]);
            *gp = GradPair::new((g * w) as f32, (h * w) as f32);
        }
    });
}

fn weighted_mean(labels: &[f32], weights: Option<&[f32]>) -> f64 {
    let (mut s, mut sw) = (0.0f64, 0.0f64);
    for (i, y) in labels.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w[i]) as f64;
        s += *y as f64 * w;
        sw += w;
    }
    if sw > 0.0 {
        s / sw
    } else {
        0.0
    }
}

fn check_labels(labels: &[f32], ok: impl Fn(f32) -> bool, reason: &str) -> Result<()> {
    match labels.iter().position(|y| !ok(*y)) {
        Some(row) => Err(Error::InvalidLabel {
            row,
            value: labels[row] as f64,
            reason: reason.into(),
        }),
        None => Ok(()),
    }
}

/// Weighted `alpha`-quantile of the residuals `label - margin` of a leaf.
fn residual_quantile(leaf: &LeafRows<'_>, alpha: f64) -> Option<f64> {
    let mut pairs: Vec<(f64, f64)> = leaf
        .rows
        .iter()
        .map(|&r| {
            let r = r as usize;
            let res = leaf.labels[r] as f64 - leaf.margins[r * leaf.num_groups + leaf.group];
            (res, leaf.weights.map_or(1.0, |w| w[r]) as f64)
        })
        .collect();
    weighted_quantile(&mut pairs, alpha)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + crate::util::fastmath::exp(-x))
}

/// The built-in objectives, configured from [`Params`].
#[derive(Debug, Clone)]
pub struct BuiltinObjective {
    kind: ObjectiveKind,
    num_class: usize,
    huber_slope: f64,
    quantile_alpha: f64,
    tweedie_power: f64,
    scale_pos_weight: f64,
    /// Added to the Poisson hessian's exponent, as XGBoost does with `max_delta_step` (0.7 unless
    /// set) to keep early steps small.
    poisson_max_delta_step: f64,
    /// The survival objectives (`survival:cox`, `survival:aft`), which keep their own state (the
    /// Cox sort order); every method hands over to it when set.
    survival: Option<Arc<dyn Objective>>,
}

impl BuiltinObjective {
    /// The objective `params.objective` with its own parameters.
    pub fn from_params(params: &Params) -> BuiltinObjective {
        BuiltinObjective {
            kind: params.objective,
            num_class: params.num_class.max(1),
            huber_slope: params.huber_slope,
            quantile_alpha: params.quantile_alpha,
            tweedie_power: params.tweedie_variance_power,
            scale_pos_weight: params.scale_pos_weight,
            poisson_max_delta_step: params.effective_max_delta_step(),
            survival: match params.objective {
                ObjectiveKind::SurvivalCox => Some(Arc::new(survival::CoxObjective::new())),
                ObjectiveKind::SurvivalAft => Some(Arc::new(survival::AftObjective::new(
                    params.aft_loss_distribution,
                    params.aft_loss_distribution_scale,
                ))),
                _ => None,
            },
        }
    }

    fn is_log_link(&self) -> bool {
        matches!(
            self.kind,
            ObjectiveKind::Poisson | ObjectiveKind::Gamma | ObjectiveKind::Tweedie
        )
    }
}

/// Builds the objective for `params` as a shareable trait object.
pub fn objective_for(params: &Params) -> Arc<dyn Objective> {
    if params.objective.is_ranking() {
        return Arc::new(ranking::RankingObjective::from_params(params));
    }
    Arc::new(BuiltinObjective::from_params(params))
}

impl Objective for BuiltinObjective {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn num_groups(&self) -> usize {
        if self.kind.is_multiclass() {
            self.num_class
        } else {
            1
        }
    }

    fn validate_labels(&self, labels: &[f32]) -> Result<()> {
        use ObjectiveKind::*;
        if let Some(s) = &self.survival {
            return s.validate_labels(labels);
        }
        match self.kind {
            BinaryLogistic | BinaryLogitRaw => check_labels(
                labels,
                |y| (0.0..=1.0).contains(&y),
                "binary objectives need labels in [0, 1]",
            ),
            MultiSoftmax | MultiSoftprob => {
                let k = self.num_class as f32;
                check_labels(
                    labels,
                    |y| y >= 0.0 && y < k && y.fract() == 0.0,
                    &format!(
                        "multi:* with num_class={} needs integer labels in 0..{}",
                        self.num_class, self.num_class
                    ),
                )
            }
            Poisson => check_labels(labels, |y| y >= 0.0, "count:poisson needs labels >= 0"),
            Gamma => check_labels(labels, |y| y > 0.0, "reg:gamma needs labels > 0"),
            Tweedie => check_labels(labels, |y| y >= 0.0, "reg:tweedie needs labels >= 0"),
            SquaredLogError => check_labels(labels, |y| y > -1.0, "reg:squaredlogerror needs labels > -1"),
            _ => Ok(()),
        }
    }

    fn gradients_for(&self, targets: &Targets<'_>, margins: &[f64], out: &mut [GradPair]) {
        match &self.survival {
            Some(s) => s.gradients_for(targets, margins, out),
            None => self.gradients(targets.labels, targets.weights, margins, out),
        }
    }

    fn check_targets(&self, targets: &Targets<'_>) -> Result<()> {
        match &self.survival {
            Some(s) => s.check_targets(targets),
            None => self.validate_labels(targets.labels),
        }
    }

    fn gradients(&self, labels: &[f32], weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        use ObjectiveKind::*;
        match self.kind {
            SurvivalCox | SurvivalAft => {
                if let Some(s) = &self.survival {
                    s.gradients(labels, weights, margins, out)
                }
            }
            // `objective_for` builds `ranking::RankingObjective` for these.
            RankPairwise | RankNdcg | RankMap => out.fill(GradPair::new(0.0, 0.0)),
            SquaredError => par_gradients(labels, weights, margins, out, |y, p| (p - y as f64, 1.0)),
            AbsoluteError => par_gradients(labels, weights, margins, out, |y, p| {
                let d = p - y as f64;
                (
                    if d > 0.0 {
                        1.0
                    } else if d < 0.0 {
                        -1.0
                    } else {
                        0.0
                    },
                    1.0,
                )
            }),
            PseudoHuberError => {
                let s = self.huber_slope;
                par_gradients(labels, weights, margins, out, move |y, p| {
                    let z = p - y as f64;
                    let scale = 1.0 + (z / s) * (z / s);
                    let root = scale.sqrt();
                    (z / root, 1.0 / (scale * root))
                })
            }
            QuantileError => {
                let a = self.quantile_alpha;
                par_gradients(labels, weights, margins, out, move |y, p| {
                    (if p - y as f64 >= 0.0 { 1.0 - a } else { -a }, 1.0)
                })
            }
            SquaredLogError => par_gradients(labels, weights, margins, out, |y, p| {
                let p = p.max(-1.0 + 1e-6);
                let y = y as f64;
                let d = (p + 1.0).ln() - (y + 1.0).ln();
                let g = d / (p + 1.0);
                let h = ((-d + 1.0) / ((p + 1.0) * (p + 1.0))).max(1e-6);
                (g, h)
            }),
            Poisson => {
                let step = self.poisson_max_delta_step;
                par_gradients(labels, weights, margins, out, |y, m| {
                    (m.exp() - y as f64, (m + step).exp())
                })
            }
            Gamma => par_gradients(labels, weights, margins, out, |y, m| {
                let r = y as f64 * (-m).exp();
                (1.0 - r, r)
            }),
            Tweedie => {
                let rho = self.tweedie_power;
                par_gradients(labels, weights, margins, out, move |y, m| {
                    let y = y as f64;
                    let a = ((1.0 - rho) * m).exp();
                    let b = ((2.0 - rho) * m).exp();
                    (-y * a + b, -y * (1.0 - rho) * a + (2.0 - rho) * b)
                })
            }
            BinaryLogistic | BinaryLogitRaw => {
                let spw = self.scale_pos_weight;
                out.par_chunks_mut(GRAD_CHUNK).enumerate().for_each(|(c, chunk)| {
                    let start = c * GRAD_CHUNK;
                    // e^-m for the whole chunk in one vectorised pass; p = 1 / (1 + e^-m) is then
                    // `sigmoid(m)` to the bit.
                    let mut e: Vec<f64> = margins[start..start + chunk.len()].iter().map(|m| -m).collect();
                    fastmath::exp_in_place(&mut e);
                    for (k, (gp, e)) in chunk.iter_mut().zip(&e).enumerate() {
                        let i = start + k;
                        let p = 1.0 / (1.0 + e);
                        let y = labels[i];
                        let s = if y == 1.0 { spw } else { 1.0 };
                        let w = weights.map_or(1.0, |w| w[i]) as f64;
                        let (g, h) = ((p - y as f64) * s, (p * (1.0 - p)).max(1e-16) * s);
                        *gp = GradPair::new((g * w) as f32, (h * w) as f32);
                    }
                })
            }
            MultiSoftmax | MultiSoftprob => {
                let k = self.num_class;
                out.par_chunks_mut(GRAD_CHUNK * k).enumerate().for_each(|(c, chunk)| {
                    let start = c * GRAD_CHUNK;
                    let rows = chunk.len() / k;
                    // `softmax` of every row of the chunk, the exponentials in one vectorised pass.
                    let m = &margins[start * k..(start + rows) * k];
                    let mut p: Vec<f64> = m.to_vec();
                    for row in p.chunks_exact_mut(k) {
                        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        for v in row.iter_mut() {
                            *v -= max;
                        }
                    }
                    fastmath::exp_in_place(&mut p);
                    for (r, (row_out, p)) in chunk.chunks_exact_mut(k).zip(p.chunks_exact_mut(k)).enumerate() {
                        let sum: f64 = p.iter().sum();
                        for v in p.iter_mut() {
                            *v /= sum;
                        }
                        let i = start + r;
                        let w = weights.map_or(1.0, |w| w[i]) as f64;
                        let y = labels[i] as usize;
                        for (c, gp) in row_out.iter_mut().enumerate() {
                            let t = if c == y { 1.0 } else { 0.0 };
                            let g = (p[c] - t) * w;
                            let h = (2.0 * p[c] * (1.0 - p[c])).max(1e-16) * w;
                            *gp = GradPair::new(g as f32, h as f32);
                        }
                    }
                });
            }
        }
    }

    fn initial_margin(&self, labels: &[f32], weights: Option<&[f32]>) -> Vec<f64> {
        use ObjectiveKind::*;
        let quantile = |alpha: f64| {
            let mut pairs: Vec<(f64, f64)> = labels
                .iter()
                .enumerate()
                .map(|(i, y)| (*y as f64, weights.map_or(1.0, |w| w[i]) as f64))
                .collect();
            weighted_quantile(&mut pairs, alpha).unwrap_or(0.0)
        };
        match self.kind {
            SurvivalCox | SurvivalAft => match &self.survival {
                Some(s) => s.initial_margin(labels, weights),
                None => vec![0.0],
            },
            RankPairwise | RankNdcg | RankMap => vec![0.0],
            SquaredError => vec![weighted_mean(labels, weights)],
            AbsoluteError | PseudoHuberError => vec![quantile(0.5)],
            QuantileError => vec![quantile(self.quantile_alpha)],
            SquaredLogError => {
                let logs: Vec<f32> = labels.iter().map(|y| (*y as f64).ln_1p() as f32).collect();
                vec![weighted_mean(&logs, weights).exp_m1()]
            }
            Poisson | Gamma | Tweedie => vec![weighted_mean(labels, weights).max(1e-6).ln()],
            BinaryLogistic | BinaryLogitRaw => {
                let p = weighted_mean(labels, weights).clamp(1e-6, 1.0 - 1e-6);
                vec![(p / (1.0 - p)).ln()]
            }
            MultiSoftmax | MultiSoftprob => {
                let k = self.num_class;
                let mut counts = vec![0.0f64; k];
                for (i, y) in labels.iter().enumerate() {
                    counts[*y as usize % k] += weights.map_or(1.0, |w| w[i]) as f64;
                }
                let total: f64 = counts.iter().sum();
                let logs: Vec<f64> = counts.iter().map(|c| (c / total).max(1e-6).ln()).collect();
                let mean = logs.iter().sum::<f64>() / k as f64;
                logs.iter().map(|l| l - mean).collect()
            }
        }
    }

    fn score_to_margin(&self, score: f64) -> Result<f64> {
        use ObjectiveKind::*;
        if let Some(s) = &self.survival {
            return s.score_to_margin(score);
        }
        match self.kind {
            // XGBoost adds a logitraw base score to the margin as it is.
            BinaryLogitRaw => Ok(score),
            BinaryLogistic => {
                if score <= 0.0 || score >= 1.0 {
                    return Err(Error::param(
                        "base_score",
                        format!("must be in (0, 1) for {}, got {score}", self.name()),
                    ));
                }
                Ok((score / (1.0 - score)).ln())
            }
            _ if self.is_log_link() => {
                if score <= 0.0 {
                    return Err(Error::param(
                        "base_score",
                        format!("must be > 0 for {}, got {score}", self.name()),
                    ));
                }
                Ok(score.ln())
            }
            _ => Ok(score),
        }
    }

    fn margin_to_score(&self, row: &mut [f32]) {
        use ObjectiveKind::*;
        match self.kind {
            BinaryLogistic | BinaryLogitRaw => row[0] = sigmoid(row[0] as f64) as f32,
            Poisson | Gamma | Tweedie | SurvivalCox | SurvivalAft => row[0] = (row[0] as f64).exp() as f32,
            MultiSoftmax | MultiSoftprob => {
                let m: Vec<f64> = row.iter().map(|v| *v as f64).collect();
                let mut p = vec![0.0; m.len()];
                softmax(&m, &mut p);
                for (o, v) in row.iter_mut().zip(p) {
                    *o = v as f32;
                }
            }
            _ => {}
        }
    }

    fn prediction_columns(&self) -> usize {
        match self.kind {
            ObjectiveKind::MultiSoftmax => 1,
            _ => self.num_groups(),
        }
    }

    fn predict_row(&self, margins: &[f32], out: &mut [f32]) {
        match self.kind {
            ObjectiveKind::BinaryLogitRaw => out.copy_from_slice(margins),
            ObjectiveKind::MultiSoftmax => {
                let mut best = 0;
                for (c, m) in margins.iter().enumerate() {
                    if *m > margins[best] {
                        best = c;
                    }
                }
                out[0] = best as f32;
            }
            _ => {
                out.copy_from_slice(margins);
                self.margin_to_score(out);
            }
        }
    }

    fn default_metric(&self) -> Metric {
        use ObjectiveKind::*;
        match self.kind {
            SquaredError | SquaredLogError => Metric::Rmse,
            AbsoluteError | PseudoHuberError => Metric::Mae,
            QuantileError => Metric::Quantile(None),
            Poisson => Metric::PoissonNloglik,
            Gamma => Metric::GammaNloglik,
            Tweedie => Metric::TweedieNloglik(None),
            BinaryLogistic | BinaryLogitRaw => Metric::Logloss,
            MultiSoftmax | MultiSoftprob => Metric::Mlogloss,
            RankMap => Metric::Map(crate::metric::RankAt::default()),
            RankPairwise | RankNdcg => Metric::Ndcg(crate::metric::RankAt::default()),
            SurvivalCox => Metric::CoxNloglik,
            SurvivalAft => Metric::AftNloglik,
        }
    }

    fn line_search(&self, leaf: &LeafRows<'_>) -> Option<f64> {
        use ObjectiveKind::*;
        match self.kind {
            SquaredError => {
                let (mut s, mut sw) = (0.0, 0.0);
                for &r in leaf.rows {
                    let r = r as usize;
                    let w = leaf.weights.map_or(1.0, |w| w[r]) as f64;
                    s += (leaf.labels[r] as f64 - leaf.margins[r]) * w;
                    sw += w;
                }
                (sw > 0.0).then(|| s / sw)
            }
            AbsoluteError | PseudoHuberError => residual_quantile(leaf, 0.5),
            QuantileError => residual_quantile(leaf, self.quantile_alpha),
            _ => None,
        }
    }

    fn refresh_leaves(&self) -> bool {
        matches!(self.kind, ObjectiveKind::AbsoluteError | ObjectiveKind::QuantileError)
    }
}

/// Numerically stable softmax of `m` into `p`.
pub fn softmax(m: &[f64], p: &mut [f64]) {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, v) in p.iter_mut().zip(m) {
        *o = crate::util::fastmath::exp(v - max);
        sum += *o;
    }
    for o in p.iter_mut() {
        *o /= sum;
    }
}

#[cfg(test)]
mod tests;
