//! # sylvan-io
//!
//! Data input (Parquet, Arrow IPC, CSV, LibSVM) into [`sylvan_booster::Dataset`], and model formats.
//! Filled by the data-input issue.

pub use sylvan_booster::Dataset;
