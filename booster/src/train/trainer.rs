//! The boosting loop as a [`Trainer`]: one training run's state, and its rounds. A round reads like
//! the algorithm — gradients, row sample, then for every output (and parallel tree) grow a tree,
//! set its leaves and update the margins; then evaluate and check early stopping.
//!
//! Where the coming features plug in:
//! - a collective (distributed training, [`crate::collective`]) reduces inside the [`TreeBackend`]
//!   (histograms, node row counts, rank 0's splits), in quantization and leaf sums, and in
//!   [`Trainer::evaluate`] (gathered scores), so the trainer's order of steps stays the one-process
//!   order and the model is the one-process model;
//! - constraints act in split search ([`crate::train::split::SplitParams`]) and in
//!   [`crate::train::sampling::ColumnSampler`] (allowed features per node);
//! - DART ([`crate::train::dart`]) drops trees just before [`Trainer::gradients`] (margins without
//!   the dropped trees) and rescales them and the new trees after the round's trees are grown;
//! - GOSS ([`crate::train::goss`]) picks the round's rows after the gradients and scales the pairs
//!   of the rows it drew.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::collective::ops::{Cluster, GatheredTargets};
use crate::collective::Distributed;
use crate::data::dataset::Dataset;
use crate::data::targets::Targets;
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::metric::{Metric, MetricContext};
use crate::model::booster::{thread_pool, weighted, Booster, ModelCore};
use crate::model::tree::Tree;
use crate::objective::{objective_for, Objective};
use crate::params::{Boosting, Params};
use crate::predict::batch::add_trees;
use crate::predict::margins::{initial_margins, scores_of};
use crate::train::checkpoint::Checkpoints;
use crate::train::checks::{
    check_binned, check_continuable, check_labelled, check_targets_match, with_categorical_param, with_data_targets,
};
use crate::train::constraints::FeatureControls;
use crate::train::dart::Dart;
use crate::train::device::{DeviceBackend, DeviceSession, DeviceSetup};
use crate::train::distributed::{check_distributable, check_ranks_agree, run_as_rank};
use crate::train::early_stopping::EarlyStopping;
use crate::train::goss::Scaled;
use crate::train::grow::{grow_tree, GrowLimits, TrainNode, TreeBackend};
use crate::train::leaves::{finish_tree, LeafContext};
use crate::train::memory_estimate::MemoryPlan;
use crate::train::quantize::output_quantizers;
use crate::train::root_histograms::{build_root_histograms, shared_roots_pay};
use crate::train::round_margins::{OutputLeaves, RoundMargins};
use crate::train::sampling::{position_seed, round_rows, ColumnSampler, Shard};
use crate::train::split::SplitParams;
use crate::train::split_method::{BackendScratch, SplitData, TreeInputs};
use crate::train::vector_leaves::{output_tree, VectorBackend};
use crate::util::profile::{self, Phase};

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

/// What a [`TrainCallback`] asks of the round about to be trained ([`TrainCallback::before_round`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoundPlan {
    /// Stop training before this round (the model keeps the rounds trained so far).
    pub stop: bool,
    /// Train this round and the later ones with this learning rate (`eta`, in (0, 1]) instead of
    /// the current one (XGBoost's `LearningRateScheduler`).
    pub learning_rate: Option<f64>,
}

/// Called around every boosting round (e.g. for a progress bar, a learning-rate schedule, custom
/// metrics). Return `false` from [`TrainCallback::after_round`] to stop training. Training runs
/// inside the booster's thread pool, so a callback must be `Send`.
pub trait TrainCallback {
    /// Receives the round's evaluation results.
    fn after_round(&mut self, report: &RoundReport) -> bool;

    /// [`TrainCallback::after_round`] with the state of the run after the round: the predictions of
    /// every evaluation set and the model so far ([`TrainingState`]). The trainer calls this one;
    /// the default hands the report to `after_round`.
    fn after_round_in(&mut self, report: &RoundReport, _state: &TrainingState<'_>) -> bool {
        self.after_round(report)
    }

    /// Called before round `round` is trained: may stop training or change the learning rate from
    /// this round on. Not supported in distributed training (asking for either is an error there).
    /// The default asks for nothing.
    fn before_round(&mut self, _round: usize) -> RoundPlan {
        RoundPlan::default()
    }

    /// Whether round `round` (of `num_rounds`) should be evaluated: `false` skips the metrics of
    /// that round (its report then holds no values), which saves their cost when nobody reads them.
    /// The last round and every round under early stopping are evaluated whatever this says; in a
    /// distributed run rank 0's callback decides for every rank (asked after the round before).
    /// The default evaluates every round.
    fn wants_evaluation(&mut self, _round: usize, _num_rounds: usize) -> bool {
        true
    }
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
    /// Data-parallel training over a group of ranks (`train` is this rank's shard of the rows, in
    /// rank order). The model is the one-process model on all the rows, bit for bit; training
    /// methods that cannot promise that are refused. An error on this rank aborts the group.
    pub distributed: Option<Distributed<'a>>,
    /// Write the model so far every few rounds ([`Checkpoints`]), to resume from if the run is
    /// killed.
    pub checkpoints: Option<Checkpoints>,
    /// The initial model is a checkpoint of this same run (same data and parameters) to resume:
    /// training goes on up to `num_round` rounds in all (not `num_round` more) and keeps the
    /// checkpoint's evaluation history and early-stopping state, so that the final model is the
    /// uninterrupted run's, bit for bit.
    pub resume: bool,
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
        run_as_rank(options.distributed, || {
            Booster::train_checked(params, train, evals, options)
        })
    }

    /// [`Booster::train_with`] after the checks of the data and settings.
    fn train_checked(
        params: &Params,
        train: &Dataset,
        evals: &[(&str, &Dataset)],
        options: TrainOptions<'_>,
    ) -> Result<Booster> {
        params.validate()?;
        let with_targets = with_data_targets(params, train)?;
        let params = with_targets.as_ref().unwrap_or(params);
        let objective = options.objective.clone().unwrap_or_else(|| objective_for(params));
        if objective.num_groups() == 0 {
            return Err(Error::param(
                "objective",
                "a custom objective must have at least one output",
            ));
        }
        if options.distributed.is_some() {
            check_distributable(params, objective.as_ref(), options.objective.is_some())?;
        }
        check_binned(params, train, evals, options.init_model, options.distributed.is_some())?;
        check_labelled("train", train, train.num_features(), objective.as_ref())?;
        for (name, d) in evals {
            check_targets_match(name, d, train)?;
            check_labelled(name, d, train.num_features(), objective.as_ref())?;
        }
        if let Some(init) = options.init_model {
            check_continuable(init, params, objective.as_ref(), train)?;
        }
        if options.resume && options.init_model.is_none() {
            return Err(Error::param(
                "resume",
                "resuming needs the checkpoint as the initial model",
            ));
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
        let typed = with_categorical_param(params, train)?;
        let train = typed.as_ref().unwrap_or(train);
        if train.has_categorical() {
            check_categorical_method(params, train)?;
            if params.vector_leaves() {
                return Err(Error::param(
                    "multi_strategy",
                    "multi_output_tree splits numerical features only; this data has categorical features \
                     (use multi_strategy=one_output_per_tree)",
                ));
            }
        }
        let callback = options.callback;
        let init = options.init_model;
        let (checkpoints, resume) = (options.checkpoints, options.resume);
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
        let cluster = match options.distributed {
            Some(d) => {
                let c = Cluster::join(d, train.num_rows())?;
                check_ranks_agree(params, train, &c)?;
                Some(c)
            }
            None => None,
        };
        let cluster = cluster.as_ref();
        let (core, history) = pool.install(|| {
            let split = {
                let _phase = profile::enter(Phase::Binning);
                let memory = MemoryPlan::new(params, train, evals, objective.num_groups(), pool.current_num_threads());
                SplitData::prepare(params, train, cluster, &memory)?
            };
            let owner = Owner {
                objective: objective.clone(),
                pool: pool.clone(),
            };
            let mut trainer = Trainer::new(
                params,
                objective.as_ref(),
                train,
                &split,
                evals,
                init,
                device,
                cluster,
                owner,
            )?;
            trainer.checkpoints = checkpoints;
            if let (true, Some(init)) = (resume, init) {
                trainer.resume(init);
            }
            trainer.run(callback)
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
}

/// What every tree of a round shares.
#[derive(Clone, Copy)]
struct RoundShared<'r> {
    /// The round's index.
    round: usize,
    /// Whether a device session computed the round's pairs.
    pairs_on_device: bool,
    /// The margins the round's gradients were taken at, when the trees' line searches must read
    /// them rather than the running margins (several parallel trees).
    margins: Option<&'r [f64]>,
    /// The rows GOSS scaled, with their factor.
    goss_scaled: Option<&'r Scaled>,
}

/// The state of a run after a round, as a [`TrainCallback`] sees it
/// ([`TrainCallback::after_round_in`]): the evaluation sets' predictions and the model so far.
pub struct TrainingState<'t> {
    trainer: &'t Trainer<'t>,
}

impl TrainingState<'_> {
    /// Outputs per round (the columns of [`TrainingState::margins`]).
    pub fn num_groups(&self) -> usize {
        self.trainer.k
    }

    /// The names of the evaluation sets, in the order training was given them.
    pub fn eval_names(&self) -> Vec<&str> {
        self.trainer.eval_sets.iter().map(|s| s.name).collect()
    }

    /// The running margins of evaluation set `set` (rows x outputs, row-major): the base margin
    /// plus every tree so far. `None` when there is no such set.
    pub fn margins(&self, set: usize) -> Option<&[f64]> {
        let t = self.trainer;
        let s = t.eval_sets.get(set)?;
        Some(if s.is_train { &t.margins } else { &s.margins })
    }

    /// Evaluation set `set`'s predictions as the metrics read them (probabilities for
    /// classification, values for regression; rows x outputs, row-major).
    pub fn scores(&self, set: usize) -> Option<Vec<f32>> {
        let margins = self.margins(set)?;
        Some(scores_of(self.trainer.objective, margins, self.trainer.k))
    }

    /// The number of rounds in the model so far.
    pub fn num_rounds(&self) -> usize {
        let t = self.trainer;
        t.trees.len() / (t.k * t.npt).max(1)
    }

    /// A copy of the model so far (trees, base margin, DART weights; no evaluation history), to
    /// predict with or save from a callback. Copies every tree: call it when it is needed.
    pub fn model(&self) -> Booster {
        self.trainer.model_so_far()
    }
}

/// One evaluation set with its running margins.
struct EvalSet<'a> {
    name: &'a str,
    data: &'a Dataset,
    /// The set's margins, rows x outputs; empty when the set is the training data itself
    /// (`is_train`), whose margins the trainer keeps anyway.
    margins: Vec<f64>,
    /// The set is the training data (the same `Dataset`): it is scored from the training margins
    /// instead of walking every new tree over its rows again.
    is_train: bool,
    /// When the set is sharded over the ranks of a distributed run: the labels and weights of all
    /// its rows, in rank order (metrics are computed on every rank's scores gathered alike).
    gathered: Option<GatheredTargets>,
}

/// One training run: the settings fixed for the run and the state carried from round to round.
struct Trainer<'a> {
    params: &'a Params,
    objective: &'a dyn Objective,
    train: &'a Dataset,
    split: &'a SplitData,
    /// With `device=cuda`, the device session that holds the quantized matrix for the whole run.
    session: Option<Box<dyn DeviceSession + 'a>>,
    /// Outputs per round.
    k: usize,
    /// Trees per output per round (`num_parallel_tree`).
    npt: usize,
    /// The learning rate of one tree: a round's parallel trees share its gradients and are averaged,
    /// so each is shrunk by `eta / npt` (XGBoost rescales the learning rate the same way).
    eta: f64,
    sp: SplitParams,
    limits: GrowLimits,
    /// Monotone and interaction constraints and feature weights, resolved against the features.
    controls: FeatureControls,
    /// Whether leaf values are line-searched.
    line_search: bool,
    metrics: Vec<Metric>,
    ctx: MetricContext,
    base: Vec<f64>,
    /// Training margins, rows x outputs.
    margins: Vec<f64>,
    eval_sets: Vec<EvalSet<'a>>,
    trees: Vec<Tree>,
    /// This round's gradient pairs, rows x outputs.
    gpairs: Vec<GradPair>,
    /// The pairs of one output, when they differ from `gpairs` (several outputs, or first-order
    /// boosting's weights as hessians).
    group_pairs: Vec<GradPair>,
    scratch: BackendScratch,
    /// The second tree's buffers when a round's outputs grow two at a time.
    second_lane: SecondLane,
    /// The leaves of this round's trees, added to `margins` at the end of the round (several
    /// outputs, see [`RoundMargins`]).
    pending_margins: RoundMargins,
    early_stopping: EarlyStopping,
    /// Rounds are numbered after the initial model's, so sampling streams and reports continue.
    first_round: usize,
    history: Vec<RoundReport>,
    /// DART's tree weights and dropped trees (`booster=dart`, or an initial model with weights).
    dart: Option<Dart>,
    /// In distributed training, the group of ranks (`train` is this rank's shard).
    cluster: Option<&'a Cluster<'a>>,
    /// Distributed training: whether rank 0's callback wants the next round evaluated.
    evaluate_next: bool,
    /// The round the run ends before: `first_round + num_round`, or `num_round` when resuming.
    end_round: usize,
    /// Where the model so far is written every few rounds.
    checkpoints: Option<Checkpoints>,
    /// What a copy of the model so far shares with the booster ([`TrainingState::model`]).
    owner: Owner,
}

/// The objective and thread pool a trained [`Booster`] keeps.
struct Owner {
    objective: Arc<dyn Objective>,
    pool: Arc<ThreadPool>,
}

impl<'a> Trainer<'a> {
    /// Sets up a run: base margins, starting margins of every set (after the initial model's trees),
    /// the device session.
    #[allow(clippy::too_many_arguments)]
    fn new(
        params: &'a Params,
        objective: &'a dyn Objective,
        train: &'a Dataset,
        split: &'a SplitData,
        evals: &'a [(&'a str, &'a Dataset)],
        init: Option<&Booster>,
        device: Option<(&dyn DeviceBackend, bool)>,
        cluster: Option<&'a Cluster<'a>>,
        owner: Owner,
    ) -> Result<Trainer<'a>> {
        let n = train.num_rows();
        let k = objective.num_groups();
        let base: Vec<f64> = match (init, params.base_score) {
            (Some(init), _) => init.core.base_margin.clone(),
            (None, Some(s)) => vec![objective.score_to_margin(s)?; k],
            (None, None) => {
                let m = match cluster {
                    // The base score of all rows, computed as one process would.
                    Some(c) => {
                        let all = GatheredTargets::of(train, c)?;
                        objective.initial_margin(&all.labels, all.weights.as_deref())
                    }
                    None => objective.initial_margin(train.labels(), train.weights()),
                };
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
        let init_weights = init.and_then(Booster::tree_weights);
        let init_scaled = weighted(init_trees, init_weights);
        let mut margins = initial_margins(train, &base)?;
        add_trees(&init_scaled, tree_group, train, k, &mut margins);
        let eval_sets: Vec<EvalSet> = evals
            .iter()
            .map(|(name, d)| {
                let is_train = std::ptr::eq(*d, train);
                let mut margins = Vec::new();
                if !is_train {
                    margins = initial_margins(d, &base)?;
                    add_trees(&init_scaled, tree_group, d, k, &mut margins);
                }
                let gathered = match cluster {
                    Some(c) if c.sharded_evals => Some(GatheredTargets::of_eval_set(name, d, c)?),
                    _ => None,
                };
                Ok(EvalSet {
                    name,
                    data: d,
                    margins,
                    is_train,
                    gathered,
                })
            })
            .collect::<Result<_>>()?;
        let metrics: Vec<Metric> = if params.eval_metric.is_empty() {
            vec![objective.default_metric()]
        } else {
            params.eval_metric.clone()
        };
        let sp = SplitParams::from_params(params);
        let controls = FeatureControls::resolve(params, train)?;
        let npt = params.num_parallel_tree.max(1);
        let mut trees: Vec<Tree> = Vec::with_capacity(init_trees.len() + params.num_round * k * npt);
        trees.extend_from_slice(init_trees);
        let session = match (device, split) {
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
        let one_output_pairs = k > 1 || params.boosting == Boosting::Gradient;
        Ok(Trainer {
            params,
            objective,
            train,
            split,
            session,
            k,
            npt,
            eta: params.eta / npt as f64,
            sp,
            controls,
            limits: GrowLimits {
                policy: params.grow_policy,
                max_depth: params.max_depth,
                max_leaves: params.max_leaves,
            },
            line_search: params.boosting == Boosting::Gradient || objective.refresh_leaves(),
            metrics,
            ctx: MetricContext::from_params(params),
            base,
            margins,
            eval_sets,
            trees,
            gpairs: vec![GradPair::default(); n * k],
            group_pairs: vec![GradPair::default(); if one_output_pairs { n } else { 0 }],
            scratch: BackendScratch::default(),
            pending_margins: RoundMargins::default(),
            second_lane: SecondLane::default(),
            early_stopping: EarlyStopping::new(params.early_stopping_rounds),
            first_round: init.map_or(0, Booster::num_rounds),
            end_round: init.map_or(0, Booster::num_rounds) + params.num_round,
            checkpoints: None,
            history: Vec::new(),
            dart: Dart::for_run(params, k, init_weights, init_trees.len()),
            cluster,
            evaluate_next: true,
            owner,
        })
    }

    /// Runs every round (until early stopping or the callback stops it) and returns the model.
    fn run(
        mut self,
        mut callback: Option<&mut (dyn TrainCallback + Send + '_)>,
    ) -> Result<(ModelCore, Vec<RoundReport>)> {
        let end = self.end_round;
        for round in self.first_round..end {
            if self.round(round, end, callback.as_deref_mut())? {
                break;
            }
        }
        let trees = std::mem::take(&mut self.trees);
        let tree_weights = self.dart.take().map_or_else(Vec::new, Dart::into_weights);
        let core = self.core_with(trees, tree_weights);
        Ok((core, self.history))
    }

    /// Takes up the run whose checkpoint `init` is: the run ends at `num_round` rounds in all,
    /// with the checkpoint's evaluation history, and early stopping in the state it had (replayed
    /// from that history; a run it had already stopped grows no more rounds).
    fn resume(&mut self, init: &Booster) {
        self.end_round = self.params.num_round.max(self.first_round);
        // A saved history keeps no round that evaluated nothing (none at all when no round did):
        // those rounds come back as empty reports. Every report belongs to this run, which now
        // ends at `end_round` (the checkpoint's run may have been asked for fewer rounds).
        self.history = (0..self.first_round)
            .map(|round| match init.history.iter().find(|r| r.round == round) {
                Some(report) => RoundReport {
                    num_rounds: self.end_round,
                    ..report.clone()
                },
                None => RoundReport {
                    round,
                    num_rounds: self.end_round,
                    evals: Vec::new(),
                },
            })
            .collect();
        let higher = self.metrics.first().is_some_and(Metric::higher_is_better);
        for report in &self.history {
            // The watched value: the last evaluation set's first metric.
            let watched = report
                .evals
                .last()
                .and_then(|(last, _, _)| report.evals.iter().find(|(set, _, _)| set == last))
                .map(|(_, _, v)| (*v, higher));
            if self.early_stopping.update(report.round, watched) {
                self.end_round = self.first_round;
            }
        }
    }

    /// A copy of the model so far (trees, base margin, DART weights, evaluation history).
    fn model_so_far(&self) -> Booster {
        let weights = self.dart.as_ref().map_or_else(Vec::new, |d| d.weights().to_vec());
        Booster {
            params: self.params.clone(),
            core: self.core_with(self.trees.clone(), weights),
            objective: self.owner.objective.clone(),
            pool: self.owner.pool.clone(),
            history: self.history.clone(),
            packed: OnceLock::new(),
            batch: OnceLock::new(),
        }
    }

    /// The model of the run so far, with these trees and DART weights.
    fn core_with(&self, trees: Vec<Tree>, tree_weights: Vec<f32>) -> ModelCore {
        let best = self.early_stopping.best();
        ModelCore {
            objective: self.objective.name().to_string(),
            num_groups: self.k,
            base_margin: self.base.clone(),
            num_features: self.train.num_features(),
            feature_names: self.train.feature_names().map(<[String]>::to_vec),
            feature_types: if self.train.has_categorical() {
                self.train.feature_types()
            } else {
                Vec::new()
            },
            trees,
            tree_weights,
            best_iteration: best.map(|b| b.0),
            best_score: best.map(|b| b.1),
            attributes: BTreeMap::new(),
        }
    }

    /// Trains the next rounds with learning rate `eta` (a callback's [`RoundPlan`]).
    fn set_learning_rate(&mut self, eta: f64) -> Result<()> {
        if !(eta > 0.0 && eta <= 1.0) {
            return Err(Error::param(
                "learning_rate",
                format!("a callback's learning rate must be in (0, 1], got {eta}"),
            ));
        }
        self.eta = eta / self.npt as f64;
        if let Some(d) = self.dart.as_mut() {
            d.set_learning_rate(eta as f32);
        }
        Ok(())
    }

    /// One boosting round; returns whether training stops after it.
    fn round(
        &mut self,
        round: usize,
        num_rounds: usize,
        mut callback: Option<&mut (dyn TrainCallback + Send + '_)>,
    ) -> Result<bool> {
        if let Some(cb) = callback.as_deref_mut() {
            let plan = cb.before_round(round);
            if plan != RoundPlan::default() && self.cluster.is_some() {
                return Err(Error::param(
                    "callbacks",
                    "a callback may not stop training or change the learning rate before a round in distributed \
                     training (stop it from after_round)",
                ));
            }
            if plan.stop {
                return Ok(true);
            }
            if let Some(eta) = plan.learning_rate {
                self.set_learning_rate(eta)?;
            }
        }
        if let Some(d) = self.dart.as_mut() {
            d.begin_round(round, &self.trees, self.train, &mut self.margins);
        }
        let first_new = self.trees.len();
        let pairs_on_device = {
            let _phase = profile::enter(Phase::Gradients);
            self.gradients()?
        };
        let sampling = profile::enter(Phase::Quantization);
        // Bagging or GOSS (which scales the sampled rows' pairs in `gpairs`).
        let shard = self.cluster.map(|c| Shard {
            row_offset: c.row_offset,
            total_rows: c.total_rows,
        });
        let (samples, goss_scaled) = round_rows(self.params, round, self.npt, self.k, &mut self.gpairs, shard);
        drop(sampling);
        // Line searches of parallel trees read the margins the round's gradients were taken at.
        let round_margins = if self.npt > 1 { Some(self.margins.clone()) } else { None };
        let shared = RoundShared {
            round,
            pairs_on_device,
            margins: round_margins.as_deref(),
            goss_scaled: goss_scaled.as_ref(),
        };
        let (k, npt) = (self.k, self.npt);
        if self.params.vector_leaves() {
            // One structure per parallel tree for all outputs; the model keeps the trees in
            // (output, parallel tree) order as for one tree per output.
            let mut grown: Vec<std::vec::IntoIter<Tree>> = Vec::with_capacity(npt);
            for (parallel, rows) in samples.iter().enumerate().take(npt) {
                grown.push(self.grow_vector_trees(round, parallel, rows)?.into_iter());
            }
            for group in 0..k {
                for (parallel, trees) in grown.iter_mut().enumerate() {
                    let tree = trees
                        .next()
                        .ok_or_else(|| Error::data("a vector-leaf tree lost an output"))?;
                    self.update_margins(&tree, &samples[parallel], group);
                    self.trees.push(tree);
                }
            }
        } else {
            if npt == 1 {
                self.prepare_shared_roots(round, &samples[0]);
                // The trees' leaves reach the training margins together after the last one,
                // where nothing in the round reads another output's margins in between (line
                // searches do) and every row is in every tree.
                let n = self.train.num_rows();
                if k > 1 && !self.line_search && self.session.is_none() && samples[0].len() == n {
                    self.pending_margins.start(k, n);
                }
            }
            let mut next = 0;
            if self.grows_outputs_in_pairs() {
                while next + 1 < k {
                    for (group, tree) in (next..).zip(self.grow_output_pair(&shared, next, &samples[0])?) {
                        self.update_margins(&tree, &samples[0], group);
                        self.trees.push(tree);
                    }
                    next += 2;
                }
            }
            for (group, parallel) in (next..k).flat_map(|g| (0..npt).map(move |p| (g, p))) {
                let tree = self.grow_tree(&shared, group, parallel, &samples[parallel])?;
                self.update_margins(&tree, &samples[parallel], group);
                self.trees.push(tree);
            }
            let _phase = profile::enter(Phase::Margins);
            self.pending_margins.apply(&mut self.margins);
        }
        if let Some(d) = self.dart.as_mut() {
            let _phase = profile::enter(Phase::Margins);
            let mut evals: Vec<(&Dataset, &mut [f64])> = self
                .eval_sets
                .iter_mut()
                .filter(|s| !s.is_train)
                .map(|s| (s.data, &mut s.margins[..]))
                .collect();
            d.end_round(&self.trees, first_new, self.train, &mut self.margins, &mut evals);
        }
        // Metrics are skipped only where nothing reads them: not under early stopping, not on the
        // last round (summaries read it). Distributed ranks follow rank 0's callback, whose answer
        // came with the previous round's stop flag (every rank takes part in an evaluation).
        let must_evaluate = self.early_stopping.is_active() || round + 1 == num_rounds;
        let mut asked = || {
            callback
                .as_deref_mut()
                .is_none_or(|cb| cb.wants_evaluation(round, num_rounds))
        };
        let wanted = must_evaluate
            || match self.cluster {
                // The first round's answer is rank 0's too.
                Some(c) if round == self.first_round => c.rank0_flags([asked()])?[0],
                Some(_) => self.evaluate_next,
                None => asked(),
            };
        let (report, watched) = if wanted {
            let _phase = profile::enter(Phase::Evaluation);
            self.evaluate(round, num_rounds)?
        } else {
            (
                RoundReport {
                    round,
                    num_rounds,
                    evals: Vec::new(),
                },
                None,
            )
        };
        let mut stop = self.early_stopping.update(round, watched);
        if let Some(cb) = callback.as_deref_mut() {
            stop |= !cb.after_round_in(&report, &TrainingState { trainer: self });
        }
        // Every rank stops when rank 0 does (its evaluation is every rank's; its callback decides),
        // and evaluates the next round when rank 0's callback wants it.
        if let Some(c) = self.cluster {
            let next = round + 1 < num_rounds && callback.is_none_or(|cb| cb.wants_evaluation(round + 1, num_rounds));
            [stop, self.evaluate_next] = c.rank0_flags([stop, next])?;
        }
        self.history.push(report);
        if let Some(c) = self.checkpoints.as_ref().filter(|c| c.due(round + 1)) {
            if self.cluster.is_none_or(|c| c.comm.rank() == 0) {
                c.write(self.model_so_far())?;
            }
        }
        Ok(stop)
    }

    /// With several outputs, builds the root histograms of the round's trees of every output in one
    /// pass over `rows` ([`build_root_histograms`], quantizing each output's pairs as its tree
    /// will), for the trees to take up ([`BackendScratch::roots`]); nothing where the trees cannot
    /// share it (one output, no quantized CPU histograms, first-order boosting, a device,
    /// distributed training, histograms too wide, or pairs that cannot be packed).
    fn prepare_shared_roots(&mut self, round: usize, rows: &[u32]) {
        let (params, k) = (self.params, self.k);
        let SplitData::Hist(mapper, matrix) = self.split else {
            return;
        };
        let cells = mapper.offsets().last().copied().unwrap_or(0);
        if self.group_pairs.is_empty()
            || self.session.is_some()
            || self.cluster.is_some()
            || !params.use_quantized_grad
            || params.boosting != Boosting::Newton
            || !shared_roots_pay(k, cells)
        {
            return;
        }
        let _phase = profile::enter(Phase::Histograms);
        let seeds: Vec<u64> = (0..k)
            .map(|group| position_seed(params.seed, &[round as u64, group as u64, 0]))
            .collect();
        let Some(quantizers) = output_quantizers(&self.gpairs, k, rows, &seeds)
            .into_iter()
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let hists = build_root_histograms(matrix, mapper.offsets(), rows, &self.gpairs, &quantizers);
        self.scratch.roots = hists.into_iter().map(Some).collect();
    }

    /// This round's gradient pairs at the current margins, from the device session when it computes
    /// them (returns `true` then), else from the objective on the host.
    fn gradients(&mut self) -> Result<bool> {
        let need_host_pairs = self.params.boosting == Boosting::Gradient || self.objective.refresh_leaves();
        let on_device = match self.session.as_deref_mut() {
            Some(s) => s.gradients(&self.margins, &mut self.gpairs, need_host_pairs)?,
            None => false,
        };
        if !on_device {
            let train = self.train;
            self.objective
                .gradients_for(&train.targets(), &self.margins, &mut self.gpairs);
        }
        Ok(on_device)
    }

    /// What every tree of a round reads and no tree changes.
    fn tree_grower<'g>(&'g self, shared: &RoundShared<'g>) -> TreeGrower<'g, 'a> {
        TreeGrower {
            params: self.params,
            objective: self.objective,
            train: self.train,
            split: self.split,
            k: self.k,
            eta: self.eta,
            sp: &self.sp,
            limits: &self.limits,
            controls: &self.controls,
            line_search: self.line_search,
            gpairs: &self.gpairs,
            cluster: self.cluster,
            shared: *shared,
        }
    }

    /// Grows one tree of output `group` on `rows`, sets its leaf values and adds them to the
    /// margins of the rows it was grown on.
    fn grow_tree(&mut self, shared: &RoundShared<'_>, group: usize, parallel: usize, rows: &[u32]) -> Result<Tree> {
        // What the tree writes is taken out of the trainer while the tree reads the rest.
        let mut group_pairs = std::mem::take(&mut self.group_pairs);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut pending = std::mem::take(&mut self.pending_margins);
        let mut margins = std::mem::take(&mut self.margins);
        let mut session = self.session.take();
        let grown = (|| {
            let grower = self.tree_grower(shared);
            let buffers = TreeBuffers {
                group_pairs: &mut group_pairs,
                scratch: &mut scratch,
            };
            let read = shared.margins.unwrap_or(&margins);
            let (tree, nodes, backend) = grower.grow(group, parallel, rows, buffers, session.as_deref_mut(), read)?;
            {
                let _phase = profile::enter(Phase::Margins);
                add_leaves(
                    &tree,
                    &nodes,
                    backend.as_ref(),
                    &mut pending,
                    &mut margins,
                    self.k,
                    group,
                )?;
            }
            drop(backend);
            if let Some(s) = session.as_deref_mut() {
                s.after_tree(&nodes, &tree, group)?;
            }
            Ok(tree)
        })();
        self.group_pairs = group_pairs;
        self.scratch = scratch;
        self.pending_margins = pending;
        self.margins = margins;
        self.session = session;
        grown
    }

    /// Whether the trees of a round's outputs may grow two at a time, each on a thread of its own
    /// ([`Trainer::grow_output_pair`]): CPU histograms, one tree per output and round, several
    /// outputs, two threads or more, and nothing that reads one tree's margins while another grows
    /// (line searches), holds one device or one sketch for all trees, or is distributed.
    fn grows_outputs_in_pairs(&self) -> bool {
        self.k > 1
            && self.npt == 1
            && rayon::current_num_threads() > 1
            && matches!(self.split, SplitData::Hist(..))
            && self.session.is_none()
            && self.cluster.is_none()
            && self.dart.is_none()
            && !self.line_search
            && !self.group_pairs.is_empty()
            && self.pending_margins.is_active()
            && self.limits.at_most_leaves(usize::from(u8::MAX) + 1)
    }

    /// Grows the trees of outputs `first` and `first + 1` on `rows` at once, one per thread (each
    /// with its own pairs and scratch buffers), then adds their leaves to the margins in output
    /// order: the same trees, bit for bit, as one after the other.
    fn grow_output_pair(&mut self, shared: &RoundShared<'_>, first: usize, rows: &[u32]) -> Result<[Tree; 2]> {
        let (k, second) = (self.k, first + 1);
        let mut lane = std::mem::take(&mut self.second_lane);
        lane.group_pairs.resize(self.group_pairs.len(), GradPair::default());
        // The second tree's root histogram, when the round built the roots together.
        lane.scratch.roots.resize_with(k, || None);
        lane.scratch.roots[second] = self.scratch.roots.get_mut(second).and_then(Option::take);
        let mut group_pairs = std::mem::take(&mut self.group_pairs);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut pending = std::mem::take(&mut self.pending_margins);
        let grown = {
            let grower = self.tree_grower(shared);
            let read = shared.margins.unwrap_or(&self.margins);
            let first_buffers = TreeBuffers {
                group_pairs: &mut group_pairs,
                scratch: &mut scratch,
            };
            let second_buffers = TreeBuffers {
                group_pairs: &mut lane.group_pairs,
                scratch: &mut lane.scratch,
            };
            let mut outputs = pending.outputs_mut().skip(first);
            let (first_leaves, second_leaves) = (outputs.next(), outputs.next());
            // Each tree's leaves wait for the end of the round (grows_outputs_in_pairs made sure
            // they can).
            let grow = |group: usize, buffers: TreeBuffers<'_>, leaves: Option<OutputLeaves<'_>>| -> Result<Tree> {
                let (tree, nodes, backend) = grower.grow(group, 0, rows, buffers, None, read)?;
                let _phase = profile::enter(Phase::Margins);
                let kept = match leaves {
                    Some(mut leaves) => leaves.keep(backend.as_ref(), &leaf_values(&tree, &nodes))?,
                    None => false,
                };
                if !kept {
                    return Err(Error::data("a tree's leaves could not wait for the end of the round"));
                }
                Ok(tree)
            };
            let (a, b) = rayon::join(
                || grow(first, first_buffers, first_leaves),
                // The profile is charged by the first tree's thread: a split of the wall time.
                || profile::muted(|| grow(second, second_buffers, second_leaves)),
            );
            a.and_then(|a| Ok([a, b?]))
        };
        self.group_pairs = group_pairs;
        self.scratch = scratch;
        self.pending_margins = pending;
        self.second_lane = lane;
        grown
    }

    /// Grows one structure for every output on `rows` (`multi_strategy=multi_output_tree`) and
    /// returns its tree for each output, having added each output's leaf values to the margins
    /// of the rows it was grown on.
    fn grow_vector_trees(&mut self, round: usize, parallel: usize, rows: &[u32]) -> Result<Vec<Tree>> {
        let (params, train, k) = (self.params, self.train, self.k);
        let SplitData::Hist(mapper, matrix) = self.split else {
            return Err(Error::param(
                "multi_strategy",
                "multi_output_tree needs tree_method=hist",
            ));
        };
        let n = train.num_rows();
        let pairs: Vec<Vec<GradPair>> = (0..k)
            .map(|g| (0..n).map(|i| self.gpairs[i * k + g]).collect())
            .collect();
        let columns = tree_columns(params, train, &self.controls, round, 0, parallel);
        let mut backend = VectorBackend::new(matrix, mapper, &pairs, rows, self.sp);
        let nodes = grow_tree(&mut backend, &self.limits, &columns, &self.controls.for_tree(&self.sp))?;
        let mut trees = Vec::with_capacity(k);
        for (group, output_pairs) in pairs.iter().enumerate() {
            let tree = output_tree(&nodes, &backend, output_pairs, self.eta, &self.sp)?;
            let leaves: Vec<(usize, f64)> = (0..nodes.len())
                .filter(|&id| nodes[id].is_leaf())
                .map(|id| (id, tree.value[id] as f64))
                .collect();
            backend.add_to_rows(&leaves, &mut self.margins, k, group)?;
            trees.push(tree);
        }
        Ok(trees)
    }

    /// Adds a new tree of output `group` to the margins it has not reached yet: the training rows
    /// outside its sample `rows` (by walking the tree over their values) and every evaluation set.
    fn update_margins(&mut self, tree: &Tree, rows: &[u32], group: usize) {
        let _phase = profile::enter(Phase::Margins);
        let (train, k) = (self.train, self.k);
        let n = train.num_rows();
        if rows.len() != n {
            let mut in_sample = vec![false; n];
            for &r in rows {
                in_sample[r as usize] = true;
            }
            self.margins
                .par_chunks_mut(k)
                .enumerate()
                .filter(|(i, _)| !in_sample[*i])
                .for_each(|(i, m)| {
                    m[group] += tree.value[tree.leaf_by(|f| train.value(f, i))] as f64;
                });
        }
        for set in self.eval_sets.iter_mut().filter(|s| !s.is_train) {
            add_trees(std::slice::from_ref(tree), |_| group, set.data, k, &mut set.margins);
        }
    }

    /// Every metric on every evaluation set; with the value early stopping watches (the last set's
    /// first metric) and whether higher is better for it.
    fn evaluate(&self, round: usize, num_rounds: usize) -> Result<(RoundReport, Option<(f64, bool)>)> {
        let mut report = RoundReport {
            round,
            num_rounds,
            evals: Vec::new(),
        };
        let mut watched = None;
        for set in &self.eval_sets {
            let margins = if set.is_train { &self.margins } else { &set.margins };
            let mut scores = scores_of(self.objective, margins, self.k);
            let targets = match (&set.gathered, self.cluster) {
                (Some(all), Some(c)) => {
                    scores = c.gather_f32(&scores)?;
                    Targets::plain(&all.labels, all.weights.as_deref())
                }
                _ => set.data.targets(),
            };
            for (mi, m) in self.metrics.iter().enumerate() {
                let v = m.evaluate_for(&scores, self.k, &targets, &self.ctx)?;
                report.evals.push((set.name.to_string(), m.to_string(), v));
                if mi == 0 {
                    watched = Some((v, m.higher_is_better()));
                }
            }
        }
        Ok((report, watched))
    }
}

/// What growing one tree of a round reads: the trainer's state that no tree changes.
struct TreeGrower<'g, 'a> {
    params: &'g Params,
    objective: &'g dyn Objective,
    train: &'g Dataset,
    split: &'g SplitData,
    k: usize,
    eta: f64,
    sp: &'g SplitParams,
    limits: &'g GrowLimits,
    controls: &'g FeatureControls,
    line_search: bool,
    gpairs: &'g [GradPair],
    cluster: Option<&'g Cluster<'a>>,
    shared: RoundShared<'g>,
}

/// The buffers one tree grows in: its output's pairs and its backend's scratch.
struct TreeBuffers<'b> {
    group_pairs: &'b mut Vec<GradPair>,
    scratch: &'b mut BackendScratch,
}

/// The second tree's own buffers when a round's outputs grow two at a time.
#[derive(Default)]
struct SecondLane {
    group_pairs: Vec<GradPair>,
    scratch: BackendScratch,
}

impl<'g> TreeGrower<'g, '_> {
    /// Grows the tree of output `group` (parallel tree `parallel`) on `rows` in `buffers` and sets
    /// its leaf values (line searches read `margins`); returns it with its nodes and the backend
    /// that knows their rows.
    #[allow(clippy::type_complexity)]
    fn grow<'b>(
        &'b self,
        group: usize,
        parallel: usize,
        rows: &'b [u32],
        buffers: TreeBuffers<'b>,
        session: Option<&'b mut (dyn DeviceSession + '_)>,
        margins: &[f64],
    ) -> Result<(Tree, Vec<TrainNode>, Box<dyn TreeBackend + 'b>)> {
        let TreeGrower {
            params,
            objective,
            train,
            split,
            k,
            eta,
            sp,
            limits,
            controls,
            line_search,
            gpairs,
            cluster,
            shared,
        } = *self;
        let RoundShared {
            round,
            pairs_on_device,
            goss_scaled,
            ..
        } = shared;
        let TreeBuffers { group_pairs, scratch } = buffers;
        // The pairs the tree is fitted to: this output's pairs; for first-order boosting the
        // hessian is replaced by the sample weight (a least-squares fit to the negative gradient).
        let on_device = pairs_on_device && params.boosting == Boosting::Newton;
        let gradients = profile::enter(Phase::Gradients);
        let fit: &[GradPair] = if group_pairs.is_empty() || on_device {
            gpairs
        } else {
            if parallel == 0 {
                fill_fit_pairs(params, train, gpairs, k, group, goss_scaled, group_pairs);
            }
            group_pairs
        };
        let columns = tree_columns(params, train, controls, round, group, parallel);
        let inputs = TreeInputs {
            params,
            train,
            fit,
            rows,
            split: *sp,
            seed: position_seed(params.seed, &[round as u64, group as u64, parallel as u64]),
            group,
            pairs_on_device: on_device,
            cluster,
        };
        drop(gradients);
        let (backend, renew) = {
            let _phase = profile::enter(Phase::Quantization);
            split.tree_backend(&inputs, session, scratch)?
        };
        let mut backend = backend;
        let nodes = grow_tree(backend.as_mut(), limits, &columns, &controls.for_tree(sp))?;
        let _phase = profile::enter(Phase::LeafValues);
        let tree = finish_tree(
            &nodes,
            backend.as_ref(),
            &LeafContext {
                params,
                eta,
                split: sp,
                objective,
                train,
                margins,
                gpairs,
                group,
                num_groups: k,
                line_search,
                renew,
                cluster,
            },
        )?;
        Ok((tree, nodes, backend))
    }
}

/// The column sampler of the tree of output `group` (parallel tree `parallel`) in round `round`.
fn tree_columns(
    params: &Params,
    train: &Dataset,
    controls: &FeatureControls,
    round: usize,
    group: usize,
    parallel: usize,
) -> ColumnSampler {
    ColumnSampler::for_tree(
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
        controls.weights.as_deref(),
    )
}

/// The `(node, value)` of every leaf of a grown tree.
fn leaf_values(tree: &Tree, nodes: &[TrainNode]) -> Vec<(usize, f64)> {
    (0..nodes.len())
        .filter(|&id| nodes[id].is_leaf())
        .map(|id| (id, tree.value[id] as f64))
        .collect()
}

/// Adds a tree of output `group` to the margins of the rows it was grown on (through its leaves'
/// rows, which `backend` knows): kept for the end of the round where `pending` takes it, else
/// added to `margins` (rows x `k`) now.
fn add_leaves(
    tree: &Tree,
    nodes: &[TrainNode],
    backend: &dyn TreeBackend,
    pending: &mut RoundMargins,
    margins: &mut [f64],
    k: usize,
    group: usize,
) -> Result<()> {
    let leaves = leaf_values(tree, nodes);
    if !pending.keep(group, backend, &leaves)? {
        backend.add_to_rows(&leaves, margins, k, group)?;
    }
    Ok(())
}

/// The pairs output `group`'s tree is fitted to, from the round's pairs of every output
/// (`gpairs`, rows x `k`): the output's pairs, with the sample weights as hessians for first-order
/// boosting (a least-squares fit to the negative gradient).
fn fill_fit_pairs(
    params: &Params,
    train: &Dataset,
    gpairs: &[GradPair],
    k: usize,
    group: usize,
    goss_scaled: Option<&Scaled>,
    out: &mut [GradPair],
) {
    out.par_iter_mut().enumerate().for_each(|(i, gp)| {
        let g = gpairs[i * k + group];
        *gp = match params.boosting {
            Boosting::Newton => g,
            Boosting::Gradient => GradPair::new(g.grad, train.weight(i)),
        };
    });
    // GOSS scaled the drawn rows' pairs; the weights standing in for their hessians are scaled
    // alike.
    if let (Boosting::Gradient, Some(s)) = (params.boosting, goss_scaled) {
        s.scale_weights(out);
    }
}

/// Refuses the CUDA backend for categorical features: its kernels scan thresholds only (the model
/// then trained on the CPU predicts on the GPU too).
fn check_categorical_method(params: &Params, train: &Dataset) -> Result<()> {
    if !params.device.is_cuda() {
        return Ok(());
    }
    let first = (0..train.num_features())
        .find(|&j| train.feature_type(j).is_categorical())
        .map(|j| train.feature_name(j))
        .unwrap_or_default();
    Err(Error::param(
        "device",
        format!(
            "device={} does not grow category-set splits yet (`{first}` is categorical); train on the cpu \
             (the model then predicts on the GPU too)",
            params.device
        ),
    ))
}
