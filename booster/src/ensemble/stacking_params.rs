//! What a stacking ensemble is built from: its base learners, its meta-learner and the settings of
//! the out-of-fold fit ([`StackingParams`]), with their checks.

use serde::{Deserialize, Serialize};

use super::bagging::BaggingParams;
use super::linear::{LinearParams, LinearTask};
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::params::{ObjectiveKind, Params};

/// One base learner of a [`Stacking`](crate::Stacking) ensemble. In TOML or JSON, a table with `kind` =
/// `"booster"` (the default when `kind` is left out; the other keys are booster [`Params`]),
/// `"bagging"` (keys `bagging`, a table of [`BaggingParams`], and `params`, the members' [`Params`])
/// or `"linear"` (keys of [`LinearParams`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", remote = "BaseLearner")]
pub enum BaseLearner {
    /// A boosted model (or an XGBoost-style random forest with `num_parallel_tree`).
    Booster(Params),
    /// A bagging ensemble of boosters.
    Bagging {
        /// The ensemble's settings.
        #[serde(default)]
        bagging: BaggingParams,
        /// The members' parameters.
        #[serde(default)]
        params: Params,
    },
    /// The regularised linear model, fitted for the stacking's task.
    Linear(LinearParams),
}

/// The meta-learner of a [`Stacking`](crate::Stacking) ensemble: a table with `kind` = `"linear"` (the default when
/// `kind` is left out; keys of [`LinearParams`]) or `"booster"` (keys of [`Params`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", remote = "MetaLearner")]
#[allow(clippy::large_enum_variant)] // a settings value, built once
pub enum MetaLearner {
    /// The regularised linear model: ridge, logistic or multinomial for the task.
    Linear(LinearParams),
    /// A booster; its objective must fit the task.
    Booster(Params),
}

/// Deserialises a `kind`-tagged table, taking `default_kind` when the tag is left out.
fn with_default_kind<'de, D: serde::Deserializer<'de>>(
    d: D,
    default_kind: &str,
) -> std::result::Result<serde_json::Value, D::Error> {
    let mut v = serde_json::Value::deserialize(d)?;
    if let Some(map) = v.as_object_mut() {
        map.entry("kind")
            .or_insert_with(|| serde_json::Value::String(default_kind.into()));
    }
    Ok(v)
}

impl Serialize for BaseLearner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        BaseLearner::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for BaseLearner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = with_default_kind(d, "booster")?;
        BaseLearner::deserialize(v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for MetaLearner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MetaLearner::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for MetaLearner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = with_default_kind(d, "linear")?;
        MetaLearner::deserialize(v).map_err(serde::de::Error::custom)
    }
}

impl Default for MetaLearner {
    fn default() -> Self {
        MetaLearner::Linear(LinearParams::default())
    }
}

/// Settings of a [`Stacking`](crate::Stacking) ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StackingParams {
    /// The task: `binary:*` objectives make a binary classifier, `multi:*` (with `num_class`) a
    /// multiclass one, any other a regressor. Default `reg:squarederror`. Metrics read by default
    /// follow it.
    pub objective: ObjectiveKind,
    /// Number of classes for `multi:*`.
    pub num_class: usize,
    /// Number of folds for the out-of-fold predictions. Default 5, at least 2.
    pub k: usize,
    /// Stratify the folds by class for classification tasks. Default `true`.
    pub stratified: bool,
    /// Also give the meta-learner the original features. Default `false`.
    pub passthrough: bool,
    /// Seed of the fold assignment. Default 0.
    #[serde(alias = "random_state")]
    pub seed: u64,
    /// Threads for training and prediction; 0 (default) uses all cores.
    #[serde(alias = "n_jobs")]
    pub nthread: usize,
    /// Evaluation metrics (a name or a list of names) of the fold scores and of
    /// [`Stacking::evaluate`](crate::Stacking::evaluate) (default: the task's metric).
    #[serde(deserialize_with = "crate::params::one_or_many")]
    pub eval_metric: Vec<Metric>,
    /// The base learners (at least one).
    pub base: Vec<BaseLearner>,
    /// The meta-learner. Default: the linear model.
    pub meta: MetaLearner,
}

impl Default for StackingParams {
    fn default() -> Self {
        StackingParams {
            objective: ObjectiveKind::SquaredError,
            num_class: 0,
            k: 5,
            stratified: true,
            passthrough: false,
            seed: 0,
            nthread: 0,
            eval_metric: Vec::new(),
            base: Vec::new(),
            meta: MetaLearner::default(),
        }
    }
}

/// The broad task an objective serves, for checking that learners agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Regression,
    Binary,
    Multiclass(usize),
}

pub(crate) fn task_of(objective: ObjectiveKind, num_class: usize) -> Task {
    match LinearTask::for_objective(objective) {
        LinearTask::Regression => Task::Regression,
        LinearTask::Logistic => Task::Binary,
        LinearTask::Multinomial => Task::Multiclass(num_class),
    }
}

impl StackingParams {
    /// The parameters describing the task (objective, classes, metrics) for metrics and checks.
    pub(crate) fn task_params(&self) -> Params {
        Params {
            objective: self.objective,
            num_class: self.num_class,
            eval_metric: self.eval_metric.clone(),
            ..Params::default()
        }
    }

    /// Checks every setting before any training: at least one base learner, `k >= 2`, valid learner
    /// parameters, and learners whose objectives fit the task. The error names what is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.base.is_empty() {
            return Err(Error::param(
                "base",
                "a stacking ensemble needs at least one base learner",
            ));
        }
        if self.k < 2 {
            return Err(Error::param("k", format!("needs at least 2 folds, got {}", self.k)));
        }
        self.task_params()
            .validate()
            .map_err(|e| Error::param("objective", format!("the stacking task: {e}")))?;
        let task = task_of(self.objective, self.num_class);
        let fits = |what: String, p: &Params| -> Result<()> {
            p.validate().map_err(|e| Error::param(what.clone(), e.to_string()))?;
            let t = task_of(p.objective, p.num_class);
            if t != task {
                return Err(Error::param(
                    what,
                    format!(
                        "objective {} does not fit the stacking task {} (num_class {})",
                        p.objective.name(),
                        self.objective.name(),
                        self.num_class
                    ),
                ));
            }
            Ok(())
        };
        for (i, b) in self.base.iter().enumerate() {
            let what = format!("base[{i}]");
            match b {
                BaseLearner::Booster(p) => fits(what, p)?,
                BaseLearner::Bagging { bagging, params } => {
                    bagging
                        .validate()
                        .map_err(|e| Error::param(what.clone(), e.to_string()))?;
                    fits(what, params)?;
                }
                BaseLearner::Linear(p) => p.validate().map_err(|e| Error::param(what, e.to_string()))?,
            }
        }
        match &self.meta {
            MetaLearner::Linear(p) => p.validate().map_err(|e| Error::param("meta", e.to_string()))?,
            MetaLearner::Booster(p) => fits("meta".into(), p)?,
        }
        Ok(())
    }
}
