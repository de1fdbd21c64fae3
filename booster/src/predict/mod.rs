//! Stage 5, prediction: trees laid out for fast walks — [`packed`] (one array of small nodes, for
//! single rows and deep trees) and [`column_walk`] (complete shallow trees walked without branches)
//! — and [`batch`] prediction over blocks of rows in parallel, in tree order so that sums never
//! depend on the thread count. Every walk routes a row by the one rule of
//! [`crate::model::tree::Tree::goes_left`].

pub(crate) mod batch;
pub(crate) mod column_walk;
pub(crate) mod margins;
pub(crate) mod options;
pub(crate) mod packed;

pub use options::{PredictOptions, PredictOutput, Predictions};
