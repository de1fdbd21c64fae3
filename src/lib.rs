//! # sylvan
//!
//! Gradient boosted decision trees with XGBoost's parameters: histogram split finding on the CPU
//! and GPU, Parquet/Arrow/CSV/LibSVM input, and the `sylvan` command line.
//!
//! This crate is the facade over the workspace's crates:
//! - [`booster`] (`sylvan-booster`): datasets, parameters, training, prediction, model files.
//! - [`io`] (`sylvan-io`): reading data files into a [`Dataset`], writing prediction tables.
//! - [`gpu`] (`sylvan-gpu`): the CUDA backend.
//!
//! ## Example
//!
//! ```
//! use sylvan::{Booster, Dataset, Params, PredictOptions};
//!
//! let x: Vec<f32> = (0..200).map(|i| i as f32).collect();
//! let y: Vec<f32> = x.iter().map(|v| if *v > 100.0 { 1.0 } else { 0.0 }).collect();
//! let train = Dataset::from_columns(vec![x])?.with_labels(y)?;
//! let mut params = Params::default();
//! params.set("objective", "binary:logistic")?;
//! let booster = Booster::train(&params, &train, &[])?;
//! let p = booster.predict(&train, PredictOptions::default())?;
//! assert!(p.values[150] > 0.5 && p.values[50] < 0.5);
//! # Ok::<(), sylvan::booster::Error>(())
//! ```

pub use sylvan_booster as booster;
pub use sylvan_gpu as gpu;
pub use sylvan_io as io;

pub use sylvan_booster::{
    Booster, Dataset, ImportanceType, Metric, ObjectiveKind, Params, PredictOptions, PredictOutput, Predictions,
    RoundReport, TrainCallback, TrainOptions,
};
pub use sylvan_io::{load_for_model, load_training, CategoryMap, ColumnSelection, LoadedData};
