//! The training and prediction data: feature columns, labels, weights, base margins, names.

use std::sync::Arc;

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::bins::matrix::QuantizedMatrix;
use crate::data::column::Column;
use crate::data::feature_type::{check_code, FeatureType};
use crate::data::targets::{LabelBounds, QueryGroups, Targets};
use crate::error::{Error, Result};
use crate::model::tree::Tree;

/// A data set held as f32 feature columns (`NaN` = missing; dense, or sparse with only the present
/// values stored — see [`Column`]) with optional labels, sample weights,
/// base margins, feature names and feature types (numerical unless declared categorical).
///
/// Columns are stored feature by feature (column-major), the way Parquet and Arrow deliver them.
/// Build one with [`Dataset::from_columns`], [`Dataset::from_rows`] or [`Dataset::from_sparse_columns`],
/// then add the optional parts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    columns: Vec<Column>,
    num_rows: usize,
    /// Row-major, `label_columns` per row.
    labels: Vec<f32>,
    /// Label columns (targets); 0 or 1 means one label per row.
    label_columns: usize,
    weights: Option<Vec<f32>>,
    base_margin: Option<Vec<f32>>,
    feature_names: Option<Vec<String>>,
    /// `None`: every feature numerical.
    feature_types: Option<Vec<FeatureType>>,
    /// Query groups (ranking).
    groups: Option<QueryGroups>,
    /// Label bounds (interval-censored survival).
    label_bounds: Option<LabelBounds>,
    /// Features that arrived already binned (read in chunks): the cuts and the bins, and no float
    /// values (every column is then an empty sparse column).
    binned: Option<BinnedFeatures>,
}

/// The cuts and bins of a data set read in chunks ([`Dataset::from_binned`]), shared with training.
#[derive(Debug, Clone)]
pub struct BinnedFeatures {
    pub(crate) mapper: Arc<BinMapper>,
    pub(crate) matrix: Arc<QuantizedMatrix>,
    /// The `max_bin` the cuts were made for (training must ask for the same).
    pub(crate) max_bin: usize,
}

impl PartialEq for BinnedFeatures {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.matrix, &o.matrix) && self.mapper == o.mapper && self.max_bin == o.max_bin
    }
}

impl Dataset {
    /// Builds a data set from feature columns (each of the same length). Labels are empty until
    /// [`Dataset::with_labels`] is called; prediction needs none.
    pub fn from_columns(columns: Vec<Vec<f32>>) -> Result<Dataset> {
        let num_rows = columns.first().map_or(0, Vec::len);
        Dataset::from_feature_columns(num_rows, columns.into_iter().map(Column::Dense).collect())
    }

    /// Builds a data set from sparse columns: for each feature, the rows that have a value
    /// (strictly increasing, below `num_rows`) and those values; every other cell is missing.
    /// Memory stays proportional to the number of present values.
    pub fn from_sparse_columns(num_rows: usize, columns: Vec<(Vec<u32>, Vec<f32>)>) -> Result<Dataset> {
        let columns = columns
            .into_iter()
            .map(|(rows, values)| Column::Sparse { rows, values })
            .collect();
        Dataset::from_feature_columns(num_rows, columns)
    }

    /// Builds a data set from any mix of dense and sparse columns of `num_rows` rows each.
    pub fn from_feature_columns(num_rows: usize, columns: Vec<Column>) -> Result<Dataset> {
        if columns.is_empty() {
            return Err(Error::data("no feature columns"));
        }
        if num_rows == 0 {
            return Err(Error::data("no rows"));
        }
        // Each column checked on its own (in parallel: a wide file holds tens of millions of
        // values); the first failing column is reported.
        let failures: Vec<Option<Error>> = columns
            .par_iter()
            .enumerate()
            .map(|(j, column)| Self::check_feature_column(j, column, num_rows).err())
            .collect();
        if let Some(e) = failures.into_iter().flatten().next() {
            return Err(e);
        }
        Ok(Dataset {
            columns,
            num_rows,
            ..Dataset::default()
        })
    }

    /// Checks feature column `j`: its length, its row ids when sparse, and that its values are
    /// finite or missing.
    fn check_feature_column(j: usize, column: &Column, num_rows: usize) -> Result<()> {
        match column {
            Column::Dense(v) => {
                if v.len() != num_rows {
                    return Err(Error::ShapeMismatch {
                        what: format!("length of feature column {j}"),
                        expected: num_rows,
                        got: v.len(),
                    });
                }
                if let Some((row, _)) = column.first_infinite() {
                    return Err(Error::data(format!(
                        "feature column {j} has an infinite value at row {row}"
                    )));
                }
            }
            Column::Sparse { rows, values } => {
                if rows.len() != values.len() {
                    return Err(Error::ShapeMismatch {
                        what: format!("row ids vs values of sparse column {j}"),
                        expected: rows.len(),
                        got: values.len(),
                    });
                }
                if let Some(i) = rows.windows(2).position(|w| w[0] >= w[1]) {
                    return Err(Error::data(format!(
                        "sparse column {j}: row ids must be strictly increasing ({} then {})",
                        rows[i],
                        rows[i + 1]
                    )));
                }
                if let Some(&r) = rows.last().filter(|r| **r as usize >= num_rows) {
                    return Err(Error::data(format!(
                        "sparse column {j}: row {r} is beyond the {num_rows} rows"
                    )));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(Error::data(format!(
                        "sparse column {j} has a non-finite value at row {} (leave missing values out)",
                        rows[i]
                    )));
                }
            }
        }
        Ok(())
    }

    /// A data set whose features arrived binned: `matrix` quantized with `mapper` (cuts of at most
    /// `max_bin` bins; see [`crate::backend::ChunkedCuts`] and [`crate::backend::ChunkedMatrix`]).
    /// It holds no float values: it trains with `tree_method=hist` and that `max_bin`, and cannot be
    /// predicted on or continue a model. Categorical features are those `mapper` cuts as categories.
    pub fn from_binned(mapper: BinMapper, matrix: QuantizedMatrix, max_bin: usize) -> Result<Dataset> {
        let (n, nf) = (matrix.num_rows(), matrix.num_features());
        if mapper.num_features() != nf {
            return Err(Error::ShapeMismatch {
                what: "binned features vs cut points".into(),
                expected: mapper.num_features(),
                got: nf,
            });
        }
        if nf == 0 || n == 0 {
            return Err(Error::data(if n == 0 { "no rows" } else { "no feature columns" }));
        }
        let types: Vec<FeatureType> = (0..nf)
            .map(|j| {
                if mapper.feature(j).categorical {
                    FeatureType::Categorical
                } else {
                    FeatureType::Numerical
                }
            })
            .collect();
        let empty = || Column::Sparse {
            rows: Vec::new(),
            values: Vec::new(),
        };
        Ok(Dataset {
            columns: (0..nf).map(|_| empty()).collect(),
            num_rows: n,
            feature_types: types.contains(&FeatureType::Categorical).then_some(types),
            binned: Some(BinnedFeatures {
                mapper: Arc::new(mapper),
                matrix: Arc::new(matrix),
                max_bin,
            }),
            ..Dataset::default()
        })
    }

    /// Feature `f` of row `i`: its value, or for a binned data set a value of its bin
    /// ([`crate::bins::cuts::FeatureCuts::bin_value`]).
    #[inline]
    pub(crate) fn value(&self, f: usize, i: usize) -> f32 {
        match &self.binned {
            Some(b) => b.mapper.feature(f).bin_value(b.matrix.bin(i, f)),
            None => self.columns[f].get(i),
        }
    }

    /// For a binned data set: rows `start..end` as dense columns of bin values
    /// ([`Dataset::value`]), for the walks that read columns; `None` for a data set of values.
    pub(crate) fn bin_value_columns(&self, start: usize, end: usize) -> Option<Vec<Column>> {
        let b = self.binned.as_ref()?;
        let columns = (0..self.columns.len())
            .map(|f| {
                let cuts = b.mapper.feature(f);
                Column::Dense((start..end).map(|i| cuts.bin_value(b.matrix.bin(i, f))).collect())
            })
            .collect();
        Some(columns)
    }

    /// For a binned data set: an error unless every numeric split of `trees` lies at one of its
    /// cut points, which makes the trees walk its bins exactly as they walk the values (true of
    /// trees trained on it, or on data binned with the same cuts).
    pub(crate) fn check_splits_on_bins(&self, trees: &[Tree]) -> Result<()> {
        let Some(b) = &self.binned else {
            return Ok(());
        };
        for (t, tree) in trees.iter().enumerate() {
            for node in (0..tree.num_nodes()).filter(|&i| !tree.is_leaf(i)) {
                let (f, threshold) = (tree.feature[node] as usize, tree.threshold[node]);
                let exact = f < b.mapper.num_features() && {
                    let cuts = b.mapper.feature(f);
                    match tree.categories.set_of(node) {
                        Some(_) => cuts.categorical,
                        None => cuts.splits_between_bins(threshold),
                    }
                };
                if !exact {
                    return Err(Error::data(format!(
                        "this data set arrived binned (read in chunks) and holds no feature values, and tree {t} \
                         splits feature {f} at {threshold}, which is not one of its cut points: predict on the \
                         feature values, or on data binned with the cuts the model was trained on"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The cut points of a binned data set ([`Dataset::from_binned`]) and the `max_bin` they were
    /// made for: other data binned with them can evaluate its models.
    pub fn bin_cuts(&self) -> Option<(&BinMapper, usize)> {
        self.binned.as_ref().map(|b| (&*b.mapper, b.max_bin))
    }

    /// Whether the features arrived binned ([`Dataset::from_binned`]): no float values.
    pub fn is_binned(&self) -> bool {
        self.binned.is_some()
    }

    /// The cuts and bins of a binned data set.
    pub(crate) fn binned(&self) -> Option<&BinnedFeatures> {
        self.binned.as_ref()
    }

    /// Builds a data set from a row-major matrix of `num_rows * num_features` values.
    pub fn from_rows(values: &[f32], num_features: usize) -> Result<Dataset> {
        if num_features == 0 {
            return Err(Error::data("no feature columns"));
        }
        if !values.len().is_multiple_of(num_features) {
            return Err(Error::ShapeMismatch {
                what: "row-major values (a multiple of num_features)".into(),
                expected: values.len() / num_features * num_features,
                got: values.len(),
            });
        }
        let num_rows = values.len() / num_features;
        let columns = (0..num_features)
            .map(|j| (0..num_rows).map(|i| values[i * num_features + j]).collect())
            .collect();
        Dataset::from_columns(columns)
    }

    /// Attaches labels, one per row. NaN or infinite labels are rejected with the row named.
    pub fn with_labels(mut self, labels: Vec<f32>) -> Result<Dataset> {
        self.check_len("labels", labels.len(), self.num_rows)?;
        if let Some(row) = labels.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidLabel {
                row,
                value: labels[row] as f64,
                reason: "labels must be finite numbers".into(),
            });
        }
        self.labels = labels;
        self.label_columns = 1;
        Ok(self)
    }

    /// Attaches several labels per row (multi-output regression, multi-label classification):
    /// `labels` holds `num_targets` values per row, row-major. NaN or infinite labels are
    /// rejected with the row and target named.
    pub fn with_label_matrix(mut self, labels: Vec<f32>, num_targets: usize) -> Result<Dataset> {
        if num_targets == 0 {
            return Err(Error::param("num_target", "needs at least one label column"));
        }
        self.check_len("labels (rows x targets)", labels.len(), self.num_rows * num_targets)?;
        if let Some(i) = labels.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidLabel {
                row: i / num_targets,
                value: labels[i] as f64,
                reason: format!("labels must be finite numbers (target {})", i % num_targets),
            });
        }
        self.labels = labels;
        self.label_columns = num_targets;
        Ok(self)
    }

    /// [`Dataset::with_label_matrix`] from one vector per target.
    pub fn with_label_columns(self, columns: Vec<Vec<f32>>) -> Result<Dataset> {
        let t = columns.len();
        if let Some((j, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != self.num_rows) {
            return Err(Error::ShapeMismatch {
                what: format!("length of label column {j}"),
                expected: self.num_rows,
                got: c.len(),
            });
        }
        let mut labels = Vec::with_capacity(self.num_rows * t);
        for r in 0..self.num_rows {
            labels.extend(columns.iter().map(|c| c[r]));
        }
        self.with_label_matrix(labels, t)
    }

    /// Attaches sample weights, one per row; each must be finite and non-negative, and not all zero.
    pub fn with_weights(mut self, weights: Vec<f32>) -> Result<Dataset> {
        self.check_len("weights", weights.len(), self.num_rows)?;
        if let Some(row) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::data(format!(
                "weight at row {row} is {}; weights must be finite and >= 0",
                weights[row]
            )));
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err(Error::data("all weights are zero"));
        }
        self.weights = Some(weights);
        Ok(self)
    }

    /// Attaches base margins (the starting raw prediction of each row, replacing `base_score`):
    /// `num_rows` values, or `num_rows * num_class` row-major for multiclass models.
    pub fn with_base_margin(mut self, margin: Vec<f32>) -> Result<Dataset> {
        if margin.is_empty() || !margin.len().is_multiple_of(self.num_rows) {
            return Err(Error::ShapeMismatch {
                what: "base_margin (a multiple of the number of rows)".into(),
                expected: self.num_rows,
                got: margin.len(),
            });
        }
        if let Some(i) = margin.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(format!(
                "base_margin at row {} is not finite",
                i / (margin.len() / self.num_rows)
            )));
        }
        self.base_margin = Some(margin);
        Ok(self)
    }

    /// Attaches feature names, one per column; they must be distinct.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Dataset> {
        self.check_len("feature names", names.len(), self.columns.len())?;
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::data(format!("feature name `{dup}` appears twice")));
        }
        self.feature_names = Some(names);
        Ok(self)
    }

    /// Declares the type of every feature (one per column). The values of a categorical column
    /// must be category codes — integers in `0..MAX_CATEGORIES` — or `NaN` for missing; the first
    /// other value is an error naming the feature and the row.
    pub fn with_feature_types(mut self, types: Vec<FeatureType>) -> Result<Dataset> {
        self.check_len("feature types", types.len(), self.columns.len())?;
        for (j, t) in types.iter().enumerate() {
            if t.is_categorical() {
                let name = self.feature_name(j);
                let mut bad = Ok(());
                self.columns[j].for_each_present(|row, x| {
                    if bad.is_ok() {
                        bad = check_code(x, j, &name, row);
                    }
                });
                bad?;
            }
        }
        self.feature_types = types.iter().any(|t| t.is_categorical()).then_some(types);
        Ok(self)
    }

    /// Declares the features `categorical` (by index) categorical, the others keeping their type;
    /// see [`Dataset::with_feature_types`].
    pub fn with_categorical(self, categorical: &[usize]) -> Result<Dataset> {
        let mut types = self.feature_types();
        for &j in categorical {
            let slot = types.get_mut(j).ok_or_else(|| {
                Error::data(format!(
                    "categorical feature index {j} is beyond the {} features",
                    self.columns.len()
                ))
            })?;
            *slot = FeatureType::Categorical;
        }
        self.with_feature_types(types)
    }

    /// The type of every feature.
    pub fn feature_types(&self) -> Vec<FeatureType> {
        self.feature_types
            .clone()
            .unwrap_or_else(|| vec![FeatureType::Numerical; self.columns.len()])
    }

    /// The type of feature `j`.
    pub fn feature_type(&self, j: usize) -> FeatureType {
        self.feature_types.as_ref().map_or(FeatureType::Numerical, |t| t[j])
    }

    /// Whether any feature is categorical.
    pub fn has_categorical(&self) -> bool {
        self.feature_types.is_some()
    }

    /// The name of feature `j` for messages: its name, else `f{j}`.
    pub fn feature_name(&self, j: usize) -> String {
        self.feature_names
            .as_ref()
            .and_then(|n| n.get(j).cloned())
            .unwrap_or_else(|| format!("f{j}"))
    }

    fn check_len(&self, what: &str, got: usize, expected: usize) -> Result<()> {
        if got == expected {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                what: format!("{what} vs rows/columns of the data"),
                expected,
                got,
            })
        }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Number of feature columns.
    pub fn num_features(&self) -> usize {
        self.columns.len()
    }

    /// The feature columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// One feature column.
    pub fn column(&self, j: usize) -> &Column {
        &self.columns[j]
    }

    /// Number of present (non-missing) feature values.
    pub fn num_present(&self) -> usize {
        self.columns.iter().map(Column::num_present).sum()
    }

    /// The labels (empty when none were attached): one per row, or [`Dataset::num_targets`] per
    /// row, row-major.
    pub fn labels(&self) -> &[f32] {
        &self.labels
    }

    /// Label columns per row (1 unless [`Dataset::with_label_matrix`] attached several).
    pub fn num_targets(&self) -> usize {
        self.label_columns.max(1)
    }

    /// Whether labels are attached.
    pub fn has_labels(&self) -> bool {
        !self.labels.is_empty()
    }

    /// The sample weights, if any.
    pub fn weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }

    /// The base margins, if any.
    pub fn base_margin(&self) -> Option<&[f32]> {
        self.base_margin.as_deref()
    }

    /// The feature names, if any.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// Attaches query groups from one query id per row (ranking; XGBoost's `qid`). The rows of a
    /// query need not be contiguous: see [`QueryGroups::from_query_ids`].
    pub fn with_query_ids(mut self, ids: Vec<u64>) -> Result<Dataset> {
        self.check_len("query ids", ids.len(), self.num_rows)?;
        self.groups = Some(QueryGroups::from_query_ids(&ids));
        Ok(self)
    }

    /// Attaches query groups as the sizes of consecutive groups of rows (XGBoost's `group`,
    /// LightGBM's `group`); the sizes must add up to the number of rows.
    pub fn with_group_sizes(mut self, sizes: &[usize]) -> Result<Dataset> {
        self.groups = Some(QueryGroups::from_sizes(sizes, self.num_rows)?);
        Ok(self)
    }

    /// The query groups, if any.
    pub fn groups(&self) -> Option<&QueryGroups> {
        self.groups.as_ref()
    }

    /// Attaches interval label bounds, one pair per row (survival; XGBoost's
    /// `label_lower_bound` / `label_upper_bound`). See [`LabelBounds`].
    pub fn with_label_bounds(mut self, lower: Vec<f32>, upper: Vec<f32>) -> Result<Dataset> {
        self.check_len("label_lower_bound", lower.len(), self.num_rows)?;
        self.label_bounds = Some(LabelBounds::new(lower, upper)?);
        Ok(self)
    }

    /// The label bounds, if any.
    pub fn label_bounds(&self) -> Option<&LabelBounds> {
        self.label_bounds.as_ref()
    }

    /// What objectives and metrics compare predictions with: labels, weights, groups, bounds.
    pub fn targets(&self) -> Targets<'_> {
        Targets {
            labels: &self.labels,
            weights: self.weights.as_deref(),
            groups: self.groups.as_ref(),
            bounds: self.label_bounds.as_ref(),
        }
    }

    /// The weight of row `i` (1 when no weights are attached).
    #[inline]
    pub fn weight(&self, i: usize) -> f32 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// Copies rows `start..end` into a row-major buffer (`(end - start) * num_features` values).
    pub fn rows_into(&self, start: usize, end: usize, out: &mut Vec<f32>) {
        let nf = self.columns.len();
        out.clear();
        out.resize((end - start) * nf, f32::NAN);
        if let Some(b) = &self.binned {
            for (row, values) in (start..end).zip(out.chunks_exact_mut(nf)) {
                for (f, v) in values.iter_mut().enumerate() {
                    *v = b.mapper.feature(f).bin_value(b.matrix.bin(row, f));
                }
            }
            return;
        }
        for (j, col) in self.columns.iter().enumerate() {
            col.scatter_rows(start, end, out, nf, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_shapes_and_labels() {
        assert!(Dataset::from_columns(vec![]).is_err());
        assert!(Dataset::from_columns(vec![vec![]]).is_err());
        assert!(Dataset::from_columns(vec![vec![1.0, 2.0], vec![1.0]]).is_err());
        let d = Dataset::from_columns(vec![vec![1.0, 2.0]]).unwrap();
        assert!(d.clone().with_labels(vec![1.0]).is_err());
        let e = d.clone().with_labels(vec![1.0, f32::NAN]).unwrap_err().to_string();
        assert!(e.contains("row 1"), "{e}");
        assert!(d.clone().with_weights(vec![1.0, -1.0]).is_err());
        assert!(d.clone().with_feature_names(vec!["a".into(), "b".into()]).is_err());
        assert!(Dataset::from_columns(vec![vec![1.0, f32::INFINITY]]).is_err());
    }

    #[test]
    fn sparse_columns_are_checked_and_read() {
        let d = Dataset::from_sparse_columns(4, vec![(vec![0, 3], vec![1.0, 2.0]), (vec![], vec![])]).unwrap();
        assert_eq!(d.num_present(), 2);
        let mut buf = Vec::new();
        d.rows_into(0, 4, &mut buf);
        assert_eq!(buf[0], 1.0);
        assert!(buf[2].is_nan() && buf[7].is_nan());
        assert_eq!(buf[6], 2.0);
        assert!(Dataset::from_sparse_columns(4, vec![(vec![3, 1], vec![1.0, 2.0])]).is_err());
        assert!(Dataset::from_sparse_columns(4, vec![(vec![4], vec![1.0])]).is_err());
        assert!(Dataset::from_sparse_columns(4, vec![(vec![1], vec![f32::NAN])]).is_err());
        assert!(Dataset::from_sparse_columns(4, vec![(vec![1], vec![])]).is_err());
    }

    #[test]
    fn feature_types_are_checked() {
        let d = Dataset::from_columns(vec![vec![0.0, 2.0, f32::NAN], vec![0.5, 1.0, 2.0]]).unwrap();
        assert!(!d.has_categorical());
        let c = d.clone().with_categorical(&[0]).unwrap();
        assert_eq!(
            c.feature_types(),
            vec![FeatureType::Categorical, FeatureType::Numerical]
        );
        assert!(c.has_categorical());
        let e = d.clone().with_categorical(&[1]).unwrap_err().to_string();
        assert!(e.contains("f1") && e.contains("row 0"), "{e}");
        assert!(d.clone().with_categorical(&[2]).is_err());
        assert!(d.with_feature_types(vec![FeatureType::Numerical]).is_err());
    }

    #[test]
    fn rows_and_columns_agree() {
        let d = Dataset::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
        assert_eq!(d.num_rows(), 2);
        assert_eq!(d.column(1).as_dense(), Some(&[2.0, 5.0][..]));
        let mut buf = Vec::new();
        d.rows_into(0, 2, &mut buf);
        assert_eq!(buf, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
