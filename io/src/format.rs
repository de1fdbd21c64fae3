//! File formats, chosen by extension.

use std::path::Path;

use crate::error::{Error, Result};

/// A tabular file format Sylvan reads (and, for predictions, writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Arrow IPC file or stream (`.arrow`, `.feather`, `.ipc`, `.arrows`).
    ArrowIpc,
    /// Comma-separated values with a header line (`.csv`; `.tsv` is tab-separated).
    Csv,
    /// LibSVM / SVMlight sparse text (`.svm`, `.libsvm`, `.svmlight`).
    LibSvm,
}

/// The extensions accepted for data files, for error messages.
pub const DATA_EXTENSIONS: &str = ".parquet, .arrow/.feather, .csv/.tsv, .svm/.libsvm";

impl Format {
    /// Picks the format from a path's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "parquet" | "pq" => Ok(Format::Parquet),
            "arrow" | "feather" | "ipc" | "arrows" => Ok(Format::ArrowIpc),
            "csv" | "tsv" => Ok(Format::Csv),
            "svm" | "libsvm" | "svmlight" => Ok(Format::LibSvm),
            _ => Err(Error::UnknownFormat {
                file: path.to_path_buf(),
                extension: ext,
                expected: DATA_EXTENSIONS.to_string(),
            }),
        }
    }

    /// Whether a column absent from a file of this format means "all missing" (sparse formats).
    pub fn is_sparse(self) -> bool {
        self == Format::LibSvm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_formats() {
        assert_eq!(Format::from_path(Path::new("a.PARQUET")).unwrap(), Format::Parquet);
        assert_eq!(Format::from_path(Path::new("a.feather")).unwrap(), Format::ArrowIpc);
        assert_eq!(Format::from_path(Path::new("dir/a.csv")).unwrap(), Format::Csv);
        assert_eq!(Format::from_path(Path::new("a.libsvm")).unwrap(), Format::LibSvm);
        let e = Format::from_path(Path::new("a.xlsx")).unwrap_err().to_string();
        assert!(e.contains("xlsx") && e.contains(".parquet"), "{e}");
        assert!(Format::from_path(Path::new("noext")).is_err());
    }
}
