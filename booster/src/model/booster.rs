//! The fitted [`Booster`]: its trees, base margins and settings, with prediction, evaluation and
//! accessors (training is in [`crate::train::trainer`], saving and loading in
//! [`crate::model::persist`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::metric::{Metric, MetricContext};
use crate::model::tree::Tree;
use crate::objective::Objective;
use crate::params::Params;
use crate::predict::batch::{add_trees, leaf_indices, BatchForest};
use crate::predict::margins::{initial_margins, scores_of};
use crate::predict::packed::PackedForest;
use crate::predict::{PredictOptions, PredictOutput, Predictions};
use crate::train::trainer::RoundReport;

/// The serialisable state of a fitted model (everything but the thread pool and objective object).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModelCore {
    pub objective: String,
    pub num_groups: usize,
    pub base_margin: Vec<f64>,
    pub num_features: usize,
    pub feature_names: Option<Vec<String>>,
    /// The type of every feature; empty when all are numerical.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::model::persist::text_only"
    )]
    pub feature_types: Vec<crate::data::FeatureType>,
    pub trees: Vec<Tree>,
    /// DART: the weight of every tree (prediction adds `value * weight` for each tree); empty for
    /// a model without tree weights (gbtree), whose files stay as they were. The binary form
    /// carries it in its own section.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::model::persist::text_only"
    )]
    pub tree_weights: Vec<f32>,
    pub best_iteration: Option<usize>,
    pub best_score: Option<f64>,
    pub attributes: BTreeMap<String, String>,
}

/// A fitted gradient boosting model.
pub struct Booster {
    pub(crate) params: Params,
    pub(crate) core: ModelCore,
    pub(crate) objective: Arc<dyn Objective>,
    pub(crate) pool: Arc<ThreadPool>,
    pub(crate) history: Vec<RoundReport>,
    /// The default prediction trees packed for single-row prediction, built on first use.
    pub(crate) packed: OnceLock<PackedForest>,
    /// The default prediction trees laid out for batch prediction, built on first use (the layout
    /// of 100 trees of depth 8 takes longer than predicting a few rows).
    pub(crate) batch: OnceLock<BatchForest>,
}

impl std::fmt::Debug for Booster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Booster")
            .field("objective", &self.core.objective)
            .field("num_trees", &self.core.trees.len())
            .field("num_features", &self.core.num_features)
            .finish()
    }
}

/// `trees` with their node values multiplied by `weights` (one per tree), or the trees themselves
/// when there are no weights.
pub(crate) fn weighted<'t>(trees: &'t [Tree], weights: Option<&[f32]>) -> Cow<'t, [Tree]> {
    match weights {
        None => Cow::Borrowed(trees),
        Some(w) => Cow::Owned(trees.iter().zip(w).map(|(t, w)| t.scaled(*w)).collect()),
    }
}

/// Builds the thread pool for `nthread` (0 = all cores).
pub(crate) fn thread_pool(nthread: usize) -> Result<Arc<ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(nthread)
        .build()
        .map(Arc::new)
        .map_err(|e| Error::ThreadPool {
            threads: nthread,
            reason: e.to_string(),
        })
}

impl Booster {
    /// Predicts for every row of `data`; see [`PredictOptions`].
    pub fn predict(&self, data: &Dataset, options: PredictOptions) -> Result<Predictions> {
        self.check_features(data)?;
        let (start, end) = self.tree_range(options.iteration_range)?;
        let k = self.core.num_groups;
        let npt = self.num_parallel_tree();
        let n = data.num_rows();
        if options.output.is_explanation() {
            return self.pool.install(|| self.explain(data, options.output, start, end));
        }
        self.pool.install(|| {
            if options.output == PredictOutput::LeafIndex {
                let trees = &self.core.trees[start..end];
                return Ok(Predictions {
                    values: leaf_indices(trees, data),
                    num_rows: n,
                    num_cols: trees.len(),
                });
            }
            let mut margins = initial_margins(data, &self.core.base_margin)?;
            let group_of = |t| ((start + t) / npt) % k;
            if (start, end) == self.tree_range(None)? {
                self.batch
                    .get_or_init(|| BatchForest::new(&self.weighted_range(start, end), group_of))
                    .add(data, k, &mut margins);
            } else {
                add_trees(&self.weighted_range(start, end), group_of, data, k, &mut margins);
            }
            if options.output == PredictOutput::Margin {
                return Ok(Predictions {
                    values: margins.iter().map(|v| *v as f32).collect(),
                    num_rows: n,
                    num_cols: k,
                });
            }
            let cols = self.objective.prediction_columns();
            let mut values = vec![0f32; n * cols];
            let objective = &self.objective;
            values
                .par_chunks_mut(cols * 1024)
                .zip(margins.par_chunks(k * 1024))
                .for_each(|(out, m)| {
                    let mut row = vec![0f32; k];
                    for (o, mrow) in out.chunks_exact_mut(cols).zip(m.chunks_exact(k)) {
                        for (r, v) in row.iter_mut().zip(mrow) {
                            *r = *v as f32;
                        }
                        objective.predict_row(&row, o);
                    }
                });
            Ok(Predictions {
                values,
                num_rows: n,
                num_cols: cols,
            })
        })
    }

    /// Predicts one row (`row[f]` = feature `f`, NaN for missing) into `out`, which must hold
    /// [`Booster::num_prediction_columns`] values: the same values as [`Booster::predict`] with
    /// default options, without a `Dataset`, allocation or thread pool — for serving one request at
    /// a time. The trees are packed for this on the first call.
    ///
    /// ```
    /// # use sylvan_booster::{Booster, Dataset, Params};
    /// let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
    /// let y: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
    /// let booster = Booster::train(&Params::default(), &Dataset::from_columns(vec![x])?.with_labels(y)?, &[])?;
    /// let mut out = [0f32; 1];
    /// booster.predict_row(&[42.0], &mut out)?;
    /// assert!((out[0] - 84.0).abs() < 10.0);
    /// # Ok::<(), sylvan_booster::Error>(())
    /// ```
    pub fn predict_row(&self, row: &[f32], out: &mut [f32]) -> Result<()> {
        if row.len() != self.core.num_features {
            return Err(Error::ShapeMismatch {
                what: "number of values in the row vs the model's features".into(),
                expected: self.core.num_features,
                got: row.len(),
            });
        }
        let cols = self.objective.prediction_columns();
        if out.len() != cols {
            return Err(Error::ShapeMismatch {
                what: "length of the output vs the model's prediction columns".into(),
                expected: cols,
                got: out.len(),
            });
        }
        let forest = match self.packed.get() {
            Some(f) => f,
            None => {
                let (start, end) = self.tree_range(None)?;
                let (k, npt) = (self.core.num_groups, self.num_parallel_tree());
                let forest = PackedForest::new(&self.weighted_range(start, end), |t| ((start + t) / npt) % k);
                self.packed.get_or_init(|| forest)
            }
        };
        let k = self.core.num_groups;
        let mut margins_buf = [0f64; 16];
        let mut margins_vec;
        let margins: &mut [f64] = if k <= 16 {
            &mut margins_buf[..k]
        } else {
            margins_vec = vec![0f64; k];
            &mut margins_vec
        };
        for (m, b) in margins.iter_mut().zip(&self.core.base_margin) {
            *m = *b;
        }
        forest.add_row(row, margins);
        let mut row_buf = [0f32; 16];
        let mut row_vec;
        let scores: &mut [f32] = if k <= 16 {
            &mut row_buf[..k]
        } else {
            row_vec = vec![0f32; k];
            &mut row_vec
        };
        for (s, m) in scores.iter_mut().zip(margins.iter()) {
            *s = *m as f32;
        }
        self.objective.predict_row(scores, out);
        Ok(())
    }

    /// The base margins in output space: what a row reaching no tree scores (the objective's
    /// link applied to [`Booster::base_margin`], e.g. probabilities; several expectiles mapped
    /// through their increasing parametrisation).
    pub fn base_scores(&self) -> Vec<f32> {
        let mut row: Vec<f32> = self.core.base_margin.iter().map(|m| *m as f32).collect();
        self.objective.margin_to_score(&mut row);
        row
    }

    /// Number of values [`Booster::predict`] gives per row (1, or the number of classes).
    pub fn num_prediction_columns(&self) -> usize {
        self.objective.prediction_columns()
    }

    /// Evaluates metrics on a labelled data set (using the same trees as [`Booster::predict`]).
    /// Returns `(metric name, value)` pairs.
    pub fn evaluate(&self, data: &Dataset, metrics: &[Metric]) -> Result<Vec<(String, f64)>> {
        if !data.has_labels() {
            return Err(Error::data("evaluation needs labels"));
        }
        let margins = self.predict(
            data,
            PredictOptions {
                output: PredictOutput::Margin,
                ..Default::default()
            },
        )?;
        let k = self.core.num_groups;
        let m64: Vec<f64> = margins.values.iter().map(|v| *v as f64).collect();
        let scores = scores_of(self.objective.as_ref(), &m64, k);
        let ctx = self.metric_context();
        let defaults = [self.objective.default_metric()];
        let metrics = if metrics.is_empty() { &defaults[..] } else { metrics };
        metrics
            .iter()
            .map(|m| Ok((m.to_string(), m.evaluate_for(&scores, k, &data.targets(), &ctx)?)))
            .collect()
    }

    fn metric_context(&self) -> MetricContext {
        MetricContext::from_params(&self.params)
    }

    fn check_features(&self, data: &Dataset) -> Result<()> {
        if data.num_features() != self.core.num_features {
            return Err(Error::ShapeMismatch {
                what: "number of features of the data vs the model".into(),
                expected: self.core.num_features,
                got: data.num_features(),
            });
        }
        data.check_splits_on_bins(&self.core.trees)
    }

    /// The trees `[start, end)` of a round range (default: up to the best iteration, else all).
    pub(crate) fn tree_range(&self, range: Option<(usize, usize)>) -> Result<(usize, usize)> {
        let k = self.trees_per_round();
        let rounds = self.num_rounds();
        let (a, b) = match range {
            Some((a, b)) if a < b && b <= rounds => (a, b),
            Some((a, b)) => {
                return Err(Error::param(
                    "iteration_range",
                    format!("({a}, {b}) must satisfy start < end <= {rounds}"),
                ));
            }
            None => (0, self.core.best_iteration.map_or(rounds, |b| b + 1)),
        };
        Ok((a * k, b * k))
    }

    /// The training parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The objective's name (e.g. `binary:logistic`).
    pub fn objective_name(&self) -> &str {
        &self.core.objective
    }

    /// All trees, round by round; within a round, output by output, and within an output its
    /// `num_parallel_tree` trees. Tree `i` belongs to output [`Booster::tree_group`]`(i)`.
    pub fn trees(&self) -> &[Tree] {
        &self.core.trees
    }

    /// DART: the weight of every tree (one per tree of [`Booster::trees`]); prediction adds each
    /// tree's leaf value times its weight. `None` for a model without tree weights (gbtree), whose
    /// trees all count fully.
    pub fn tree_weights(&self) -> Option<&[f32]> {
        (!self.core.tree_weights.is_empty()).then_some(self.core.tree_weights.as_slice())
    }

    /// The trees as prediction adds them: every node value multiplied by its tree's weight
    /// ([`Tree::scaled`]; the f32 products). Without tree weights, the trees themselves (no copy).
    /// Exporters to formats without tree weights write these.
    pub fn weighted_trees(&self) -> Cow<'_, [Tree]> {
        self.weighted_range(0, self.core.trees.len())
    }

    /// [`Booster::weighted_trees`] of trees `start..end`.
    pub(crate) fn weighted_range(&self, start: usize, end: usize) -> Cow<'_, [Tree]> {
        weighted(&self.core.trees[start..end], self.weights_of(start, end))
    }

    /// The weights of trees `start..end`, or `None` without tree weights.
    pub(crate) fn weights_of(&self, start: usize, end: usize) -> Option<&[f32]> {
        self.tree_weights().map(|w| &w[start..end])
    }

    /// The output (class) tree `i` belongs to: `(i / num_parallel_tree) % num_groups`.
    pub fn tree_group(&self, i: usize) -> usize {
        (i / self.num_parallel_tree()) % self.core.num_groups
    }

    /// Trees grown per output in every round (`num_parallel_tree`, 1 for plain boosting).
    pub fn num_parallel_tree(&self) -> usize {
        self.params.num_parallel_tree.max(1)
    }

    /// Trees per round: `num_groups * num_parallel_tree`.
    pub fn trees_per_round(&self) -> usize {
        self.core.num_groups * self.num_parallel_tree()
    }

    /// Number of trees.
    pub fn num_trees(&self) -> usize {
        self.core.trees.len()
    }

    /// Number of boosting rounds in the model.
    pub fn num_rounds(&self) -> usize {
        self.core.trees.len() / self.trees_per_round()
    }

    /// Outputs per round (each grown as `num_parallel_tree` trees).
    pub fn num_groups(&self) -> usize {
        self.core.num_groups
    }

    /// The base margin of each output (the prediction before any tree, in margin space).
    pub fn base_margin(&self) -> &[f64] {
        &self.core.base_margin
    }

    /// The best round found by early stopping, if it ran.
    pub fn best_iteration(&self) -> Option<usize> {
        self.core.best_iteration
    }

    /// The best score found by early stopping, if it ran.
    pub fn best_score(&self) -> Option<f64> {
        self.core.best_score
    }

    /// The model of rounds `start..end` only (XGBoost's `booster[start:end]`): their trees (and
    /// DART weights), the same base margin, no early-stopping result and no evaluation history.
    /// Refuses an empty or out-of-range span.
    pub fn slice_rounds(&self, start: usize, end: usize) -> Result<Booster> {
        let rounds = self.num_rounds();
        if start >= end || end > rounds {
            return Err(Error::param(
                "rounds",
                format!("cannot take rounds {start}..{end} of a model of {rounds} rounds"),
            ));
        }
        let per = self.trees_per_round();
        let c = &self.core;
        let core = ModelCore {
            objective: c.objective.clone(),
            num_groups: c.num_groups,
            base_margin: c.base_margin.clone(),
            num_features: c.num_features,
            feature_names: c.feature_names.clone(),
            feature_types: c.feature_types.clone(),
            trees: c.trees[start * per..end * per].to_vec(),
            tree_weights: if c.tree_weights.is_empty() {
                Vec::new()
            } else {
                c.tree_weights[start * per..end * per].to_vec()
            },
            best_iteration: None,
            best_score: None,
            attributes: c.attributes.clone(),
        };
        Ok(Booster {
            params: self.params.clone(),
            core,
            objective: self.objective.clone(),
            pool: self.pool.clone(),
            history: Vec::new(),
            packed: OnceLock::new(),
            batch: OnceLock::new(),
        })
    }

    /// Records the best round and its score as early stopping does (e.g. found by a callback
    /// that watches a custom metric), or forgets them with `None`; prediction then uses the rounds
    /// up to the best one. Refuses a round beyond the model's last.
    pub fn set_best_iteration(&mut self, best: Option<(usize, f64)>) -> Result<()> {
        if let Some((round, _)) = best {
            if round >= self.num_rounds() {
                return Err(Error::param(
                    "best_iteration",
                    format!(
                        "round {round} is beyond the model's last ({} rounds)",
                        self.num_rounds()
                    ),
                ));
            }
        }
        self.core.best_iteration = best.map(|b| b.0);
        self.core.best_score = best.map(|b| b.1);
        Ok(())
    }

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        self.core.num_features
    }

    /// The type of every feature the model was trained on (all numerical unless some were
    /// categorical).
    pub fn feature_types(&self) -> Vec<crate::data::FeatureType> {
        if self.core.feature_types.is_empty() {
            vec![crate::data::FeatureType::Numerical; self.core.num_features]
        } else {
            self.core.feature_types.clone()
        }
    }

    /// Whether the model was trained with categorical features or splits by category sets.
    pub fn has_categorical(&self) -> bool {
        !self.core.feature_types.is_empty() || self.core.trees.iter().any(Tree::has_category_splits)
    }

    /// Feature names, if the training data had them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.core.feature_names.as_deref()
    }

    /// Free-form string attributes saved with the model.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.core.attributes
    }

    /// Sets a string attribute saved with the model.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.core.attributes.insert(key.into(), value.into());
    }

    /// The evaluation results of every training round: `(set, metric, value)` for every evaluation
    /// set and metric. Saved with the model when training had evaluation sets, so a loaded model
    /// returns the history it was saved with (empty for one trained without evaluation sets, or
    /// saved by a build before format version 4).
    pub fn eval_history(&self) -> &[RoundReport] {
        &self.history
    }
}
