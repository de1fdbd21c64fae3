//! Stage 6, explanation: why a model predicts what it does.
//!
//! - [`importance`]: feature importance from the trees (weight, gain, cover and their totals).
//! - SHAP values: exact path-dependent TreeSHAP contributions and interaction values, and Saabas
//!   contributions, with XGBoost's definitions and layout (see [`crate::PredictOutput`]).

pub(crate) mod importance;
pub(crate) mod paths;
pub(crate) mod saabas;
pub(crate) mod shapley;
pub(crate) mod treeshap;

pub use importance::ImportanceType;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::booster::Booster;
use crate::predict::margins::initial_margins;
use crate::predict::{PredictOutput, Predictions};
use saabas::saabas_contributions;
use treeshap::{explain_trees, Explanation};

/// The deepest tree an explanation walks: every leaf's path is followed recursively and copied,
/// so a crafted model with a tree thousands of levels deep is refused rather than exhausting the
/// stack (trained trees are far shallower; XGBoost's `max_depth` is at most a few dozen in practice).
const MAX_EXPLAINED_DEPTH: usize = 1024;

impl Booster {
    /// Values per row of an explanation `output`: `num_groups * (num_features + 1)` for
    /// contributions, `num_groups * (num_features + 1)²` for interactions (0 for other outputs).
    pub fn explanation_columns(&self, output: PredictOutput) -> usize {
        let (k, c) = (self.num_groups(), self.num_features() + 1);
        match output {
            PredictOutput::Contributions | PredictOutput::ApproxContributions => k * c,
            PredictOutput::Interactions => k * c * c,
            _ => 0,
        }
    }

    /// The explanation `output` of every row over trees `start..end` (a whole number of rounds;
    /// the features already checked).
    pub(crate) fn explain(
        &self,
        data: &Dataset,
        output: PredictOutput,
        start: usize,
        end: usize,
    ) -> Result<Predictions> {
        let k = self.num_groups();
        let npt = self.num_parallel_tree();
        if let Some(t) = (start..end).find(|t| self.trees()[*t].depth() > MAX_EXPLAINED_DEPTH) {
            return Err(Error::param(
                "output",
                format!(
                    "tree {t} is {} levels deep; explanations handle trees of at most {MAX_EXPLAINED_DEPTH} levels",
                    self.trees()[t].depth()
                ),
            ));
        }
        let trees = self.weighted_range(start, end);
        let group_of = |t: usize| ((start + t) / npt) % k;
        let base = initial_margins(data, self.base_margin())?;
        let values = match output {
            PredictOutput::Contributions => explain_trees(&trees, group_of, k, data, &base, Explanation::Contributions),
            PredictOutput::Interactions => explain_trees(&trees, group_of, k, data, &base, Explanation::Interactions),
            PredictOutput::ApproxContributions => saabas_contributions(&trees, group_of, k, data, &base),
            other => return Err(Error::param("output", format!("{other:?} is not an explanation"))),
        };
        Ok(Predictions {
            values,
            num_rows: data.num_rows(),
            num_cols: self.explanation_columns(output),
        })
    }
}

#[cfg(test)]
mod tests;
