//! Choosing the label, weight, base-margin, group, label-bound and feature columns of a table and
//! building a [`Dataset`].
//!
//! A group (query id) column may hold integers or strings; its distinct values become the
//! dataset's queries (`Dataset::with_query_ids`), and the rows of one query need not be
//! contiguous. Label-bound columns (survival, `survival:aft`) follow XGBoost: a missing or empty
//! upper bound is `+inf` (right-censored).

use std::path::Path;

use rayon::prelude::*;

use sylvan_booster::{Column, Dataset, FeatureType};

use crate::categories::CategoryMap;
use crate::error::{Error, Result};
use crate::table::{ColumnKind, ReadOptions, SkippedColumn, Table};

/// Which columns play which role (the CLI's `--label`, `--weight`, `--base-margin`, `--group`,
/// `--features`, `--drop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnSelection {
    /// The label column (required for training and evaluation); the first one when there are
    /// several (see `extra_labels`).
    pub label: Option<String>,
    /// Further label columns, for a model with several targets (multi-output regression,
    /// multi-label classification; the CLI's `--label a,b,c`): the data set then gets one label
    /// column per target, `label` first and these after it in order
    /// ([`Dataset::with_label_matrix`]); excluded from the features. Not combined with a group
    /// column or label bounds (ranking and survival take one label). Empty: one label.
    pub extra_labels: Vec<String>,
    /// The sample-weight column.
    pub weight: Option<String>,
    /// Columns of starting margins (XGBoost's `base_margin`): one, or one per class in class order
    /// for multiclass models; excluded from the features. Empty: none.
    pub base_margin: Vec<String>,
    /// The query/group column (for ranking; XGBoost's `qid`); excluded from the features. Its
    /// values (integers or strings) are mapped to query ids; rows of a query may be anywhere in
    /// the file.
    pub group: Option<String>,
    /// The column of label lower bounds (survival, XGBoost's `label_lower_bound`); excluded from
    /// the features. Must be given together with `label_upper`.
    pub label_lower: Option<String>,
    /// The column of label upper bounds (XGBoost's `label_upper_bound`); a missing value is `+inf`
    /// (right-censored). Must be given together with `label_lower`.
    pub label_upper: Option<String>,
    /// The feature columns, in this order; `None` takes every numeric, boolean or string column
    /// that has no other role and is not dropped.
    pub features: Option<Vec<String>>,
    /// Columns that are not features.
    pub drop: Vec<String>,
    /// Numeric feature columns to treat as categorical (their values must be category codes:
    /// integers `0, 1, ...`); string and dictionary columns are categorical without being listed.
    pub categorical: Vec<String>,
    /// Parquet only: read just these row groups of the file (distributed training's shard of one
    /// file, see [`crate::parquet_reader::row_group_rows`]); `None` reads every row.
    pub row_groups: Option<std::ops::Range<usize>>,
}

impl ColumnSelection {
    /// Every label column, `label` first, then `extra_labels` (empty without a label).
    pub fn label_columns(&self) -> Vec<&str> {
        match &self.label {
            Some(first) => std::iter::once(first)
                .chain(&self.extra_labels)
                .map(String::as_str)
                .collect(),
            None => Vec::new(),
        }
    }

    /// The columns with a role other than feature.
    fn special(&self) -> impl Iterator<Item = &String> {
        self.label
            .iter()
            .chain(&self.extra_labels)
            .chain(&self.weight)
            .chain(&self.base_margin)
            .chain(&self.group)
            .chain(&self.label_lower)
            .chain(&self.label_upper)
    }
}

/// A data set ready for the booster, with what was learned while reading it.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// Features (named), labels and weights when they were asked for.
    pub dataset: Dataset,
    /// The group column's values as read (string columns as category codes), when one was asked
    /// for; the dataset's query groups are built from them.
    pub groups: Option<Vec<f32>>,
    /// The categories of the categorical feature columns (code `i` is the `i`-th string).
    pub categories: CategoryMap,
    /// Columns left out because of their type.
    pub skipped: Vec<SkippedColumn>,
}

/// Reads a file for training: features are chosen by `selection`, string columns learn their
/// categories. A label is required only when `selection.label` is set.
pub fn load_training(path: &Path, selection: &ColumnSelection) -> Result<LoadedData> {
    for name in selection.special() {
        if selection.drop.contains(name) || selection.features.as_ref().is_some_and(|f| f.contains(name)) {
            return Err(Error::bad_column(
                path,
                name,
                "is both a feature (or dropped) and the label, weight, base margin, group or a label bound",
            ));
        }
    }
    let include = selection
        .features
        .as_ref()
        .map(|f| f.iter().chain(selection.special()).cloned().collect());
    let options = ReadOptions {
        include,
        exclude: selection.drop.clone(),
        categories: CategoryMap::new(),
        row_groups: selection.row_groups.clone(),
    };
    let table = crate::read_table(path, &options)?;
    table.check_not_empty()?;
    for name in &selection.drop {
        if !table.file_columns.contains(name) {
            return Err(table.missing(name, "dropped"));
        }
    }
    let features: Vec<String> = match &selection.features {
        Some(f) => f.clone(),
        None => table
            .names
            .iter()
            .filter(|n| !selection.special().any(|s| s == *n))
            .cloned()
            .collect(),
    };
    if features.is_empty() {
        return Err(Error::bad_column(
            path,
            "(none)",
            "no feature columns are left after choosing the label, weight, group and dropped columns",
        ));
    }
    build(table, &features, selection, None)
}

/// Reads a file for a trained model: the model's features are matched BY NAME (extra columns are
/// ignored, a missing one is an error naming it; in a sparse LibSVM file an absent feature is all
/// missing), string columns use the model's categories (an unseen category is missing).
/// `selection.label`, `selection.weight`, `selection.base_margin`, `selection.group` and the label
/// bounds are read when set; its feature fields are ignored.
pub fn load_for_model(
    path: &Path,
    feature_names: &[String],
    categories: &CategoryMap,
    selection: &ColumnSelection,
) -> Result<LoadedData> {
    let include = Some(
        feature_names
            .iter()
            .chain(selection.label.iter())
            .chain(selection.extra_labels.iter())
            .chain(selection.weight.iter())
            .chain(selection.base_margin.iter())
            .chain(selection.group.iter())
            .chain(selection.label_lower.iter())
            .chain(selection.label_upper.iter())
            .cloned()
            .collect(),
    );
    let options = ReadOptions {
        include,
        exclude: Vec::new(),
        categories: categories.clone(),
        row_groups: selection.row_groups.clone(),
    };
    let mut table = crate::read_table(path, &options)?;
    table.check_not_empty()?;
    if table.format.is_sparse() {
        for name in feature_names {
            if table.index_of(name).is_none() && !table.file_columns.contains(name) {
                let n = table.num_rows;
                table.push(name.clone(), ColumnKind::Numeric, vec![f32::NAN; n], None);
            }
        }
    }
    let selection = ColumnSelection {
        features: None,
        drop: Vec::new(),
        ..selection.clone()
    };
    build(table, feature_names, &selection, Some(categories))
}

/// Moves the chosen columns out of `table` into a [`Dataset`]. With `model_categories`, checks that
/// each feature is categorical exactly when the model's was.
fn build(
    mut table: Table,
    features: &[String],
    selection: &ColumnSelection,
    model_categories: Option<&CategoryMap>,
) -> Result<LoadedData> {
    let file = table.file.clone();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = features.iter().find(|f| !seen.insert(f.as_str())) {
        return Err(Error::bad_column(&file, dup, "is named twice as a feature"));
    }
    if let Some(unknown) = selection.categorical.iter().find(|c| !features.contains(c)) {
        return Err(Error::bad_column(
            &file,
            unknown,
            "is declared categorical but is not a feature column",
        ));
    }
    let mut columns = Vec::with_capacity(features.len());
    let mut types = Vec::with_capacity(features.len());
    let mut categories = CategoryMap::new();
    // By position: a LibSVM file may have millions of features, and a scan per name is quadratic.
    let positions = table.positions();
    // Every feature column's first infinite value, found in parallel (a vectorised scan; a
    // closure per value took a tenth of a wide file's load) and reported in the loop below, in
    // the order of the other checks.
    let infinite: Vec<Option<(usize, f32)>> = features
        .par_iter()
        .map(|name| positions.get(name).and_then(|&i| table.column_at(i).first_infinite()))
        .collect();
    for (name, infinite) in features.iter().zip(infinite) {
        let (values, kind) = match positions.get(name) {
            Some(&i) => table.take_at(i),
            None => return Err(table.missing(name, "feature")),
        };
        if let Some(model) = model_categories {
            check_kind(&file, name, kind, &values, model.get(name).is_some())?;
        }
        if let Some((row, v)) = infinite {
            return Err(Error::BadValue {
                file,
                row,
                column: name.clone(),
                reason: format!("{v} is not allowed; features must be finite or missing"),
            });
        }
        if kind == ColumnKind::Categorical {
            if let Some(c) = table.categories.get(name) {
                categories.insert(name.clone(), c.to_vec());
            }
        }
        let categorical = kind == ColumnKind::Categorical || selection.categorical.contains(name);
        if categorical {
            let mut bad = None;
            values.for_each_present(|row, v| {
                if bad.is_none() && sylvan_booster::category_code(v).is_none() {
                    bad = Some((row, v));
                }
            });
            if let Some((row, v)) = bad {
                return Err(Error::BadValue {
                    file,
                    row,
                    column: name.clone(),
                    reason: format!(
                        "{v} is not a category code; a categorical column holds integers 0..{} (or strings)",
                        sylvan_booster::MAX_CATEGORIES
                    ),
                });
            }
        }
        types.push(if categorical {
            FeatureType::Categorical
        } else {
            FeatureType::Numerical
        });
        columns.push(values);
    }
    let mut dataset = Dataset::from_feature_columns(table.num_rows, columns)?.with_feature_names(features.to_vec())?;
    if types.iter().any(|t| t.is_categorical()) {
        dataset = dataset.with_feature_types(types)?;
    }
    if !selection.extra_labels.is_empty() {
        dataset = dataset.with_label_columns(label_matrix(&mut table, selection)?)?;
    } else if let Some(label) = &selection.label {
        // Survival data may use its lower-bound column as the label too.
        let values = if selection.label_lower.as_ref() == Some(label) || selection.label_upper.as_ref() == Some(label) {
            numeric_copy(&table, label, "label")?
        } else {
            numeric_column(&mut table, label, "label")?
        };
        check_label(&file, label, &values)?;
        dataset = dataset.with_labels(values)?;
    }
    if let Some(weight) = &selection.weight {
        let values = numeric_column(&mut table, weight, "weight")?;
        if let Some(row) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::BadValue {
                file,
                row,
                column: weight.clone(),
                reason: format!("the weight is {}; weights must be finite and >= 0", values[row]),
            });
        }
        dataset = dataset.with_weights(values)?;
    }
    if !selection.base_margin.is_empty() {
        let k = selection.base_margin.len();
        let mut margins = vec![0f32; table.num_rows * k];
        for (c, name) in selection.base_margin.iter().enumerate() {
            let values = numeric_column(&mut table, name, "base margin")?;
            if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::BadValue {
                    file,
                    row,
                    column: name.clone(),
                    reason: format!("the base margin is {}; base margins must be finite", values[row]),
                });
            }
            for (row, v) in values.into_iter().enumerate() {
                margins[row * k + c] = v;
            }
        }
        dataset = dataset.with_base_margin(margins)?;
    }
    let groups = match &selection.group {
        Some(group) => {
            let values = group_column(&mut table, group)?;
            dataset = dataset.with_query_ids(query_ids(&values))?;
            Some(values)
        }
        None => None,
    };
    match (&selection.label_lower, &selection.label_upper) {
        (Some(lower), Some(upper)) => {
            let (lower, upper) = bound_columns(&mut table, lower, upper)?;
            dataset = dataset.with_label_bounds(lower, upper)?;
        }
        (None, None) => {}
        (Some(given), None) | (None, Some(given)) => {
            return Err(Error::bad_column(
                &file,
                given,
                "label bounds come in pairs: give both the lower and the upper bound column",
            ));
        }
    }
    Ok(LoadedData {
        dataset,
        groups,
        categories,
        skipped: table.skipped,
    })
}

/// Checks that every label of the column `name` is a finite number; the error names the column
/// and the first bad row.
fn check_label(file: &Path, name: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(row) => Err(Error::BadValue {
            file: file.to_path_buf(),
            row,
            column: name.to_string(),
            reason: if values[row].is_nan() {
                "the label is missing".to_string()
            } else {
                format!("the label is {}", values[row])
            },
        }),
    }
}

/// Takes the label columns of a model with several targets (`label`, then `extra_labels`), one
/// vector per target, each checked as a single label is. Refuses a column named twice, and a group
/// column or label bounds (ranking and survival take one label).
fn label_matrix(table: &mut Table, selection: &ColumnSelection) -> Result<Vec<Vec<f32>>> {
    let Some(first) = selection.label.as_deref() else {
        return Err(Error::bad_column(
            &table.file,
            selection.extra_labels.join(","),
            "are further label columns, but no first label column is set",
        ));
    };
    let names = selection.label_columns();
    let single_label = if selection.group.is_some() {
        Some("a group (query id) column")
    } else if selection.label_lower.is_some() || selection.label_upper.is_some() {
        Some("label bounds")
    } else {
        None
    };
    if let Some(what) = single_label {
        return Err(Error::bad_column(
            &table.file,
            first,
            format!(
                "several label columns ({}) cannot be combined with {what}: ranking and survival take one label",
                names.join(", ")
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(**n)) {
        return Err(Error::bad_column(&table.file, *dup, "is named twice as a label"));
    }
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let values = numeric_column(table, name, "label")?;
        check_label(&table.file, name, &values)?;
        columns.push(values);
    }
    Ok(columns)
}

/// Takes a label, weight or bound column: it must exist, be numeric or boolean, and hold a value.
fn numeric_column(table: &mut Table, name: &str, role: &str) -> Result<Vec<f32>> {
    let (column, kind) = table.take(name).ok_or_else(|| table.missing(name, role))?;
    numeric_values(table, name, role, column, kind)
}

/// Copies a column that has a second role (the label that is also a label bound), checked as
/// [`numeric_column`] checks it.
fn numeric_copy(table: &Table, name: &str, role: &str) -> Result<Vec<f32>> {
    let i = table.index_of(name).ok_or_else(|| table.missing(name, role))?;
    numeric_values(table, name, role, table.columns[i].clone(), table.kinds[i])
}

/// The dense values of a label, weight or bound column, checked: numeric or boolean, not all missing.
fn numeric_values(table: &Table, name: &str, role: &str, column: Column, kind: ColumnKind) -> Result<Vec<f32>> {
    let values = match column {
        Column::Dense(values) => values,
        sparse => {
            let mut dense = vec![f32::NAN; table.num_rows];
            sparse.for_each_present(|r, v| dense[r] = v);
            dense
        }
    };
    if kind == ColumnKind::Categorical {
        return Err(Error::bad_column(
            &table.file,
            name,
            format!("the {role} must be numeric or boolean, but the column holds strings"),
        ));
    }
    if values.iter().all(|v| v.is_nan()) {
        return Err(Error::bad_column(
            &table.file,
            name,
            format!("the {role} has no values (every row is missing)"),
        ));
    }
    Ok(values)
}

/// The largest magnitude at which every integer is exact in f32 (2^24): beyond it, distinct query
/// ids could merge after conversion.
const EXACT_F32_INTEGER: f32 = 16_777_216.0;

/// Takes the group (query id) column: numeric or boolean (ids up to 2^24 in magnitude, so that
/// distinct ids stay distinct in f32) or strings (as category codes); no row may be missing.
fn group_column(table: &mut Table, name: &str) -> Result<Vec<f32>> {
    let (column, _) = table.take(name).ok_or_else(|| table.missing(name, "group"))?;
    let mut values = vec![f32::NAN; table.num_rows];
    column.for_each_present(|r, v| values[r] = v);
    if let Some(row) = values.iter().position(|v| v.is_nan()) {
        return Err(Error::BadValue {
            file: table.file.clone(),
            row,
            column: name.to_string(),
            reason: "the query id (group) is missing; every row needs one".into(),
        });
    }
    if let Some(row) = values.iter().position(|v| v.abs() >= EXACT_F32_INTEGER) {
        return Err(Error::BadValue {
            file: table.file.clone(),
            row,
            column: name.to_string(),
            reason: format!(
                "the query id {} is too large to tell apart from its neighbours (numeric query ids must be \
                 below 2^24 = 16777216 in magnitude); store the ids as strings or renumber them",
                values[row]
            ),
        });
    }
    Ok(values)
}

/// One id per row for [`Dataset::with_query_ids`]: equal values get equal ids (`-0` equals `0`).
fn query_ids(values: &[f32]) -> Vec<u64> {
    values.iter().map(|&v| u64::from((v + 0.0).to_bits())).collect()
}

/// Takes the lower and upper label-bound columns: numeric, the lower bound present in every row,
/// a missing upper bound meaning `+inf` (right-censored, XGBoost's convention). The ranges
/// themselves (`0 <= lower <= upper`) are checked by the dataset, which names the row.
fn bound_columns(table: &mut Table, lower: &str, upper: &str) -> Result<(Vec<f32>, Vec<f32>)> {
    let lower_values = numeric_column(table, lower, "label lower bound")?;
    if let Some(row) = lower_values.iter().position(|v| v.is_nan()) {
        return Err(Error::BadValue {
            file: table.file.clone(),
            row,
            column: lower.to_string(),
            reason: "the label lower bound is missing (only the upper bound may be missing, meaning +inf)".into(),
        });
    }
    let (column, kind) = table
        .take(upper)
        .ok_or_else(|| table.missing(upper, "label upper bound"))?;
    if kind == ColumnKind::Categorical {
        return Err(Error::bad_column(
            &table.file,
            upper,
            "the label upper bound must be numeric, but the column holds strings",
        ));
    }
    let mut upper_values = vec![f32::INFINITY; table.num_rows];
    column.for_each_present(|r, v| upper_values[r] = if v.is_nan() { f32::INFINITY } else { v });
    let bad = lower_values
        .iter()
        .zip(&upper_values)
        .position(|(&l, &u)| !(l.is_finite() && l >= 0.0 && u >= l));
    if let Some(row) = bad {
        let (l, u) = (lower_values[row], upper_values[row]);
        return Err(Error::BadValue {
            file: table.file.clone(),
            row,
            column: format!("{lower}`/`{upper}"),
            reason: format!(
                "label bounds must satisfy 0 <= lower <= upper (upper may be missing = +inf), got [{l}, {u}]"
            ),
        });
    }
    Ok((lower_values, upper_values))
}

/// Checks that a feature is categorical in the data exactly when it was in training.
fn check_kind(file: &Path, name: &str, kind: ColumnKind, values: &Column, model_categorical: bool) -> Result<()> {
    let categorical = kind == ColumnKind::Categorical;
    if categorical == model_categorical || values.num_present() == 0 {
        return Ok(());
    }
    let reason = if model_categorical {
        "holds numbers, but the model was trained on strings (categories) in this column"
    } else {
        "holds strings, but the model was trained on numbers in this column"
    };
    Err(Error::bad_column(file, name, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sylvan-select-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn group_column_attaches_non_contiguous_queries() {
        // Integer and string query ids, rows of a query scattered through the file.
        let path = write(
            "qid.csv",
            "y,x,q,s\n1,0.5,7,b\n0,1.5,3,a\n2,2.5,7,b\n1,3.5,3,a\n0,4.5,9,c\n",
        );
        for column in ["q", "s"] {
            let selection = ColumnSelection {
                label: Some("y".into()),
                group: Some(column.into()),
                ..Default::default()
            };
            let loaded = load_training(&path, &selection).unwrap();
            assert_eq!(loaded.dataset.num_features(), 2, "the group is not a feature");
            let groups = loaded.dataset.groups().expect("groups attached");
            assert_eq!(groups.num_queries(), 3, "{column}");
            assert_eq!(groups.query(0), &[0, 2]);
            assert_eq!(groups.query(1), &[1, 3]);
            assert_eq!(groups.query(2), &[4]);
            // The same column is read for a trained model (evaluation sets).
            let names = loaded.dataset.feature_names().unwrap().to_vec();
            let again = load_for_model(&path, &names, &loaded.categories, &selection).unwrap();
            assert_eq!(again.dataset.groups(), Some(groups));
        }
    }

    #[test]
    fn an_infinite_feature_value_is_refused_naming_column_and_row() {
        // Two columns hold an infinity; the first feature in order is reported, at its row, and a
        // categorical error in an earlier feature comes first.
        let path = write("inf.csv", "y,a,b,c\n1,0.5,1,2\n0,1.5,inf,-inf\n1,2.5,3,4\n");
        let selection = ColumnSelection {
            label: Some("y".into()),
            ..Default::default()
        };
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("`b`") && e.contains("row 1") && e.contains("finite"), "{e}");
        let selection = ColumnSelection {
            features: Some(vec!["c".into(), "b".into()]),
            ..selection
        };
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("`c`") && e.contains("-inf"), "{e}");
        let path = write("inf_cat.csv", "y,a,b\n1,0.5,1\n0,-1.5,inf\n");
        let selection = ColumnSelection {
            label: Some("y".into()),
            categorical: vec!["a".into()],
            ..Default::default()
        };
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("`a`") && e.contains("category code"), "{e}");
    }

    #[test]
    fn group_column_errors_name_the_row() {
        let path = write("qid_bad.csv", "y,x,q\n1,0.5,7\n0,1.5,\n");
        let selection = ColumnSelection {
            label: Some("y".into()),
            group: Some("q".into()),
            ..Default::default()
        };
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("query id"), "{e}");
        let path = write("qid_big.csv", "y,x,q\n1,0.5,7\n0,1.5,123456789\n");
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("2^24"), "{e}");
    }

    #[test]
    fn label_bounds_attach_with_missing_upper_as_infinity() {
        let path = write("aft.csv", "y,x,lo,hi\n1,0.5,1,1\n2,1.5,2,\n3,2.5,0,3\n4,3.5,4,NaN\n");
        let selection = ColumnSelection {
            label: Some("y".into()),
            label_lower: Some("lo".into()),
            label_upper: Some("hi".into()),
            ..Default::default()
        };
        let loaded = load_training(&path, &selection).unwrap();
        assert_eq!(loaded.dataset.num_features(), 1, "bounds are not features");
        // The lower bound may be the label too.
        let as_label = ColumnSelection {
            label: Some("lo".into()),
            ..selection.clone()
        };
        let d = load_training(&path, &as_label).unwrap().dataset;
        assert_eq!(d.labels(), &[1.0, 2.0, 0.0, 4.0]);
        assert_eq!(d.num_features(), 2);
        let b = loaded.dataset.label_bounds().expect("bounds attached");
        assert_eq!(b.lower, vec![1.0, 2.0, 0.0, 4.0]);
        assert_eq!(b.upper, vec![1.0, f32::INFINITY, 3.0, f32::INFINITY]);
        let names = loaded.dataset.feature_names().unwrap().to_vec();
        let again = load_for_model(&path, &names, &loaded.categories, &selection).unwrap();
        assert_eq!(again.dataset.label_bounds(), Some(b));

        let only_one = ColumnSelection {
            label_upper: None,
            ..selection.clone()
        };
        let e = load_training(&path, &only_one).unwrap_err().to_string();
        assert!(e.contains("pairs"), "{e}");
        let bad = write("aft_bad.csv", "y,x,lo,hi\n1,0.5,1,1\n2,1.5,3,2\n");
        let e = load_training(&bad, &selection).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("lower <= upper"), "{e}");
        let bad = write("aft_missing.csv", "y,x,lo,hi\n1,0.5,1,1\n2,1.5,,2\n");
        let e = load_training(&bad, &selection).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("lower bound is missing"), "{e}");
    }

    #[test]
    fn several_label_columns_make_a_label_matrix() {
        let path = write("targets.csv", "a,x,b,c\n1,0.5,10,100\n2,1.5,20,200\n3,2.5,30,300\n");
        let selection = ColumnSelection {
            label: Some("a".into()),
            extra_labels: vec!["c".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(selection.label_columns(), ["a", "c", "b"]);
        let loaded = load_training(&path, &selection).unwrap();
        let d = &loaded.dataset;
        assert_eq!(d.num_features(), 1, "every label column is left out of the features");
        assert_eq!(d.num_targets(), 3);
        assert_eq!(d.labels(), &[1.0, 100.0, 10.0, 2.0, 200.0, 20.0, 3.0, 300.0, 30.0]);
        let names = d.feature_names().unwrap().to_vec();
        let again = load_for_model(&path, &names, &loaded.categories, &selection).unwrap();
        assert_eq!(again.dataset.labels(), d.labels());
        assert_eq!(again.dataset.num_targets(), 3);
    }

    #[test]
    fn several_label_columns_errors_name_the_column_and_row() {
        let path = write("targets_bad.csv", "a,x,b\n1,0.5,10\n2,1.5,\n3,2.5,30\n");
        let selection = ColumnSelection {
            label: Some("a".into()),
            extra_labels: vec!["b".into()],
            ..Default::default()
        };
        let e = load_training(&path, &selection).unwrap_err().to_string();
        assert!(e.contains("`b`") && e.contains("row 1") && e.contains("missing"), "{e}");
        let unknown = ColumnSelection {
            extra_labels: vec!["nope".into()],
            ..selection.clone()
        };
        let e = load_training(&path, &unknown).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
        let twice = ColumnSelection {
            extra_labels: vec!["a".into()],
            ..selection.clone()
        };
        let e = load_training(&path, &twice).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        let grouped = write("targets_q.csv", "a,x,b,q\n1,0.5,10,1\n2,1.5,20,1\n");
        let ranking = ColumnSelection {
            group: Some("q".into()),
            ..selection.clone()
        };
        let e = load_training(&grouped, &ranking).unwrap_err().to_string();
        assert!(e.contains("group") && e.contains("one label"), "{e}");
        let headless = ColumnSelection {
            label: None,
            ..selection.clone()
        };
        let e = load_for_model(&path, &["x".into()], &CategoryMap::new(), &headless)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no first label"), "{e}");
    }
}
