//! Choosing the label, weight, base-margin, group and feature columns of a table and building a
//! [`Dataset`].

use std::path::Path;

use sylvan_booster::{Column, Dataset, FeatureType};

use crate::categories::CategoryMap;
use crate::error::{Error, Result};
use crate::table::{ColumnKind, ReadOptions, SkippedColumn, Table};

/// Which columns play which role (the CLI's `--label`, `--weight`, `--base-margin`, `--group`,
/// `--features`, `--drop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnSelection {
    /// The label column (required for training and evaluation).
    pub label: Option<String>,
    /// The sample-weight column.
    pub weight: Option<String>,
    /// Columns of starting margins (XGBoost's `base_margin`): one, or one per class in class order
    /// for multiclass models; excluded from the features. Empty: none.
    pub base_margin: Vec<String>,
    /// The query/group column (for ranking); excluded from the features.
    pub group: Option<String>,
    /// The feature columns, in this order; `None` takes every numeric, boolean or string column
    /// that has no other role and is not dropped.
    pub features: Option<Vec<String>>,
    /// Columns that are not features.
    pub drop: Vec<String>,
    /// Numeric feature columns to treat as categorical (their values must be category codes:
    /// integers `0, 1, ...`); string and dictionary columns are categorical without being listed.
    pub categorical: Vec<String>,
}

impl ColumnSelection {
    /// The columns with a role other than feature.
    fn special(&self) -> impl Iterator<Item = &String> {
        self.label
            .iter()
            .chain(&self.weight)
            .chain(&self.base_margin)
            .chain(&self.group)
    }
}

/// A data set ready for the booster, with what was learned while reading it.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// Features (named), labels and weights when they were asked for.
    pub dataset: Dataset,
    /// The group column, when one was asked for.
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
                "is both a feature (or dropped) and the label, weight, base margin or group",
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
/// `selection.label`, `selection.weight` and `selection.base_margin` are read when set; its feature
/// fields are ignored.
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
            .chain(selection.weight.iter())
            .chain(selection.base_margin.iter())
            .cloned()
            .collect(),
    );
    let options = ReadOptions {
        include,
        exclude: Vec::new(),
        categories: categories.clone(),
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
        group: None,
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
    for name in features {
        let (values, kind) = table.take(name).ok_or_else(|| table.missing(name, "feature"))?;
        if let Some(model) = model_categories {
            check_kind(&file, name, kind, &values, model.get(name).is_some())?;
        }
        let mut infinite = None;
        values.for_each_present(|row, v| {
            if v.is_infinite() && infinite.is_none() {
                infinite = Some((row, v));
            }
        });
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
    if let Some(label) = &selection.label {
        let values = numeric_column(&mut table, label, "label")?;
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            let reason = if values[row].is_nan() {
                "the label is missing".to_string()
            } else {
                format!("the label is {}", values[row])
            };
            return Err(Error::BadValue {
                file,
                row,
                column: label.clone(),
                reason,
            });
        }
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
        Some(group) => Some(numeric_column(&mut table, group, "group")?),
        None => None,
    };
    Ok(LoadedData {
        dataset,
        groups,
        categories,
        skipped: table.skipped,
    })
}

/// Takes a label, weight or group column: it must exist, be numeric or boolean, and hold a value.
fn numeric_column(table: &mut Table, name: &str, role: &str) -> Result<Vec<f32>> {
    let (column, kind) = table.take(name).ok_or_else(|| table.missing(name, role))?;
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
