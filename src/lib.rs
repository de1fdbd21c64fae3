//! # Sylvan
//!
//! The facade crate: re-exports the learning core, data input and the GPU backend.

pub use sylvan_booster as booster;
pub use sylvan_gpu as gpu;
pub use sylvan_io as io;

pub use sylvan_booster::{Booster, Dataset, Params, PredictOptions, PredictOutput, Predictions};
