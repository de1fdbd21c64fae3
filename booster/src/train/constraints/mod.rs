//! Training controls that act on features: monotone constraints ([`monotone`]), interaction
//! constraints ([`interaction`]) and feature weights for column sampling, resolved once per
//! training run against the training data's features.

pub(crate) mod interaction;
pub(crate) mod monotone;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::params::{resolve_groups, Params};
use crate::train::split::SplitParams;

/// The feature controls of one training run, one entry per feature of the training data.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FeatureControls {
    /// Monotone constraint per feature (-1, 0, 1); empty when no feature is constrained.
    pub monotone: Vec<i8>,
    /// The allowed feature groups (indices ascending within a group); empty when interactions are
    /// not constrained.
    pub interaction: Vec<Vec<usize>>,
    /// Column-sampling weight per feature; `None` when sampling is uniform.
    pub weights: Option<Vec<f64>>,
}

impl FeatureControls {
    /// Resolves `params`' `monotone_constraints`, `interaction_constraints` and `feature_weights`
    /// against `train`'s features; an error names the parameter and the feature.
    pub(crate) fn resolve(params: &Params, train: &Dataset) -> Result<FeatureControls> {
        let (n, names) = (train.num_features(), train.feature_names());
        let mut monotone = params
            .monotone_constraints
            .resolve("monotone_constraints", n, names, 0)?;
        if let Some(j) = (0..n).find(|&j| monotone[j] != 0 && train.feature_type(j).is_categorical()) {
            return Err(Error::param(
                "monotone_constraints",
                format!(
                    "feature `{}` is categorical: categories have no order to be monotone in",
                    train.feature_name(j)
                ),
            ));
        }
        if monotone.iter().all(|&c| c == 0) {
            monotone.clear();
        }
        let interaction = resolve_groups(&params.interaction_constraints, n, names)?;
        let weights = if params.feature_weights.is_unset() {
            None
        } else {
            let w = params.feature_weights.resolve("feature_weights", n, names, 1.0)?;
            if w.iter().all(|&x| x <= 0.0) {
                return Err(Error::param(
                    "feature_weights",
                    "at least one feature weight must be above 0",
                ));
            }
            Some(w)
        };
        Ok(FeatureControls {
            monotone,
            interaction,
            weights,
        })
    }

    /// Whether any monotone constraint is set.
    pub(crate) fn has_monotone(&self) -> bool {
        !self.monotone.is_empty()
    }

    /// The constraints a tree grows under, with the split regularisation `split` that child weights
    /// (and so monotone bounds) are computed with.
    pub(crate) fn for_tree<'a>(&'a self, split: &'a SplitParams) -> TreeConstraints<'a> {
        TreeConstraints {
            monotone: if self.has_monotone() { &self.monotone } else { &[] },
            interaction: &self.interaction,
            split,
        }
    }
}

/// The constraints one tree grows under: a view of [`FeatureControls`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeConstraints<'a> {
    /// Monotone constraint per feature; empty when none.
    pub monotone: &'a [i8],
    /// Allowed feature groups (ascending); empty when interactions are not constrained.
    pub interaction: &'a [Vec<usize>],
    /// The split regularisation (child weights for the monotone bounds).
    pub split: &'a SplitParams,
}
