//! The column-choice options shared by the subcommands.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use sylvan_io::{ColumnSelection, Format};

/// Which columns are label, weight, group and features.
#[derive(Debug, Clone, Args)]
pub struct ColumnArgs {
    /// The label column (for LibSVM files it is called `label`, the default there). Several
    /// comma-separated columns (`--label y1,y2`) train a model with one output per column
    /// (multi-output regression, multi-label classification; see `multi_strategy`).
    #[arg(long, value_name = "COL[,COL..]")]
    pub label: Option<String>,
    /// A column of sample weights.
    #[arg(long, value_name = "COL")]
    pub weight: Option<String>,
    /// Columns of starting margins (XGBoost's `base_margin`): one, or one per class in class order
    /// (comma-separated); training starts each row there instead of `base_score`.
    #[arg(long, value_name = "COL[,COL..]", value_delimiter = ',')]
    pub base_margin: Vec<String>,
    /// A query id column for ranking (`rank:*` objectives and ndcg/map metrics; for LibSVM files
    /// `qid`); never a feature. Integers (below 2^24) or strings; the rows of a query may be
    /// anywhere in the file. Validation files hold the same column.
    #[arg(long, visible_alias = "qid", value_name = "COL")]
    pub group: Option<String>,
    /// The column of label lower bounds for survival:aft (XGBoost's `label_lower_bound`); with
    /// --label-upper. Without --label the lower bound is also the label.
    #[arg(long, value_name = "COL", requires = "label_upper")]
    pub label_lower: Option<String>,
    /// The column of label upper bounds (XGBoost's `label_upper_bound`); an empty or NaN cell is
    /// +inf (right-censored). With --label-lower.
    #[arg(long, value_name = "COL", requires = "label_lower")]
    pub label_upper: Option<String>,
    /// Use only these feature columns, in this order (comma-separated).
    #[arg(long, value_name = "A,B,..", value_delimiter = ',', conflicts_with = "drop")]
    pub features: Option<Vec<String>>,
    /// Use every column but these as features (comma-separated).
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Treat these numeric columns as categorical (comma-separated; their values must be integer
    /// category codes 0, 1, ...). String and dictionary columns are categorical already. Trees split
    /// categorical features by sets of categories (see `max_cat_to_onehot`, `max_cat_threshold`,
    /// `cat_smooth`, `cat_l2`, `min_data_per_group`).
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub categorical: Vec<String>,
}

/// The label to use: the one given, else `label` for LibSVM files, else `fallback` (e.g. the label a
/// model was trained with); an error when there is none.
pub fn label_for(given: Option<&str>, data: &Path, fallback: Option<&str>) -> Result<String> {
    if let Some(l) = given {
        return Ok(l.to_string());
    }
    if Format::from_path(data).is_ok_and(|f| f == Format::LibSvm) {
        return Ok("label".to_string());
    }
    match fallback {
        Some(l) => Ok(l.to_string()),
        None => bail!("--label COL is required: name the column that holds the target"),
    }
}

/// The label to use when label bounds may stand in for it: the one given, else (with bounds) the
/// lower-bound column, else as [`label_for`].
pub fn label_or_bound(given: Option<&str>, lower: Option<&str>, data: &Path, fallback: Option<&str>) -> Result<String> {
    match (given, lower) {
        (None, Some(lower)) if fallback.is_none() => Ok(lower.to_string()),
        _ => label_for(given, data, fallback),
    }
}

/// Splits a `--label` value into its columns (`y1,y2` names two); an empty name is an error.
pub fn label_columns(text: &str) -> Result<Vec<String>> {
    let names: Vec<String> = text.split(',').map(str::to_string).collect();
    if names.iter().any(String::is_empty) {
        bail!("--label `{text}`: a label column name is empty; name each column once, separated by commas");
    }
    Ok(names)
}

/// `selection` with its label columns set from a `--label` value (the first column is `label`,
/// the others `extra_labels`).
pub fn with_labels(selection: ColumnSelection, text: &str) -> Result<ColumnSelection> {
    let mut names = label_columns(text)?;
    let first = names.remove(0);
    Ok(ColumnSelection {
        label: Some(first),
        extra_labels: names,
        ..selection
    })
}

/// The label columns of `selection` as the comma list that `--label` takes and the model records
/// (`None` without a label).
pub fn label_text(selection: &ColumnSelection) -> Option<String> {
    selection.label.as_ref().map(|_| selection.label_columns().join(","))
}

impl ColumnArgs {
    /// The selection for training on `data`.
    pub fn selection(&self, data: &Path) -> Result<ColumnSelection> {
        let label = label_or_bound(self.label.as_deref(), self.label_lower.as_deref(), data, None)?;
        let selection = ColumnSelection {
            weight: self.weight.clone(),
            base_margin: self.base_margin.clone(),
            group: self.group.clone(),
            label_lower: self.label_lower.clone(),
            label_upper: self.label_upper.clone(),
            features: self.features.clone(),
            drop: self.drop.clone(),
            categorical: self.categorical.clone(),
            ..Default::default()
        };
        with_labels(selection, &label)
    }
}
