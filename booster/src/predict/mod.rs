//! Stage 5, prediction: trees laid out for fast walks — [`packed`] (one array of small nodes, for
//! single rows) and [`column_walk`] (complete trees walked without branches, for batches; deep
//! trees complete at the top and linked below)
//! — and [`batch`] prediction over blocks of rows in parallel, in tree order so that sums never
//! depend on the thread count. Every walk routes a row by the one rule of
//! [`crate::model::tree::Tree::goes_left`].

pub(crate) mod batch;
pub(crate) mod column_walk;
pub(crate) mod margins;
pub(crate) mod options;
pub(crate) mod packed;

pub use options::{PredictOptions, PredictOutput, Predictions};
