//! The in-memory result of reading a file: named f32 columns (`NaN` = missing) and what was learned
//! about them, before labels and features are chosen.

use std::path::{Path, PathBuf};
use sylvan_booster::Column;

use crate::categories::CategoryMap;
use crate::error::{Error, Result};
use crate::format::Format;

/// How a column's values were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Integers, floats or decimals, converted to f32.
    Numeric,
    /// Booleans, as 0 and 1.
    Boolean,
    /// Strings (plain or dictionary-encoded), as category codes.
    Categorical,
}

/// A column that was not read because its type cannot be a feature (dates, lists, structs ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedColumn {
    /// The column's name.
    pub name: String,
    /// Its type, as the file declares it.
    pub data_type: String,
}

/// Which columns to read, and the category mappings to use for string columns.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Read only these columns (those present); `None` reads every column.
    pub include: Option<Vec<String>>,
    /// Never read these columns.
    pub exclude: Vec<String>,
    /// Fixed string-to-code mappings (from a model); string columns not listed learn their own.
    /// A CSV column listed here is read as strings even when its values look like numbers.
    pub categories: CategoryMap,
    /// Parquet only: read just these row groups (a distributed rank's shard of one file);
    /// `None` reads the whole file. Other formats refuse a range.
    pub row_groups: Option<std::ops::Range<usize>>,
}

impl ReadOptions {
    /// Whether the column named `name` is to be read.
    pub fn wants(&self, name: &str) -> bool {
        if self.exclude.iter().any(|e| e == name) {
            return false;
        }
        match &self.include {
            Some(include) => include.iter().any(|i| i == name),
            None => true,
        }
    }
}

/// Named f32 columns read from one file.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file the table was read from.
    pub file: PathBuf,
    /// Its format.
    pub format: Format,
    /// Number of rows.
    pub num_rows: usize,
    /// Every column of the file, in file order, whether read or not.
    pub file_columns: Vec<String>,
    /// Names of the columns read, in file order.
    pub names: Vec<String>,
    /// The columns read (`num_rows` rows each; dense with `NaN` = missing, or sparse).
    pub columns: Vec<Column>,
    /// How each column read was converted.
    pub kinds: Vec<ColumnKind>,
    /// The categories of the categorical columns read.
    pub categories: CategoryMap,
    /// Columns not read because of their type.
    pub skipped: Vec<SkippedColumn>,
}

impl Table {
    /// An empty table for `file`, to be filled by a reader.
    pub(crate) fn new(file: &Path, format: Format) -> Table {
        Table {
            file: file.to_path_buf(),
            format,
            num_rows: 0,
            file_columns: Vec::new(),
            names: Vec::new(),
            columns: Vec::new(),
            kinds: Vec::new(),
            categories: CategoryMap::new(),
            skipped: Vec::new(),
        }
    }

    /// Adds one column read from the file (with its categories, for a categorical column).
    pub(crate) fn push(&mut self, name: String, kind: ColumnKind, values: Vec<f32>, categories: Option<Vec<String>>) {
        if let Some(c) = categories {
            self.categories.insert(name.clone(), c);
        }
        self.names.push(name);
        self.kinds.push(kind);
        self.columns.push(Column::Dense(values));
    }

    /// Adds one sparse numeric column: the rows that have a value (increasing) and the values.
    pub(crate) fn push_sparse(&mut self, name: String, rows: Vec<u32>, values: Vec<f32>) {
        self.names.push(name);
        self.kinds.push(ColumnKind::Numeric);
        self.columns.push(Column::Sparse { rows, values });
    }

    /// The position of a column among those read.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Moves a column out of the table (leaving an empty one), with its kind.
    pub fn take(&mut self, name: &str) -> Option<(Column, ColumnKind)> {
        let i = self.index_of(name)?;
        Some(self.take_at(i))
    }

    /// The `i`-th column read.
    pub(crate) fn column_at(&self, i: usize) -> &Column {
        &self.columns[i]
    }

    /// Moves the `i`-th column read out of the table (leaving an empty one), with its kind.
    pub(crate) fn take_at(&mut self, i: usize) -> (Column, ColumnKind) {
        (
            std::mem::replace(&mut self.columns[i], Column::Dense(Vec::new())),
            self.kinds[i],
        )
    }

    /// The position of every column read, by name: for taking many columns without a scan each.
    pub(crate) fn positions(&self) -> std::collections::HashMap<String, usize> {
        self.names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect()
    }

    /// The error for a column that is needed but was not read: absent from the file, or of a type
    /// that cannot be used.
    pub fn missing(&self, name: &str, role: &str) -> Error {
        if let Some(s) = self.skipped.iter().find(|s| s.name == name) {
            return Error::bad_column(
                &self.file,
                name,
                format!("its type {} cannot be used as a {role}", s.data_type),
            );
        }
        Error::MissingColumn {
            file: self.file.clone(),
            column: name.to_string(),
            role: role.to_string(),
            available: abbreviate(&self.file_columns),
        }
    }

    /// Errors when two columns read have the same name: a column is chosen by name (label,
    /// features, a model's features, categories), so which one was meant cannot be told.
    pub(crate) fn check_unique_names(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        match self.names.iter().find(|n| !seen.insert(n.as_str())) {
            Some(name) => Err(Error::bad_column(
                &self.file,
                name,
                "appears more than once in the file; column names must be unique (drop or rename one)",
            )),
            None => Ok(()),
        }
    }

    /// Errors when the table has no rows.
    pub(crate) fn check_not_empty(&self) -> Result<()> {
        if self.num_rows == 0 {
            Err(Error::Empty {
                file: self.file.clone(),
            })
        } else {
            Ok(())
        }
    }
}

/// Lists column names for an error message, cut after the first dozen.
fn abbreviate(names: &[String]) -> String {
    const MAX: usize = 12;
    if names.is_empty() {
        return "no columns".to_string();
    }
    let shown: Vec<&str> = names.iter().take(MAX).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if names.len() > MAX {
        s.push_str(&format!(", ... ({} in all)", names.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_filter_columns() {
        let o = ReadOptions {
            include: Some(vec!["a".into(), "b".into()]),
            exclude: vec!["b".into()],
            ..Default::default()
        };
        assert!(o.wants("a"));
        assert!(!o.wants("b"));
        assert!(!o.wants("c"));
        assert!(ReadOptions::default().wants("anything"));
    }

    #[test]
    fn missing_column_error_lists_columns() {
        let mut t = Table::new(Path::new("x.csv"), Format::Csv);
        t.file_columns = (0..20).map(|i| format!("c{i}")).collect();
        let e = t.missing("y", "label").to_string();
        assert!(
            e.contains("label column `y`") && e.contains("c0, c1") && e.contains("20 in all"),
            "{e}"
        );
    }
}
