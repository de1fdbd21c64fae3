//! A regularised linear model: ridge regression, L2-regularised logistic regression (binary) and
//! multinomial logistic regression (multiclass), fitted by Newton's method (iteratively reweighted
//! least squares; for multinomial, one class block at a time). Deterministic: every sum runs in row
//! order.
//!
//! Features are standardised on the training data (missing values are replaced by the mean, i.e.
//! 0 after standardising), the penalty `lambda * |w|^2 / 2` applies to the standardised
//! coefficients but never to the intercept, and sample weights are honoured. Sylvan uses it as the
//! default meta-learner of [`super::Stacking`] and as a base learner of its own.

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::params::ObjectiveKind;

/// Settings of a [`LinearModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearParams {
    /// L2 penalty on the standardised coefficients. Default 1, at least 0. Alias `reg_lambda`.
    #[serde(alias = "reg_lambda")]
    pub lambda: f64,
    /// Maximum Newton iterations (logistic models). Default 100, at least 1.
    pub max_iter: usize,
    /// Stop when no coefficient moves more than this. Default 1e-8, greater than 0.
    pub tol: f64,
}

impl Default for LinearParams {
    fn default() -> Self {
        LinearParams {
            lambda: 1.0,
            max_iter: 100,
            tol: 1e-8,
        }
    }
}

impl LinearParams {
    /// Checks every setting's range; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(Error::param(
                "lambda",
                format!("must be finite and >= 0, got {}", self.lambda),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(Error::param("tol", format!("must be > 0, got {}", self.tol)));
        }
        Ok(())
    }
}

/// What a [`LinearModel`] predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearTask {
    /// Least squares (ridge) regression; predicts values.
    Regression,
    /// Logistic regression on 0/1 labels; predicts the probability of 1.
    Logistic,
    /// Multinomial (softmax) regression on class indices; predicts one probability per class.
    Multinomial,
}

impl LinearTask {
    /// The task that fits an objective: logistic for `binary:*`, multinomial for `multi:*`,
    /// regression otherwise.
    pub fn for_objective(objective: ObjectiveKind) -> LinearTask {
        match objective {
            ObjectiveKind::BinaryLogistic | ObjectiveKind::BinaryLogitRaw => LinearTask::Logistic,
            ObjectiveKind::MultiSoftmax | ObjectiveKind::MultiSoftprob => LinearTask::Multinomial,
            _ => LinearTask::Regression,
        }
    }
}

/// A fitted linear model.
///
/// A regularised linear model: ridge regression, L2-regularised logistic regression (binary) and
/// multinomial logistic regression (multiclass), fitted by Newton's method (iteratively reweighted
/// least squares; for multinomial, one class block at a time). Deterministic: every sum runs in row
/// order.
///
/// Features are standardised on the training data (missing values are replaced by the mean, i.e.
/// 0 after standardising), the penalty `lambda * |w|^2 / 2` applies to the standardised
/// coefficients but never to the intercept, and sample weights are honoured. Sylvan uses it as the
/// default meta-learner of [`Stacking`](crate::Stacking) and as a base learner of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// The task it was fitted for.
    pub task: LinearTask,
    /// Number of outputs: classes for multinomial, else 1.
    pub num_outputs: usize,
    /// Per feature: the training mean (also used for missing values).
    pub mean: Vec<f64>,
    /// Per feature: the training standard deviation (1 for a constant feature).
    pub scale: Vec<f64>,
    /// Per output: the intercept followed by one coefficient per standardised feature.
    pub coef: Vec<Vec<f64>>,
}

/// Solves `a x = b` for a symmetric positive definite `a` (`d x d`, row-major) by Cholesky;
/// `None` when `a` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    let mut y = vec![0.0; d];
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * y[k];
        }
        y[i] = s / l[i * d + i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let mut s = y[i];
        for k in i + 1..d {
            s -= l[k * d + i] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    Some(x)
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl LinearModel {
    /// Fits a model on a row-major matrix `x` (`labels.len()` rows of `num_features` values; `NaN`
    /// = missing) for `task` (`num_class` classes for multinomial).
    pub fn fit_rows(
        params: &LinearParams,
        task: LinearTask,
        num_class: usize,
        x: &[f32],
        num_features: usize,
        labels: &[f32],
        weights: Option<&[f32]>,
    ) -> Result<LinearModel> {
        params.validate()?;
        let n = labels.len();
        if n == 0 || num_features == 0 || x.len() != n * num_features {
            return Err(Error::ShapeMismatch {
                what: "linear model inputs (rows x features)".into(),
                expected: n * num_features,
                got: x.len(),
            });
        }
        let k = match task {
            LinearTask::Multinomial if num_class >= 2 => num_class,
            LinearTask::Multinomial => {
                return Err(Error::param(
                    "num_class",
                    "a multinomial linear model needs num_class >= 2",
                ));
            }
            _ => 1,
        };
        for (row, &y) in labels.iter().enumerate() {
            let ok = match task {
                LinearTask::Regression => y.is_finite(),
                LinearTask::Logistic => (0.0..=1.0).contains(&y),
                LinearTask::Multinomial => y >= 0.0 && y.fract() == 0.0 && (y as usize) < k,
            };
            if !ok {
                return Err(Error::InvalidLabel {
                    row,
                    value: y as f64,
                    reason: match task {
                        LinearTask::Regression => "must be finite".into(),
                        LinearTask::Logistic => "logistic labels must be in [0, 1]".into(),
                        LinearTask::Multinomial => format!("must be a class index in 0..{k}"),
                    },
                });
            }
        }
        let w = |i: usize| weights.map_or(1.0, |w| w[i] as f64);
        let total: f64 = (0..n).map(w).sum();
        if total <= 0.0 {
            return Err(Error::data("all weights are zero"));
        }
        // Standardise (weighted mean and deviation over present values).
        let nf = num_features;
        let mut mean = vec![0.0; nf];
        let mut scale = vec![1.0; nf];
        for j in 0..nf {
            let (mut s, mut sw) = (0.0, 0.0);
            for i in 0..n {
                let v = x[i * nf + j];
                if !v.is_nan() {
                    s += w(i) * v as f64;
                    sw += w(i);
                }
            }
            mean[j] = if sw > 0.0 { s / sw } else { 0.0 };
            let mut ss = 0.0;
            for i in 0..n {
                let v = x[i * nf + j];
                if !v.is_nan() {
                    ss += w(i) * (v as f64 - mean[j]).powi(2);
                }
            }
            let sd = if sw > 0.0 { (ss / sw).sqrt() } else { 0.0 };
            scale[j] = if sd > 1e-12 { sd } else { 1.0 };
        }
        let d = nf + 1;
        let mut z = vec![0.0; n * d];
        for i in 0..n {
            z[i * d] = 1.0;
            for j in 0..nf {
                let v = x[i * nf + j];
                z[i * d + 1 + j] = if v.is_nan() {
                    0.0
                } else {
                    (v as f64 - mean[j]) / scale[j]
                };
            }
        }
        let mut model = LinearModel {
            task,
            num_outputs: k,
            mean,
            scale,
            coef: vec![vec![0.0; d]; k],
        };
        // One weighted, penalised Newton solve: (Z' H Z + P) delta = Z' g - P beta.
        let lambda = params.lambda;
        let newton = |beta: &[f64], grad_hess: &dyn Fn(usize) -> (f64, f64)| -> Option<Vec<f64>> {
            let mut a = vec![0.0; d * d];
            let mut b = vec![0.0; d];
            for i in 0..n {
                let (g, h) = grad_hess(i);
                let zi = &z[i * d..(i + 1) * d];
                for p in 0..d {
                    b[p] -= g * zi[p];
                    let hp = h * zi[p];
                    if hp != 0.0 {
                        for q in 0..=p {
                            a[p * d + q] += hp * zi[q];
                        }
                    }
                }
            }
            for p in 0..d {
                for q in 0..p {
                    a[q * d + p] = a[p * d + q];
                }
                // A tiny ridge on the intercept too keeps a degenerate problem solvable.
                let pen = if p == 0 { 1e-10 * total } else { lambda + 1e-10 * total };
                a[p * d + p] += pen;
                if p > 0 {
                    b[p] -= lambda * beta[p];
                }
            }
            solve_spd(&a, &b, d)
        };
        let fail = || Error::data("the linear model's equations are singular (try a larger lambda)");
        match task {
            LinearTask::Regression => {
                let beta = vec![0.0; d];
                let delta = newton(&beta, &|i| (-(w(i)) * labels[i] as f64, w(i))).ok_or_else(fail)?;
                model.coef[0] = delta;
            }
            LinearTask::Logistic => {
                for _ in 0..params.max_iter {
                    let beta = model.coef[0].clone();
                    let eta: Vec<f64> = (0..n).map(|i| dot(&beta, &z[i * d..(i + 1) * d])).collect();
                    let delta = newton(&beta, &|i| {
                        let p = sigmoid(eta[i]);
                        (w(i) * (p - labels[i] as f64), (w(i) * p * (1.0 - p)).max(1e-12 * w(i)))
                    })
                    .ok_or_else(fail)?;
                    let step = delta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (c, dv) in model.coef[0].iter_mut().zip(&delta) {
                        *c += dv;
                    }
                    if step < params.tol {
                        break;
                    }
                }
            }
            LinearTask::Multinomial => {
                for _ in 0..params.max_iter {
                    let mut step = 0.0f64;
                    for c in 0..k {
                        let probs: Vec<f64> = (0..n).map(|i| model.softmax_of(&z[i * d..(i + 1) * d])[c]).collect();
                        let beta = model.coef[c].clone();
                        let delta = newton(&beta, &|i| {
                            let p = probs[i];
                            let y = if labels[i] as usize == c { 1.0 } else { 0.0 };
                            (w(i) * (p - y), (w(i) * p * (1.0 - p)).max(1e-12 * w(i)))
                        })
                        .ok_or_else(fail)?;
                        step = delta.iter().fold(step, |m, v| m.max(v.abs()));
                        for (b, dv) in model.coef[c].iter_mut().zip(&delta) {
                            *b += dv;
                        }
                    }
                    if step < params.tol {
                        break;
                    }
                }
            }
        }
        if model.coef.iter().flatten().any(|v| !v.is_finite()) {
            return Err(fail());
        }
        Ok(model)
    }

    /// Fits a model on a labelled data set (its weights honoured) for `task`.
    pub fn fit(params: &LinearParams, task: LinearTask, num_class: usize, data: &Dataset) -> Result<LinearModel> {
        if !data.has_labels() {
            return Err(Error::data("training data has no labels"));
        }
        let mut x = Vec::new();
        data.rows_into(0, data.num_rows(), &mut x);
        LinearModel::fit_rows(
            params,
            task,
            num_class,
            &x,
            data.num_features(),
            data.labels(),
            data.weights(),
        )
    }

    fn softmax_of(&self, zi: &[f64]) -> Vec<f64> {
        let m: Vec<f64> = self.coef.iter().map(|b| dot(b, zi)).collect();
        let mut p = vec![0.0; m.len()];
        crate::objective::softmax(&m, &mut p);
        p
    }

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        self.mean.len()
    }

    /// Scores for a row-major matrix (`num_features` values per row): one value per row
    /// (regression), the probability of 1 (logistic) or one probability per class (multinomial).
    pub fn predict_rows(&self, x: &[f32]) -> Vec<f32> {
        let nf = self.num_features();
        let d = nf + 1;
        let mut zi = vec![0.0; d];
        let mut out = Vec::with_capacity(x.len() / nf.max(1) * self.num_outputs);
        for row in x.chunks_exact(nf) {
            zi[0] = 1.0;
            for j in 0..nf {
                zi[j + 1] = if row[j].is_nan() {
                    0.0
                } else {
                    (row[j] as f64 - self.mean[j]) / self.scale[j]
                };
            }
            match self.task {
                LinearTask::Regression => out.push(dot(&self.coef[0], &zi) as f32),
                LinearTask::Logistic => out.push(sigmoid(dot(&self.coef[0], &zi)) as f32),
                LinearTask::Multinomial => out.extend(self.softmax_of(&zi).iter().map(|p| *p as f32)),
            }
        }
        out
    }

    /// [`LinearModel::predict_rows`] on a data set.
    pub fn predict_scores(&self, data: &Dataset) -> Result<Vec<f32>> {
        super::check_features(self.num_features(), data)?;
        let mut x = Vec::new();
        data.rows_into(0, data.num_rows(), &mut x);
        Ok(self.predict_rows(&x))
    }

    /// Checks a deserialised model's shapes and values.
    pub fn validate(&self) -> Result<()> {
        let d = self.mean.len() + 1;
        let k = match self.task {
            LinearTask::Multinomial => self.num_outputs.max(2),
            _ => 1,
        };
        if self.mean.is_empty()
            || self.scale.len() != self.mean.len()
            || self.num_outputs != k
            || self.coef.len() != k
            || self.coef.iter().any(|c| c.len() != d)
        {
            return Err(Error::model("linear model: inconsistent shapes"));
        }
        let all = self.mean.iter().chain(&self.scale).chain(self.coef.iter().flatten());
        if all.clone().any(|v| !v.is_finite()) || self.scale.iter().any(|s| *s <= 0.0) {
            return Err(Error::model("linear model: non-finite coefficients or scales"));
        }
        Ok(())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_matches_a_known_solution() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[6.0, 5.0], 2).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12);
        assert!(solve_spd(&[0.0, 0.0, 0.0, 0.0], &[1.0, 1.0], 2).is_none());
    }

    #[test]
    fn ridge_recovers_a_line_and_logistic_separates() {
        let x: Vec<f32> = (0..200).map(|i| i as f32 / 20.0).collect();
        let y: Vec<f32> = x.iter().map(|v| 3.0 * v - 1.0).collect();
        let p = LinearParams {
            lambda: 0.0,
            ..Default::default()
        };
        let m = LinearModel::fit_rows(&p, LinearTask::Regression, 0, &x, 1, &y, None).unwrap();
        let pred = m.predict_rows(&[2.0]);
        assert!((pred[0] - 5.0).abs() < 1e-3, "{pred:?}");
        let yb: Vec<f32> = x.iter().map(|v| (*v > 5.0) as u8 as f32).collect();
        let m = LinearModel::fit_rows(&LinearParams::default(), LinearTask::Logistic, 0, &x, 1, &yb, None).unwrap();
        let pr = m.predict_rows(&[1.0, 9.0]);
        assert!(pr[0] < 0.1 && pr[1] > 0.9, "{pr:?}");
        let yc: Vec<f32> = x.iter().map(|v| (*v / 3.4).floor()).collect();
        let m = LinearModel::fit_rows(&LinearParams::default(), LinearTask::Multinomial, 3, &x, 1, &yc, None).unwrap();
        let pc = m.predict_rows(&[0.5, 5.0, 9.5]);
        assert!(pc[0] > 0.5 && pc[4] > 0.5 && pc[8] > 0.5, "{pc:?}");
        assert!(LinearModel::fit_rows(&p, LinearTask::Logistic, 0, &x, 1, &y, None).is_err());
    }
}
