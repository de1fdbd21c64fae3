//! The error type of `sylvan-io`: every variant names the file, and the column or row where there is one.

use std::path::PathBuf;

/// Everything that can go wrong while reading data or writing predictions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system could not open, read or write a file.
    #[error("cannot access `{}`: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension does not name a format this build reads or writes.
    #[error("`{}`: unknown file format `{extension}` (expected {expected})", file.display())]
    UnknownFormat {
        /// The file.
        file: PathBuf,
        /// Its extension (empty when it has none).
        extension: String,
        /// The extensions that are accepted here.
        expected: String,
    },
    /// The file exists but is not valid in its format (a broken Parquet footer, a bad CSV line ...).
    #[error("cannot read `{}`: {reason}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// What the reader reported.
        reason: String,
    },
    /// An output file could not be encoded or written.
    #[error("cannot write `{}`: {reason}", file.display())]
    Unwritable {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file holds no rows.
    #[error("`{}` holds no rows", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// A column that is needed is not in the file.
    #[error("{role} column `{column}` not found in `{}` (it has: {available})", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The column's name.
        column: String,
        /// What the column was needed for (`label`, `weight`, `feature`, ...).
        role: String,
        /// The file's columns, abbreviated when there are many.
        available: String,
    },
    /// A column cannot be used as asked (wrong type, all missing, a name given twice ...).
    #[error("column `{column}` in `{}`: {reason}", file.display())]
    BadColumn {
        /// The file.
        file: PathBuf,
        /// The column's name.
        column: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// One value cannot be used (an unparseable LibSVM token, an infinite feature value, a missing label).
    #[error("`{}`, row {row}, column `{column}`: {reason}", file.display())]
    BadValue {
        /// The file.
        file: PathBuf,
        /// Zero-based data row (not counting a CSV header).
        row: usize,
        /// The column's name.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// The category mapping stored with a model cannot be read.
    #[error("invalid category mapping in the model: {reason}")]
    BadCategories {
        /// What is wrong.
        reason: String,
    },
    /// A model cannot be converted to or from a foreign format (XGBoost JSON, LightGBM text): the
    /// text is not a valid model, or it uses something the other side cannot express.
    #[error("{format} model: {reason}")]
    ModelConversion {
        /// The foreign format (`xgboost-json`, `lightgbm`).
        format: String,
        /// What is wrong or unsupported.
        reason: String,
    },
    /// The learning core rejected the data.
    #[error(transparent)]
    Booster(#[from] sylvan_booster::Error),
}

/// The result type of `sylvan-io`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            file: file.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Unreadable`].
    pub fn unreadable(file: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::Unreadable {
            file: file.into(),
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::BadColumn`].
    pub fn bad_column(file: impl Into<PathBuf>, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::BadColumn {
            file: file.into(),
            column: column.into(),
            reason: reason.into(),
        }
    }
}
