//! # sylvan-booster
//!
//! The learning core of Sylvan: gradient boosted decision trees with XGBoost's parameters and
//! objectives, histogram, exact and approximate split finding on the CPU (rayon), depth-wise and
//! loss-guided growth, second-order (Newton) and first-order (gradient) boosting, random forests,
//! bagging and stacking.
//!
//! The source is grouped by the stages data goes through (docs/ARCHITECTURE.md tells the whole path):
//! - `data`: the [`Dataset`] (f32 feature [`Column`]s, dense with `NaN` = missing or sparse; labels,
//!   weights, base margins).
//! - `bins`: per-feature quantile cut points, the quantized matrix, pre-sorted column blocks.
//! - `train`: the trainer (the boosting rounds), gradients, sampling, histograms, split search,
//!   partitioning, the growers over the [`backend::TreeBackend`] seam and its CPU implementations,
//!   leaf values, early stopping; the seam to accelerators ([`DeviceBackend`]).
//! - `model`: the fitted [`Booster`], its [`Tree`]s, saving and loading.
//! - `explain`: feature importance, exact TreeSHAP contributions and interaction values, Saabas
//!   contributions.
//! - `predict`: batch and single-row prediction layouts.
//! - `objective`, `metric`: losses ([`Objective`] for custom ones) and evaluation [`Metric`]s.
//! - `ensemble`: [`Bagging`] with out-of-bag scores and [`Stacking`] with a linear meta-learner.
//! - `params`: the typed [`Params`] with XGBoost's names, defaults and checks.
//! - `util`: SIMD dispatch, a portable `exp`, prefetch, atomic file writes, statistics.
//!
//! The public API is what this page lists; [`backend`] holds what an accelerator backend (the CUDA one
//! in `sylvan-gpu`) needs from the training internals.
//!
//! ## Example
//!
//! ```
//! use sylvan_booster::{Booster, Dataset, Metric, ObjectiveKind, Params, PredictOptions};
//!
//! // y = 1 when x0 + x1 > 1, with a missing value here and there.
//! let n = 2000;
//! let x0: Vec<f32> = (0..n).map(|i| (i % 100) as f32 / 100.0).collect();
//! let x1: Vec<f32> = (0..n).map(|i| if i % 17 == 0 { f32::NAN } else { (i * 7 % 100) as f32 / 100.0 }).collect();
//! let y: Vec<f32> = x0.iter().zip(&x1).map(|(a, b)| (a + b.max(0.0) > 1.0) as u8 as f32).collect();
//! let train = Dataset::from_columns(vec![x0, x1])?.with_labels(y)?;
//!
//! let params = Params {
//!     objective: ObjectiveKind::BinaryLogistic,
//!     num_round: 20,
//!     eval_metric: vec![Metric::Auc],
//!     ..Params::default()
//! };
//!
//! let booster = Booster::train(&params, &train, &[("train", &train)])?;
//! let p = booster.predict(&train, PredictOptions::default())?;
//! assert_eq!(p.values.len(), 2000);
//! let auc = booster.evaluate(&train, &["auc".parse()?])?[0].1;
//! assert!(auc > 0.95);
//! # Ok::<(), sylvan_booster::Error>(())
//! ```

#![deny(missing_docs)]

mod bins;
mod collective;
mod data;
mod ensemble;
mod error;
mod explain;
mod gradients;
mod metric;
mod model;
mod objective;
mod params;
mod predict;
mod train;
mod util;

pub use collective::{
    Collective, Distributed, LocalCollective, MemoryCollective, ReduceOp, TcpCollective, TcpPending, Traffic,
};
pub use data::{category_code, Column, Dataset, FeatureType, LabelBounds, QueryGroups, Targets, MAX_CATEGORIES};
pub use ensemble::{
    Bagging, BaggingParams, BaseLearner, LinearModel, LinearParams, LinearTask, MetaLearner, Model, OutOfBag, Stacking,
    StackingParams,
};
pub use error::{Error, Result};
pub use explain::ImportanceType;
pub use gradients::GradPair;
pub use metric::{Metric, MetricContext, RankAt};
pub use model::booster::Booster;
pub use model::categories::{CategorySet, TreeCategories};
pub use model::file::{BINARY_MAGIC, ENSEMBLE_FORMAT, ENSEMBLE_VERSION, FORMAT_NAME, FORMAT_VERSION};
pub use model::tree::Tree;
pub use objective::{expectiles_of_margins, margins_of_expectiles, LeafRows, Objective};
pub use params::{
    AftDistribution, Alphas, BoosterKind, Boosting, DartNormalizeType, DartSampleType, Device, FeatureValue,
    GrowPolicy, LambdarankPairMethod, MultiStrategy, ObjectiveKind, Params, PerFeature, SampleStrategy, TreeMethod,
};
pub use predict::{PredictOptions, PredictOutput, Predictions};
pub use train::checkpoint::{latest_checkpoint, Checkpoints};
pub use train::device::DeviceBackend;
pub use train::memory_estimate::{estimate_training_memory, MemoryEstimate, NO_MEMORY_CHECK_ENV};
pub use train::trainer::{RoundPlan, RoundReport, TrainCallback, TrainOptions, TrainingState};
pub use util::atomic_file::write_atomically;
pub use util::available_memory::{available_memory, format_bytes, AvailableMemory};
pub use util::profile;

/// What an accelerator backend needs from the training internals: the [`TreeBackend`](backend::TreeBackend) seam the
/// growers call, the device session it runs in, the cut points and quantized matrix it uploads, and
/// the split search it must agree with. Not needed to train or predict.
pub mod backend {
    pub use crate::bins::chunked::{ChunkedCuts, ChunkedMatrix};
    pub use crate::bins::cuts::{BinMapper, FeatureCuts};
    pub use crate::bins::matrix::{BinIndex, BinStore, QuantizedMatrix};
    pub use crate::gradients::{CellScale, GradStats};
    pub use crate::objective::objective_for;
    pub use crate::train::constraints::monotone::{Bounds, Monotone};
    pub use crate::train::device::{DeviceBackend, DeviceSession, DeviceSetup, TreeGradients};
    pub use crate::train::grow::{SplitRequest, SplitTask, TrainNode, TreeBackend};
    pub use crate::train::split::{
        best_split, best_split_constrained, leaf_weight, node_gain, CategoricalParams, SplitInfo, SplitParams, MIN_GAIN,
    };
}

/// Reference implementations and deterministic draws that tests outside this crate compare against.
#[doc(hidden)]
pub mod testing {
    pub use crate::train::histogram::build_histogram_naive;
    pub use crate::train::sampling::sample_rows;
}
