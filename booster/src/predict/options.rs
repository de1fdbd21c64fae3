//! What a caller asks of a prediction ([`PredictOptions`]) and what it gets back ([`Predictions`]).

/// What [`crate::Booster::predict`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PredictOutput {
    /// The objective's output: probabilities for classification (the class index for
    /// `multi:softmax`), values for regression.
    #[default]
    Value,
    /// Raw margins (before the link function).
    Margin,
    /// For each tree, the index of the leaf node each row falls in.
    LeafIndex,
    /// Exact SHAP values (path-dependent TreeSHAP, XGBoost's `pred_contribs`): for every output,
    /// one value per feature and then the bias (the expected margin plus the base margin), summing
    /// to the row's margin. Row-major, `num_groups * (num_features + 1)` values per row.
    Contributions,
    /// Saabas contributions (XGBoost's `approx_contribs`): the change of the expected value at every
    /// split on the row's path, credited to the split's feature. Same layout as `Contributions`.
    ApproxContributions,
    /// SHAP interaction values (XGBoost's `pred_interactions`): for every output a
    /// `(num_features + 1)²` matrix, symmetric, whose rows sum to the `Contributions`; the last row
    /// and column are the bias. Row-major, `num_groups * (num_features + 1)²` values per row.
    Interactions,
}

impl PredictOutput {
    /// Whether this output explains the prediction (SHAP or Saabas values) rather than making it.
    pub fn is_explanation(self) -> bool {
        matches!(
            self,
            PredictOutput::Contributions | PredictOutput::ApproxContributions | PredictOutput::Interactions
        )
    }
}

/// Options of a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PredictOptions {
    /// What to output.
    pub output: PredictOutput,
    /// Boosting rounds `[start, end)` to use. Default: all rounds, or up to the best iteration when
    /// early stopping chose one.
    pub iteration_range: Option<(usize, usize)>,
}

/// Predictions, row-major: `num_rows * num_cols` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// The values, row by row.
    pub values: Vec<f32>,
    /// Number of rows.
    pub num_rows: usize,
    /// Values per row (1, the number of classes, the number of trees for leaf indices, or the
    /// explanation's size: see [`PredictOutput`]).
    pub num_cols: usize,
}

impl Predictions {
    /// The values of one row.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.num_cols..(i + 1) * self.num_cols]
    }
}
