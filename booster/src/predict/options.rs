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
    /// Values per row (1, the number of classes, or the number of trees for leaf indices).
    pub num_cols: usize,
}

impl Predictions {
    /// The values of one row.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.num_cols..(i + 1) * self.num_cols]
    }
}
