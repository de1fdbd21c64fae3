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
use crate::util::simd::simd_dispatch;
use crate::util::stats::{interpolated_quantile, weighted_quantile};

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

impl LeafRows<'_> {
    /// The label row `r`'s output of this tree is compared with: the row's label, or its own
    /// column's when the data has a label column per output (several targets).
    pub fn label(&self, r: usize) -> f32 {
        if self.num_groups > 1 && self.labels.len() == self.margins.len() {
            self.labels[r * self.num_groups + self.group]
        } else {
            self.labels[r]
        }
    }

    /// Row `r`'s current margin of this tree's output.
    pub fn margin(&self, r: usize) -> f64 {
        self.margins[r * self.num_groups + self.group]
    }
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

    /// [`Objective::margin_to_score`] on every row of `values` (rows of `num_groups` values,
    /// row-major), in place. Objectives whose conversion is element-wise override it with one
    /// loop over all the values, which the compiler vectorises; the result must be the same.
    fn margins_to_scores(&self, values: &mut [f32], num_groups: usize) {
        values
            .chunks_exact_mut(num_groups.max(1))
            .for_each(|row| self.margin_to_score(row));
    }

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

/// How the outputs of an element-wise objective line up with the labels: `outputs` margins per
/// row, compared with the row's one label (several levels) or with a label column each (several
/// targets, `label_per_output`).
#[derive(Debug, Clone, Copy)]
struct Layout {
    outputs: usize,
    label_per_output: bool,
}

/// Computes gradients in parallel over fixed chunks of margins with a per-element function of
/// (output, label, margin); the row's weight multiplies both.
fn par_gradients(
    layout: Layout,
    labels: &[f32],
    weights: Option<&[f32]>,
    margins: &[f64],
    out: &mut [GradPair],
    f: impl Fn(usize, f32, f64) -> (f64, f64) + Sync,
) {
    let k = layout.outputs.max(1);
    out.par_chunks_mut(GRAD_CHUNK).enumerate().for_each(|(c, chunk)| {
        let start = c * GRAD_CHUNK;
        if k == 1 {
            for (e, gp) in chunk.iter_mut().enumerate() {
                let i = start + e;
                let w = weights.map_or(1.0, |w| w[i]) as f64;
                let (g, h) = f(0, labels[i], margins[i]);
                *gp = GradPair::new((g * w) as f32, (h * w) as f32);
            }
            return;
        }
        for (e, gp) in chunk.iter_mut().enumerate() {
            let i = start + e;
            let (row, output) = (i / k, i % k);
            let w = weights.map_or(1.0, |w| w[row]) as f64;
            let y = if layout.label_per_output {
                labels[i]
            } else {
                labels[row]
            };
            let (g, h) = f(output, y, margins[i]);
            *gp = GradPair::new((g * w) as f32, (h * w) as f32);
        }
    });
}

/// The weighted `alpha`-expectile of `labels`: the `m` where `alpha` times the weighted sum of
/// the residuals above `m` equals `1 - alpha` times that below (bisection to f64 precision).
pub(crate) fn weighted_expectile(labels: &[f32], weights: Option<&[f32]>, alpha: f64) -> f64 {
    let (mut lo, mut hi) = labels.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(*y as f64), hi.max(*y as f64))
    });
    if !lo.is_finite() {
        return 0.0;
    }
    let balance = |m: f64| {
        labels.iter().enumerate().fold(0.0, |s, (i, y)| {
            let r = *y as f64 - m;
            let w = weights.map_or(1.0, |w| w[i]) as f64;
            s + w * if r >= 0.0 { alpha * r } else { (1.0 - alpha) * r }
        })
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if balance(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The expectile loss's gradient and hessian at prediction `p` for label `y` (XGBoost's
/// `reg:expectileerror`): half the squared error, weighted by `alpha` when the label lies above
/// the prediction and by `1 - alpha` when it lies below.
pub(crate) fn expectile_gradient(alpha: f64, y: f32, p: f64) -> (f64, f64) {
    let d = p - y as f64;
    let side = if d >= 0.0 { 1.0 - alpha } else { alpha };
    (side * d, side)
}

/// Gap kept between consecutive expectile outputs (XGBoost's `kRtEps`).
const EXPECTILE_GAP: f64 = 1e-6;

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The inverse of [`softplus`] (`ln(e^x - 1)`), for `x > 0`; very small `x` are floored.
fn softplus_inv(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.max(1e-30).exp_m1().ln()
    }
}

/// Several expectiles as XGBoost parametrises them, so that they never cross: output 0 is the
/// first expectile, output `k > 0` adds `gap + softplus(margin k)` to output `k - 1`. Converts
/// one row's margins into expectiles in place.
pub fn expectiles_of_margins(row: &mut [f32]) {
    let mut pred = row.first().map_or(0.0, |m| *m as f64);
    for v in row.iter_mut().skip(1) {
        pred += EXPECTILE_GAP + softplus(*v as f64);
        *v = pred as f32;
    }
}

/// The margins of ascending expectile values (the inverse of [`expectiles_of_margins`]).
pub fn margins_of_expectiles(values: &[f64]) -> Vec<f64> {
    let mut out = values.to_vec();
    for k in (1..values.len()).rev() {
        out[k] = softplus_inv(values[k] - values[k - 1] - EXPECTILE_GAP);
    }
    out
}

/// Gradients of several expectile outputs of one row under the increasing parametrisation:
/// margin `j` moves every expectile from `j` on, so its gradient sums their losses' gradients
/// (times the slope `sigmoid(margin j)` of its softplus for `j > 0`), with XGBoost's diagonal
/// Gauss-Newton hessian.
fn expectile_row_gradients(levels: &[f64], y: f32, margins: &[f64], w: f64, out: &mut [GradPair]) {
    let k = levels.len();
    let mut preds = [0.0f64; 64];
    let mut pred = margins[0];
    for j in 0..k {
        if j > 0 {
            pred += EXPECTILE_GAP + softplus(margins[j]);
        }
        preds[j] = pred;
    }
    let (mut g, mut h) = (0.0, 0.0);
    for j in (0..k).rev() {
        let (gj, hj) = expectile_gradient(levels[j], y, preds[j]);
        g += gj * w;
        h += hj * w;
        let scale = if j == 0 { 1.0 } else { sigmoid(margins[j]) };
        out[j] = GradPair::new((scale * g) as f32, (scale * scale * h) as f32);
    }
}

/// Sorts one row's outputs into the order of their levels (the smallest value to the smallest
/// level): the rearrangement that makes quantile predictions non-crossing. `order` lists the
/// outputs by ascending level.
pub(crate) fn rearrange(row: &mut [f32], order: &[usize]) {
    let mut values: Vec<f32> = row.to_vec();
    values.sort_by(|a, b| a.total_cmp(b));
    for (v, &o) in values.into_iter().zip(order) {
        row[o] = v;
    }
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

/// The `alpha`-quantile of the residuals `label - margin` of a leaf, as XGBoost computes leaf
/// values of the absolute and quantile losses: interpolated between order statistics without
/// weights, the smallest residual whose cumulative weight reaches `alpha` with them.
fn residual_quantile(leaf: &LeafRows<'_>, alpha: f64) -> Option<f64> {
    if leaf.weights.is_none() {
        let mut residuals: Vec<f64> = leaf
            .rows
            .iter()
            .map(|&r| leaf.label(r as usize) as f64 - leaf.margin(r as usize))
            .collect();
        return interpolated_quantile(&mut residuals, alpha);
    }
    let mut pairs: Vec<(f64, f64)> = leaf
        .rows
        .iter()
        .map(|&r| {
            let r = r as usize;
            let res = leaf.label(r) as f64 - leaf.margin(r);
            (res, leaf.weights.map_or(1.0, |w| w[r]) as f64)
        })
        .collect();
    weighted_quantile(&mut pairs, alpha)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + crate::util::fastmath::exp(-x))
}

/// Logistic gradient pairs from `e[i] = exp(-margin)`: `p = 1 / (1 + e)` (which is `sigmoid` of
/// the margin to the bit), gradient `(p - y) * s` and hessian `max(p (1 - p), 1e-16) * s`, with
/// `s = scale_pos_weight` for positive labels, times the row's weight.
#[inline(always)]
fn logistic_pairs_loop(e: &[f64], labels: &[f32], weights: Option<&[f32]>, spw: f64, out: &mut [GradPair]) {
    let pair = |e: f64, y: f32, w: f64| {
        let p = 1.0 / (1.0 + e);
        let s = if y == 1.0 { spw } else { 1.0 };
        let (g, h) = ((p - y as f64) * s, (p * (1.0 - p)).max(1e-16) * s);
        GradPair::new((g * w) as f32, (h * w) as f32)
    };
    // Slices zipped (no index checks), one loop per weighting, so that both vectorise.
    let rows = out.iter_mut().zip(e).zip(labels);
    match weights {
        Some(w) => {
            for (((gp, &e), &y), &w) in rows.zip(w) {
                *gp = pair(e, y, w as f64);
            }
        }
        None => {
            for ((gp, &e), &y) in rows {
                *gp = pair(e, y, 1.0);
            }
        }
    }
}

simd_dispatch! {
    /// [`logistic_pairs_loop`] for the widest instruction set the processor has (the baseline's
    /// two-lane divisions and conversions were most of the binary objective's gradient time).
    fn logistic_pairs, at logistic_pairs_at(
        e: &[f64],
        labels: &[f32],
        weights: Option<&[f32]>,
        spw: f64,
        out: &mut [GradPair],
    ) = logistic_pairs_loop;
    avx512 needs ["avx512f"]
}

/// The built-in objectives, configured from [`Params`].
#[derive(Debug, Clone)]
pub struct BuiltinObjective {
    kind: ObjectiveKind,
    num_class: usize,
    huber_slope: f64,
    /// The levels of `reg:quantileerror` / `reg:expectileerror` (one output each); one entry
    /// (unused) for the other objectives.
    levels: Vec<f64>,
    /// Outputs by ascending level, for the non-crossing rearrangement.
    level_order: Vec<usize>,
    /// Label columns (several targets: one output each).
    num_target: usize,
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
            levels: params.levels().map_or(vec![0.5], |a| a.as_slice().to_vec()),
            level_order: params.levels().map_or(vec![0], |a| a.ascending_order()),
            num_target: params.num_target.max(1),
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

    fn layout(&self) -> Layout {
        Layout {
            outputs: self.num_groups(),
            label_per_output: self.num_target > 1,
        }
    }

    /// The initial margin of one output from its labels (one column) and level.
    fn initial_margin_of(&self, labels: &[f32], weights: Option<&[f32]>, level: f64) -> f64 {
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
            SquaredError => weighted_mean(labels, weights),
            AbsoluteError | PseudoHuberError => quantile(0.5),
            QuantileError => quantile(level),
            ExpectileError => weighted_expectile(labels, weights, level),
            SquaredLogError => {
                let logs: Vec<f32> = labels.iter().map(|y| (*y as f64).ln_1p() as f32).collect();
                weighted_mean(&logs, weights).exp_m1()
            }
            Poisson | Gamma | Tweedie => weighted_mean(labels, weights).max(1e-6).ln(),
            BinaryLogistic | BinaryLogitRaw => {
                let p = weighted_mean(labels, weights).clamp(1e-6, 1.0 - 1e-6);
                (p / (1.0 - p)).ln()
            }
            _ => 0.0,
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
            self.levels.len() * self.num_target
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
        let layout = self.layout();
        match self.kind {
            SurvivalCox | SurvivalAft => {
                if let Some(s) = &self.survival {
                    s.gradients(labels, weights, margins, out)
                }
            }
            // `objective_for` builds `ranking::RankingObjective` for these.
            RankPairwise | RankNdcg | RankMap => out.fill(GradPair::new(0.0, 0.0)),
            SquaredError => par_gradients(layout, labels, weights, margins, out, |_, y, p| (p - y as f64, 1.0)),
            AbsoluteError => par_gradients(layout, labels, weights, margins, out, |_, y, p| {
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
                par_gradients(layout, labels, weights, margins, out, move |_, y, p| {
                    let z = p - y as f64;
                    let scale = 1.0 + (z / s) * (z / s);
                    let root = scale.sqrt();
                    (z / root, 1.0 / (scale * root))
                })
            }
            QuantileError => {
                let levels = &self.levels;
                par_gradients(layout, labels, weights, margins, out, move |j, y, p| {
                    let a = levels[j];
                    (if p - y as f64 >= 0.0 { 1.0 - a } else { -a }, 1.0)
                })
            }
            ExpectileError if self.levels.len() == 1 => {
                let a = self.levels[0];
                par_gradients(layout, labels, weights, margins, out, move |_, y, p| {
                    expectile_gradient(a, y, p)
                })
            }
            ExpectileError => {
                let k = self.levels.len();
                out.par_chunks_mut(GRAD_CHUNK * k).enumerate().for_each(|(c, chunk)| {
                    let start = c * GRAD_CHUNK;
                    for (r, row_out) in chunk.chunks_exact_mut(k).enumerate() {
                        let i = start + r;
                        let w = weights.map_or(1.0, |w| w[i]) as f64;
                        let m = &margins[i * k..(i + 1) * k];
                        expectile_row_gradients(&self.levels, labels[i], m, w, row_out);
                    }
                });
            }
            SquaredLogError => par_gradients(layout, labels, weights, margins, out, |_, y, p| {
                let p = p.max(-1.0 + 1e-6);
                let y = y as f64;
                let d = (p + 1.0).ln() - (y + 1.0).ln();
                let g = d / (p + 1.0);
                let h = ((-d + 1.0) / ((p + 1.0) * (p + 1.0))).max(1e-6);
                (g, h)
            }),
            Poisson => {
                let step = self.poisson_max_delta_step;
                par_gradients(layout, labels, weights, margins, out, |_, y, m| {
                    (m.exp() - y as f64, (m + step).exp())
                })
            }
            Gamma => par_gradients(layout, labels, weights, margins, out, |_, y, m| {
                let r = y as f64 * (-m).exp();
                (1.0 - r, r)
            }),
            Tweedie => {
                let rho = self.tweedie_power;
                par_gradients(layout, labels, weights, margins, out, move |_, y, m| {
                    let y = y as f64;
                    let a = ((1.0 - rho) * m).exp();
                    let b = ((2.0 - rho) * m).exp();
                    (-y * a + b, -y * (1.0 - rho) * a + (2.0 - rho) * b)
                })
            }
            BinaryLogistic | BinaryLogitRaw if layout.outputs > 1 => {
                let spw = self.scale_pos_weight;
                par_gradients(layout, labels, weights, margins, out, move |_, y, m| {
                    let p = sigmoid(m);
                    let s = if y == 1.0 { spw } else { 1.0 };
                    ((p - y as f64) * s, (p * (1.0 - p)).max(1e-16) * s)
                })
            }
            BinaryLogistic | BinaryLogitRaw => {
                let spw = self.scale_pos_weight;
                out.par_chunks_mut(GRAD_CHUNK).enumerate().for_each(|(c, chunk)| {
                    let start = c * GRAD_CHUNK;
                    // e^-m for the whole chunk in one vectorised pass; p = 1 / (1 + e^-m) is then
                    // `sigmoid(m)` to the bit.
                    let end = start + chunk.len();
                    let mut e: Vec<f64> = margins[start..end].iter().map(|m| -m).collect();
                    fastmath::exp_in_place(&mut e);
                    logistic_pairs(&e, &labels[start..end], weights.map(|w| &w[start..end]), spw, chunk);
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
        match self.kind {
            SurvivalCox | SurvivalAft => match &self.survival {
                Some(s) => s.initial_margin(labels, weights),
                None => vec![0.0],
            },
            RankPairwise | RankNdcg | RankMap => vec![0.0],
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
            _ if self.num_target > 1 => {
                let t = self.num_target;
                (0..t)
                    .map(|j| {
                        let column: Vec<f32> = labels.iter().skip(j).step_by(t).copied().collect();
                        self.initial_margin_of(&column, weights, self.levels[0])
                    })
                    .collect()
            }
            ExpectileError if self.levels.len() > 1 => {
                // Each level's own expectile (ascending with the levels), kept apart by the gap the
                // parametrisation needs, as margins.
                let mut values: Vec<f64> = Vec::with_capacity(self.levels.len());
                for &level in &self.levels {
                    let e = self.initial_margin_of(labels, weights, level);
                    let floor = values.last().map_or(f64::NEG_INFINITY, |p| p + 2.0 * EXPECTILE_GAP);
                    values.push(e.max(floor));
                }
                margins_of_expectiles(&values)
            }
            _ => self
                .levels
                .iter()
                .map(|&level| self.initial_margin_of(labels, weights, level))
                .collect(),
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
            BinaryLogistic | BinaryLogitRaw => row.iter_mut().for_each(|v| *v = sigmoid(*v as f64) as f32),
            Poisson | Gamma | Tweedie | SurvivalCox | SurvivalAft => {
                row.iter_mut().for_each(|v| *v = (*v as f64).exp() as f32)
            }
            QuantileError if self.levels.len() > 1 => rearrange(row, &self.level_order),
            ExpectileError if self.levels.len() > 1 => expectiles_of_margins(row),
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

    fn margins_to_scores(&self, values: &mut [f32], num_groups: usize) {
        use ObjectiveKind::*;
        match self.kind {
            // Element-wise links: the same operation as `margin_to_score`, in one loop.
            // `sigmoid`, with its exponentials taken by the vectorised `exp_in_place`.
            BinaryLogistic | BinaryLogitRaw => {
                let mut e: Vec<f64> = values.iter().map(|v| -(*v as f64)).collect();
                crate::util::fastmath::exp_in_place(&mut e);
                for (v, e) in values.iter_mut().zip(e) {
                    *v = (1.0 / (1.0 + e)) as f32;
                }
            }
            Poisson | Gamma | Tweedie | SurvivalCox | SurvivalAft => {
                values.iter_mut().for_each(|v| *v = (*v as f64).exp() as f32)
            }
            // `softmax` of each row, its exponentials taken for all rows at once.
            MultiSoftmax | MultiSoftprob if num_groups > 1 => {
                let k = num_groups;
                let mut e: Vec<f64> = Vec::with_capacity(values.len());
                for row in values.chunks_exact(k) {
                    let max = row.iter().map(|v| *v as f64).fold(f64::NEG_INFINITY, f64::max);
                    e.extend(row.iter().map(|v| *v as f64 - max));
                }
                crate::util::fastmath::exp_in_place(&mut e);
                for (row, e) in values.chunks_exact_mut(k).zip(e.chunks_exact(k)) {
                    let sum = e.iter().fold(0.0, |s, v| s + v);
                    for (o, v) in row.iter_mut().zip(e) {
                        *o = (v / sum) as f32;
                    }
                }
            }
            _ => values
                .chunks_exact_mut(num_groups.max(1))
                .for_each(|row| self.margin_to_score(row)),
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
            ExpectileError => Metric::Expectile(None),
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
                    s += (leaf.label(r) as f64 - leaf.margin(r)) * w;
                    sw += w;
                }
                (sw > 0.0).then(|| s / sw)
            }
            AbsoluteError | PseudoHuberError => residual_quantile(leaf, 0.5),
            QuantileError => residual_quantile(leaf, self.levels[leaf.group.min(self.levels.len() - 1)]),
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
