//! # sylvan
//!
//! Gradient boosted decision trees with XGBoost's parameters: histogram split finding on the CPU
//! and GPU, Parquet/Arrow/CSV/LibSVM input, and the `sylvan` command line.
//!
//! This crate is the facade over the workspace's crates:
//! - [`booster`] (`sylvan-booster`): datasets, parameters, training, prediction, model files.
//! - [`io`] (`sylvan-io`): reading data files into a [`Dataset`], writing prediction tables.
//! - [`collective`]: distributed training — the MPI transport (feature `mpi`), splitting one Parquet
//!   file between ranks and agreeing on category codes (see docs/distributed.md).
//! - [`gpu`] (`sylvan-gpu`): the CUDA backend. With `device=cuda` (or `cuda:N`), fill
//!   [`TrainOptions::device`] with [`train_options_for`] or [`device_backend`]; [`gpu::GpuPredictor`]
//!   predicts on the GPU.
//!
//! ## Example
//!
//! ```
//! use sylvan::{Booster, Dataset, ObjectiveKind, Params, PredictOptions};
//!
//! let x: Vec<f32> = (0..200).map(|i| i as f32).collect();
//! let y: Vec<f32> = x.iter().map(|v| if *v > 100.0 { 1.0 } else { 0.0 }).collect();
//! let train = Dataset::from_columns(vec![x])?.with_labels(y)?;
//! let params = Params::default().objective(ObjectiveKind::BinaryLogistic);
//! let booster = Booster::train(&params, &train, &[])?;
//! let p = booster.predict(&train, PredictOptions::default())?;
//! assert!(p.values[150] > 0.5 && p.values[50] < 0.5);
//! # Ok::<(), sylvan::booster::Error>(())
//! ```

pub mod collective;

pub use sylvan_booster as booster;
pub use sylvan_gpu as gpu;
pub use sylvan_io as io;

pub use sylvan_booster::{
    Booster, Dataset, FeatureType, ImportanceType, Metric, ObjectiveKind, Params, PredictOptions, PredictOutput,
    Predictions, RoundReport, TrainCallback, TrainOptions,
};
pub use sylvan_io::{load_for_model, load_training, CategoryMap, ColumnSelection, LoadedData};

use std::sync::Arc;

/// The device backend `device` needs: `None` for the CPU, the CUDA backend of [`gpu`] for `cuda` /
/// `cuda:N` (opened now, so a machine without a CUDA driver or device gets a clear error here).
pub fn device_backend(device: booster::Device) -> Result<Option<Arc<dyn booster::DeviceBackend>>, gpu::Error> {
    gpu::backend_for(device)
}

/// [`TrainOptions`] for `params`, with the device backend that `params.device` needs filled in.
///
/// ```
/// let params = sylvan::Params::default(); // device = "cpu"
/// let options = sylvan::train_options_for(&params)?;
/// assert!(options.device.is_none());
/// # Ok::<(), sylvan::booster::Error>(())
/// ```
pub fn train_options_for<'a>(params: &Params) -> Result<TrainOptions<'a>, booster::Error> {
    Ok(TrainOptions {
        device: device_backend(params.device)?,
        ..Default::default()
    })
}
