//! The boosting loop: gradients, one tree per output per round, shrinkage, evaluation sets, early
//! stopping and callbacks; and the fitted [`Booster`] with prediction and evaluation.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::binning::BinMapper;
use crate::blocks::ColumnBlocks;
use crate::cpu_backend::HistBackend;
use crate::data::Dataset;
use crate::device::{DeviceBackend, DeviceSession, DeviceSetup, TreeGradients};
use crate::error::{Error, Result};
use crate::exact::ExactBackend;
use crate::grow::{grow_tree, GrowLimits, TrainNode, TreeBackend};
use crate::hist::GradStats;
use crate::inference::PackedForest;
use crate::matrix::QuantizedMatrix;
use crate::metric::{Metric, MetricContext};
use crate::objective::{objective_for, GradPair, LeafRows, Objective};
use crate::params::{Boosting, Params, TreeMethod};
use crate::predict::{add_trees, leaf_indices, BatchForest, PredictOptions, PredictOutput, Predictions};
use crate::quantize::quantize_into;
use crate::sampling::{position_seed, sample_rows_for_tree, ColumnSampler};
use crate::split::{leaf_weight, SplitParams};
use crate::tree::Tree;

/// What one boosting round reports to a [`TrainCallback`].
#[derive(Debug, Clone, PartialEq)]
pub struct RoundReport {
    /// Zero-based round index.
    pub round: usize,
    /// Rounds requested.
    pub num_rounds: usize,
    /// `(evaluation set, metric, value)` for every set and metric, in order.
    pub evals: Vec<(String, String, f64)>,
}

/// Called after every boosting round (e.g. for a progress bar). Return `false` to stop training.
/// Training runs inside the booster's thread pool, so a callback must be `Send`.
pub trait TrainCallback {
    /// Receives the round's evaluation results.
    fn after_round(&mut self, report: &RoundReport) -> bool;
}

/// Optional extras for [`Booster::train_with`].
#[derive(Default)]
pub struct TrainOptions<'a> {
    /// A custom objective, used instead of `params.objective`.
    pub objective: Option<Arc<dyn Objective>>,
    /// A callback run after every round.
    pub callback: Option<&'a mut (dyn TrainCallback + Send)>,
    /// A model to continue training (XGBoost's `xgb_model`): its trees and base margin are kept and
    /// new rounds are added after them. Its objective, outputs, trees per round and number of
    /// features must match.
    pub init_model: Option<&'a Booster>,
    /// The accelerator backend used when `params.device` is `cuda` (e.g. `sylvan_gpu::CudaBackend`;
    /// the `sylvan` facade fills this in). Training with `device=cuda` and no backend is an error.
    pub device: Option<Arc<dyn DeviceBackend>>,
}

/// The serialisable state of a fitted model (everything but the thread pool and objective object).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModelCore {
    pub objective: String,
    pub num_groups: usize,
    pub base_margin: Vec<f64>,
    pub num_features: usize,
    pub feature_names: Option<Vec<String>>,
    pub trees: Vec<Tree>,
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

/// Checks that a labelled data set fits the model being trained.
fn check_labelled(name: &str, data: &Dataset, num_features: usize, objective: &dyn Objective) -> Result<()> {
    if !data.has_labels() {
        return Err(Error::data(format!("data set `{name}` has no labels")));
    }
    if data.num_features() != num_features {
        return Err(Error::ShapeMismatch {
            what: format!("number of features of `{name}` vs the training data"),
            expected: num_features,
            got: data.num_features(),
        });
    }
    objective.validate_labels(data.labels())
}

/// Checks that `init` can be trained further with `params` on `train`.
fn check_continuable(init: &Booster, params: &Params, objective: &dyn Objective, train: &Dataset) -> Result<()> {
    let bad = |reason: String| Err(Error::param("init_model", reason));
    if init.objective_name() != objective.name() {
        return bad(format!(
            "the model's objective is {}, not {}",
            init.objective_name(),
            objective.name()
        ));
    }
    if init.num_groups() != objective.num_groups() {
        return bad(format!(
            "the model has {} outputs, the objective {}",
            init.num_groups(),
            objective.num_groups()
        ));
    }
    if init.num_parallel_tree() != params.num_parallel_tree.max(1) {
        return bad(format!(
            "the model grows {} parallel trees per round, params say {}",
            init.num_parallel_tree(),
            params.num_parallel_tree
        ));
    }
    if init.num_features() != train.num_features() {
        return bad(format!(
            "the model has {} features, the data {}",
            init.num_features(),
            train.num_features()
        ));
    }
    Ok(())
}

/// Initial margins of every row: the data's own base margins, or the model's base margin.
fn initial_margins(data: &Dataset, base: &[f64]) -> Result<Vec<f64>> {
    let k = base.len();
    let n = data.num_rows();
    match data.base_margin() {
        Some(m) if m.len() == n * k => Ok(m.iter().map(|v| *v as f64).collect()),
        Some(m) => Err(Error::ShapeMismatch {
            what: "base_margin (rows x outputs)".into(),
            expected: n * k,
            got: m.len(),
        }),
        None => Ok((0..n * k).map(|i| base[i % k]).collect()),
    }
}

/// Converts margins to scores in output space (what metrics read).
fn scores_of(objective: &dyn Objective, margins: &[f64], k: usize) -> Vec<f32> {
    let mut s: Vec<f32> = margins.iter().map(|v| *v as f32).collect();
    s.par_chunks_mut(k * 1024)
        .for_each(|c| c.chunks_exact_mut(k).for_each(|row| objective.margin_to_score(row)));
    s
}

/// The leaf a training row falls in, read from the data's columns.
fn leaf_of_row(tree: &Tree, data: &Dataset, row: usize) -> usize {
    let mut i = 0;
    while !tree.is_leaf(i) {
        let x = data.column(tree.feature[i] as usize).get(row);
        let left = if x.is_nan() {
            tree.default_left[i]
        } else {
            x < tree.threshold[i]
        };
        i = if left { tree.left[i] } else { tree.right[i] } as usize;
    }
    i
}

/// What split finding needs about the training data, prepared once before the first round.
enum SplitData {
    /// Cuts and the quantized matrix (`hist`).
    Hist(BinMapper, QuantizedMatrix),
    /// Pre-sorted column blocks (`exact`, and `approx`, which re-sketches them for every tree).
    Blocks(ColumnBlocks),
}

impl SplitData {
    fn prepare(params: &Params, train: &Dataset) -> SplitData {
        match params.tree_method {
            TreeMethod::Hist => {
                let mapper = BinMapper::fit(train, params.max_bin);
                let matrix = QuantizedMatrix::build(train, &mapper);
                SplitData::Hist(mapper, matrix)
            }
            TreeMethod::Exact | TreeMethod::Approx => SplitData::Blocks(ColumnBlocks::build(train)),
        }
    }
}

/// Everything the loop needs about the training data, prepared once.
struct TrainingData<'a> {
    data: &'a Dataset,
    split: SplitData,
}

/// One evaluation set with its running margins.
struct EvalSet<'a> {
    name: &'a str,
    data: &'a Dataset,
    margins: Vec<f64>,
}

impl Booster {
    /// Trains a model on `train`, reporting metrics on each named evaluation set.
    ///
    /// Early stopping (`early_stopping_rounds`) watches the last set's first metric.
    pub fn train(params: &Params, train: &Dataset, evals: &[(&str, &Dataset)]) -> Result<Booster> {
        Booster::train_with(params, train, evals, TrainOptions::default())
    }

    /// [`Booster::train`] with a custom objective and/or a per-round callback.
    pub fn train_with(
        params: &Params,
        train: &Dataset,
        evals: &[(&str, &Dataset)],
        options: TrainOptions<'_>,
    ) -> Result<Booster> {
        params.validate()?;
        let objective = options.objective.clone().unwrap_or_else(|| objective_for(params));
        if objective.num_groups() == 0 {
            return Err(Error::param(
                "objective",
                "a custom objective must have at least one output",
            ));
        }
        check_labelled("train", train, train.num_features(), objective.as_ref())?;
        for (name, d) in evals {
            check_labelled(name, d, train.num_features(), objective.as_ref())?;
        }
        if let Some(init) = options.init_model {
            check_continuable(init, params, objective.as_ref(), train)?;
        }
        let pool = thread_pool(params.nthread)?;
        Booster::train_in_pool(params, train, evals, options, objective, pool)
    }

    /// [`Booster::train_with`] on a given thread pool (ensembles share one pool among their
    /// members); `params` must be valid and the data checked against `objective`.
    pub(crate) fn train_in_pool(
        params: &Params,
        train: &Dataset,
        evals: &[(&str, &Dataset)],
        options: TrainOptions<'_>,
        objective: Arc<dyn Objective>,
        pool: Arc<ThreadPool>,
    ) -> Result<Booster> {
        let callback = options.callback;
        let init = options.init_model;
        let device = match (&params.device, &options.device) {
            (d, Some(dev)) if d.is_cuda() => Some((dev.as_ref(), options.objective.is_none())),
            (d, None) if d.is_cuda() => {
                return Err(Error::param(
                    "device",
                    format!(
                        "device={d} needs the CUDA backend of sylvan-gpu (TrainOptions::device); the sylvan \
                         facade (sylvan::train_options_for) and the sylvan CLI provide it"
                    ),
                ))
            }
            _ => None,
        };
        let (core, history) = pool.install(|| {
            let td = TrainingData {
                data: train,
                split: SplitData::prepare(params, train),
            };
            boost(params, objective.as_ref(), &td, evals, callback, init, device)
        })?;
        Ok(Booster {
            params: params.clone(),
            core,
            objective,
            pool,
            history,
            packed: OnceLock::new(),
            batch: OnceLock::new(),
        })
    }

    /// Predicts for every row of `data`; see [`PredictOptions`].
    pub fn predict(&self, data: &Dataset, options: PredictOptions) -> Result<Predictions> {
        self.check_features(data)?;
        let (start, end) = self.tree_range(options.iteration_range)?;
        let k = self.core.num_groups;
        let npt = self.num_parallel_tree();
        let trees = &self.core.trees[start..end];
        let n = data.num_rows();
        self.pool.install(|| {
            if options.output == PredictOutput::LeafIndex {
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
                    .get_or_init(|| BatchForest::new(trees, group_of))
                    .add(data, k, &mut margins);
            } else {
                add_trees(trees, group_of, data, k, &mut margins);
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
                let forest = PackedForest::new(&self.core.trees[start..end], |t| ((start + t) / npt) % k);
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
            .map(|m| {
                Ok((
                    m.to_string(),
                    m.evaluate(&scores, k, data.labels(), data.weights(), &ctx)?,
                ))
            })
            .collect()
    }

    fn metric_context(&self) -> MetricContext {
        MetricContext {
            quantile_alpha: self.params.quantile_alpha,
            tweedie_power: self.params.tweedie_variance_power,
        }
    }

    fn check_features(&self, data: &Dataset) -> Result<()> {
        if data.num_features() != self.core.num_features {
            return Err(Error::ShapeMismatch {
                what: "number of features of the data vs the model".into(),
                expected: self.core.num_features,
                got: data.num_features(),
            });
        }
        Ok(())
    }

    /// The trees `[start, end)` of a round range (default: up to the best iteration, else all).
    fn tree_range(&self, range: Option<(usize, usize)>) -> Result<(usize, usize)> {
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

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        self.core.num_features
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

    /// The evaluation results of every training round (empty for a loaded model).
    pub fn eval_history(&self) -> &[RoundReport] {
        &self.history
    }
}

/// The boosting loop proper (runs inside the booster's thread pool).
fn boost<'c>(
    params: &Params,
    objective: &dyn Objective,
    td: &TrainingData<'_>,
    evals: &[(&str, &Dataset)],
    mut callback: Option<&mut (dyn TrainCallback + Send + 'c)>,
    init: Option<&Booster>,
    device: Option<(&dyn DeviceBackend, bool)>,
) -> Result<(ModelCore, Vec<RoundReport>)> {
    let train = td.data;
    let n = train.num_rows();
    let k = objective.num_groups();
    let base: Vec<f64> = match (init, params.base_score) {
        (Some(init), _) => init.core.base_margin.clone(),
        (None, Some(s)) => vec![objective.score_to_margin(s)?; k],
        (None, None) => {
            let m = objective.initial_margin(train.labels(), train.weights());
            if m.len() != k {
                return Err(Error::param(
                    "objective",
                    "initial_margin must return one value per output",
                ));
            }
            m
        }
    };
    // Continued training starts from the initial model's margins, summed exactly as its
    // predictions are (base margin, then every tree in order).
    let init_trees: &[Tree] = init.map_or(&[], |b| &b.core.trees);
    let tree_group = |t: usize| (t / params.num_parallel_tree.max(1)) % k;
    let mut margins = initial_margins(train, &base)?;
    add_trees(init_trees, tree_group, train, k, &mut margins);
    let mut eval_sets: Vec<EvalSet> = evals
        .iter()
        .map(|(name, d)| {
            let mut margins = initial_margins(d, &base)?;
            add_trees(init_trees, tree_group, d, k, &mut margins);
            Ok(EvalSet { name, data: d, margins })
        })
        .collect::<Result<_>>()?;
    let metrics: Vec<Metric> = if params.eval_metric.is_empty() {
        vec![objective.default_metric()]
    } else {
        params.eval_metric.clone()
    };
    let ctx = MetricContext {
        quantile_alpha: params.quantile_alpha,
        tweedie_power: params.tweedie_variance_power,
    };
    let sp = SplitParams::from_params(params);
    let limits = GrowLimits {
        policy: params.grow_policy,
        max_depth: params.max_depth,
        max_leaves: params.max_leaves,
    };
    let line_search = params.boosting == Boosting::Gradient || objective.refresh_leaves();

    let npt = params.num_parallel_tree.max(1);
    // A round's parallel trees share its gradients and are averaged: each is shrunk by eta / npt
    // (XGBoost rescales the learning rate by the number of new trees the same way).
    let eta = params.eta / npt as f64;
    let mut trees: Vec<Tree> = Vec::with_capacity(init_trees.len() + params.num_round * k * npt);
    trees.extend_from_slice(init_trees);
    // Rounds are numbered after the initial model's, so sampling streams and reports continue.
    let first_round = init.map_or(0, Booster::num_rounds);
    let mut history = Vec::new();
    let mut gpairs = vec![GradPair::default(); n * k];
    let mut group_pairs = vec![
        GradPair::default();
        if k > 1 || params.boosting == Boosting::Gradient {
            n
        } else {
            0
        }
    ];
    let mut best: Option<(usize, f64)> = None;
    // Quantized gradient pairs of the current tree (reused from tree to tree).
    let mut packed: Vec<i64> = Vec::new();
    // With device=cuda, a device session holds the quantized matrix for the whole training.
    let mut session: Option<Box<dyn DeviceSession + '_>> = match (device, &td.split) {
        (None, _) => None,
        (Some((dev, builtin)), SplitData::Hist(mapper, matrix)) => Some(dev.start(DeviceSetup {
            params,
            train,
            mapper,
            matrix,
            split: sp,
            num_groups: k,
            builtin_objective: builtin,
        })?),
        (Some(_), SplitData::Blocks(_)) => {
            return Err(Error::param(
                "device",
                "device=cuda grows trees with tree_method=hist only",
            ))
        }
    };
    for round in first_round..first_round + params.num_round {
        let need_host_pairs = params.boosting == Boosting::Gradient || objective.refresh_leaves();
        let device_pairs = match session.as_deref_mut() {
            Some(s) => s.gradients(&margins, &mut gpairs, need_host_pairs)?,
            None => false,
        };
        if !device_pairs {
            objective.gradients(train.labels(), train.weights(), &margins, &mut gpairs);
        }
        let samples: Vec<Vec<u32>> = (0..npt)
            .map(|p| sample_rows_for_tree(n, params.subsample, params.seed, round, p))
            .collect();
        // Line searches of parallel trees read the margins the round's gradients were taken at.
        let round_margins = if npt > 1 { Some(margins.clone()) } else { None };
        for (group, parallel) in (0..k).flat_map(|g| (0..npt).map(move |p| (g, p))) {
            let rows = &samples[parallel];
            let sampled_all = rows.len() == n;
            // The pairs the tree is fitted to: this output's pairs; for first-order boosting the
            // hessian is replaced by the sample weight (a least-squares fit to the negative gradient).
            let on_device = device_pairs && params.boosting == Boosting::Newton;
            let fit: &[GradPair] = if group_pairs.is_empty() || on_device {
                &gpairs
            } else {
                if parallel == 0 {
                    group_pairs.par_iter_mut().enumerate().for_each(|(i, gp)| {
                        let g = gpairs[i * k + group];
                        *gp = match params.boosting {
                            Boosting::Newton => g,
                            Boosting::Gradient => GradPair::new(g.grad, train.weight(i)),
                        };
                    });
                }
                &group_pairs
            };
            let columns = ColumnSampler::for_tree(
                train.num_features(),
                [
                    params.colsample_bytree,
                    params.colsample_bylevel,
                    params.colsample_bynode,
                ],
                params.max_depth,
                params.seed,
                round,
                group,
                parallel,
            );
            let tree_inputs = CpuTreeInputs {
                params,
                train,
                fit,
                rows,
                sp,
                seed: position_seed(params.seed, &[round as u64, group as u64, parallel as u64]),
            };
            // The one place where split methods differ: which backend finds the splits.
            let mut sketch: Option<(BinMapper, QuantizedMatrix)> = None;
            // Set when the tree is grown from quantized gradients: the pairs its node values are
            // recomputed from.
            let mut renew: Option<&[GradPair]> = None;
            let mut backend: Box<dyn TreeBackend + '_> = match (&td.split, session.as_deref_mut()) {
                (SplitData::Hist(..), Some(s)) => {
                    let gradients = if on_device {
                        TreeGradients::Device { group }
                    } else {
                        TreeGradients::Host(fit)
                    };
                    s.tree(gradients, rows)?
                }
                (SplitData::Hist(mapper, matrix), None) => {
                    cpu_hist_backend(&tree_inputs, mapper, matrix, &mut packed, &mut renew)
                }
                (SplitData::Blocks(blocks), _) if params.tree_method == TreeMethod::Exact => {
                    Box::new(ExactBackend::new(train, blocks, fit, rows.clone(), sp))
                }
                (SplitData::Blocks(blocks), _) => {
                    let weight = |r: usize| fit[r].hess.max(0.0) as f64;
                    let mapper = BinMapper::from_blocks(blocks, &weight, params.approx_bins());
                    let matrix = QuantizedMatrix::build(train, &mapper);
                    let (mapper, matrix) = &*sketch.insert((mapper, matrix));
                    cpu_hist_backend(&tree_inputs, mapper, matrix, &mut packed, &mut renew)
                }
            };
            let nodes = grow_tree(backend.as_mut(), &limits, &columns);
            let tree = finish_tree(
                &nodes,
                backend.as_ref(),
                params,
                eta,
                &sp,
                objective,
                train,
                round_margins.as_deref().unwrap_or(&margins),
                &gpairs,
                group,
                k,
                line_search,
                renew,
            );
            // Update the training margins: sampled rows through the partition, the rest by walking
            // the tree over their bins.
            let leaves: Vec<(usize, f64)> = (0..nodes.len())
                .filter(|&id| nodes[id].is_leaf())
                .map(|id| (id, tree.value[id] as f64))
                .collect();
            backend.add_to_rows(&leaves, &mut margins, k, group);
            drop(backend);
            if let Some(s) = session.as_deref_mut() {
                s.after_tree(&nodes, &tree, group)?;
            }
            if !sampled_all {
                let mut in_sample = vec![false; n];
                for &r in rows {
                    in_sample[r as usize] = true;
                }
                margins
                    .par_chunks_mut(k)
                    .enumerate()
                    .filter(|(i, _)| !in_sample[*i])
                    .for_each(|(i, m)| {
                        m[group] += tree.value[leaf_of_row(&tree, train, i)] as f64;
                    });
            }
            for set in eval_sets.iter_mut() {
                add_trees(std::slice::from_ref(&tree), |_| group, set.data, k, &mut set.margins);
            }
            trees.push(tree);
        }
        // Evaluate.
        let mut report = RoundReport {
            round,
            num_rounds: first_round + params.num_round,
            evals: Vec::new(),
        };
        let mut watched = None;
        for set in &eval_sets {
            let scores = scores_of(objective, &set.margins, k);
            for (mi, m) in metrics.iter().enumerate() {
                let v = m.evaluate(&scores, k, set.data.labels(), set.data.weights(), &ctx)?;
                report.evals.push((set.name.to_string(), m.to_string(), v));
                if mi == 0 {
                    watched = Some((v, m.higher_is_better()));
                }
            }
        }
        let mut stop = false;
        if let (Some(esr), Some((v, higher))) = (params.early_stopping_rounds, watched) {
            let improved = match best {
                None => true,
                Some((_, b)) => {
                    if higher {
                        v > b
                    } else {
                        v < b
                    }
                }
            };
            if improved && !v.is_nan() {
                best = Some((round, v));
            }
            if let Some((b, _)) = best {
                stop = round >= b + esr;
            }
        }
        if let Some(cb) = callback.as_deref_mut() {
            stop |= !cb.after_round(&report);
        }
        history.push(report);
        if stop {
            break;
        }
    }
    let core = ModelCore {
        objective: objective.name().to_string(),
        num_groups: k,
        base_margin: base,
        num_features: train.num_features(),
        feature_names: train.feature_names().map(<[String]>::to_vec),
        trees,
        best_iteration: best.map(|b| b.0),
        best_score: best.map(|b| b.1),
        attributes: BTreeMap::new(),
    };
    Ok((core, history))
}

/// What the CPU histogram backend of one tree is built from.
struct CpuTreeInputs<'a> {
    params: &'a Params,
    train: &'a Dataset,
    /// The pairs the tree is fitted to.
    fit: &'a [GradPair],
    /// The rows sampled for the tree.
    rows: &'a [u32],
    sp: SplitParams,
    /// The quantization's rounding stream.
    seed: u64,
}

/// The histogram backend of one tree on the CPU: quantized gradients (packed into `packed`, a
/// buffer reused from tree to tree) when `use_quantized_grad` is on and the pairs can be packed
/// (then `renew` is set to the pairs), else f64 sums.
fn cpu_hist_backend<'a>(
    t: &CpuTreeInputs<'a>,
    mapper: &'a BinMapper,
    matrix: &'a QuantizedMatrix,
    packed: &'a mut Vec<i64>,
    renew: &mut Option<&'a [GradPair]>,
) -> Box<dyn TreeBackend + 'a> {
    if t.params.use_quantized_grad {
        if let Some((scale, root)) = quantize_into(t.fit, t.rows, t.seed, packed) {
            *renew = Some(t.fit);
            let packed: &'a [i64] = packed;
            return Box::new(HistBackend::quantized(
                t.train,
                matrix,
                mapper,
                packed,
                scale,
                root,
                t.rows.to_vec(),
                t.sp,
            ));
        }
    }
    Box::new(HistBackend::new(t.train, matrix, mapper, t.fit, t.rows.to_vec(), t.sp))
}

/// Every node's exact gradient sums: each leaf's pairs summed in row order, internal nodes as the
/// sum of their children.
fn exact_node_stats(nodes: &[TrainNode], backend: &dyn TreeBackend, fit: &[GradPair]) -> Vec<GradStats> {
    let leaves: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].is_leaf()).collect();
    let rows: Vec<&[u32]> = leaves.iter().map(|&i| backend.node_rows(i)).collect();
    let sums: Vec<GradStats> = rows
        .par_iter()
        .map(|rows| {
            let mut s = GradStats::default();
            for &r in *rows {
                s.add_pair(fit[r as usize]);
            }
            s
        })
        .collect();
    let mut stats = vec![GradStats::default(); nodes.len()];
    for (&i, s) in leaves.iter().zip(sums) {
        stats[i] = s;
    }
    // Children are created after their parents, so a reverse pass sees both children first.
    for i in (0..nodes.len()).rev() {
        if !nodes[i].is_leaf() {
            stats[i] = stats[nodes[i].left] + stats[nodes[i].right];
        }
    }
    stats
}

/// Turns grown nodes into an inference tree, setting each leaf's value (times `eta`, the learning
/// rate already divided among a round's parallel trees).
#[allow(clippy::too_many_arguments)]
fn finish_tree(
    nodes: &[TrainNode],
    backend: &dyn TreeBackend,
    params: &Params,
    eta: f64,
    sp: &SplitParams,
    objective: &dyn Objective,
    train: &Dataset,
    margins: &[f64],
    gpairs: &[GradPair],
    group: usize,
    k: usize,
    line_search: bool,
    renew: Option<&[GradPair]>,
) -> Tree {
    let m = nodes.len();
    // A tree grown from quantized gradients takes its node sums (cover, values) from the exact
    // pairs it was fitted to.
    let exact_stats = renew.map(|fit| exact_node_stats(nodes, backend, fit));
    let node_stats = |i: usize| exact_stats.as_ref().map_or(nodes[i].stats, |s| s[i]);
    let mut t = Tree {
        left: vec![-1; m],
        right: vec![-1; m],
        feature: vec![0; m],
        threshold: vec![0.0; m],
        default_left: vec![false; m],
        value: vec![0.0; m],
        gain: vec![0.0; m],
        cover: vec![0.0; m],
    };
    for (i, node) in nodes.iter().enumerate() {
        t.cover[i] = node_stats(i).hess as f32;
        if let Some(s) = &node.split {
            t.left[i] = node.left as i32;
            t.right[i] = node.right as i32;
            t.feature[i] = s.feature as u32;
            t.threshold[i] = s.threshold;
            t.default_left[i] = s.default_left;
            t.gain[i] = s.gain as f32;
            t.value[i] = (leaf_weight(node_stats(i), sp) * eta) as f32;
            continue;
        }
        let rows = backend.node_rows(i);
        let searched = if line_search {
            objective.line_search(&LeafRows {
                rows,
                labels: train.labels(),
                margins,
                weights: train.weights(),
                group,
                num_groups: k,
            })
        } else {
            None
        };
        let w = searched.unwrap_or_else(|| {
            if params.boosting == Boosting::Gradient {
                // One Newton step with the true hessians over the leaf's rows.
                let mut s = GradStats::default();
                for &r in rows {
                    s.add_pair(gpairs[r as usize * k + group]);
                }
                leaf_weight(
                    s,
                    &SplitParams {
                        min_child_weight: 0.0,
                        ..*sp
                    },
                )
            } else {
                leaf_weight(node_stats(i), sp)
            }
        });
        t.value[i] = (w * eta) as f32;
    }
    t
}
