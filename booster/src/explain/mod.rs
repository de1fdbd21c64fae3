//! Stage 6, explanation: why a model predicts what it does.
//!
//! - [`importance`]: feature importance from the trees (weight, gain, cover and their totals).
//! - SHAP values: exact path-dependent TreeSHAP contributions and interaction values, and Saabas
//!   contributions, with XGBoost's definitions and layout (see [`crate::PredictOutput`]).

pub(crate) mod importance;

pub use importance::ImportanceType;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::booster::Booster;
use crate::predict::{PredictOutput, Predictions};

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

    /// The explanation `output` of every row over trees `start..end` (a whole number of rounds).
    pub(crate) fn explain(
        &self,
        data: &Dataset,
        output: PredictOutput,
        start: usize,
        end: usize,
    ) -> Result<Predictions> {
        let _ = (data, start, end);
        Err(Error::param("output", format!("{output:?} is not implemented yet")))
    }
}
