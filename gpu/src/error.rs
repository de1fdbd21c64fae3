//! The error type of the CUDA backend.

/// What can go wrong on the GPU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CUDA driver library (libcuda) could not be loaded.
    #[error(
        "no CUDA driver found: the CUDA driver library (libcuda.so.1) could not be loaded; install an NVIDIA \
         driver or make its directory visible through LD_LIBRARY_PATH"
    )]
    NoDriver,
    /// NVRTC (libnvrtc), which compiles the kernels at run time, could not be loaded.
    #[error(
        "NVRTC not found: libnvrtc.so.12 (or libnvrtc.so) could not be loaded; install the CUDA toolkit or \
         `pip install nvidia-cuda-nvrtc-cu12` and add its lib directory to LD_LIBRARY_PATH"
    )]
    NoNvrtc,
    /// The driver loaded but reports no device, or not the one asked for.
    #[error("no CUDA device{}: {reason}", ordinal.map(|o| format!(" {o}")).unwrap_or_default())]
    NoDevice {
        /// The ordinal asked for, if any.
        ordinal: Option<usize>,
        /// What the driver said.
        reason: String,
    },
    /// NVRTC rejected a kernel module.
    #[error("NVRTC cannot compile kernel module `{module}`: {log}")]
    Compile {
        /// Module name.
        module: String,
        /// The compiler's log.
        log: String,
    },
    /// A CUDA driver call failed.
    #[error("CUDA error in {what}: {reason}")]
    Driver {
        /// The operation.
        what: String,
        /// The driver's error.
        reason: String,
    },
    /// Something this backend does not do.
    #[error("not supported on the GPU: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
    /// An error of the learning core.
    #[error(transparent)]
    Booster(#[from] sylvan_booster::Error),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A driver error in `what`.
    pub(crate) fn driver(what: &str, e: impl std::fmt::Debug) -> Error {
        Error::Driver {
            what: what.to_string(),
            reason: format!("{e:?}"),
        }
    }
}

impl From<Error> for sylvan_booster::Error {
    /// GPU errors reach the learning core as [`sylvan_booster::Error::Device`] (errors of the core
    /// itself pass through unchanged).
    fn from(e: Error) -> sylvan_booster::Error {
        match e {
            Error::Booster(b) => b,
            other => sylvan_booster::Error::Device {
                device: "cuda".into(),
                reason: other.to_string(),
            },
        }
    }
}

/// `.ctx("what")` on driver results.
pub(crate) trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T>;
}

impl<T, E: std::fmt::Debug> Ctx<T> for std::result::Result<T, E> {
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| Error::driver(what, e))
    }
}
