//! # sylvan-booster
//!
//! The learning core of Sylvan: gradient boosted decision trees with XGBoost's parameters and
//! objectives, histogram split finding on the CPU (rayon), depth-wise and loss-guided growth, and
//! both second-order (Newton) and classic first-order (gradient) boosting.
//!
//! The pieces, one module each:
//! - [`data`]: the [`Dataset`] (f32 feature columns — [`column`]: dense with `NaN` = missing, or sparse —
//!   labels, weights, base margins).
//! - [`binning`]: per-feature weighted quantile cuts with a dedicated missing bin; [`blocks`]: pre-sorted
//!   column blocks for the exact greedy method and the approximate sketch.
//! - [`matrix`]: the row-major quantized matrix (u8 or u16 bins).
//! - [`hist`]: parallel histogram building and the sibling subtraction trick.
//! - [`split`]: regularised gain and the best split with a learned default direction for missing values.
//! - [`partition`]: stable row partitioning of a node into its children.
//! - [`grow`]: depth-wise and loss-guided growers over the [`grow::TreeBackend`] seam;
//!   [`cpu_backend`] implements it with histograms on the CPU, [`exact`] with the exact greedy method.
//! - [`tree`]: the flat inference tree; [`predict`]: batch prediction.
//! - [`objective`], [`metric`]: losses (and the [`Objective`] trait for custom ones) and metrics.
//! - [`booster`]: the boosting loop, early stopping and callbacks (and XGBoost-style random forests
//!   with `num_parallel_tree`); [`persist`]: save and load.
//! - [`ensemble`]: bagging with out-of-bag scores, and stacking with a regularised linear meta-learner.
//! - [`explain`]: feature importance.
//! - [`device`]: the seam to accelerator backends (`device=cuda` uses `sylvan-gpu`'s, handed in through
//!   [`TrainOptions::device`]).
//!
//! ## Example
//!
//! ```
//! use sylvan_booster::{Booster, Dataset, Params, PredictOptions};
//!
//! // y = 1 when x0 + x1 > 1, with a missing value here and there.
//! let n = 2000;
//! let x0: Vec<f32> = (0..n).map(|i| (i % 100) as f32 / 100.0).collect();
//! let x1: Vec<f32> = (0..n).map(|i| if i % 17 == 0 { f32::NAN } else { (i * 7 % 100) as f32 / 100.0 }).collect();
//! let y: Vec<f32> = x0.iter().zip(&x1).map(|(a, b)| (a + b.max(0.0) > 1.0) as u8 as f32).collect();
//! let train = Dataset::from_columns(vec![x0, x1])?.with_labels(y)?;
//!
//! let mut params = Params::default();
//! params.set("objective", "binary:logistic")?;
//! params.set("num_round", "20")?;
//! params.set("eval_metric", "auc")?;
//!
//! let booster = Booster::train(&params, &train, &[("train", &train)])?;
//! let p = booster.predict(&train, PredictOptions::default())?;
//! assert_eq!(p.values.len(), 2000);
//! let auc = booster.evaluate(&train, &["auc".parse()?])?[0].1;
//! assert!(auc > 0.95);
//! # Ok::<(), sylvan_booster::Error>(())
//! ```

#![warn(missing_docs)]

pub mod binning;
pub mod blocks;
pub mod booster;
pub mod column;
pub mod cpu_backend;
pub mod data;
pub mod device;
pub mod ensemble;
pub mod error;
pub mod exact;
pub mod explain;
pub mod fastmath;
pub mod grow;
pub mod hist;
pub mod inference;
pub mod matrix;
pub mod metric;
pub mod objective;
pub mod params;
pub mod partition;
pub mod persist;
pub mod predict;
pub mod quantize;
pub mod sampling;
pub mod split;
pub mod stats;
pub mod tree;

pub use booster::{Booster, RoundReport, TrainCallback, TrainOptions};
pub use column::Column;
pub use data::Dataset;
pub use device::{DeviceBackend, DeviceSession, DeviceSetup, TreeGradients};
pub use ensemble::{Bagging, BaggingParams, LinearModel, LinearParams, Model, Stacking, StackingParams};
pub use error::{Error, Result};
pub use explain::ImportanceType;
pub use metric::{Metric, MetricContext};
pub use objective::{GradPair, LeafRows, Objective};
pub use params::{Boosting, Device, GrowPolicy, ObjectiveKind, Params, TreeMethod};
pub use predict::{PredictOptions, PredictOutput, Predictions};
pub use tree::Tree;
