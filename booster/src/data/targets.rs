//! What a loss or a metric compares predictions with, beyond one label per row: query groups
//! (learning to rank) and interval label bounds (survival), with the [`Targets`] view that
//! objectives and metrics read.

use crate::error::{Error, Result};

/// The rows of each query, for ranking objectives and metrics. Built from a query id per row (the
/// rows of a query need not be contiguous: queries are numbered in order of their first row, and
/// each query's rows are kept in ascending row order) or from the sizes of contiguous groups
/// (XGBoost's `set_group`, LightGBM's `group`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryGroups {
    /// `offsets[q]..offsets[q + 1]` indexes `rows` for query `q`.
    offsets: Vec<usize>,
    /// Row indices, query after query.
    rows: Vec<u32>,
}

impl QueryGroups {
    /// Groups `num_rows` rows by their query ids (one per row).
    pub fn from_query_ids(ids: &[u64]) -> QueryGroups {
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        // First appearance of each id, so that queries keep the order of the file.
        let mut first = std::collections::HashMap::with_capacity(ids.len() / 8 + 1);
        for (i, &id) in ids.iter().enumerate() {
            first.entry(id).or_insert(i);
        }
        order.sort_by_key(|&r| (first[&ids[r as usize]], r));
        let mut offsets = vec![0];
        for (k, &r) in order.iter().enumerate() {
            if k > 0 && ids[r as usize] != ids[order[k - 1] as usize] {
                offsets.push(k);
            }
        }
        if !order.is_empty() {
            offsets.push(order.len());
        }
        QueryGroups { offsets, rows: order }
    }

    /// Groups consecutive rows: the first `sizes[0]` rows are query 0, and so on. The sizes must
    /// add up to `num_rows`, and none may be zero.
    pub fn from_sizes(sizes: &[usize], num_rows: usize) -> Result<QueryGroups> {
        if let Some(q) = sizes.iter().position(|&s| s == 0) {
            return Err(Error::data(format!(
                "query group {q} is empty; group sizes must be >= 1"
            )));
        }
        let total: usize = sizes.iter().sum();
        if total != num_rows {
            return Err(Error::ShapeMismatch {
                what: "sum of the query group sizes vs the number of rows".into(),
                expected: num_rows,
                got: total,
            });
        }
        let mut offsets = Vec::with_capacity(sizes.len() + 1);
        offsets.push(0);
        for &s in sizes {
            offsets.push(offsets[offsets.len() - 1] + s);
        }
        Ok(QueryGroups {
            offsets,
            rows: (0..num_rows as u32).collect(),
        })
    }

    /// Number of queries.
    pub fn num_queries(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The rows of query `q`, ascending.
    pub fn query(&self, q: usize) -> &[u32] {
        &self.rows[self.offsets[q]..self.offsets[q + 1]]
    }

    /// Every query's rows, in query order.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        (0..self.num_queries()).map(|q| self.query(q))
    }

    /// Number of rows over all queries.
    pub fn num_rows(&self) -> usize {
        self.rows.len()
    }
}

/// Lower and upper bounds of each row's label, for interval-censored survival (XGBoost's
/// `label_lower_bound` / `label_upper_bound`): a row is uncensored when both are equal,
/// right-censored when the upper bound is infinite, left-censored when the lower bound is 0, and
/// interval-censored otherwise.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelBounds {
    /// Lower bound per row (finite, >= 0).
    pub lower: Vec<f32>,
    /// Upper bound per row (>= lower; may be +inf).
    pub upper: Vec<f32>,
}

impl LabelBounds {
    /// Checks and pairs the bounds; an error names the first bad row.
    pub fn new(lower: Vec<f32>, upper: Vec<f32>) -> Result<LabelBounds> {
        if lower.len() != upper.len() {
            return Err(Error::ShapeMismatch {
                what: "label_upper_bound vs label_lower_bound".into(),
                expected: lower.len(),
                got: upper.len(),
            });
        }
        for (row, (&l, &u)) in lower.iter().zip(&upper).enumerate() {
            if !(l.is_finite() && l >= 0.0) || u.is_nan() || u < l {
                return Err(Error::InvalidLabel {
                    row,
                    value: l as f64,
                    reason: format!(
                        "label bounds must satisfy 0 <= lower <= upper (upper may be +inf), got [{l}, {u}]"
                    ),
                });
            }
        }
        Ok(LabelBounds { lower, upper })
    }
}

/// What an objective's gradients and a metric read besides the predictions: the labels, the
/// sample weights, and, where the data has them, query groups and label bounds.
#[derive(Debug, Clone, Copy)]
pub struct Targets<'a> {
    /// One label per row.
    pub labels: &'a [f32],
    /// Sample weights (for ranking with groups: one weight per row, read per query).
    pub weights: Option<&'a [f32]>,
    /// Query groups, for ranking.
    pub groups: Option<&'a QueryGroups>,
    /// Label bounds, for interval-censored survival.
    pub bounds: Option<&'a LabelBounds>,
}

impl<'a> Targets<'a> {
    /// Labels and weights only.
    pub fn plain(labels: &'a [f32], weights: Option<&'a [f32]>) -> Targets<'a> {
        Targets {
            labels,
            weights,
            groups: None,
            bounds: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ids_need_not_be_contiguous() {
        let g = QueryGroups::from_query_ids(&[7, 3, 7, 3, 9, 7]);
        assert_eq!(g.num_queries(), 3);
        assert_eq!(g.query(0), &[0, 2, 5]);
        assert_eq!(g.query(1), &[1, 3]);
        assert_eq!(g.query(2), &[4]);
        assert_eq!(g.num_rows(), 6);
        assert_eq!(QueryGroups::from_query_ids(&[]).num_queries(), 0);
    }

    #[test]
    fn sizes_are_checked() {
        let g = QueryGroups::from_sizes(&[2, 1], 3).unwrap();
        assert_eq!(g.iter().collect::<Vec<_>>(), vec![&[0u32, 1][..], &[2][..]]);
        assert!(QueryGroups::from_sizes(&[2, 2], 3).is_err());
        assert!(QueryGroups::from_sizes(&[0, 3], 3).is_err());
    }

    #[test]
    fn bounds_are_checked() {
        assert!(LabelBounds::new(vec![1.0, 2.0], vec![1.0, f32::INFINITY]).is_ok());
        let e = LabelBounds::new(vec![1.0, 3.0], vec![1.0, 2.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") || e.contains('1'), "{e}");
        assert!(LabelBounds::new(vec![-1.0], vec![1.0]).is_err());
        assert!(LabelBounds::new(vec![1.0], vec![]).is_err());
    }
}
