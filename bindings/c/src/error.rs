//! The error type of the C ABI, its mapping to status codes, and the thread-local last error message.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

use crate::{
    SYLVAN_ERR_BUFFER_TOO_SMALL, SYLVAN_ERR_INVALID_ARGUMENT, SYLVAN_ERR_INVALID_DATA, SYLVAN_ERR_INVALID_MODEL,
    SYLVAN_ERR_INVALID_PARAMETER, SYLVAN_ERR_IO, SYLVAN_ERR_NULL_POINTER, SYLVAN_ERR_OTHER, SYLVAN_ERR_OUT_OF_MEMORY,
    SYLVAN_ERR_PANIC,
};

/// Everything that can go wrong in a C ABI call. Each variant maps to one negative status code
/// ([`Error::status`]); its message is what `sylvan_last_error()` returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pointer argument that must not be null was null.
    #[error("argument `{name}` is a null pointer")]
    NullPointer {
        /// The argument's name, as in the header.
        name: &'static str,
    },
    /// An argument has a value the function cannot use (a size, a flag, a string that is not UTF-8).
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name, as in the header.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The caller's output buffer is too small; nothing was written to it.
    #[error("output buffer `{name}` holds {got} values but {needed} are needed")]
    BufferTooSmall {
        /// The buffer argument's name.
        name: &'static str,
        /// Values needed.
        needed: usize,
        /// Values the caller said the buffer holds.
        got: usize,
    },
    /// The parameters string is not a JSON object of parameter names to numbers, strings,
    /// booleans, null or lists.
    #[error("invalid parameters JSON: {reason}")]
    ParamsJson {
        /// What is wrong.
        reason: String,
    },
    /// An error of the learning core (bad parameter, bad data, bad model file, I/O).
    #[error(transparent)]
    Booster(#[from] sylvan_booster::Error),
    /// A Rust panic was caught at the boundary (a bug in Sylvan; please report it).
    #[error("internal error (a panic was caught at the C boundary): {message}")]
    Panic {
        /// The panic's message.
        message: String,
    },
}

/// The result type of the C ABI's internals.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The negative status code of this error (one of the `SYLVAN_ERR_*` constants).
    pub fn status(&self) -> c_int {
        use sylvan_booster::Error as B;
        match self {
            Error::NullPointer { .. } => SYLVAN_ERR_NULL_POINTER,
            Error::InvalidArgument { .. } => SYLVAN_ERR_INVALID_ARGUMENT,
            Error::BufferTooSmall { .. } => SYLVAN_ERR_BUFFER_TOO_SMALL,
            Error::ParamsJson { .. } => SYLVAN_ERR_INVALID_PARAMETER,
            Error::Panic { .. } => SYLVAN_ERR_PANIC,
            Error::Booster(e) => match e {
                B::InvalidParameter { .. } => SYLVAN_ERR_INVALID_PARAMETER,
                B::ShapeMismatch { .. } | B::InvalidData { .. } | B::InvalidLabel { .. } => SYLVAN_ERR_INVALID_DATA,
                B::InvalidModel { .. } => SYLVAN_ERR_INVALID_MODEL,
                B::Io { .. } => SYLVAN_ERR_IO,
                B::OutOfMemory { .. } => SYLVAN_ERR_OUT_OF_MEMORY,
                _ => SYLVAN_ERR_OTHER,
            },
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub(crate) fn arg(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

thread_local! {
    /// The message of the last call on this thread ("" after a successful call).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Replaces this thread's last error message. Interior NUL bytes (which C strings cannot hold) are
/// written as `\0`.
pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // During thread teardown the thread-local may be gone; then there is nowhere to keep a message.
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = c;
        }
    });
}

/// A pointer to this thread's last error message, valid until the next call that replaces it.
pub(crate) fn last_error_ptr() -> *const c_char {
    static EMPTY: &[u8; 1] = b"\0";
    LAST_ERROR
        .try_with(|e| e.try_borrow().map(|s| s.as_ptr()).unwrap_or(EMPTY.as_ptr().cast()))
        .unwrap_or(EMPTY.as_ptr().cast())
}

/// The text of a caught panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_string())
}
