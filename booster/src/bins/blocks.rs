//! Pre-sorted column blocks for the exact greedy method and the approximate sketch: for each feature,
//! the rows that have a value, sorted by that value. Missing values are not stored, so memory is
//! proportional to the number of present values. Built once per training run.

use rayon::prelude::*;

use crate::data::dataset::Dataset;

/// One feature's present values in ascending order, with their row ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureBlock {
    /// Row ids, ordered by value (ties by row id).
    pub rows: Vec<u32>,
    /// The values, ascending.
    pub values: Vec<f32>,
}

impl FeatureBlock {
    /// Number of present values.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the feature has no present value.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Every feature's block.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnBlocks {
    blocks: Vec<FeatureBlock>,
    num_rows: usize,
}

impl ColumnBlocks {
    /// Sorts every feature's present values once (features in parallel).
    pub fn build(data: &Dataset) -> ColumnBlocks {
        let blocks = (0..data.num_features())
            .into_par_iter()
            .map(|j| {
                let mut pairs: Vec<(u32, f32)> = Vec::with_capacity(data.column(j).num_present());
                data.column(j).for_each_present(|r, x| pairs.push((r as u32, x)));
                // Ties keep row order (the sort is stable and rows arrive in order); -0.0 and 0.0
                // are ordered by total_cmp, which keeps equal values adjacent as the scans require.
                pairs.sort_by(|a, b| a.1.total_cmp(&b.1));
                let rows = pairs.iter().map(|p| p.0).collect();
                let values = pairs.iter().map(|p| p.1).collect();
                FeatureBlock { rows, values }
            })
            .collect();
        ColumnBlocks {
            blocks,
            num_rows: data.num_rows(),
        }
    }

    /// The block of feature `j`.
    pub fn feature(&self, j: usize) -> &FeatureBlock {
        &self.blocks[j]
    }

    /// Number of features.
    pub fn num_features(&self) -> usize {
        self.blocks.len()
    }

    /// Number of rows of the data the blocks were built from.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Whether feature `j` has a value in every row.
    pub fn is_dense(&self, j: usize) -> bool {
        self.blocks[j].len() == self.num_rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_hold_present_values_sorted() {
        let d = Dataset::from_columns(vec![vec![3.0, f32::NAN, 1.0, 2.0, 1.0]]).unwrap();
        let b = ColumnBlocks::build(&d);
        assert_eq!(b.feature(0).rows, vec![2, 4, 3, 0]);
        assert_eq!(b.feature(0).values, vec![1.0, 1.0, 2.0, 3.0]);
        assert!(!b.is_dense(0));
    }
}
