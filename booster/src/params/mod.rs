//! Training parameters: one serde struct with XGBoost's names and defaults, validated in one place.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::metric::Metric;

mod alphas;
mod apply;
mod per_feature;
mod validate;

pub use alphas::Alphas;

pub(crate) use per_feature::{feature_index, resolve_groups};
pub use per_feature::{FeatureValue, PerFeature};

/// The learning objective, spelled as in XGBoost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ObjectiveKind {
    /// Squared error (L2) regression.
    #[default]
    #[serde(rename = "reg:squarederror")]
    SquaredError,
    /// Absolute error (L1) regression; leaves are refreshed to the median of the residuals.
    #[serde(rename = "reg:absoluteerror")]
    AbsoluteError,
    /// Pseudo-Huber regression with slope `huber_slope`.
    #[serde(rename = "reg:pseudohubererror")]
    PseudoHuberError,
    /// Quantile (pinball) regression at `quantile_alpha`; leaves are refreshed to that quantile.
    /// A list of levels gives one output per level, sorted so that they never cross.
    #[serde(rename = "reg:quantileerror")]
    QuantileError,
    /// Expectile (asymmetric squared) regression at `expectile_alpha`: squared error weighted by
    /// `alpha` above the prediction and `1 - alpha` below (at 0.5 it is `reg:squarederror`). A
    /// list of levels gives one output per level, sorted so that they never cross.
    #[serde(rename = "reg:expectileerror")]
    ExpectileError,
    /// Squared error on `log1p` of prediction and label.
    #[serde(rename = "reg:squaredlogerror")]
    SquaredLogError,
    /// Poisson regression for counts (log link).
    #[serde(rename = "count:poisson")]
    Poisson,
    /// Gamma regression (log link).
    #[serde(rename = "reg:gamma")]
    Gamma,
    /// Tweedie regression (log link) with power `tweedie_variance_power`.
    #[serde(rename = "reg:tweedie")]
    Tweedie,
    /// Logistic regression for binary labels in [0, 1]; predicts probabilities.
    #[serde(rename = "binary:logistic")]
    BinaryLogistic,
    /// Logistic regression; predicts raw margins.
    #[serde(rename = "binary:logitraw")]
    BinaryLogitRaw,
    /// Multiclass softmax; predicts the class index.
    #[serde(rename = "multi:softmax")]
    MultiSoftmax,
    /// Multiclass softmax; predicts one probability per class.
    #[serde(rename = "multi:softprob")]
    MultiSoftprob,
    /// Learning to rank with RankNet's pairwise loss (LambdaMART without a metric weight) over
    /// query groups.
    #[serde(rename = "rank:pairwise")]
    RankPairwise,
    /// LambdaMART weighted by the change in NDCG, over query groups.
    #[serde(rename = "rank:ndcg")]
    RankNdcg,
    /// LambdaMART weighted by the change in MAP (binary relevance), over query groups.
    #[serde(rename = "rank:map")]
    RankMap,
    /// Cox proportional hazards for right-censored survival times (a negative label is a time
    /// censored at its absolute value); predicts hazard ratios `exp(margin)`.
    #[serde(rename = "survival:cox")]
    SurvivalCox,
    /// Accelerated failure time on interval-censored times (label bounds), noise distribution
    /// `aft_loss_distribution` with scale `aft_loss_distribution_scale`; predicts times.
    #[serde(rename = "survival:aft")]
    SurvivalAft,
}

impl ObjectiveKind {
    /// The XGBoost name of the objective (e.g. `binary:logistic`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectiveKind::SquaredError => "reg:squarederror",
            ObjectiveKind::AbsoluteError => "reg:absoluteerror",
            ObjectiveKind::PseudoHuberError => "reg:pseudohubererror",
            ObjectiveKind::QuantileError => "reg:quantileerror",
            ObjectiveKind::ExpectileError => "reg:expectileerror",
            ObjectiveKind::SquaredLogError => "reg:squaredlogerror",
            ObjectiveKind::Poisson => "count:poisson",
            ObjectiveKind::Gamma => "reg:gamma",
            ObjectiveKind::Tweedie => "reg:tweedie",
            ObjectiveKind::BinaryLogistic => "binary:logistic",
            ObjectiveKind::BinaryLogitRaw => "binary:logitraw",
            ObjectiveKind::MultiSoftmax => "multi:softmax",
            ObjectiveKind::MultiSoftprob => "multi:softprob",
            ObjectiveKind::RankPairwise => "rank:pairwise",
            ObjectiveKind::RankNdcg => "rank:ndcg",
            ObjectiveKind::RankMap => "rank:map",
            ObjectiveKind::SurvivalCox => "survival:cox",
            ObjectiveKind::SurvivalAft => "survival:aft",
        }
    }

    /// Every objective, for listing what is allowed.
    pub const ALL: [ObjectiveKind; 18] = [
        ObjectiveKind::SquaredError,
        ObjectiveKind::AbsoluteError,
        ObjectiveKind::PseudoHuberError,
        ObjectiveKind::QuantileError,
        ObjectiveKind::ExpectileError,
        ObjectiveKind::SquaredLogError,
        ObjectiveKind::Poisson,
        ObjectiveKind::Gamma,
        ObjectiveKind::Tweedie,
        ObjectiveKind::BinaryLogistic,
        ObjectiveKind::BinaryLogitRaw,
        ObjectiveKind::MultiSoftmax,
        ObjectiveKind::MultiSoftprob,
        ObjectiveKind::RankPairwise,
        ObjectiveKind::RankNdcg,
        ObjectiveKind::RankMap,
        ObjectiveKind::SurvivalCox,
        ObjectiveKind::SurvivalAft,
    ];

    /// Looks an objective up by its XGBoost name.
    pub fn from_name(name: &str) -> Option<ObjectiveKind> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether the objective ranks documents within query groups (`rank:*`).
    pub fn is_ranking(self) -> bool {
        matches!(
            self,
            ObjectiveKind::RankPairwise | ObjectiveKind::RankNdcg | ObjectiveKind::RankMap
        )
    }

    /// Whether the objective is multiclass (needs `num_class`).
    pub fn is_multiclass(self) -> bool {
        matches!(self, ObjectiveKind::MultiSoftmax | ObjectiveKind::MultiSoftprob)
    }

    /// Whether the objective fits one level per output (`quantile_alpha` / `expectile_alpha`).
    pub fn is_leveled(self) -> bool {
        matches!(self, ObjectiveKind::QuantileError | ObjectiveKind::ExpectileError)
    }

    /// Whether the loss treats each output of a row on its own, so that several label columns
    /// (multi-output regression, multi-label classification) each get their own outputs.
    pub fn is_elementwise(self) -> bool {
        use ObjectiveKind::*;
        matches!(
            self,
            SquaredError
                | AbsoluteError
                | PseudoHuberError
                | QuantileError
                | ExpectileError
                | SquaredLogError
                | Poisson
                | Gamma
                | Tweedie
                | BinaryLogistic
                | BinaryLogitRaw
        )
    }
}

/// The noise distribution of `survival:aft` (XGBoost's `aft_loss_distribution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AftDistribution {
    /// Standard normal noise (log-normal times), the default.
    #[default]
    Normal,
    /// Standard logistic noise (log-logistic times).
    Logistic,
    /// Standard Gumbel (minimum) noise (Weibull times).
    Extreme,
}

impl AftDistribution {
    /// XGBoost's name of the distribution.
    pub fn name(self) -> &'static str {
        match self {
            AftDistribution::Normal => "normal",
            AftDistribution::Logistic => "logistic",
            AftDistribution::Extreme => "extreme",
        }
    }
}

/// How each tree is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Boosting {
    /// XGBoost-style second-order boosting: splits and leaf weights from gradients and hessians,
    /// leaf weight `-G / (H + lambda)`.
    #[default]
    Newton,
    /// Classic first-order GBDT (Friedman): trees are fitted to the negative gradient by least squares,
    /// and each leaf's value comes from the loss's own line search (mean for squared error, median for
    /// absolute error, the quantile for the quantile loss, one Newton step otherwise).
    Gradient,
}

/// How split candidates are found. All methods share objectives, regularisation, growth, sampling,
/// early stopping and prediction; only split finding differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TreeMethod {
    /// Histograms over quantized features, cut once before training (the default). `auto` is
    /// accepted as a synonym.
    #[default]
    #[serde(alias = "auto")]
    Hist,
    /// Exact greedy: every distinct value of every feature is a candidate threshold, found by
    /// scanning pre-sorted column blocks.
    Exact,
    /// Approximate: histograms over candidate cuts re-sketched for every tree from a
    /// hessian-weighted quantile sketch of the pre-sorted blocks.
    Approx,
}

/// The order in which tree nodes are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GrowPolicy {
    /// Level by level, down to `max_depth` (XGBoost's default).
    #[default]
    Depthwise,
    /// Best-first: always split the leaf with the largest gain, up to `max_leaves` (LightGBM's way).
    Lossguide,
}

/// The booster: plain gradient-boosted trees, or trees with dropout (XGBoost's `booster`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BoosterKind {
    /// Gradient-boosted trees (the default).
    #[default]
    Gbtree,
    /// DART: every round drops a random subset of the earlier trees while fitting the new one,
    /// then rescales the dropped trees and the new one (tree weights are kept in the model).
    Dart,
}

/// How DART picks the trees to drop (XGBoost's `sample_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DartSampleType {
    /// Every tree is dropped with probability `rate_drop` (the default).
    #[default]
    Uniform,
    /// Trees are dropped in proportion to their weights.
    Weighted,
}

/// How DART rescales the new tree and the dropped ones (XGBoost's `normalize_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DartNormalizeType {
    /// The new tree weighs as much as each dropped tree: the new tree gets `1 / (k + eta)` and the
    /// dropped trees are scaled by `k / (k + eta)` (`k` dropped trees; the default).
    #[default]
    Tree,
    /// The new tree weighs as much as the dropped trees together: the new tree gets
    /// `1 / (1 + eta)` and the dropped trees are scaled by `1 / (1 + eta)`.
    Forest,
}

/// How the rows of a round are sampled (LightGBM's `data_sample_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SampleStrategy {
    /// Uniform row sampling with `subsample` (the default).
    #[default]
    Bagging,
    /// Gradient-based one-side sampling: keep the `top_rate` share of rows with the largest
    /// `|gradient x hessian|`, sample `other_rate` of all rows from the rest and scale their
    /// gradient pairs up by `(1 - top_rate) / other_rate`.
    Goss,
}

/// All training parameters, with XGBoost's names and defaults.
///
/// Deserialises from any serde map of those names (TOML, JSON); unknown names are an error.
/// Call [`Params::validate`] (training does) to check ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Learning objective. Default `reg:squarederror`.
    pub objective: ObjectiveKind,
    /// Second-order (`newton`, default) or first-order (`gradient`) boosting.
    pub boosting: Boosting,
    /// Split-finding method. Default `hist`.
    pub tree_method: TreeMethod,
    /// Node expansion order. Default `depthwise`.
    pub grow_policy: GrowPolicy,
    /// Number of boosting rounds. Default 10, at least 1. Alias `n_estimators`.
    #[serde(alias = "n_estimators", alias = "num_boost_round")]
    pub num_round: usize,
    /// Shrinkage applied to every leaf. Default 0.3, range (0, 1]. Alias `learning_rate`.
    #[serde(alias = "learning_rate")]
    pub eta: f64,
    /// Maximum tree depth. Default 6; 0 means unlimited (only with `lossguide`).
    pub max_depth: usize,
    /// Maximum number of leaves per tree. Default 0 (unlimited); used by `lossguide`.
    pub max_leaves: usize,
    /// Minimum sum of hessians in a child. Default 1, at least 0.
    pub min_child_weight: f64,
    /// L2 regularisation on leaf weights. Default 1, at least 0. Alias `reg_lambda`.
    #[serde(alias = "reg_lambda")]
    pub lambda: f64,
    /// L1 regularisation on leaf weights. Default 0, at least 0. Alias `reg_alpha`.
    #[serde(alias = "reg_alpha")]
    pub alpha: f64,
    /// Minimum loss reduction to keep a split. Default 0, at least 0. Alias `min_split_loss`.
    #[serde(alias = "min_split_loss")]
    pub gamma: f64,
    /// Maximum absolute leaf weight before shrinkage; 0 means no limit. Default (unset): 0.7 for
    /// `count:poisson`, where XGBoost also adds it to the hessian's exponent, else 0; see
    /// [`Params::effective_max_delta_step`].
    pub max_delta_step: Option<f64>,
    /// Weight of positive examples in binary classification. Default 1, greater than 0.
    pub scale_pos_weight: f64,
    /// Fraction of rows sampled for each tree. Default 1, range (0, 1].
    pub subsample: f64,
    /// Trees grown per output in every round (XGBoost's boosted random forest). Default 1, at least 1.
    /// Each of a round's parallel trees is fitted to the same gradients with its own row sample and
    /// column samples, and its leaves are scaled by `eta / num_parallel_tree`, so a round adds the
    /// average of its trees. With `subsample` < 1, `colsample_bynode` < 1, `eta` = 1 and one round
    /// this is a random forest.
    pub num_parallel_tree: usize,
    /// Fraction of features sampled for each tree. Default 1, range (0, 1].
    pub colsample_bytree: f64,
    /// Fraction of the tree's features sampled for each depth level. Default 1, range (0, 1].
    pub colsample_bylevel: f64,
    /// Fraction of the level's features sampled for each node. Default 1, range (0, 1].
    pub colsample_bynode: f64,
    /// Random seed for sampling. Default 0.
    #[serde(alias = "random_state")]
    pub seed: u64,
    /// Maximum number of value bins per feature (the missing bin comes on top). Default 256, range 2..=65535.
    pub max_bin: usize,
    /// Approximation factor of the `approx` sketch: about `1 / sketch_eps` bins per feature. When not
    /// given, `approx` uses `max_bin`. Range (0, 1).
    pub sketch_eps: Option<f64>,
    /// Histogram methods (`hist`, `approx`) sum gradients quantized to integers (LightGBM's
    /// `use_quantized_grad`): each row's gradient and hessian are scaled to as many levels as the
    /// row count allows (2,147 gradient levels for 1M rows; LightGBM uses 4) with unbiased
    /// stochastic rounding and packed into 8 bytes, which halves histogram memory and speeds up
    /// histogram building; split gains come from the quantized sums, leaf values from the exact
    /// gradients. Default true; false sums f32 gradients in f64 (XGBoost's way).
    pub use_quantized_grad: bool,
    /// Initial prediction in output space (e.g. a probability). Default: computed from the labels.
    pub base_score: Option<f64>,
    /// Number of classes for `multi:*` objectives.
    pub num_class: usize,
    /// Slope of the pseudo-Huber loss. Default 1, greater than 0.
    pub huber_slope: f64,
    /// Quantile for `reg:quantileerror` and the `quantile` metric. Default 0.5, range (0, 1).
    /// A list (`[0.1, 0.5, 0.9]`, or `"0.1,0.5,0.9"`) fits one output per quantile in one model;
    /// its predictions are sorted per row so that they never cross.
    pub quantile_alpha: Alphas,
    /// Expectile for `reg:expectileerror` and the `expectile` metric. Default 0.5, range (0, 1);
    /// a list gives one output per expectile, as for `quantile_alpha`.
    #[serde(skip_serializing_if = "is_default_alpha")]
    pub expectile_alpha: Alphas,
    /// Number of label columns (targets): multi-output regression or multi-label classification
    /// with an element-wise objective. Default 1; training sets it from the data's label columns.
    #[serde(skip_serializing_if = "is_single_target")]
    pub num_target: usize,
    /// How a model with several targets grows its trees (XGBoost's `multi_strategy`):
    /// `one_output_per_tree` (default: one tree per target per round) or `multi_output_tree` (one
    /// tree per round whose leaves hold a value per target, its splits chosen by the summed gain
    /// of all targets).
    #[serde(skip_serializing_if = "is_default")]
    pub multi_strategy: MultiStrategy,
    /// Variance power of `reg:tweedie`. Default 1.5, range [1, 2).
    pub tweedie_variance_power: f64,
    /// Evaluation metrics (a name or a list of names). Default: the objective's own metric.
    #[serde(deserialize_with = "one_or_many")]
    pub eval_metric: Vec<Metric>,
    /// Stop when the last evaluation set's first metric has not improved for this many rounds.
    pub early_stopping_rounds: Option<usize>,
    /// Number of threads; 0 (default) uses all cores. Alias `n_jobs`.
    #[serde(alias = "n_jobs")]
    pub nthread: usize,
    /// Distributed training: seconds a rank waits for the others in one collective operation
    /// before it fails the whole run with an error (instead of hanging on a dead or stalled
    /// rank). Default 600, range (0, 86400]. Not stored in models.
    #[serde(skip_serializing)]
    pub collective_timeout: f64,
    /// Features to treat as categorical, by name or by index (LightGBM's `categorical_feature`,
    /// alias `categorical_feature`): a list, or one string of comma-separated entries (`"city,3"`).
    /// An entry is a feature name when the data has a feature of that name, else a 0-based index.
    /// String and dictionary columns of files are categorical without being listed. Their values
    /// must be category codes (integers `0, 1, ...`; `NaN` missing).
    #[serde(
        alias = "categorical_feature",
        deserialize_with = "names_or_indices",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub categorical_features: Vec<String>,
    /// Categorical features with fewer categories than this are split one category against the
    /// rest; others by a set of categories (XGBoost's name and default, 4).
    #[serde(skip_serializing_if = "is_default_max_cat_to_onehot")]
    pub max_cat_to_onehot: usize,
    /// The most categories a category-set split sends to one side (XGBoost's name and default,
    /// 64; LightGBM's default is 32). At least 1.
    #[serde(skip_serializing_if = "is_default_max_cat_threshold")]
    pub max_cat_threshold: usize,
    /// Smoothing of the category order `G / (H + cat_smooth)`; categories with fewer rows than
    /// this take no part in a set (they go right). At least 0. Default 1: the order by leaf
    /// weight at the default `lambda`, as in XGBoost (LightGBM's name; its default is 10).
    #[serde(skip_serializing_if = "is_default_cat_smooth")]
    pub cat_smooth: f64,
    /// L2 penalty added to `lambda` in the gains of category-set splits; at least 0. Default 0,
    /// as in XGBoost (LightGBM's name; its default is 10).
    #[serde(skip_serializing_if = "is_default_cat_l2")]
    pub cat_l2: f64,
    /// The least rows a category set gains between two candidate splits, and the least rows
    /// left on the other side. Default 0, as in XGBoost (LightGBM's name; its default is 100).
    #[serde(skip_serializing_if = "is_default_min_data_per_group")]
    pub min_data_per_group: usize,
    /// Where trees are grown: `cpu` (default), `cuda` (GPU 0; alias `gpu`) or `cuda:N` (GPU N). `cuda` needs the
    /// CUDA backend of `sylvan-gpu` (the `sylvan` facade and CLI provide it) and `tree_method=hist`.
    pub device: Device,
    /// Monotone constraint per feature: `1` (prediction never falls as the feature rises), `-1`
    /// (never rises), `0` (none, the default). Given as XGBoost takes it: `"(1,0,-1)"`, a list by
    /// feature position, or a map by feature name (`{"debt": 1}`; unlisted features are
    /// unconstrained). A split whose children break a constraint is rejected and leaf values are
    /// bounded by the bounds their ancestors pass down, so the whole model is monotone. With several
    /// outputs (multiclass) every output's margin is monotone. Numerical features only.
    #[serde(skip_serializing_if = "PerFeature::is_unset")]
    pub monotone_constraints: PerFeature<i8>,
    /// Groups of features allowed to interact (XGBoost's `interaction_constraints`), as a list of
    /// lists of feature names or 0-based indices (`"[[0, 1], [2, 3]]"`, `[["age", "income"]]`):
    /// the root may split on every feature, and a node below it on the features already used on
    /// its path plus every feature of each group that holds all of them (intersected with the
    /// column sample; a node left with none is not split). So the features of every root-to-leaf
    /// path lie in one group, and a feature in several groups may be used with any of them; a
    /// feature in no group may be chosen only at the root, and below a split on it only that same
    /// feature may be split on again (as in XGBoost). Empty (the default): no constraint.
    #[serde(
        deserialize_with = "per_feature::feature_groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub interaction_constraints: Vec<Vec<String>>,
    /// Weight of each feature in column sampling (XGBoost's `feature_weights`), by position or by
    /// name (unlisted features weigh 1): `colsample_by*` draw features with probability in
    /// proportion to their weights. A feature of weight 0 is never used. Default: none (uniform).
    #[serde(skip_serializing_if = "PerFeature::is_unset")]
    pub feature_weights: PerFeature<f64>,
    /// `gbtree` (default) or `dart` (XGBoost's `booster`).
    #[serde(skip_serializing_if = "is_default")]
    pub booster: BoosterKind,
    /// DART: probability of dropping each earlier tree in a round. Default 0, range [0, 1].
    #[serde(skip_serializing_if = "is_default")]
    pub rate_drop: f64,
    /// DART: probability of dropping no tree in a round. Default 0, range [0, 1].
    #[serde(skip_serializing_if = "is_default")]
    pub skip_drop: f64,
    /// DART: drop at least one tree in every round that is not skipped. Default false; `1`/`0`
    /// are accepted as XGBoost users write them.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "bool_or_digit")]
    pub one_drop: bool,
    /// DART: `uniform` (default) or `weighted` choice of the dropped trees.
    #[serde(skip_serializing_if = "is_default")]
    pub sample_type: DartSampleType,
    /// DART: `tree` (default) or `forest` weighting of the new tree.
    #[serde(skip_serializing_if = "is_default")]
    pub normalize_type: DartNormalizeType,
    /// `bagging` (default: uniform rows with `subsample`) or `goss` (LightGBM's
    /// `data_sample_strategy`).
    #[serde(skip_serializing_if = "is_default")]
    pub data_sample_strategy: SampleStrategy,
    /// GOSS: share of rows with the largest gradients kept in every round. Default 0.2, range
    /// [0, 1]; `top_rate + other_rate` at most 1.
    #[serde(skip_serializing_if = "is_default_top_rate")]
    pub top_rate: f64,
    /// GOSS: share of all rows sampled from the rest. Default 0.1, range (0, 1].
    #[serde(skip_serializing_if = "is_default_other_rate")]
    pub other_rate: f64,
    /// Ranking (`rank:*`): how pairs of documents are chosen (XGBoost's
    /// `lambdarank_pair_method`): `topk` (default: every document in the top
    /// `lambdarank_num_pair_per_sample` by prediction against every document below it) or `mean`
    /// (each document against `lambdarank_num_pair_per_sample` documents of other relevance drawn
    /// at random, seeded).
    #[serde(skip_serializing_if = "is_default")]
    pub lambdarank_pair_method: LambdarankPairMethod,
    /// Ranking: the truncation level of `topk` (default 32) or the pairs drawn per document of
    /// `mean` (default 1). At least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambdarank_num_pair_per_sample: Option<usize>,
    /// Ranking: normalise each query's gradients (`topk`: by `log2(1 + S) / S` with `S` the sum of
    /// the pair lambdas; `mean`: by the pairs per document). Default true.
    #[serde(skip_serializing_if = "is_true", deserialize_with = "bool_or_digit")]
    pub lambdarank_normalization: bool,
    /// Ranking: divide each pair's metric change by the difference of the two predictions
    /// (`+ 0.01`), as XGBoost 3 does. Default true.
    #[serde(skip_serializing_if = "is_true", deserialize_with = "bool_or_digit")]
    pub lambdarank_score_normalization: bool,
    /// Ranking: position-debiased LambdaMART (XGBoost's `lambdarank_unbiased`): each row's place
    /// in its query's input order is the position it was shown at, and the objective estimates
    /// how much each position biases the clicks (labels), dividing each pair's gradient by it.
    /// Default false.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "bool_or_digit")]
    pub lambdarank_unbiased: bool,
    /// Ranking: the `Lp` regularisation of the position-bias estimate of `lambdarank_unbiased`.
    /// Default 1, at least 0.
    #[serde(skip_serializing_if = "is_default_bias_norm")]
    pub lambdarank_bias_norm: f64,
    /// `rank:ndcg` and the `ndcg` metric: gain `2^label - 1` (true, the default; integer labels up
    /// to 31) or `label` (false).
    #[serde(skip_serializing_if = "is_true", deserialize_with = "bool_or_digit")]
    pub ndcg_exp_gain: bool,
    /// `rank:ndcg` and the `ndcg` metric: the gain of each relevance label (LightGBM's
    /// `label_gain`: a list, or one comma-separated string); when given, label `l` gains
    /// `label_gain[l]` instead of `2^l - 1`. Default: empty (exponential gain).
    #[serde(deserialize_with = "gain_list", skip_serializing_if = "Vec::is_empty")]
    pub label_gain: Vec<f64>,
    /// Noise distribution of `survival:aft`: `normal` (default), `logistic` or `extreme`.
    #[serde(skip_serializing_if = "is_default")]
    pub aft_loss_distribution: AftDistribution,
    /// Scale of the `survival:aft` noise distribution (default 1; must be > 0).
    #[serde(skip_serializing_if = "is_default_aft_scale")]
    pub aft_loss_distribution_scale: f64,
}

/// The device that grows trees (XGBoost's `device` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Device {
    /// The CPU (the default).
    #[default]
    Cpu,
    /// An NVIDIA GPU through CUDA, by ordinal (`cuda` = `cuda:0`).
    Cuda(usize),
}

impl Device {
    /// Whether this is a CUDA device.
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl std::str::FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Device> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || {
            Error::param(
                "device",
                format!("`device` must be `cpu`, `cuda` or `cuda:N` (N a GPU ordinal), got `{s}`"),
            )
        };
        match t.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => {
                let n = t
                    .strip_prefix("cuda:")
                    .or_else(|| t.strip_prefix("gpu:"))
                    .ok_or_else(bad)?;
                n.parse().map(Device::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl TryFrom<String> for Device {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Device, String> {
        s.parse().map_err(|e: Error| match e {
            Error::InvalidParameter { reason, .. } => reason,
            other => other.to_string(),
        })
    }
}

impl From<Device> for String {
    fn from(d: Device) -> String {
        d.to_string()
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(0) => f.write_str("cuda"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            objective: ObjectiveKind::SquaredError,
            boosting: Boosting::Newton,
            tree_method: TreeMethod::Hist,
            grow_policy: GrowPolicy::Depthwise,
            num_round: 10,
            eta: 0.3,
            max_depth: 6,
            max_leaves: 0,
            min_child_weight: 1.0,
            lambda: 1.0,
            alpha: 0.0,
            gamma: 0.0,
            max_delta_step: None,
            scale_pos_weight: 1.0,
            subsample: 1.0,
            num_parallel_tree: 1,
            colsample_bytree: 1.0,
            colsample_bylevel: 1.0,
            colsample_bynode: 1.0,
            seed: 0,
            max_bin: 256,
            sketch_eps: None,
            use_quantized_grad: true,
            base_score: None,
            num_class: 0,
            huber_slope: 1.0,
            quantile_alpha: Alphas::default(),
            expectile_alpha: Alphas::default(),
            num_target: 1,
            multi_strategy: MultiStrategy::OneOutputPerTree,
            tweedie_variance_power: 1.5,
            eval_metric: Vec::new(),
            early_stopping_rounds: None,
            nthread: 0,
            collective_timeout: DEFAULT_COLLECTIVE_TIMEOUT,
            device: Device::Cpu,
            categorical_features: Vec::new(),
            max_cat_to_onehot: DEFAULT_MAX_CAT_TO_ONEHOT,
            max_cat_threshold: DEFAULT_MAX_CAT_THRESHOLD,
            cat_smooth: DEFAULT_CAT_SMOOTH,
            cat_l2: DEFAULT_CAT_L2,
            min_data_per_group: DEFAULT_MIN_DATA_PER_GROUP,
            monotone_constraints: PerFeature::Unset,
            interaction_constraints: Vec::new(),
            feature_weights: PerFeature::Unset,
            booster: BoosterKind::Gbtree,
            rate_drop: 0.0,
            skip_drop: 0.0,
            one_drop: false,
            sample_type: DartSampleType::Uniform,
            normalize_type: DartNormalizeType::Tree,
            data_sample_strategy: SampleStrategy::Bagging,
            top_rate: DEFAULT_TOP_RATE,
            other_rate: DEFAULT_OTHER_RATE,
            lambdarank_pair_method: LambdarankPairMethod::Topk,
            lambdarank_num_pair_per_sample: None,
            lambdarank_normalization: true,
            lambdarank_score_normalization: true,
            lambdarank_unbiased: false,
            lambdarank_bias_norm: 1.0,
            ndcg_exp_gain: true,
            label_gain: Vec::new(),
            aft_loss_distribution: AftDistribution::Normal,
            aft_loss_distribution_scale: DEFAULT_AFT_SCALE,
        }
    }
}

const DEFAULT_COLLECTIVE_TIMEOUT: f64 = 600.0;
const DEFAULT_MAX_CAT_TO_ONEHOT: usize = 4;
const DEFAULT_MAX_CAT_THRESHOLD: usize = 64;
const DEFAULT_CAT_SMOOTH: f64 = 1.0;
const DEFAULT_CAT_L2: f64 = 0.0;
const DEFAULT_MIN_DATA_PER_GROUP: usize = 0;
const DEFAULT_TOP_RATE: f64 = 0.2;
const DEFAULT_OTHER_RATE: f64 = 0.1;
const DEFAULT_AFT_SCALE: f64 = 1.0;

// The settings of constraints, DART and GOSS are left out of a serialised model when at their
// defaults too.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
fn is_default_top_rate(v: &f64) -> bool {
    *v == DEFAULT_TOP_RATE
}
fn is_default_other_rate(v: &f64) -> bool {
    *v == DEFAULT_OTHER_RATE
}
fn is_true(v: &bool) -> bool {
    *v
}
fn is_default_alpha(v: &Alphas) -> bool {
    *v == Alphas::default()
}
fn is_single_target(v: &usize) -> bool {
    *v <= 1
}
fn is_default_bias_norm(v: &f64) -> bool {
    *v == 1.0
}

/// Accepts a list of numbers, or one string of comma-separated numbers (`"0,1,3,7"`).
fn gain_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<f64>),
        Text(String),
    }
    match ListOrText::deserialize(d)? {
        ListOrText::List(v) => Ok(v),
        ListOrText::Text(t) => t
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                e.trim()
                    .parse::<f64>()
                    .map_err(|_| serde::de::Error::custom(format!("`{e}` is not a number")))
            })
            .collect(),
    }
}

/// How a model with several outputs grows its trees (XGBoost's `multi_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MultiStrategy {
    /// One tree per output per round (the default).
    #[default]
    OneOutputPerTree,
    /// One tree per round with a value per output in each leaf; splits maximise the gain summed
    /// over the outputs.
    MultiOutputTree,
}

/// How ranking objectives choose pairs of documents (XGBoost's `lambdarank_pair_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LambdarankPairMethod {
    /// Every document among the top `lambdarank_num_pair_per_sample` by prediction, paired with
    /// every document ranked below it.
    #[default]
    Topk,
    /// Each document paired with `lambdarank_num_pair_per_sample` documents of other relevance
    /// drawn at random.
    Mean,
}
fn is_default_aft_scale(v: &f64) -> bool {
    *v == DEFAULT_AFT_SCALE
}

// The categorical settings are left out of a serialised model when at their defaults, so that a
// model without categorical features is written exactly as before they existed.
fn is_default_max_cat_to_onehot(v: &usize) -> bool {
    *v == DEFAULT_MAX_CAT_TO_ONEHOT
}
fn is_default_max_cat_threshold(v: &usize) -> bool {
    *v == DEFAULT_MAX_CAT_THRESHOLD
}
fn is_default_cat_smooth(v: &f64) -> bool {
    *v == DEFAULT_CAT_SMOOTH
}
fn is_default_cat_l2(v: &f64) -> bool {
    *v == DEFAULT_CAT_L2
}
fn is_default_min_data_per_group(v: &usize) -> bool {
    *v == DEFAULT_MIN_DATA_PER_GROUP
}

impl Params {
    /// Every parameter as a JSON map, including those a serialised model leaves out at their
    /// defaults (so that setting one by name finds it).
    pub(crate) fn to_full_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let mut put = |k: &str, v: serde_json::Value| {
            map.entry(k.to_string()).or_insert(v);
        };
        put("collective_timeout", serde_json::json!(self.collective_timeout));
        put("categorical_features", serde_json::json!(self.categorical_features));
        put("max_cat_to_onehot", serde_json::json!(self.max_cat_to_onehot));
        put("max_cat_threshold", serde_json::json!(self.max_cat_threshold));
        put("cat_smooth", serde_json::json!(self.cat_smooth));
        put("cat_l2", serde_json::json!(self.cat_l2));
        put("min_data_per_group", serde_json::json!(self.min_data_per_group));
        put("monotone_constraints", serde_json::json!(self.monotone_constraints));
        put(
            "interaction_constraints",
            serde_json::json!(self.interaction_constraints),
        );
        put("feature_weights", serde_json::json!(self.feature_weights));
        put("expectile_alpha", serde_json::json!(self.expectile_alpha));
        put("num_target", serde_json::json!(self.num_target));
        put("multi_strategy", serde_json::json!(self.multi_strategy));
        put("booster", serde_json::json!(self.booster));
        put("rate_drop", serde_json::json!(self.rate_drop));
        put("skip_drop", serde_json::json!(self.skip_drop));
        put("one_drop", serde_json::json!(self.one_drop));
        put("sample_type", serde_json::json!(self.sample_type));
        put("normalize_type", serde_json::json!(self.normalize_type));
        put("data_sample_strategy", serde_json::json!(self.data_sample_strategy));
        put("top_rate", serde_json::json!(self.top_rate));
        put("other_rate", serde_json::json!(self.other_rate));
        put("lambdarank_pair_method", serde_json::json!(self.lambdarank_pair_method));
        put(
            "lambdarank_num_pair_per_sample",
            serde_json::json!(self.lambdarank_num_pair_per_sample),
        );
        put(
            "lambdarank_normalization",
            serde_json::json!(self.lambdarank_normalization),
        );
        put(
            "lambdarank_score_normalization",
            serde_json::json!(self.lambdarank_score_normalization),
        );
        put("lambdarank_unbiased", serde_json::json!(self.lambdarank_unbiased));
        put("lambdarank_bias_norm", serde_json::json!(self.lambdarank_bias_norm));
        put("ndcg_exp_gain", serde_json::json!(self.ndcg_exp_gain));
        put("label_gain", serde_json::json!(self.label_gain));
        put("aft_loss_distribution", serde_json::json!(self.aft_loss_distribution));
        put(
            "aft_loss_distribution_scale",
            serde_json::json!(self.aft_loss_distribution_scale),
        );
        map
    }
}

/// Accepts a list of feature names or indices, or one string of comma-separated entries.
fn names_or_indices<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Name(String),
        Index(u64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Entry),
        Many(Vec<Entry>),
    }
    let text = |e: Entry| match e {
        Entry::Name(s) => s,
        Entry::Index(i) => i.to_string(),
    };
    let entries = match OneOrMany::deserialize(d)? {
        OneOrMany::One(e) => vec![text(e)],
        OneOrMany::Many(v) => v.into_iter().map(text).collect(),
    };
    Ok(entries
        .iter()
        .flat_map(|e| e.split(','))
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect())
}

/// Accepts `true`/`false`, `1`/`0` and their text forms.
fn bool_or_digit<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("expected true or false, got `{s}`"))),
        },
        other => Err(serde::de::Error::custom(format!(
            "expected true or false, got `{other}`"
        ))),
    }
}

/// Accepts either a single metric name or a list of them.
pub(crate) fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Metric>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let names = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        OneOrMany::Many(v) => v,
    };
    names
        .iter()
        .map(|n| n.parse::<Metric>().map_err(serde::de::Error::custom))
        .collect()
}

impl Params {
    /// Number of bins per feature of the `approx` sketch.
    pub fn approx_bins(&self) -> usize {
        self.sketch_eps
            .map_or(self.max_bin, |e| ((1.0 / e).ceil() as usize).clamp(2, 65535))
    }

    /// Number of trees grown per boosting round: `num_groups() * num_parallel_tree`.
    pub fn trees_per_round(&self) -> usize {
        self.num_groups() * self.num_parallel_tree.max(1)
    }

    /// Number of outputs per boosting round: `num_class` for multiclass, one per level of
    /// `quantile_alpha` / `expectile_alpha`, one per target (`num_target`), else 1.
    pub fn num_groups(&self) -> usize {
        if self.objective.is_multiclass() {
            self.num_class
        } else {
            self.num_levels() * self.num_target.max(1)
        }
    }

    /// Levels of the leveled objectives (`quantile_alpha`, `expectile_alpha`); 1 for the others.
    pub fn num_levels(&self) -> usize {
        self.levels().map_or(1, |a| a.len().max(1))
    }

    /// The levels of `reg:quantileerror` or `reg:expectileerror`, `None` for other objectives.
    pub fn levels(&self) -> Option<&Alphas> {
        match self.objective {
            ObjectiveKind::QuantileError => Some(&self.quantile_alpha),
            ObjectiveKind::ExpectileError => Some(&self.expectile_alpha),
            _ => None,
        }
    }

    /// Whether a round's outputs share one tree structure (`multi_strategy=multi_output_tree`
    /// with more than one output): the model then holds one tree per output per round, all of a
    /// round's trees with the same splits and each with its output's leaf values.
    pub fn vector_leaves(&self) -> bool {
        self.multi_strategy == MultiStrategy::MultiOutputTree && self.num_groups() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_xgboost() {
        let p = Params::default();
        assert_eq!(p.eta, 0.3);
        assert_eq!(p.max_depth, 6);
        assert_eq!(p.max_bin, 256);
        assert_eq!(p.lambda, 1.0);
        p.validate().unwrap();
    }

    #[test]
    fn set_parses_and_aliases() {
        let mut p = Params::default();
        p.set("learning_rate", "0.1").unwrap();
        p.set("objective", "binary:logistic").unwrap();
        p.set("eval_metric", "auc,logloss").unwrap();
        p.set("early_stopping_rounds", "5").unwrap();
        assert_eq!(p.eta, 0.1);
        assert_eq!(p.objective, ObjectiveKind::BinaryLogistic);
        assert_eq!(p.eval_metric.len(), 2);
        assert_eq!(p.early_stopping_rounds, Some(5));
    }

    #[test]
    fn unknown_and_bad_values_name_the_parameter() {
        let mut p = Params::default();
        let e = p.set("etaa", "0.1").unwrap_err().to_string();
        assert!(e.contains("etaa"), "{e}");
        let e = p.set("max_depth", "deep").unwrap_err().to_string();
        assert!(e.contains("max_depth"), "{e}");
        let e = p.set("objective", "reg:nope").unwrap_err().to_string();
        assert!(e.contains("objective"), "{e}");
        let e = Params::from_json(r#"{"colsample": 0.5}"#).unwrap_err().to_string();
        assert!(e.contains("colsample"), "{e}");
        p.set("subsample", "1.5").unwrap();
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("subsample"), "{e}");
    }

    #[test]
    fn toml_map_deserialises() {
        let p: Params = toml::from_str("objective = \"multi:softprob\"\nnum_class = 3\neta = 0.1\n").unwrap();
        assert_eq!(p.num_class, 3);
        p.validate().unwrap();
    }

    #[test]
    fn device_parameter() {
        let mut p = Params::default();
        assert_eq!(p.device, Device::Cpu);
        p.set("device", "cuda").unwrap();
        assert_eq!(p.device, Device::Cuda(0));
        p.set("device", "cuda:3").unwrap();
        assert_eq!(p.device, Device::Cuda(3));
        p.validate().unwrap();
        for bad in ["tpu", "cuda:x", "1"] {
            match p.set("device", bad) {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "device"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        match Params::from_json(r#"{"device": "opencl"}"#) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "device"),
            other => panic!("{other:?}"),
        }
        let mut d = Params::default();
        d.set("one_drop", "1").unwrap();
        assert!(d.one_drop);
        d.set("one_drop", "false").unwrap();
        assert!(!d.one_drop);
        assert!(d.set("one_drop", "2").is_err());
        let q = Params::from_json(r#"{"device": "cuda:1"}"#).unwrap();
        assert_eq!(q.device, Device::Cuda(1));
        assert!(serde_json::to_string(&q).unwrap().contains(r#""device":"cuda:1""#));
        p.set("tree_method", "exact").unwrap();
        assert!(p.validate().is_err());
    }
}
