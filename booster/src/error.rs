//! The error type of the learning core.

use std::path::PathBuf;

/// Everything that can go wrong in `sylvan-booster`. Each variant names what was wrong (the parameter,
/// the column, the row, the file) so that a user can fix it without reading code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A training parameter has a value outside its allowed range, or is unknown.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, as the user wrote it (XGBoost's spelling).
        name: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// Two things that must have the same size do not.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was being compared (e.g. "labels vs rows").
        what: String,
        /// The expected size.
        expected: usize,
        /// The size that was given.
        got: usize,
    },
    /// The data cannot be used as given.
    #[error("invalid data: {reason}")]
    InvalidData {
        /// What is wrong, naming the column or row where there is one.
        reason: String,
    },
    /// A label does not fit the objective (e.g. a class index out of range, a negative count).
    #[error("invalid label at row {row}: {value} ({reason})")]
    InvalidLabel {
        /// Zero-based row index.
        row: usize,
        /// The offending label.
        value: f64,
        /// What the objective expects.
        reason: String,
    },
    /// A model file or model text could not be read or is not a Sylvan model.
    #[error("invalid model{}: {reason}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
    InvalidModel {
        /// The file, when the model came from a file.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// An operating-system I/O error on a named file.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An accelerator (the `device` a model trains or predicts on) failed or is not available: no
    /// driver, no device, a kernel that does not compile, a failed driver call.
    #[error("device error on {device}: {reason}")]
    Device {
        /// The device, as `params.device` names it (e.g. `cuda:0`).
        device: String,
        /// What went wrong, as the backend reports it.
        reason: String,
    },
    /// A collective operation of distributed training failed: another rank ended with an error, a
    /// connection broke, or the others did not answer within `collective_timeout`.
    #[error("distributed training failed on rank {rank}: {reason}")]
    Collective {
        /// The rank that reports the failure (this process's rank).
        rank: usize,
        /// What went wrong, naming the rank at fault where it is known.
        reason: String,
    },
    /// Training would need more memory than this process may still allocate (the address-space
    /// limit, the memory cgroup's limit or the machine's available memory): refused before the
    /// large allocations instead of aborting or being killed by the OOM killer halfway through.
    #[error("not enough memory: {reason}")]
    OutOfMemory {
        /// The estimated bytes training needs.
        needed: u64,
        /// The bytes this process may still allocate.
        available: u64,
        /// The estimate part by part, the limit, and what to change.
        reason: String,
    },
    /// The thread pool could not be created.
    #[error("cannot create a thread pool with {threads} threads: {reason}")]
    ThreadPool {
        /// The requested number of threads.
        threads: usize,
        /// The reason given by rayon.
        reason: String,
    },
}

/// The result type of `sylvan-booster`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidData`].
    pub fn data(reason: impl Into<String>) -> Self {
        Error::InvalidData { reason: reason.into() }
    }

    /// Shorthand for [`Error::InvalidModel`] without a file.
    pub fn model(reason: impl Into<String>) -> Self {
        Error::InvalidModel {
            path: None,
            reason: reason.into(),
        }
    }
}
