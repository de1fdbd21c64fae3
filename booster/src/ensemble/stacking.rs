//! Stacking: base learners' out-of-fold predictions become the features of a meta-learner.
//!
//! The training rows are split into `k` folds (stratified by class for classification). For every
//! fold, each base learner is trained on the other folds and predicts the fold; these out-of-fold
//! scores (probabilities for classification, values for regression; one column per class for
//! multiclass) — plus the original features with `passthrough` — train the meta-learner (the
//! regularised [`LinearModel`] by default, or a booster). The base learners are then refit on all
//! rows, and prediction feeds their scores to the meta-learner. Folds and learners train in
//! parallel; the result does not depend on the thread count.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use super::linear::{LinearModel, LinearTask};
use super::stacking_params::{task_of, BaseLearner, MetaLearner, StackingParams, Task};
use super::{
    check_features, check_training_data, evaluate_scores, member_scores, metrics_or_default, output_from_scores,
    take_rows, Bagging,
};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::model::booster::{thread_pool, Booster};
use crate::model::file::{read_text, with_path, Header};
use crate::objective::objective_for;
use crate::predict::Predictions;
use crate::train::sampling::stream;
use crate::train::trainer::TrainOptions;
use crate::util::atomic_file::write_atomically;

/// A fitted base learner.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a handful per ensemble; boxing would only add indirection
enum Fitted {
    Booster(Booster),
    Bagging(Bagging),
    Linear(LinearModel),
}

/// The serialised form of a fitted learner.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum FittedFile {
    Booster { model: serde_json::Value },
    Bagging { model: serde_json::Value },
    Linear { model: LinearModel },
}

impl Fitted {
    /// Scores in output space, `cols` per row.
    fn scores(&self, data: &Dataset) -> Result<Vec<f32>> {
        match self {
            Fitted::Booster(b) => member_scores(b, data),
            Fitted::Bagging(b) => Ok(b.predict_scores(data)?.values),
            Fitted::Linear(m) => m.predict_scores(data),
        }
    }

    fn to_file(&self) -> Result<FittedFile> {
        let parse = |t: String| serde_json::from_str(&t).map_err(|e| Error::model(format!("cannot serialise: {e}")));
        Ok(match self {
            Fitted::Booster(b) => FittedFile::Booster {
                model: parse(b.to_json_string()?)?,
            },
            Fitted::Bagging(b) => FittedFile::Bagging {
                model: parse(b.to_json_string()?)?,
            },
            Fitted::Linear(m) => FittedFile::Linear { model: m.clone() },
        })
    }

    fn from_file(f: FittedFile, pool: &Arc<ThreadPool>) -> Result<Fitted> {
        Ok(match f {
            FittedFile::Booster { model } => {
                let mut b = Booster::from_json_str(&model.to_string())?;
                b.pool = pool.clone();
                Fitted::Booster(b)
            }
            FittedFile::Bagging { model } => Fitted::Bagging(Bagging::from_json_str(&model.to_string())?),
            FittedFile::Linear { model } => {
                model.validate()?;
                Fitted::Linear(model)
            }
        })
    }

    /// Score columns per row.
    fn cols(&self) -> usize {
        match self {
            Fitted::Booster(b) => b.num_groups(),
            Fitted::Bagging(b) => b.num_groups(),
            Fitted::Linear(m) => m.num_outputs,
        }
    }

    fn num_features(&self) -> usize {
        match self {
            Fitted::Booster(b) => b.num_features(),
            Fitted::Bagging(b) => b.num_features(),
            Fitted::Linear(m) => m.num_features(),
        }
    }
}

/// A fitted stacking ensemble.
///
/// Stacking: base learners' out-of-fold predictions become the features of a meta-learner.
///
/// The training rows are split into `k` folds (stratified by class for classification). For every
/// fold, each base learner is trained on the other folds and predicts the fold; these out-of-fold
/// scores (probabilities for classification, values for regression; one column per class for
/// multiclass) — plus the original features with `passthrough` — train the meta-learner (the
/// regularised [`LinearModel`] by default, or a booster). The base learners are then refit on all
/// rows, and prediction feeds their scores to the meta-learner. Folds and learners train in
/// parallel; the result does not depend on the thread count.
pub struct Stacking {
    settings: StackingParams,
    base: Vec<Fitted>,
    meta: Fitted,
    fold_scores: Vec<Vec<(String, f64)>>,
    num_features: usize,
    feature_names: Option<Vec<String>>,
    attributes: BTreeMap<String, String>,
    pool: Arc<ThreadPool>,
}

impl std::fmt::Debug for Stacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stacking")
            .field("objective", &self.settings.objective.name())
            .field("base", &self.base.len())
            .field("k", &self.settings.k)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct StackingFile {
    #[serde(flatten)]
    header: Header,
    settings: StackingParams,
    num_features: usize,
    fold_scores: Vec<Vec<(String, f64)>>,
    base: Vec<FittedFile>,
    meta: FittedFile,
    #[serde(default)]
    feature_names: Option<Vec<String>>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// Fold of every row: stratified by class (classes dealt round-robin after a seeded shuffle) or a
/// seeded shuffle dealt round-robin.
fn assign_folds(settings: &StackingParams, labels: &[f32]) -> Vec<usize> {
    let n = labels.len();
    let mut rng = stream(settings.seed, &[0x7374_6163, 1]);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let classification = task_of(settings.objective, settings.num_class) != Task::Regression;
    if classification && settings.stratified {
        // Stable sort by class keeps the shuffled order within each class.
        order.sort_by_key(|&i| labels[i] as i64);
    }
    let mut folds = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        folds[i] = pos % settings.k;
    }
    folds
}

/// Trains one base learner on `data` with the shared pool.
fn fit_base(
    learner: &BaseLearner,
    settings: &StackingParams,
    data: &Dataset,
    pool: &Arc<ThreadPool>,
) -> Result<Fitted> {
    Ok(match learner {
        BaseLearner::Booster(p) => {
            let mut p = p.clone();
            p.nthread = 1;
            let objective = objective_for(&p);
            Fitted::Booster(Booster::train_in_pool(
                &p,
                data,
                &[],
                TrainOptions::default(),
                objective,
                pool.clone(),
            )?)
        }
        BaseLearner::Bagging { bagging, params } => Fitted::Bagging(Bagging::train_in(bagging, params, data, pool)?),
        BaseLearner::Linear(p) => Fitted::Linear(LinearModel::fit(
            p,
            LinearTask::for_objective(settings.objective),
            settings.num_class,
            data,
        )?),
    })
}

/// Outputs per row of a learner's scores for the task.
fn score_cols(settings: &StackingParams) -> usize {
    match task_of(settings.objective, settings.num_class) {
        Task::Multiclass(k) => k,
        _ => 1,
    }
}

impl Stacking {
    /// Trains the ensemble on `train`: out-of-fold scores of every base learner, the meta-learner on
    /// them, then every base learner again on all rows. Every setting is checked before any training.
    pub fn train(settings: &StackingParams, train: &Dataset) -> Result<Stacking> {
        settings.validate()?;
        let task = settings.task_params();
        check_training_data(&task, train)?;
        let n = train.num_rows();
        if settings.k > n {
            return Err(Error::param("k", format!("{} folds for {n} rows", settings.k)));
        }
        let pool = thread_pool(settings.nthread)?;
        let folds = assign_folds(settings, train.labels());
        let cols = score_cols(settings);
        let nb = settings.base.len();
        // Out-of-fold scores: every (fold, learner) pair in parallel.
        let fold_rows: Vec<Vec<usize>> = (0..settings.k)
            .map(|f| (0..n).filter(|&i| folds[i] == f).collect())
            .collect();
        let jobs: Vec<(usize, usize)> = (0..settings.k).flat_map(|f| (0..nb).map(move |b| (f, b))).collect();
        let oof_parts = pool.install(|| {
            jobs.par_iter()
                .map(|&(f, b)| {
                    let rest: Vec<usize> = (0..n).filter(|&i| folds[i] != f).collect();
                    let fit_data = take_rows(train, &rest)?;
                    let held = take_rows(train, &fold_rows[f])?;
                    let model = fit_base(&settings.base[b], settings, &fit_data, &pool)
                        .map_err(|e| Error::data(format!("base[{b}] on fold {f}: {e}")))?;
                    model.scores(&held)
                })
                .collect::<Result<Vec<Vec<f32>>>>()
        })?;
        let mut oof = vec![vec![0f32; n * cols]; nb];
        for (&(f, b), part) in jobs.iter().zip(&oof_parts) {
            for (j, &i) in fold_rows[f].iter().enumerate() {
                oof[b][i * cols..(i + 1) * cols].copy_from_slice(&part[j * cols..(j + 1) * cols]);
            }
        }
        let metrics = metrics_or_default(&task, &[]);
        let fold_scores = oof
            .iter()
            .map(|s| evaluate_scores(&task, s, cols, train.labels(), train.weights(), &metrics))
            .collect::<Result<Vec<_>>>()?;
        // The meta-learner on the out-of-fold scores.
        let meta_data = meta_features(settings, &oof, train)?;
        let meta = pool.install(|| match &settings.meta {
            MetaLearner::Linear(p) => LinearModel::fit(
                p,
                LinearTask::for_objective(settings.objective),
                settings.num_class,
                &meta_data,
            )
            .map(Fitted::Linear),
            MetaLearner::Booster(p) => {
                let mut p = p.clone();
                p.nthread = 1;
                let objective = objective_for(&p);
                Booster::train_in_pool(&p, &meta_data, &[], TrainOptions::default(), objective, pool.clone())
                    .map(Fitted::Booster)
            }
        })?;
        // Refit every base learner on all rows.
        let base = pool.install(|| {
            settings
                .base
                .par_iter()
                .enumerate()
                .map(|(b, l)| fit_base(l, settings, train, &pool).map_err(|e| Error::data(format!("base[{b}]: {e}"))))
                .collect::<Result<Vec<Fitted>>>()
        })?;
        Ok(Stacking {
            settings: settings.clone(),
            base,
            meta,
            fold_scores,
            num_features: train.num_features(),
            feature_names: train.feature_names().map(<[String]>::to_vec),
            attributes: BTreeMap::new(),
            pool,
        })
    }

    /// Scores in output space (`num_class` per row for multiclass, else 1): the meta-learner's
    /// output on the base learners' scores.
    pub fn predict_scores(&self, data: &Dataset) -> Result<Predictions> {
        check_features(self.num_features, data)?;
        let parts = self.pool.install(|| {
            self.base
                .par_iter()
                .map(|b| b.scores(data))
                .collect::<Result<Vec<Vec<f32>>>>()
        })?;
        let meta_data = meta_features(&self.settings, &parts, data)?;
        let values = self.pool.install(|| self.meta.scores(&meta_data))?;
        Ok(Predictions {
            values,
            num_rows: data.num_rows(),
            num_cols: score_cols(&self.settings),
        })
    }

    /// Predictions in the task's output space (probabilities, the class index for `multi:softmax`,
    /// or values).
    pub fn predict(&self, data: &Dataset) -> Result<Predictions> {
        let s = self.predict_scores(data)?;
        Ok(output_from_scores(
            self.settings.objective,
            s.values,
            s.num_rows,
            s.num_cols,
        ))
    }

    /// Evaluates metrics (default: the settings' `eval_metric`, else the task's) on labelled data.
    pub fn evaluate(&self, data: &Dataset, metrics: &[Metric]) -> Result<Vec<(String, f64)>> {
        if !data.has_labels() {
            return Err(Error::data("evaluation needs labels"));
        }
        let task = self.settings.task_params();
        let s = self.predict_scores(data)?;
        evaluate_scores(
            &task,
            &s.values,
            s.num_cols,
            data.labels(),
            data.weights(),
            &metrics_or_default(&task, metrics),
        )
    }

    /// Each base learner's `(metric, value)` pairs on its out-of-fold predictions.
    pub fn fold_scores(&self) -> &[Vec<(String, f64)>] {
        &self.fold_scores
    }

    /// The settings.
    pub fn settings(&self) -> &StackingParams {
        &self.settings
    }

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The ensemble as JSON text (one document holding every learner).
    pub fn to_json_string(&self) -> Result<String> {
        let file = StackingFile {
            header: Header::new("stacking"),
            settings: self.settings.clone(),
            num_features: self.num_features,
            fold_scores: self.fold_scores.clone(),
            base: self.base.iter().map(Fitted::to_file).collect::<Result<_>>()?,
            meta: self.meta.to_file()?,
            feature_names: self.feature_names.clone(),
            attributes: self.attributes.clone(),
        };
        serde_json::to_string(&file).map_err(|e| Error::model(format!("cannot serialise: {e}")))
    }

    /// Reads an ensemble from JSON text written by [`Stacking::to_json_string`], checking it fully.
    pub fn from_json_str(text: &str) -> Result<Stacking> {
        let file: StackingFile =
            serde_json::from_str(text).map_err(|e| Error::model(format!("not a stacking ensemble: {e}")))?;
        file.header.check("stacking")?;
        file.settings
            .validate()
            .map_err(|e| Error::model(format!("bad settings: {e}")))?;
        if file.base.len() != file.settings.base.len() {
            return Err(Error::model(format!(
                "{} fitted base learners for {} configured",
                file.base.len(),
                file.settings.base.len()
            )));
        }
        let pool = thread_pool(file.settings.nthread)?;
        let base = file
            .base
            .into_iter()
            .enumerate()
            .map(|(i, f)| Fitted::from_file(f, &pool).map_err(|e| Error::model(format!("base[{i}]: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        if let Some(i) = base.iter().position(|b| b.num_features() != file.num_features) {
            return Err(Error::model(format!(
                "base[{i}] expects {} features, the ensemble {}",
                base[i].num_features(),
                file.num_features
            )));
        }
        let meta = Fitted::from_file(file.meta, &pool).map_err(|e| Error::model(format!("meta: {e}")))?;
        let cols = score_cols(&file.settings);
        if let Some(i) = base.iter().position(|b| b.cols() != cols) {
            return Err(Error::model(format!(
                "base[{i}] gives {} scores per row, the task {cols}",
                base[i].cols()
            )));
        }
        if meta.cols() != cols {
            return Err(Error::model(format!(
                "the meta-learner gives {} scores per row, the task {cols}",
                meta.cols()
            )));
        }
        let meta_width = base.len() * cols
            + if file.settings.passthrough {
                file.num_features
            } else {
                0
            };
        if meta.num_features() != meta_width {
            return Err(Error::model(format!(
                "the meta-learner expects {} features, the base learners give {meta_width}",
                meta.num_features()
            )));
        }
        Ok(Stacking {
            settings: file.settings,
            base,
            meta,
            fold_scores: file.fold_scores,
            num_features: file.num_features,
            feature_names: file.feature_names,
            attributes: file.attributes,
            pool,
        })
    }

    /// Free-form string attributes saved with the ensemble (e.g. the CLI's label column).
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// Sets a string attribute saved with the ensemble.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.attributes.insert(key.into(), value.into());
    }

    /// Feature names of the training data, if it had them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// Saves the ensemble as one JSON file, written atomically (whatever the extension).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_json_string()?.as_bytes())
    }

    /// Loads an ensemble saved by [`Stacking::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Stacking> {
        let path = path.as_ref();
        Stacking::from_json_str(&read_text(path)?).map_err(with_path(path))
    }
}

/// The meta-learner's data: each base learner's score columns, then (with `passthrough`) the
/// original features; labels and weights follow `data` when it has them.
fn meta_features(settings: &StackingParams, parts: &[Vec<f32>], data: &Dataset) -> Result<Dataset> {
    let n = data.num_rows();
    let cols = score_cols(settings);
    let mut columns: Vec<crate::data::column::Column> = Vec::new();
    for s in parts {
        for c in 0..cols {
            columns.push(crate::data::column::Column::Dense(
                (0..n).map(|i| s[i * cols + c]).collect(),
            ));
        }
    }
    if settings.passthrough {
        columns.extend(data.columns().iter().cloned());
    }
    let num_score_columns = parts.len() * cols;
    let mut out = Dataset::from_feature_columns(n, columns)?;
    if settings.passthrough && data.has_categorical() {
        let mut types = vec![crate::data::FeatureType::Numerical; num_score_columns];
        types.extend(data.feature_types());
        out = out.with_feature_types(types)?;
    }
    if data.has_labels() {
        out = out.with_labels(data.labels().to_vec())?;
    }
    if let Some(w) = data.weights() {
        out = out.with_weights(w.to_vec())?;
    }
    Ok(out)
}
