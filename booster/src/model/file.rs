//! What every Sylvan model file shares, booster or ensemble: the format names, versions and magic
//! bytes, reading a file with errors that name it, and telling the kinds of file apart.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `format` field of a JSON booster file.
pub const FORMAT_NAME: &str = "sylvan";
/// The newest booster file version this build reads. Models with an evaluation history (trained
/// with evaluation sets) are written as version 4 (the binary form adds a section for the history
/// after the weights one, written empty when there are no weights). DART models (with tree weights)
/// are written as version 3 (the binary form adds a section for the weights after the categorical one); other
/// models with categorical features as version 2 (the binary form adds a section for the category
/// sets); all others as version 1, which older builds read too.
pub const FORMAT_VERSION: u32 = 4;
/// First bytes of a binary booster file.
pub const BINARY_MAGIC: &[u8; 8] = b"SYLVAN\x00\x01";
/// The `format` field of an ensemble file.
pub const ENSEMBLE_FORMAT: &str = "sylvan-ensemble";
/// The newest ensemble file version this build reads and the one it writes.
pub const ENSEMBLE_VERSION: u32 = 1;

/// Whether a model saved to `path` is written as JSON (the extension is `.json`, any case).
pub(crate) fn is_json_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Reads a whole model file, naming the file in errors.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Reads a whole ensemble file as UTF-8 text, naming the file in errors.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?).map_err(|_| Error::InvalidModel {
        path: Some(path.to_path_buf()),
        reason: "an ensemble file must be UTF-8 JSON".into(),
    })
}

/// Adds the file's path to an [`Error::InvalidModel`].
pub(crate) fn with_path(path: &Path) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::InvalidModel { reason, .. } => Error::InvalidModel {
            path: Some(path.to_path_buf()),
            reason,
        },
        other => other,
    }
}

/// The `kind` of an ensemble file, or `None` when the bytes are not one.
pub(crate) fn ensemble_kind(bytes: &[u8]) -> Option<&'static str> {
    #[derive(Deserialize)]
    struct Head {
        format: String,
        kind: String,
    }
    let text = std::str::from_utf8(bytes).ok()?;
    // Only the two small fields are kept; the rest of the document is skipped.
    let head: Head = serde_json::from_str(text).ok()?;
    if head.format != ENSEMBLE_FORMAT {
        return None;
    }
    match head.kind.as_str() {
        "bagging" => Some("bagging"),
        "stacking" => Some("stacking"),
        _ => Some("unknown"),
    }
}

/// The first part of every ensemble file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Header {
    pub format: String,
    pub version: u32,
    pub kind: String,
}

impl Header {
    /// The header of a new ensemble file of `kind` (`bagging` or `stacking`).
    pub(crate) fn new(kind: &str) -> Header {
        Header {
            format: ENSEMBLE_FORMAT.into(),
            version: ENSEMBLE_VERSION,
            kind: kind.into(),
        }
    }

    /// Checks that a read header is an ensemble of `kind` in a version this build reads.
    pub(crate) fn check(&self, kind: &str) -> Result<()> {
        if self.format != ENSEMBLE_FORMAT {
            return Err(Error::model(format!(
                "not a Sylvan ensemble (format `{}`, expected `{ENSEMBLE_FORMAT}`)",
                self.format
            )));
        }
        if self.version == 0 || self.version > ENSEMBLE_VERSION {
            return Err(Error::model(format!(
                "ensemble version {} is not supported (this build reads 1..={ENSEMBLE_VERSION})",
                self.version
            )));
        }
        if self.kind != kind {
            return Err(Error::model(format!(
                "the file holds a `{}` ensemble, not `{kind}`",
                self.kind
            )));
        }
        Ok(())
    }
}
