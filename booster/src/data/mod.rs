//! Stage 1, the input: the [`Dataset`] (feature columns, labels, weights, base margins, names) and
//! its [`Column`]s, with the checks every data set passes and the row subsets ensembles take.

pub(crate) mod column;
pub(crate) mod dataset;

pub use column::Column;
pub use dataset::Dataset;
