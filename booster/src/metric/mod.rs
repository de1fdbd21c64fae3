//! Evaluation metrics, named as in XGBoost.
//!
//! Metrics read scores in output space: probabilities for classification (one per class for
//! multiclass, row-major), values for regression.

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::Targets;
use crate::error::{Error, Result};
use crate::params::{AftDistribution, Alphas};
use crate::util::fastmath::{ln_in_place, ln_positive};

pub(crate) mod survival;

pub mod ranking;

pub use ranking::RankAt;

/// An evaluation metric. Parse one from XGBoost's name with `"auc".parse()`; `error@0.7`,
/// `tweedie-nloglik@1.2` and `quantile@0.9` carry their parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Root mean squared error.
    Rmse,
    /// Root mean squared log error.
    Rmsle,
    /// Mean absolute error.
    Mae,
    /// Mean absolute percentage error.
    Mape,
    /// Binary log loss.
    Logloss,
    /// Binary error rate at a threshold (default 0.5).
    Error(Option<f64>),
    /// Area under the ROC curve (one-vs-rest, prevalence-weighted, for multiclass).
    Auc,
    /// Area under the precision-recall curve (average precision).
    Aucpr,
    /// Multiclass log loss.
    Mlogloss,
    /// Multiclass error rate.
    Merror,
    /// Negative log likelihood of a Poisson model.
    PoissonNloglik,
    /// Negative log likelihood of a gamma model.
    GammaNloglik,
    /// Negative log likelihood of a Tweedie model (power; default `tweedie_variance_power`).
    TweedieNloglik(Option<f64>),
    /// Pinball loss at a quantile (default `quantile_alpha`; with several levels, the mean over
    /// the model's outputs, each at its own level).
    Quantile(Option<f64>),
    /// Asymmetric squared loss at an expectile (default `expectile_alpha`, several levels as for
    /// [`Metric::Quantile`]): `alpha * r^2` for residuals `r = label - prediction >= 0`,
    /// `(1 - alpha) * r^2` below.
    Expectile(Option<f64>),
    /// Negative log partial likelihood of the Cox model per event (`survival:cox`).
    CoxNloglik,
    /// Mean negative log likelihood of the AFT model on the label bounds (`survival:aft`).
    AftNloglik,
    /// Share of rows whose predicted time lies within their label bounds.
    IntervalRegressionAccuracy,
    /// Normalised discounted cumulative gain over query groups (`ndcg`, `ndcg@10`, `ndcg@10-`).
    Ndcg(RankAt),
    /// Mean average precision over query groups, binary labels (`map`, `map@5`, `map-`).
    Map(RankAt),
    /// Precision over query groups, binary labels (`pre`, `pre@5`).
    Pre(RankAt),
}

/// Parameters that some metrics take from the training parameters.
#[derive(Debug, Clone)]
pub struct MetricContext {
    /// Default quantiles for [`Metric::Quantile`] (one per output of a multi-quantile model).
    pub quantile_alpha: Alphas,
    /// Default expectiles for [`Metric::Expectile`].
    pub expectile_alpha: Alphas,
    /// Default power for [`Metric::TweedieNloglik`].
    pub tweedie_power: f64,
    /// Noise distribution of [`Metric::AftNloglik`].
    pub aft_distribution: AftDistribution,
    /// Scale of that distribution.
    pub aft_scale: f64,
    /// Gain of [`Metric::Ndcg`]: `2^label - 1` (true, XGBoost's `ndcg_exp_gain` default) or
    /// `label`.
    pub ndcg_exp_gain: bool,
    /// Gain of [`Metric::Ndcg`] per relevance label (LightGBM's `label_gain`); when not empty it
    /// replaces `ndcg_exp_gain`.
    pub label_gain: Vec<f64>,
}

impl MetricContext {
    /// The metric settings that `params` holds.
    pub fn from_params(params: &crate::params::Params) -> MetricContext {
        MetricContext {
            quantile_alpha: params.quantile_alpha.clone(),
            expectile_alpha: params.expectile_alpha.clone(),
            tweedie_power: params.tweedie_variance_power,
            aft_distribution: params.aft_loss_distribution,
            aft_scale: params.aft_loss_distribution_scale,
            ndcg_exp_gain: params.ndcg_exp_gain,
            label_gain: params.label_gain.clone(),
        }
    }
}

impl MetricContext {
    fn ndcg_gain(&self) -> crate::objective::ranking::Gain {
        crate::objective::ranking::Gain::from_settings(&self.label_gain, self.ndcg_exp_gain)
    }
}

impl Default for MetricContext {
    fn default() -> Self {
        MetricContext {
            quantile_alpha: Alphas::default(),
            expectile_alpha: Alphas::default(),
            tweedie_power: 1.5,
            aft_distribution: AftDistribution::Normal,
            aft_scale: 1.0,
            ndcg_exp_gain: true,
            label_gain: Vec::new(),
        }
    }
}

const NAMES: &str = "rmse, rmsle, mae, mape, logloss, error[@t], auc, aucpr, mlogloss, merror, \
poisson-nloglik, gamma-nloglik, tweedie-nloglik[@rho], quantile[@alpha], expectile[@alpha], cox-nloglik, aft-nloglik, interval-regression-accuracy, ndcg[@k][-], map[@k][-], pre[@k][-]";

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Metric> {
        for (prefix, make) in [
            ("ndcg", Metric::Ndcg as fn(RankAt) -> Metric),
            ("map", Metric::Map),
            ("pre", Metric::Pre),
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if let Some(at) = RankAt::parse(rest) {
                    return Ok(make(at));
                }
                if rest.is_empty() || rest.starts_with('@') || rest.starts_with('-') {
                    return Err(Error::param(
                        "eval_metric",
                        format!("`{s}`: write {prefix}, {prefix}@K or {prefix}@K- with an integer K >= 1"),
                    ));
                }
            }
        }
        let (name, arg) = match s.split_once('@') {
            Some((n, a)) => {
                let v: f64 = a
                    .parse()
                    .map_err(|_| Error::param("eval_metric", format!("`{s}`: `{a}` is not a number")))?;
                (n, Some(v))
            }
            None => (s, None),
        };
        let m = match (name, arg) {
            ("rmse", None) => Metric::Rmse,
            ("rmsle", None) => Metric::Rmsle,
            ("mae", None) => Metric::Mae,
            ("mape", None) => Metric::Mape,
            ("logloss", None) => Metric::Logloss,
            ("error", a) => Metric::Error(a),
            ("auc", None) => Metric::Auc,
            ("aucpr", None) => Metric::Aucpr,
            ("mlogloss", None) => Metric::Mlogloss,
            ("merror", None) => Metric::Merror,
            ("poisson-nloglik", None) => Metric::PoissonNloglik,
            ("gamma-nloglik", None) => Metric::GammaNloglik,
            ("tweedie-nloglik", a) => Metric::TweedieNloglik(a),
            ("quantile", a) => Metric::Quantile(a),
            ("expectile", a) => Metric::Expectile(a),
            ("cox-nloglik", None) => Metric::CoxNloglik,
            ("aft-nloglik", None) => Metric::AftNloglik,
            ("interval-regression-accuracy", None) => Metric::IntervalRegressionAccuracy,
            _ => {
                return Err(Error::param(
                    "eval_metric",
                    format!("unknown metric `{s}`; allowed: {NAMES}"),
                ));
            }
        };
        Ok(m)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with = |f: &mut fmt::Formatter<'_>, name: &str, a: &Option<f64>| match a {
            Some(a) => write!(f, "{name}@{a}"),
            None => write!(f, "{name}"),
        };
        match self {
            Metric::Rmse => write!(f, "rmse"),
            Metric::Rmsle => write!(f, "rmsle"),
            Metric::Mae => write!(f, "mae"),
            Metric::Mape => write!(f, "mape"),
            Metric::Logloss => write!(f, "logloss"),
            Metric::Error(a) => with(f, "error", a),
            Metric::Auc => write!(f, "auc"),
            Metric::Aucpr => write!(f, "aucpr"),
            Metric::Mlogloss => write!(f, "mlogloss"),
            Metric::Merror => write!(f, "merror"),
            Metric::PoissonNloglik => write!(f, "poisson-nloglik"),
            Metric::GammaNloglik => write!(f, "gamma-nloglik"),
            Metric::TweedieNloglik(a) => with(f, "tweedie-nloglik", a),
            Metric::Quantile(a) => with(f, "quantile", a),
            Metric::Expectile(a) => with(f, "expectile", a),
            Metric::CoxNloglik => write!(f, "cox-nloglik"),
            Metric::AftNloglik => write!(f, "aft-nloglik"),
            Metric::IntervalRegressionAccuracy => write!(f, "interval-regression-accuracy"),
            Metric::Ndcg(at) => write!(f, "ndcg{}", at.suffix()),
            Metric::Map(at) => write!(f, "map{}", at.suffix()),
            Metric::Pre(at) => write!(f, "pre{}", at.suffix()),
        }
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Metric, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Rows per block of [`weighted_mean`]: each block is summed in row order by one thread, and the
/// block sums are added in block order, so the result does not depend on the thread count.
const MEAN_BLOCK: usize = 16_384;

/// Weighted mean of a per-row loss, summed in a fixed order (blocks of [`MEAN_BLOCK`] rows in
/// parallel, then the block sums in order).
fn weighted_mean(n: usize, weights: Option<&[f32]>, loss: impl Fn(usize) -> f64 + Sync) -> f64 {
    weighted_mean_of_blocks(n, weights, |start, out| {
        for (j, o) in out.iter_mut().enumerate() {
            *o = loss(start + j);
        }
    })
}

/// [`weighted_mean`] where `fill(start, out)` writes the losses of rows `start..start + out.len()`
/// into `out` at once (so that a block's losses can be computed by vectorised loops).
fn weighted_mean_of_blocks(n: usize, weights: Option<&[f32]>, fill: impl Fn(usize, &mut [f64]) + Sync) -> f64 {
    let block_sums: Vec<(f64, f64)> = (0..n.div_ceil(MEAN_BLOCK))
        .into_par_iter()
        .map(|b| {
            let (start, end) = (b * MEAN_BLOCK, ((b + 1) * MEAN_BLOCK).min(n));
            let mut losses = vec![0.0f64; end - start];
            fill(start, &mut losses);
            let (mut s, mut sw) = (0.0f64, 0.0f64);
            for (i, loss) in (start..end).zip(losses) {
                let w = weights.map_or(1.0, |w| w[i]) as f64;
                s += loss * w;
                sw += w;
            }
            (s, sw)
        })
        .collect();
    let (s, sw) = block_sums
        .iter()
        .fold((0.0f64, 0.0f64), |(s, sw), &(bs, bw)| (s + bs, sw + bw));
    if sw > 0.0 {
        s / sw
    } else {
        0.0
    }
}

/// The binary log loss of rows `start..start + out.len()` into `out`: probabilities clamped into
/// `[eps, 1 - eps]`, both logarithms by the vectorised [`ln_in_place`].
fn logloss_block(scores: &[f32], labels: &[f32], eps: f64, start: usize, out: &mut [f64]) {
    let rows = start..start + out.len();
    let mut complement: Vec<f64> = Vec::with_capacity(out.len());
    for (o, &p) in out.iter_mut().zip(&scores[rows.clone()]) {
        let q = (p as f64).clamp(eps, 1.0 - eps);
        *o = q;
        complement.push(1.0 - q);
    }
    ln_in_place(out);
    ln_in_place(&mut complement);
    for ((o, c), &y) in out.iter_mut().zip(complement).zip(&labels[rows]) {
        let y = y as f64;
        *o = -(y * *o + (1.0 - y) * c);
    }
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9), accurate to ~1e-13 for x > 0.
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI.ln() - (std::f64::consts::PI * x).sin().abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

impl Metric {
    /// The ranking metric and its cut-off, for `ndcg`, `map` and `pre`.
    fn ranking(&self) -> Option<(ranking::RankMetric, RankAt)> {
        match *self {
            Metric::Ndcg(at) => Some((ranking::RankMetric::Ndcg, at)),
            Metric::Map(at) => Some((ranking::RankMetric::Map, at)),
            Metric::Pre(at) => Some((ranking::RankMetric::Pre, at)),
            _ => None,
        }
    }

    /// Checks that `scores` holds one value per row.
    fn check_one_column(&self, scores: &[f32], num_cols: usize, rows: usize) -> Result<()> {
        if num_cols != 1 || scores.len() != rows {
            return Err(Error::ShapeMismatch {
                what: format!("scores for metric {self} (one per row)"),
                expected: rows,
                got: scores.len(),
            });
        }
        Ok(())
    }

    /// The AFT metrics on the label bounds of `targets` (the labels when there are none).
    fn evaluate_survival(
        &self,
        scores: &[f32],
        num_cols: usize,
        targets: &Targets<'_>,
        ctx: &MetricContext,
    ) -> Result<f64> {
        let n = targets.labels.len();
        self.check_one_column(scores, num_cols, n)?;
        if n == 0 {
            return Err(Error::data(format!("metric {self} needs at least one labelled row")));
        }
        if let Some(b) = targets.bounds {
            if b.lower.len() != n {
                return Err(Error::ShapeMismatch {
                    what: format!("label bounds for metric {self}"),
                    expected: n,
                    got: b.lower.len(),
                });
            }
        }
        let loss = crate::objective::survival::AftLoss {
            dist: ctx.aft_distribution,
            sigma: ctx.aft_scale,
        };
        Ok(match self {
            Metric::AftNloglik => survival::aft_nloglik(scores, targets, &loss),
            _ => survival::interval_accuracy(scores, targets),
        })
    }

    /// Whether a larger value is better (AUC-type metrics).
    pub fn higher_is_better(&self) -> bool {
        matches!(
            self,
            Metric::Auc
                | Metric::Aucpr
                | Metric::IntervalRegressionAccuracy
                | Metric::Ndcg(_)
                | Metric::Map(_)
                | Metric::Pre(_)
        )
    }

    /// [`Metric::evaluate`] on everything the data holds besides the features (metrics of ranking
    /// read the query groups, those of survival the label bounds).
    pub fn evaluate_for(
        &self,
        scores: &[f32],
        num_cols: usize,
        targets: &Targets<'_>,
        ctx: &MetricContext,
    ) -> Result<f64> {
        if let Some((kind, at)) = self.ranking() {
            self.check_one_column(scores, num_cols, targets.labels.len())?;
            return ranking::evaluate(kind, at, scores, targets, &ctx.ndcg_gain());
        }
        if matches!(self, Metric::AftNloglik | Metric::IntervalRegressionAccuracy) {
            return self.evaluate_survival(scores, num_cols, targets, ctx);
        }
        self.evaluate(scores, num_cols, targets.labels, targets.weights, ctx)
    }

    /// Evaluates the metric. `scores` holds `num_cols` values per row (row-major) in output space.
    pub fn evaluate(
        &self,
        scores: &[f32],
        num_cols: usize,
        labels: &[f32],
        weights: Option<&[f32]>,
        ctx: &MetricContext,
    ) -> Result<f64> {
        if let Some(v) = self.evaluate_levels(scores, num_cols, labels, weights, ctx)? {
            return Ok(v);
        }
        if num_cols > 1 && labels.len() == scores.len() {
            return self.evaluate_targets(scores, num_cols, labels, weights, ctx);
        }
        let n = labels.len();
        if scores.len() != n * num_cols {
            return Err(Error::ShapeMismatch {
                what: format!("scores for metric {self}"),
                expected: n * num_cols,
                got: scores.len(),
            });
        }
        if n == 0 {
            return Err(Error::data(format!("metric {self} needs at least one labelled row")));
        }
        let multi = matches!(self, Metric::Mlogloss | Metric::Merror | Metric::Auc);
        if num_cols != 1 && !multi {
            return Err(Error::param(
                "eval_metric",
                format!("{self} needs one score per row, the model gives {num_cols}"),
            ));
        }
        let y = |i: usize| labels[i] as f64;
        let p = |i: usize| scores[i] as f64;
        const EPS: f64 = 1e-16;
        let v = match self {
            Metric::Rmse => weighted_mean(n, weights, |i| (p(i) - y(i)).powi(2)).sqrt(),
            Metric::Rmsle => {
                weighted_mean(n, weights, |i| ((p(i).max(-1.0 + 1e-6)).ln_1p() - y(i).ln_1p()).powi(2)).sqrt()
            }
            Metric::Mae => weighted_mean(n, weights, |i| (p(i) - y(i)).abs()),
            Metric::Mape => weighted_mean(n, weights, |i| ((p(i) - y(i)) / y(i)).abs()),
            Metric::Logloss => {
                weighted_mean_of_blocks(n, weights, |start, out| logloss_block(scores, labels, EPS, start, out))
            }
            Metric::Error(t) => {
                let t = t.unwrap_or(0.5);
                weighted_mean(n, weights, |i| if (p(i) > t) != (y(i) > 0.5) { 1.0 } else { 0.0 })
            }
            Metric::Auc if num_cols == 1 => binary_auc(scores, labels, weights, |l| l > 0.5),
            Metric::Auc => {
                // One-vs-rest, weighted by class prevalence (XGBoost's multiclass AUC).
                let (mut s, mut sw) = (0.0, 0.0);
                for c in 0..num_cols {
                    let col: Vec<f32> = (0..n).map(|i| scores[i * num_cols + c]).collect();
                    let prevalence = weighted_mean(n, weights, |i| if labels[i] as usize == c { 1.0 } else { 0.0 });
                    if prevalence > 0.0 && prevalence < 1.0 {
                        s += prevalence * binary_auc(&col, labels, weights, |l| l as usize == c);
                        sw += prevalence;
                    }
                }
                if sw > 0.0 {
                    s / sw
                } else {
                    f64::NAN
                }
            }
            Metric::Aucpr => average_precision(scores, labels, weights),
            Metric::Mlogloss => weighted_mean(n, weights, |i| {
                let c = labels[i] as usize;
                -ln_positive((scores[i * num_cols + c.min(num_cols - 1)] as f64).clamp(EPS, 1.0))
            }),
            Metric::Merror => weighted_mean(n, weights, |i| {
                let row = &scores[i * num_cols..(i + 1) * num_cols];
                let pred = if num_cols == 1 {
                    row[0] as usize
                } else {
                    (0..num_cols).fold(0, |b, c| if row[c] > row[b] { c } else { b })
                };
                if pred != labels[i] as usize {
                    1.0
                } else {
                    0.0
                }
            }),
            Metric::PoissonNloglik => weighted_mean(n, weights, |i| {
                let mu = p(i).max(EPS);
                mu - y(i) * mu.ln() + ln_gamma(y(i) + 1.0)
            }),
            Metric::GammaNloglik => weighted_mean(n, weights, |i| {
                // Gamma with shape 1 (XGBoost's convention): -log f(y) = y/mu + log(mu).
                let mu = p(i).max(EPS);
                y(i) / mu + mu.ln()
            }),
            Metric::TweedieNloglik(rho) => {
                let rho = rho.unwrap_or(ctx.tweedie_power);
                weighted_mean(n, weights, |i| {
                    let mu = p(i).max(EPS);
                    let a = y(i) * mu.powf(1.0 - rho) / (1.0 - rho);
                    let b = mu.powf(2.0 - rho) / (2.0 - rho);
                    -a + b
                })
            }
            Metric::Ndcg(_) | Metric::Map(_) | Metric::Pre(_) => {
                return Err(Error::param(
                    "eval_metric",
                    format!("{self} needs query groups: give the data query ids (`qid`) or group sizes (`group`)"),
                ));
            }
            Metric::CoxNloglik => survival::cox_nloglik(scores, labels),
            Metric::AftNloglik | Metric::IntervalRegressionAccuracy => {
                return self.evaluate_survival(scores, num_cols, &Targets::plain(labels, weights), ctx);
            }
            Metric::Quantile(_) | Metric::Expectile(_) => unreachable!("evaluated by evaluate_levels"),
        };
        Ok(v)
    }

    /// Every output of a model with a label column per output (several targets), scored as one
    /// long column: the rows' weights repeat for each of their outputs (XGBoost's element-wise
    /// metrics over all targets).
    fn evaluate_targets(
        &self,
        scores: &[f32],
        num_cols: usize,
        labels: &[f32],
        weights: Option<&[f32]>,
        ctx: &MetricContext,
    ) -> Result<f64> {
        if matches!(self, Metric::Mlogloss | Metric::Merror) || self.ranking().is_some() {
            return Err(Error::param(
                "eval_metric",
                format!("{self} does not apply to a model with {num_cols} targets"),
            ));
        }
        let repeated: Option<Vec<f32>> =
            weights.map(|w| w.iter().flat_map(|&w| std::iter::repeat_n(w, num_cols)).collect());
        if let Some(r) = &repeated {
            if r.len() != labels.len() {
                return Err(Error::ShapeMismatch {
                    what: format!("weights for metric {self} over {num_cols} targets"),
                    expected: labels.len() / num_cols,
                    got: r.len() / num_cols,
                });
            }
        }
        self.evaluate(scores, 1, labels, repeated.as_deref(), ctx)
    }

    /// The quantile and expectile losses: the mean over the rows (weighted) and the outputs, each
    /// output at its own level (`None` for other metrics). With several label columns each
    /// output is compared with its own column.
    fn evaluate_levels(
        &self,
        scores: &[f32],
        num_cols: usize,
        labels: &[f32],
        weights: Option<&[f32]>,
        ctx: &MetricContext,
    ) -> Result<Option<f64>> {
        let (given, default, expectile) = match *self {
            Metric::Quantile(a) => (a, &ctx.quantile_alpha, false),
            Metric::Expectile(a) => (a, &ctx.expectile_alpha, true),
            _ => return Ok(None),
        };
        let levels: Vec<f64> = match given {
            Some(a) => vec![a; num_cols],
            None if default.len() == num_cols => default.as_slice().to_vec(),
            None if default.len() == 1 => vec![default.first(); num_cols],
            None => {
                return Err(Error::param(
                    "eval_metric",
                    format!("{self} has {} levels, the model {num_cols} outputs", default.len()),
                ))
            }
        };
        let per_output_label = labels.len() == scores.len() && num_cols > 1;
        let n = if per_output_label {
            labels.len() / num_cols
        } else {
            labels.len()
        };
        if scores.len() != n * num_cols || n == 0 {
            return Err(Error::ShapeMismatch {
                what: format!("scores for metric {self} (one per output of each labelled row)"),
                expected: n * num_cols,
                got: scores.len(),
            });
        }
        let loss = |i: usize| {
            let mut sum = 0.0;
            for (j, a) in levels.iter().enumerate() {
                let y = if per_output_label {
                    labels[i * num_cols + j]
                } else {
                    labels[i]
                } as f64;
                let d = y - scores[i * num_cols + j] as f64;
                let side = if d >= 0.0 { *a } else { 1.0 - a };
                sum += if expectile { side * d * d } else { side * d.abs() };
            }
            sum / num_cols as f64
        };
        Ok(Some(weighted_mean(n, weights, loss)))
    }
}

/// Rows sorted by score, descending, with their weights and whether each is positive.
fn ranked(
    scores: &[f32],
    labels: &[f32],
    weights: Option<&[f32]>,
    positive: impl Fn(f32) -> bool,
) -> Vec<(f32, f64, bool)> {
    let mut v: Vec<(f32, f64, bool)> = (0..labels.len())
        .map(|i| (scores[i], weights.map_or(1.0, |w| w[i]) as f64, positive(labels[i])))
        .collect();
    v.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    v
}

/// Weighted ROC AUC; tied scores count half.
fn binary_auc(scores: &[f32], labels: &[f32], weights: Option<&[f32]>, positive: impl Fn(f32) -> bool) -> f64 {
    let v = ranked(scores, labels, weights, positive);
    let (mut tp, mut fp, mut area) = (0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < v.len() {
        let (mut dtp, mut dfp) = (0.0, 0.0);
        let s = v[i].0;
        while i < v.len() && v[i].0 == s {
            if v[i].2 {
                dtp += v[i].1;
            } else {
                dfp += v[i].1;
            }
            i += 1;
        }
        area += dfp * (tp + dtp / 2.0);
        tp += dtp;
        fp += dfp;
    }
    if tp == 0.0 || fp == 0.0 {
        return f64::NAN;
    }
    area / (tp * fp)
}

/// Weighted average precision: the area under the precision-recall step curve, ties grouped.
fn average_precision(scores: &[f32], labels: &[f32], weights: Option<&[f32]>) -> f64 {
    let v = ranked(scores, labels, weights, |l| l > 0.5);
    let total_pos: f64 = v.iter().filter(|r| r.2).map(|r| r.1).sum();
    if total_pos == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut fp, mut ap) = (0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < v.len() {
        let s = v[i].0;
        let mut dtp = 0.0;
        while i < v.len() && v[i].0 == s {
            if v[i].2 {
                dtp += v[i].1;
            } else {
                fp += v[i].1;
            }
            i += 1;
        }
        tp += dtp;
        if dtp > 0.0 {
            ap += (dtp / total_pos) * (tp / (tp + fp));
        }
    }
    ap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(m: &str, s: &[f32], k: usize, y: &[f32]) -> f64 {
        m.parse::<Metric>()
            .unwrap()
            .evaluate(s, k, y, None, &MetricContext::default())
            .unwrap()
    }

    /// Naive AUC: fraction of (positive, negative) pairs ordered right, ties half.
    fn naive_auc(s: &[f32], y: &[f32]) -> f64 {
        let (mut good, mut pairs) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] > 0.5 && y[j] <= 0.5 {
                    pairs += 1.0;
                    good += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        good / pairs
    }

    #[test]
    fn auc_matches_pair_counting() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2];
        let y = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0];
        assert!((eval("auc", &s, 1, &y) - naive_auc(&s, &y)).abs() < 1e-12);
    }

    #[test]
    fn simple_metrics() {
        assert!((eval("rmse", &[1.0, 3.0], 1, &[0.0, 0.0]) - 5f64.sqrt()).abs() < 1e-9);
        assert!((eval("mae", &[1.0, 3.0], 1, &[0.0, 0.0]) - 2.0).abs() < 1e-9);
        assert_eq!(eval("error", &[0.7, 0.2], 1, &[1.0, 1.0]), 0.5);
        assert_eq!(eval("error@0.1", &[0.7, 0.2], 1, &[1.0, 1.0]), 0.0);
        // Scores next to the threshold, on both sides of it (XGBoost: positive when p > t).
        assert_eq!(eval("error", &[0.51, 0.49, 0.5, 0.55], 1, &[1.0, 0.0, 1.0, 0.0]), 0.5);
        assert_eq!(eval("error@0.7", &[0.71, 0.69, 0.65], 1, &[1.0, 0.0, 1.0]), 1.0 / 3.0);
        assert_eq!(eval("merror", &[0.7, 0.3, 0.2, 0.8], 2, &[0.0, 0.0]), 0.5);
        assert!((eval("mlogloss", &[0.5, 0.5], 2, &[1.0]) - 2f64.ln()).abs() < 1e-6);
        assert!((eval("aucpr", &[0.9, 0.8, 0.1], 1, &[1.0, 0.0, 1.0]) - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-9);
        assert!((eval("quantile@0.9", &[0.0], 1, &[1.0]) - 0.9).abs() < 1e-9);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn parse_round_trip_and_errors() {
        for name in ["rmse", "error@0.7", "tweedie-nloglik@1.2", "quantile", "aucpr"] {
            assert_eq!(name.parse::<Metric>().unwrap().to_string(), name);
        }
        let e = "foo".parse::<Metric>().unwrap_err().to_string();
        assert!(e.contains("eval_metric") && e.contains("foo"), "{e}");
    }
}
