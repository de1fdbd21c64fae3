//! Stage 1, the input: the [`Dataset`] (feature columns, labels, weights, base margins, names) and
//! its [`Column`]s and [`FeatureType`]s, with the checks every data set passes and the row subsets ensembles take.

pub(crate) mod column;
pub(crate) mod dataset;
pub(crate) mod feature_type;
pub(crate) mod targets;

pub use column::Column;
pub use dataset::Dataset;
pub use feature_type::{category_code, FeatureType, MAX_CATEGORIES};
pub use targets::{LabelBounds, QueryGroups, Targets};
