//! Ensembles over boosted models: [`Bagging`] (bootstrap aggregation with out-of-bag estimates, of
//! any booster — a single deep tree gives a random forest) and [`Stacking`] (out-of-fold predictions
//! of diverse base learners feeding a meta-learner, by default the regularised [`LinearModel`]).
//!
//! Random forests in XGBoost's style need no ensemble: set `num_parallel_tree` on a plain booster.
//!
//! Members of an ensemble share the ensemble's thread pool (`nthread` of the base parameters);
//! results never depend on the number of threads. Ensembles are saved as one JSON file with
//! `"format": "sylvan-ensemble"`; [`Model::load`] reads either kind, or a plain booster.

pub mod bagging;
pub mod linear;
pub mod stacking;
pub mod stacking_params;

use std::path::Path;

pub use bagging::{Bagging, BaggingParams, OutOfBag};
pub use linear::{LinearModel, LinearParams, LinearTask};
pub use stacking::Stacking;
pub use stacking_params::{BaseLearner, MetaLearner, StackingParams};

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::metric::{Metric, MetricContext};
use crate::model::booster::Booster;
use crate::model::file::{ensemble_kind, read_file, with_path};
use crate::params::{ObjectiveKind, Params};
use crate::predict::{PredictOptions, PredictOutput, Predictions};

/// Any model Sylvan saves: a booster or an ensemble. Lets a caller (e.g. `sylvan predict`) load a
/// model file without knowing its kind.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per loaded file; boxing would only add indirection
pub enum Model {
    /// A plain boosted model (possibly a random forest).
    Booster(Booster),
    /// A bagging ensemble.
    Bagging(Bagging),
    /// A stacking ensemble.
    Stacking(Stacking),
}

impl Model {
    /// Loads a model file of any kind (a booster in JSON or binary form, or an ensemble).
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        // The file is read once; `ensemble_kind` only names a kind for UTF-8 JSON.
        let bytes = read_file(path)?;
        let text = || std::str::from_utf8(&bytes).unwrap_or_default();
        match ensemble_kind(&bytes) {
            Some("bagging") => Bagging::from_json_str(text())
                .map(Model::Bagging)
                .map_err(with_path(path)),
            Some("stacking") => Stacking::from_json_str(text())
                .map(Model::Stacking)
                .map_err(with_path(path)),
            Some(other) => Err(Error::InvalidModel {
                path: Some(path.to_path_buf()),
                reason: format!("unknown ensemble kind `{other}` (expected bagging or stacking)"),
            }),
            None => Booster::from_file_bytes(&bytes, path).map(Model::Booster),
        }
    }

    /// Saves the model (see [`Booster::save`], [`Bagging::save`], [`Stacking::save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        match self {
            Model::Booster(b) => b.save(path),
            Model::Bagging(b) => b.save(path),
            Model::Stacking(s) => s.save(path),
        }
    }

    /// Predictions in the objective's output space (probabilities or values; the class index for
    /// `multi:softmax`).
    pub fn predict(&self, data: &Dataset) -> Result<Predictions> {
        match self {
            Model::Booster(b) => b.predict(data, PredictOptions::default()),
            Model::Bagging(b) => b.predict(data),
            Model::Stacking(s) => s.predict(data),
        }
    }

    /// Explains every row's prediction: `output` is one of [`PredictOutput::Contributions`],
    /// [`PredictOutput::ApproxContributions`] or [`PredictOutput::Interactions`], in the layout
    /// [`Booster::predict`] gives (margin space). A bagging ensemble's explanation is the mean of
    /// its members' (members weighted as its prediction weights them, see [`Bagging::explain`]); a
    /// stacking ensemble is refused (see `docs/explain.md`).
    pub fn explain(&self, data: &Dataset, output: PredictOutput) -> Result<Predictions> {
        if !output.is_explanation() {
            return Err(Error::param("output", format!("{output:?} is not an explanation")));
        }
        match self {
            Model::Booster(b) => b.predict(
                data,
                PredictOptions {
                    output,
                    ..Default::default()
                },
            ),
            Model::Bagging(b) => b.explain(data, output),
            Model::Stacking(_) => Err(Error::param(
                "output",
                "a stacking ensemble cannot be explained as a whole: its meta-learner combines the base \
                 learners' scores in output space (probabilities, values), so their SHAP values do not add \
                 up to its prediction; explain the base learners, or use bagging",
            )),
        }
    }

    /// Evaluates metrics on labelled data (the objective's default metric when `metrics` is empty).
    pub fn evaluate(&self, data: &Dataset, metrics: &[Metric]) -> Result<Vec<(String, f64)>> {
        match self {
            Model::Booster(b) => b.evaluate(data, metrics),
            Model::Bagging(b) => b.evaluate(data, metrics),
            Model::Stacking(s) => s.evaluate(data, metrics),
        }
    }

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        match self {
            Model::Booster(b) => b.num_features(),
            Model::Bagging(b) => b.num_features(),
            Model::Stacking(s) => s.num_features(),
        }
    }

    /// Feature names of the training data, if it had them.
    pub fn feature_names(&self) -> Option<&[String]> {
        match self {
            Model::Booster(b) => b.feature_names(),
            Model::Bagging(b) => b.feature_names(),
            Model::Stacking(s) => s.feature_names(),
        }
    }

    /// Free-form string attributes saved with the model.
    pub fn attributes(&self) -> &std::collections::BTreeMap<String, String> {
        match self {
            Model::Booster(b) => b.attributes(),
            Model::Bagging(b) => b.attributes(),
            Model::Stacking(s) => s.attributes(),
        }
    }

    /// Sets a string attribute saved with the model.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<String>) {
        match self {
            Model::Booster(b) => b.set_attribute(key, value),
            Model::Bagging(b) => b.set_attribute(key, value),
            Model::Stacking(s) => s.set_attribute(key, value),
        }
    }
}

/// A member booster's scores in output space (`num_groups` per row: probabilities for
/// classification, values for regression).
pub(crate) fn member_scores(b: &Booster, data: &Dataset) -> Result<Vec<f32>> {
    let margins = b.predict(
        data,
        PredictOptions {
            output: PredictOutput::Margin,
            ..Default::default()
        },
    )?;
    let k = b.num_groups();
    let mut s = margins.values;
    for row in s.chunks_exact_mut(k) {
        b.objective.margin_to_score(row);
    }
    Ok(s)
}

/// The prediction a user sees from averaged scores: the class index for `multi:softmax`, the
/// logit of the averaged probability for `binary:logitraw`, the scores themselves otherwise.
pub(crate) fn output_from_scores(kind: ObjectiveKind, scores: Vec<f32>, num_rows: usize, k: usize) -> Predictions {
    match kind {
        ObjectiveKind::MultiSoftmax => Predictions {
            values: scores
                .chunks_exact(k)
                .map(|row| {
                    let mut best = 0;
                    for (c, v) in row.iter().enumerate() {
                        if *v > row[best] {
                            best = c;
                        }
                    }
                    best as f32
                })
                .collect(),
            num_rows,
            num_cols: 1,
        },
        ObjectiveKind::BinaryLogitRaw => Predictions {
            values: scores
                .iter()
                .map(|p| {
                    let p = (*p as f64).clamp(1e-15, 1.0 - 1e-15);
                    (p / (1.0 - p)).ln() as f32
                })
                .collect(),
            num_rows,
            num_cols: 1,
        },
        _ => Predictions {
            values: scores,
            num_rows,
            num_cols: k,
        },
    }
}

/// The metrics to report: the given ones, else the parameters' `eval_metric`, else the objective's.
pub(crate) fn metrics_or_default(params: &Params, metrics: &[Metric]) -> Vec<Metric> {
    if !metrics.is_empty() {
        metrics.to_vec()
    } else if !params.eval_metric.is_empty() {
        params.eval_metric.clone()
    } else {
        vec![crate::objective::objective_for(params).default_metric()]
    }
}

/// Evaluates metrics on scores in output space (`k` per row).
pub(crate) fn evaluate_scores(
    params: &Params,
    scores: &[f32],
    k: usize,
    labels: &[f32],
    weights: Option<&[f32]>,
    metrics: &[Metric],
) -> Result<Vec<(String, f64)>> {
    let ctx = MetricContext::from_params(params);
    metrics
        .iter()
        .map(|m| Ok((m.to_string(), m.evaluate(scores, k, labels, weights, &ctx)?)))
        .collect()
}

/// Checks that data for training an ensemble has labels the objective accepts.
pub(crate) fn check_training_data(params: &Params, data: &Dataset) -> Result<()> {
    if !data.has_labels() {
        return Err(Error::data("training data has no labels"));
    }
    if matches!(
        params.objective,
        ObjectiveKind::SurvivalCox | ObjectiveKind::SurvivalAft
    ) {
        // Bagging resamples rows and stacking scores folds with per-row metrics: neither keeps
        // the Cox risk sets or the AFT label bounds.
        return Err(Error::param(
            "objective",
            format!(
                "{} is not supported by ensembles (bagging, stacking); train a single Booster",
                params.objective.name()
            ),
        ));
    }
    if params.objective.is_ranking() {
        // Bagging resamples rows (breaking up queries) and stacking scores folds with per-row
        // metrics: neither keeps the query groups ranking needs.
        return Err(Error::param(
            "objective",
            format!(
                "{} is not supported by ensembles (bagging, stacking): they do not keep query groups; \
                 train a single Booster",
                params.objective.name()
            ),
        ));
    }
    if data.num_targets() > 1 || params.num_target > 1 || params.num_levels() > 1 {
        // Members' rows and folds are sliced with one label per row, and stacking's meta-learner
        // reads one output per member and class.
        return Err(Error::param(
            match params.objective {
                _ if params.num_levels() == 1 => "num_target",
                ObjectiveKind::QuantileError => "quantile_alpha",
                _ => "expectile_alpha",
            },
            "ensembles (bagging, stacking) train one label column and one level per model; train a single \
             Booster for several targets or several quantile/expectile levels",
        ));
    }
    crate::objective::objective_for(params).validate_labels(data.labels())
}

/// Checks the number of features of data given to a fitted ensemble.
pub(crate) fn check_features(expected: usize, data: &Dataset) -> Result<()> {
    if data.is_binned() {
        return Err(Error::data(
            "this data set arrived binned (read in chunks) and holds no feature values to predict on",
        ));
    }
    if data.num_features() != expected {
        return Err(Error::ShapeMismatch {
            what: "number of features of the data vs the model".into(),
            expected,
            got: data.num_features(),
        });
    }
    Ok(())
}

/// A copy of `data` restricted to some rows (labels, weights, base margins and names follow).
pub(crate) fn take_rows(data: &Dataset, rows: &[usize]) -> Result<Dataset> {
    let columns = data
        .columns()
        .iter()
        .map(|c| rows.iter().map(|&r| c.get(r)).collect())
        .collect();
    let mut out = Dataset::from_columns(columns)?;
    if data.has_labels() {
        out = out.with_labels(rows.iter().map(|&r| data.labels()[r]).collect())?;
    }
    if let Some(w) = data.weights() {
        out = out.with_weights(rows.iter().map(|&r| w[r]).collect())?;
    }
    if let Some(m) = data.base_margin() {
        let per = m.len() / data.num_rows();
        let mut sub = Vec::with_capacity(rows.len() * per);
        for &r in rows {
            sub.extend_from_slice(&m[r * per..(r + 1) * per]);
        }
        out = out.with_base_margin(sub)?;
    }
    if let Some(names) = data.feature_names() {
        out = out.with_feature_names(names.to_vec())?;
    }
    if data.has_categorical() {
        out = out.with_feature_types(data.feature_types())?;
    }
    Ok(out)
}

/// A copy of `data` with other weights (labels, base margins and names follow); `columns`, when
/// given, replaces the feature columns.
pub(crate) fn reweighted(
    data: &Dataset,
    weights: Vec<f32>,
    columns: Option<Vec<crate::data::column::Column>>,
) -> Result<Dataset> {
    let mut out = match columns {
        Some(c) => Dataset::from_feature_columns(data.num_rows(), c)?,
        None => Dataset::from_feature_columns(data.num_rows(), data.columns().to_vec())?,
    };
    out = out.with_labels(data.labels().to_vec())?.with_weights(weights)?;
    if let Some(m) = data.base_margin() {
        out = out.with_base_margin(m.to_vec())?;
    }
    if let Some(names) = data.feature_names() {
        out = out.with_feature_names(names.to_vec())?;
    }
    if data.has_categorical() {
        out = out.with_feature_types(data.feature_types())?;
    }
    Ok(out)
}
