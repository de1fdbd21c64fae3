//! # sylvan-capi
//!
//! A small C ABI for Sylvan: build a data set from a float array, declare categorical features,
//! train a booster with parameters given as JSON, predict into a caller's buffer, save and load
//! models (the same `.json` and binary files the `sylvan` CLI writes). The header is `include/sylvan.h`, generated from this file by
//! cbindgen (`cbindgen.toml`); `tests/header.rs` fails when the two drift apart.
//!
//! Conventions of every function:
//! - It returns an `int` status: [`SYLVAN_OK`] (0), or a negative `SYLVAN_ERR_*` code; then
//!   `sylvan_last_error()` gives a message naming the argument, parameter, row or file at fault.
//!   (Only `sylvan_last_error` and `sylvan_version` return strings instead.)
//! - Pointer arguments are checked for null; arrays also for alignment, and sizes for overflow.
//! - No Rust panic crosses the boundary: each call runs under `catch_unwind`, and a panic becomes
//!   [`SYLVAN_ERR_PANIC`].
//! - Categorical features hold category codes (integers `0..65535` as floats, `NaN` missing) and are
//!   split by sets of categories. Declare them on the data set (`sylvan_dataset_set_categorical`,
//!   `sylvan_dataset_set_feature_types`) or with the `categorical_features` parameter (indices);
//!   read a model's back with `sylvan_booster_feature_types`.
//! - Handles (`SylvanDataset`, `SylvanBooster`) are opaque, created by `*_create`, `*_train` or
//!   `*_load` and released by their `*_free` function. A read-only call (predict, save, the getters)
//!   may run on a handle from several threads at once; freeing must not race with any other call.
//!
//! ## Example (the same calls from Rust)
//!
//! ```
//! use std::ffi::CStr;
//! use std::ptr;
//! use sylvan_capi::*;
//!
//! // 200 rows x 2 features, row-major; y = 1 when x0 > 0.5.
//! let x: Vec<f32> = (0..400).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
//! let y: Vec<f32> = x.chunks(2).map(|r| (r[0] > 0.5) as u8 as f32).collect();
//! unsafe {
//!     let mut ds = ptr::null_mut();
//!     let rc = sylvan_dataset_create(x.as_ptr(), 200, 2, SYLVAN_ROW_MAJOR, y.as_ptr(), ptr::null(), &mut ds);
//!     assert_eq!(rc, SYLVAN_OK);
//!     let params = c"{\"objective\":\"binary:logistic\",\"num_round\":10}";
//!     let mut booster = ptr::null_mut();
//!     let rc = sylvan_booster_train(ds, params.as_ptr(), ptr::null(), ptr::null(), 0, &mut booster);
//!     assert_eq!(rc, SYLVAN_OK, "{:?}", CStr::from_ptr(sylvan_last_error()));
//!     let mut out = vec![0f32; 200];
//!     let mut needed = 0usize;
//!     let rc = sylvan_booster_predict(booster, ds, ptr::null(), out.as_mut_ptr(), out.len(), &mut needed);
//!     assert_eq!((rc, needed), (SYLVAN_OK, 200));
//!     assert!(out.iter().zip(&y).all(|(p, y)| (*p > 0.5) == (*y > 0.5)));
//!     sylvan_booster_free(booster);
//!     sylvan_dataset_free(ds);
//! }
//! ```

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use sylvan_booster::{
    category_code, latest_checkpoint, Booster, Checkpoints, Dataset, FeatureType, ImportanceType, Params,
    PredictOptions, PredictOutput, TrainOptions, MAX_CATEGORIES,
};

pub mod error;

pub use error::{Error, Result};

/// Success.
pub const SYLVAN_OK: c_int = 0;
/// A pointer argument that must not be null was null.
pub const SYLVAN_ERR_NULL_POINTER: c_int = -1;
/// An argument has an unusable value: a zero or overflowing size, an unknown flag, a misaligned
/// pointer, a string that is not UTF-8.
pub const SYLVAN_ERR_INVALID_ARGUMENT: c_int = -2;
/// The parameters are not valid: not a JSON object, an unknown parameter, a bad value or range.
pub const SYLVAN_ERR_INVALID_PARAMETER: c_int = -3;
/// The data cannot be used: infinite values, bad labels or weights, a shape that does not fit.
pub const SYLVAN_ERR_INVALID_DATA: c_int = -4;
/// The output buffer is too small; the needed length was reported and nothing was written.
pub const SYLVAN_ERR_BUFFER_TOO_SMALL: c_int = -5;
/// A model file or text is not a valid Sylvan model.
pub const SYLVAN_ERR_INVALID_MODEL: c_int = -6;
/// A file could not be read or written.
pub const SYLVAN_ERR_IO: c_int = -7;
/// A Rust panic was caught at the boundary (a bug in Sylvan).
pub const SYLVAN_ERR_PANIC: c_int = -8;
/// Any other error (e.g. the thread pool could not be created).
pub const SYLVAN_ERR_OTHER: c_int = -9;
/// Training would need more memory than the process may still allocate (its estimate and the
/// limit are in the message); refused before the large allocations.
pub const SYLVAN_ERR_OUT_OF_MEMORY: c_int = -10;

/// Layout of a feature matrix: row by row (C order), `data[row * num_cols + col]`.
pub const SYLVAN_ROW_MAJOR: c_int = 0;
/// Layout of a feature matrix: column by column (Fortran order), `data[col * num_rows + row]`.
pub const SYLVAN_COL_MAJOR: c_int = 1;

/// Prediction output: the objective's output (probabilities for classification, the class index for
/// `multi:softmax`, values for regression).
pub const SYLVAN_PREDICT_VALUE: c_int = 0;
/// Prediction output: raw margins, before the link function.
pub const SYLVAN_PREDICT_MARGIN: c_int = 1;
/// Prediction output: for each tree, the index of the leaf node each row falls in.
pub const SYLVAN_PREDICT_LEAF_INDEX: c_int = 2;
/// Prediction output: exact SHAP values (TreeSHAP, XGBoost's `pred_contribs`) in margin space. Per
/// row and per output (class, target or level), one value per feature and then the bias (the
/// expected margin plus the base margin); the `num_features + 1` values of an output sum to its
/// margin. `num_outputs * (num_features + 1)` values per row (`sylvan_booster_output_columns`).
/// Computed on the CPU.
pub const SYLVAN_PREDICT_CONTRIBUTIONS: c_int = 3;
/// Prediction output: Saabas contributions (XGBoost's `approx_contribs`): the change of the
/// expected value at each split on a row's path, credited to the split's feature. The layout of
/// `SYLVAN_PREDICT_CONTRIBUTIONS`.
pub const SYLVAN_PREDICT_APPROX_CONTRIBUTIONS: c_int = 4;
/// Prediction output: SHAP interaction values (XGBoost's `pred_interactions`): per row and per
/// output a symmetric `(num_features + 1) x (num_features + 1)` matrix, row-major, whose last row
/// and column are the bias and whose rows sum to the contributions.
/// `num_outputs * (num_features + 1)^2` values per row.
pub const SYLVAN_PREDICT_INTERACTIONS: c_int = 5;

/// Feature type: numbers, split by thresholds (the default of every feature).
pub const SYLVAN_FEATURE_NUMERICAL: c_int = 0;
/// Feature type: category codes (integers `0..65535` as floats, `NaN` missing), split by sets of
/// categories. A code never seen in training goes to the side of the categories outside the set.
pub const SYLVAN_FEATURE_CATEGORICAL: c_int = 1;

/// An opaque handle to a data set: features (`NaN` = missing), and optional labels and weights.
/// Create with `sylvan_dataset_create`, release with `sylvan_dataset_free`.
pub struct SylvanDataset {
    inner: Dataset,
}

/// An opaque handle to a fitted booster. Create with `sylvan_booster_train` or `sylvan_booster_load`,
/// release with `sylvan_booster_free`.
pub struct SylvanBooster {
    inner: Booster,
}

/// Options of `sylvan_booster_predict`. Pass `NULL` for the defaults (all zero).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SylvanPredictOptions {
    /// `SYLVAN_PREDICT_VALUE` (0, default), `SYLVAN_PREDICT_MARGIN`, `SYLVAN_PREDICT_LEAF_INDEX`,
    /// `SYLVAN_PREDICT_CONTRIBUTIONS`, `SYLVAN_PREDICT_APPROX_CONTRIBUTIONS` or
    /// `SYLVAN_PREDICT_INTERACTIONS`.
    pub output: c_int,
    /// First boosting round to use (zero-based, inclusive).
    pub iteration_begin: usize,
    /// One past the last boosting round to use. `iteration_begin == iteration_end == 0` (default)
    /// means all rounds, or up to the best iteration when early stopping chose one.
    pub iteration_end: usize,
}

/// Runs one ABI call: catches panics, records the error message (or clears it) and returns the
/// status code.
fn run(f: impl FnOnce() -> Result<()>) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::Panic {
            message: error::panic_message(payload.as_ref()),
        })
    });
    match result {
        Ok(()) => {
            error::set_last_error("");
            SYLVAN_OK
        }
        Err(e) => {
            error::set_last_error(&e.to_string());
            e.status()
        }
    }
}

/// Checks that a pointer to `len` values of `T` can become a slice: non-null (unless `len` is 0),
/// aligned, and not larger than a Rust allocation may be.
fn check_array<T>(ptr: *const T, len: usize, name: &'static str) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(Error::NullPointer { name });
    }
    if !ptr.is_aligned() {
        return Err(Error::arg(name, "pointer is not aligned for its element type"));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::arg(name, format!("length {len} is too large")));
    }
    Ok(())
}

/// Borrows a caller's input array.
///
/// # Safety
/// When `len > 0` and `ptr` is not null, `ptr` must point to `len` readable values of `T` that stay
/// valid and unchanged while the returned slice is used.
unsafe fn array_in<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Result<&'a [T]> {
    check_array(ptr, len, name)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: `check_array` ensured `ptr` is non-null, aligned and `len * size_of::<T>()` fits in
    // isize; the caller guarantees `len` readable values behind it.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a caller's output array.
///
/// # Safety
/// When `len > 0` and `ptr` is not null, `ptr` must point to `len` writable values of `T` that no
/// one else reads or writes while the returned slice is used.
unsafe fn array_out<'a, T>(ptr: *mut T, len: usize, name: &'static str) -> Result<&'a mut [T]> {
    check_array(ptr.cast_const(), len, name)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `array_in`, plus the caller guarantees exclusive access to the `len` values.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Borrows a handle.
///
/// # Safety
/// `ptr` must be null or a live handle of type `T` returned by this library.
unsafe fn handle<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T> {
    // SAFETY: the caller guarantees a non-null `ptr` is a live handle (a `Box<T>` we leaked).
    unsafe { ptr.as_ref() }.ok_or(Error::NullPointer { name })
}

/// Checks an out-parameter for a new handle and sets it to null, so that it is null on any error.
///
/// # Safety
/// `out` must be null or point to a writable `*mut T`.
unsafe fn handle_out<'a, T>(out: *mut *mut T, name: &'static str) -> Result<&'a mut *mut T> {
    // SAFETY: the caller guarantees a non-null `out` points to a writable pointer.
    let slot = unsafe { out.as_mut() }.ok_or(Error::NullPointer { name })?;
    *slot = std::ptr::null_mut();
    Ok(slot)
}

/// Writes a value through an out-parameter, checking it for null.
///
/// # Safety
/// `out` must be null or point to a writable `T`.
unsafe fn write_out<T>(out: *mut T, value: T, name: &'static str) -> Result<()> {
    // SAFETY: the caller guarantees a non-null `out` points to a writable `T`.
    let slot = unsafe { out.as_mut() }.ok_or(Error::NullPointer { name })?;
    *slot = value;
    Ok(())
}

/// Borrows a NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string that stays valid while it is used.
unsafe fn str_in<'a>(ptr: *const c_char, name: &'static str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::NullPointer { name });
    }
    // SAFETY: non-null, and the caller guarantees a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|e| Error::arg(name, format!("not UTF-8: {e}")))
}

/// Reads a NUL-terminated file path (any bytes on Unix, UTF-8 elsewhere).
///
/// # Safety
/// As for [`str_in`].
unsafe fn path_in(ptr: *const c_char, name: &'static str) -> Result<PathBuf> {
    if ptr.is_null() {
        return Err(Error::NullPointer { name });
    }
    // SAFETY: non-null, and the caller guarantees a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(ptr) };
    if c.is_empty() {
        return Err(Error::arg(name, "the path is empty"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|e| Error::arg(name, format!("not UTF-8: {e}")))
    }
}

/// Parses training parameters from a JSON object of XGBoost names, applied and validated by
/// [`Params::apply`], so numbers and strings are both accepted (`"max_depth": 6` or `"6"`); `null`
/// resets an optional parameter; a list of scalars is joined with commas (`"eval_metric": ["auc",
/// "logloss"]`, `"monotone_constraints": [1, 0, -1]`). An object or a list of lists is passed on as
/// its JSON text, which the per-feature parameters read: `"monotone_constraints": {"x0": 1}` (by
/// feature name), `"feature_weights": {"x2": 0}`, `"interaction_constraints": [[0, 1], ["x2"]]`.
pub fn params_from_json(text: &str) -> Result<Params> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::ParamsJson { reason: e.to_string() })?;
    let map = value.as_object().ok_or_else(|| Error::ParamsJson {
        reason: "expected a JSON object such as {\"objective\": \"binary:logistic\", \"max_depth\": 6}".into(),
    })?;
    let scalar = |name: &str, v: &serde_json::Value| -> Result<String> {
        use serde_json::Value as V;
        match v {
            V::String(s) => Ok(s.clone()),
            V::Number(n) => Ok(n.to_string()),
            V::Bool(b) => Ok(b.to_string()),
            V::Null => Ok("none".into()),
            V::Array(_) | V::Object(_) => Err(Error::Booster(sylvan_booster::Error::param(
                name,
                "expected a number, a string, a boolean or null",
            ))),
        }
    };
    let pairs = map
        .iter()
        .map(|(name, v)| {
            let nested = |items: &[serde_json::Value]| items.iter().any(|i| i.is_array() || i.is_object());
            let text = match v {
                serde_json::Value::Object(_) => v.to_string(),
                serde_json::Value::Array(items) if nested(items) => v.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| scalar(name, item))
                    .collect::<Result<Vec<_>>>()?
                    .join(","),
                other => scalar(name, other)?,
            };
            Ok((name, text))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut params = Params::default();
    params.apply(pairs)?;
    Ok(params)
}

/// Creates a data set from a dense float matrix of `num_rows * num_cols` values (`NaN` = missing;
/// infinite values are rejected), with optional labels and sample weights (`num_rows` values each, or
/// `NULL`). Training needs labels; prediction does not. The values are copied.
///
/// `layout` is `SYLVAN_ROW_MAJOR` or `SYLVAN_COL_MAJOR`. On success `*out` holds a new handle to
/// release with `sylvan_dataset_free`; on error it is set to `NULL`.
///
/// # Safety
/// `data` must point to `num_rows * num_cols` floats; `labels` and `weights` must each be `NULL` or
/// point to `num_rows` floats; `out` must point to a writable `SylvanDataset *`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_create(
    data: *const f32,
    num_rows: usize,
    num_cols: usize,
    layout: c_int,
    labels: *const f32,
    weights: *const f32,
    out: *mut *mut SylvanDataset,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees `out` is null or writable.
        let slot = unsafe { handle_out(out, "out") }?;
        if data.is_null() {
            return Err(Error::NullPointer { name: "data" });
        }
        if num_rows == 0 {
            return Err(Error::arg("num_rows", "must be at least 1"));
        }
        if num_cols == 0 {
            return Err(Error::arg("num_cols", "must be at least 1"));
        }
        let len = num_rows.checked_mul(num_cols).ok_or_else(|| {
            Error::arg(
                "num_cols",
                format!("num_rows * num_cols overflows ({num_rows} x {num_cols})"),
            )
        })?;
        // SAFETY: the caller guarantees `data` points to `num_rows * num_cols` floats.
        let values = unsafe { array_in(data, len, "data") }?;
        let mut dataset = match layout {
            SYLVAN_ROW_MAJOR => Dataset::from_rows(values, num_cols)?,
            SYLVAN_COL_MAJOR => Dataset::from_columns(values.chunks_exact(num_rows).map(<[f32]>::to_vec).collect())?,
            other => {
                return Err(Error::arg(
                    "layout",
                    format!("{other} is neither SYLVAN_ROW_MAJOR (0) nor SYLVAN_COL_MAJOR (1)"),
                ))
            }
        };
        if !labels.is_null() {
            // SAFETY: the caller guarantees a non-null `labels` points to `num_rows` floats.
            let labels = unsafe { array_in(labels, num_rows, "labels") }?;
            dataset = dataset.with_labels(labels.to_vec())?;
        }
        if !weights.is_null() {
            // SAFETY: the caller guarantees a non-null `weights` points to `num_rows` floats.
            let weights = unsafe { array_in(weights, num_rows, "weights") }?;
            dataset = dataset.with_weights(weights.to_vec())?;
        }
        *slot = Box::into_raw(Box::new(SylvanDataset { inner: dataset }));
        Ok(())
    })
}

/// Sets the starting margins of `dataset`'s rows, as XGBoost's `base_margin`: `len` values,
/// `num_rows` for one output per row or `num_rows * num_class` row-major for multiclass. Training
/// starts each row from its margins instead of `base_score`, and prediction adds them in place of
/// the model's base margin. The values are copied; a later call replaces them.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `margins` must point to `len`
/// floats.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_base_margin(
    dataset: *mut SylvanDataset,
    margins: *const f32,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if margins.is_null() {
            return Err(Error::NullPointer { name: "margins" });
        }
        if len == 0 {
            return Err(Error::arg("len", "must be at least 1"));
        }
        // SAFETY: the caller guarantees `margins` points to `len` floats.
        let values = unsafe { array_in(margins, len, "margins") }?.to_vec();
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        d.inner = d.inner.clone().with_base_margin(values)?;
        Ok(())
    })
}

/// Sets several labels per row (multi-output regression, multi-label classification): `labels`
/// holds `num_rows * num_targets` floats, row-major (`labels[row * num_targets + target]`), and
/// `num_rows` must equal the data set's number of rows. They replace the labels given to
/// `sylvan_dataset_create` (a later call replaces them again); `num_targets == 1` is the same as
/// plain labels. Training then fits one output per target with an element-wise objective (`reg:*`,
/// `binary:logistic`, `count:poisson`, ...), as separate trees (`"multi_strategy":
/// "one_output_per_tree"`, the default) or trees with a value per target in each leaf
/// (`"multi_strategy": "multi_output_tree"`); predictions then hold `num_targets` values per row.
/// A `NaN` or infinite label gives `SYLVAN_ERR_INVALID_DATA` naming the row and target, and the
/// data set is unchanged. The values are copied.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `labels` must point to
/// `num_rows * num_targets` floats.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_label_matrix(
    dataset: *mut SylvanDataset,
    labels: *const f32,
    num_rows: usize,
    num_targets: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if labels.is_null() {
            return Err(Error::NullPointer { name: "labels" });
        }
        if num_targets == 0 {
            return Err(Error::arg("num_targets", "must be at least 1"));
        }
        let len = num_rows.checked_mul(num_targets).ok_or_else(|| {
            Error::arg(
                "num_targets",
                format!("num_rows * num_targets overflows ({num_rows} x {num_targets})"),
            )
        })?;
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let rows = d.inner.num_rows();
        if num_rows != rows {
            return Err(Error::arg(
                "num_rows",
                format!("{num_rows} rows of labels for a data set of {rows} rows; give one row of labels per row"),
            ));
        }
        // SAFETY: the caller guarantees `labels` points to `num_rows * num_targets` floats.
        let values = unsafe { array_in(labels, len, "labels") }?.to_vec();
        // On a bad label the clone is dropped and the handle keeps its data set.
        d.inner = d.inner.clone().with_label_matrix(values, num_targets)?;
        Ok(())
    })
}

/// Moves `dataset`'s data set out, passes it through `attach` and puts the result back (the
/// columns are moved, never copied). Callers check the input first, so that `attach` cannot fail:
/// on an error the handle would be left holding a one-row placeholder.
fn replace_dataset(
    dataset: &mut SylvanDataset,
    attach: impl FnOnce(Dataset) -> sylvan_booster::Result<Dataset>,
) -> Result<()> {
    let placeholder = Dataset::from_columns(vec![vec![0.0]])?;
    let taken = std::mem::replace(&mut dataset.inner, placeholder);
    dataset.inner = attach(taken)?;
    Ok(())
}

/// Attaches query groups for ranking (`rank:*` objectives, `ndcg`/`map` metrics) from one query
/// id per row, as XGBoost's `qid`: `ids` holds `len` values and `len` must equal the number of
/// rows. The rows of a query need NOT be contiguous: rows with equal ids form one query wherever
/// they are (queries are numbered in order of their first row). The ids are copied; a later call
/// (or `sylvan_dataset_set_group_sizes`) replaces them.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `ids` must point to `len`
/// `uint64_t` values.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_query_ids(
    dataset: *mut SylvanDataset,
    ids: *const u64,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if ids.is_null() {
            return Err(Error::NullPointer { name: "ids" });
        }
        // SAFETY: the caller guarantees `ids` points to `len` values.
        let ids = unsafe { array_in(ids, len, "ids") }?.to_vec();
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let rows = d.inner.num_rows();
        if ids.len() != rows {
            return Err(Error::arg(
                "len",
                format!("{len} query ids for a data set of {rows} rows; give one id per row"),
            ));
        }
        replace_dataset(d, |inner| inner.with_query_ids(ids))
    })
}

/// Attaches query groups for ranking as the sizes of consecutive groups of rows, as XGBoost's
/// `set_group` and LightGBM's `group`: the first `sizes[0]` rows are query 0, the next `sizes[1]`
/// query 1, and so on. The `len` sizes must each be at least 1 and add up to the number of rows
/// (else `SYLVAN_ERR_INVALID_DATA`, the data set unchanged). A later call (or
/// `sylvan_dataset_set_query_ids`) replaces them.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `sizes` must point to `len`
/// `size_t` values.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_group_sizes(
    dataset: *mut SylvanDataset,
    sizes: *const usize,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if sizes.is_null() {
            return Err(Error::NullPointer { name: "sizes" });
        }
        // SAFETY: the caller guarantees `sizes` points to `len` values.
        let sizes = unsafe { array_in(sizes, len, "sizes") }?.to_vec();
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        // Checked before the data set is touched, so that an error leaves it unchanged.
        sylvan_booster::QueryGroups::from_sizes(&sizes, d.inner.num_rows())?;
        replace_dataset(d, |inner| inner.with_group_sizes(&sizes))
    })
}

/// Attaches interval label bounds for survival (`survival:aft`), as XGBoost's
/// `label_lower_bound` / `label_upper_bound`: `lower` and `upper` hold `len` floats each, one pair
/// per row (`len` must equal the number of rows), with `0 <= lower <= upper`. `lower == upper` is
/// an exact (uncensored) time, `upper = INFINITY` right-censored (a `NaN` upper bound is read as
/// `INFINITY` too), `lower = 0` left-censored, anything else interval-censored. A bad pair gives
/// `SYLVAN_ERR_INVALID_DATA` naming the row, and the data set is unchanged. The values are copied;
/// a later call replaces them. Training still needs labels (`sylvan_dataset_create`); for
/// `survival:aft` pass e.g. the lower bounds.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `lower` and `upper` must each
/// point to `len` floats.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_label_bounds(
    dataset: *mut SylvanDataset,
    lower: *const f32,
    upper: *const f32,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if lower.is_null() {
            return Err(Error::NullPointer { name: "lower" });
        }
        if upper.is_null() {
            return Err(Error::NullPointer { name: "upper" });
        }
        // SAFETY: the caller guarantees `lower` and `upper` each point to `len` floats.
        let lower = unsafe { array_in(lower, len, "lower") }?.to_vec();
        // SAFETY: as above.
        let upper: Vec<f32> = unsafe { array_in(upper, len, "upper") }?
            .iter()
            .map(|&u| if u.is_nan() { f32::INFINITY } else { u })
            .collect();
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let rows = d.inner.num_rows();
        if len != rows {
            return Err(Error::arg(
                "len",
                format!("{len} label bounds for a data set of {rows} rows; give one pair per row"),
            ));
        }
        // Checked before the data set is touched, so that an error leaves it unchanged.
        sylvan_booster::LabelBounds::new(lower.clone(), upper.clone())?;
        replace_dataset(d, |inner| inner.with_label_bounds(lower, upper))
    })
}

/// The C constant of a feature type.
fn type_code(t: FeatureType) -> c_int {
    match t {
        FeatureType::Numerical => SYLVAN_FEATURE_NUMERICAL,
        FeatureType::Categorical => SYLVAN_FEATURE_CATEGORICAL,
    }
}

/// Gives `dataset` the feature types `types` (one per feature, checked by the caller). The values
/// of every categorical feature are checked first, so that on error the data set is unchanged
/// (and its columns are never copied).
fn set_types(dataset: &mut SylvanDataset, types: Vec<FeatureType>) -> Result<()> {
    let d = &dataset.inner;
    for (j, t) in types.iter().enumerate() {
        if !t.is_categorical() {
            continue;
        }
        let mut bad = None;
        d.column(j).for_each_present(|row, x| {
            if bad.is_none() && category_code(x).is_none() {
                bad = Some((row, x));
            }
        });
        if let Some((row, x)) = bad {
            return Err(Error::Booster(sylvan_booster::Error::data(format!(
                "categorical feature {j} (`{}`) has the value {x} at row {row}; category codes must be integers \
                 in 0..{MAX_CATEGORIES} (NaN for missing)",
                d.feature_name(j)
            ))));
        }
    }
    // The checks above are those of `with_feature_types`, which therefore cannot fail here; the
    // columns are moved out and back rather than copied.
    let placeholder = Dataset::from_columns(vec![vec![0.0]])?;
    let taken = std::mem::replace(&mut dataset.inner, placeholder);
    dataset.inner = taken.with_feature_types(types)?;
    Ok(())
}

/// Writes `values` to a caller's buffer of `out_len` ints with the conventions of
/// `sylvan_booster_predict`: `*out_needed` (when not `NULL`) gets the length, `out == NULL` with
/// `out_len == 0` is a size query, a shorter buffer is `SYLVAN_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `out` must be `NULL` or point to `out_len` writable ints; `out_needed` `NULL` or writable.
unsafe fn ints_out(values: &[c_int], out: *mut c_int, out_len: usize, out_needed: *mut usize) -> Result<()> {
    // SAFETY: the caller's guarantees are those of `values_out`.
    unsafe { values_out(values, out, out_len, out_needed) }
}

/// Writes `values` to a caller's buffer of `out_len` values with the conventions of
/// `sylvan_booster_predict` (see [`ints_out`]).
///
/// # Safety
/// `out` must be `NULL` or point to `out_len` writable values; `out_needed` `NULL` or writable.
unsafe fn values_out<T: Copy>(values: &[T], out: *mut T, out_len: usize, out_needed: *mut usize) -> Result<()> {
    let query = out.is_null() && out_len == 0;
    if out.is_null() && !query {
        return Err(Error::NullPointer { name: "out" });
    }
    // SAFETY: the caller guarantees `out` is null or points to `out_len` writable values.
    let buffer = unsafe { array_out(out, out_len, "out") }?;
    if !out_needed.is_null() {
        // SAFETY: the caller guarantees a non-null `out_needed` is writable.
        unsafe { write_out(out_needed, values.len(), "out_needed") }?;
    }
    if query {
        return Ok(());
    }
    if buffer.len() < values.len() {
        return Err(Error::BufferTooSmall {
            name: "out",
            needed: values.len(),
            got: buffer.len(),
        });
    }
    buffer[..values.len()].copy_from_slice(values);
    Ok(())
}

/// Declares the features `indices` (`len` zero-based column indices, in any order; repeats are
/// fine) categorical; the other features keep their type. Their values must be category codes:
/// integers `0..65535` as floats, `NaN` for missing. An index beyond the columns gives
/// `SYLVAN_ERR_INVALID_ARGUMENT`; a value that is not a code `SYLVAN_ERR_INVALID_DATA` with a
/// message naming the feature and the row; on error the data set is unchanged. `len == 0` (with
/// `indices` `NULL` or not) changes nothing.
///
/// Declare the training set's categorical features before `sylvan_booster_train`; the model keeps
/// them (`sylvan_booster_feature_types`). Prediction and evaluation sets need not declare them:
/// the model routes their values by its category sets. The `categorical_features` parameter
/// (`{"categorical_features": [0, 3]}`) declares training features the same way.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `indices` must point to `len`
/// `size_t` values (or be `NULL` when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_categorical(
    dataset: *mut SylvanDataset,
    indices: *const usize,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        // SAFETY: the caller guarantees `indices` points to `len` values (null is caught unless len 0).
        let indices = unsafe { array_in(indices, len, "indices") }?;
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let num_cols = d.inner.num_features();
        let mut types = d.inner.feature_types();
        for (k, &j) in indices.iter().enumerate() {
            let slot = types.get_mut(j).ok_or_else(|| {
                Error::arg(
                    "indices",
                    format!("indices[{k}] is {j}, but the data set has {num_cols} features (0..{num_cols})"),
                )
            })?;
            *slot = FeatureType::Categorical;
        }
        if len == 0 {
            return Ok(());
        }
        set_types(d, types)
    })
}

/// Sets the type of every feature: `types` holds `len` values, one per column (`len` must equal
/// the number of columns), each `SYLVAN_FEATURE_NUMERICAL` (0) or `SYLVAN_FEATURE_CATEGORICAL`
/// (1). Unlike `sylvan_dataset_set_categorical` this can also make features numerical again.
/// Errors as for `sylvan_dataset_set_categorical`; on error the data set is unchanged.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `types` must point to `len` ints.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_feature_types(
    dataset: *mut SylvanDataset,
    types: *const c_int,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if types.is_null() {
            return Err(Error::NullPointer { name: "types" });
        }
        // SAFETY: the caller guarantees `types` points to `len` ints.
        let codes = unsafe { array_in(types, len, "types") }?;
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let num_cols = d.inner.num_features();
        if len != num_cols {
            return Err(Error::arg(
                "len",
                format!("{len} feature types given, but the data set has {num_cols} features"),
            ));
        }
        let types = codes
            .iter()
            .enumerate()
            .map(|(k, &t)| match t {
                SYLVAN_FEATURE_NUMERICAL => Ok(FeatureType::Numerical),
                SYLVAN_FEATURE_CATEGORICAL => Ok(FeatureType::Categorical),
                other => Err(Error::arg(
                    "types",
                    format!(
                        "types[{k}] is {other}, neither SYLVAN_FEATURE_NUMERICAL (0) nor SYLVAN_FEATURE_CATEGORICAL (1)"
                    ),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        set_types(d, types)
    })
}

/// Writes the type of every feature of `dataset` (`SYLVAN_FEATURE_NUMERICAL` or
/// `SYLVAN_FEATURE_CATEGORICAL`, one int per column) to `out`. Buffer conventions as for
/// `sylvan_booster_predict`: the length (the number of columns) goes to `*out_needed` when it is
/// not `NULL`; `out == NULL, out_len == 0` is a size query; a shorter buffer gives
/// `SYLVAN_ERR_BUFFER_TOO_SMALL` and writes nothing.
///
/// # Safety
/// `dataset` must be a live handle; `out` `NULL` or `out_len` writable ints; `out_needed` `NULL`
/// or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_feature_types(
    dataset: *const SylvanDataset,
    out: *mut c_int,
    out_len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let d = unsafe { handle(dataset, "dataset") }?;
        let types: Vec<c_int> = d.inner.feature_types().into_iter().map(type_code).collect();
        // SAFETY: the caller guarantees the buffers as documented.
        unsafe { ints_out(&types, out, out_len, out_needed) }
    })
}

/// Names the features: `names` holds `len` NUL-terminated UTF-8 strings, one per column (`len`
/// must equal the number of columns; names must be distinct). The model keeps the names, and
/// parameters given by feature name resolve against them (`{"monotone_constraints": {"debt": 1}}`,
/// `{"interaction_constraints": [["age", "income"]]}`, `{"feature_weights": {"id": 0}}`). Without
/// names, features are known by their 0-based index (`{"monotone_constraints": {"0": 1}}`). A bad
/// count gives `SYLVAN_ERR_INVALID_ARGUMENT`, a repeated name `SYLVAN_ERR_INVALID_DATA`; on error
/// the data set is unchanged.
///
/// # Safety
/// `dataset` must be a live handle not in use by another thread; `names` must point to `len`
/// pointers to NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_set_feature_names(
    dataset: *mut SylvanDataset,
    names: *const *const c_char,
    len: usize,
) -> c_int {
    run(|| {
        if dataset.is_null() {
            return Err(Error::NullPointer { name: "dataset" });
        }
        if names.is_null() {
            return Err(Error::NullPointer { name: "names" });
        }
        // SAFETY: the caller guarantees `names` points to `len` pointers.
        let ptrs = unsafe { array_in(names, len, "names") }?;
        let names = ptrs
            .iter()
            // SAFETY: the caller guarantees each entry is a NUL-terminated string (null is caught).
            .map(|p| unsafe { str_in(*p, "names") }.map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        // SAFETY: the caller guarantees a live handle that no other thread uses.
        let d = unsafe { &mut *dataset };
        let num_cols = d.inner.num_features();
        if len != num_cols {
            return Err(Error::arg(
                "len",
                format!("{len} feature names given, but the data set has {num_cols} features"),
            ));
        }
        d.inner = d.inner.clone().with_feature_names(names)?;
        Ok(())
    })
}

/// Writes the number of rows of `dataset` to `*out`.
///
/// # Safety
/// `dataset` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_num_rows(dataset: *const SylvanDataset, out: *mut usize) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let d = unsafe { handle(dataset, "dataset") }?;
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, d.inner.num_rows(), "out") }
    })
}

/// Writes the number of feature columns of `dataset` to `*out`.
///
/// # Safety
/// `dataset` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_num_cols(dataset: *const SylvanDataset, out: *mut usize) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let d = unsafe { handle(dataset, "dataset") }?;
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, d.inner.num_features(), "out") }
    })
}

/// Releases a data set. `NULL` is accepted and does nothing. The handle must not be used afterwards.
///
/// # Safety
/// `dataset` must be `NULL` or a live handle from `sylvan_dataset_create`, not freed before, and not
/// in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn sylvan_dataset_free(dataset: *mut SylvanDataset) -> c_int {
    run(|| {
        if !dataset.is_null() {
            // SAFETY: the caller guarantees this is a live handle, i.e. a leaked `Box<SylvanDataset>`
            // that nothing else uses any more.
            drop(unsafe { Box::from_raw(dataset) });
        }
        Ok(())
    })
}

/// Trains a booster on `train` (which must have labels) with parameters given as a JSON object of
/// XGBoost names, e.g. `{"objective":"binary:logistic","max_depth":6,"eta":"0.1","num_round":50}`;
/// values may be numbers or strings, a list is joined with commas (`"eval_metric":["auc","logloss"]`);
/// pass `"{}"` for the defaults. An unknown parameter or a bad value gives
/// `SYLVAN_ERR_INVALID_PARAMETER` and a message naming it.
///
/// Categorical features are those declared on `train` (`sylvan_dataset_set_categorical`) and
/// those `"categorical_features"` lists (indices: `[0, 3]` or `"0,3"`); `max_cat_to_onehot`,
/// `max_cat_threshold`, `cat_smooth`, `cat_l2` and `min_data_per_group` tune their splits.
/// Every `tree_method` splits them by category sets; `device=cuda` refuses them
/// (`SYLVAN_ERR_INVALID_PARAMETER`).
///
/// `evals` (`num_evals` labelled data sets, or `NULL` when `num_evals` is 0) are evaluated after
/// every round; early stopping (`early_stopping_rounds`) watches the last one. `eval_names` gives
/// their names (`num_evals` strings), or is `NULL` for `eval_0`, `eval_1`, ...
///
/// On success `*out` holds a new handle to release with `sylvan_booster_free`; on error it is set to
/// `NULL`.
///
/// # Safety
/// `train` and every entry of `evals` must be live data set handles; `params_json` a NUL-terminated
/// string; `evals` and `eval_names` `NULL` or arrays of `num_evals` entries; `out` must point to a
/// writable `SylvanBooster *`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_train(
    train: *const SylvanDataset,
    params_json: *const c_char,
    evals: *const *const SylvanDataset,
    eval_names: *const *const c_char,
    num_evals: usize,
    out: *mut *mut SylvanBooster,
) -> c_int {
    run(|| {
        // SAFETY: the caller's guarantees are `sylvan_booster_train`'s, which are `train_booster`'s.
        unsafe { train_booster(train, params_json, evals, eval_names, num_evals, None, out) }
    })
}

/// Trains as `sylvan_booster_train` does, writing the model so far into the folder
/// `checkpoint_dir` (created when missing) after every `checkpoint_every` rounds, atomically, as
/// `checkpoint-<rounds>.sylvan` (a model file `sylvan_booster_load` reads), keeping the newest
/// `checkpoint_keep`. With `resume` non-zero the run goes on from the newest checkpoint in the
/// folder, with the same data and parameters, up to `num_round` rounds in all: the result is the
/// model an uninterrupted run gives, bit for bit (evaluation history and early stopping
/// included). `checkpoint_every` or `checkpoint_keep` of 0 gives `SYLVAN_ERR_INVALID_ARGUMENT`, as
/// does `resume` when the folder holds no checkpoint.
///
/// # Safety
/// As for `sylvan_booster_train`; `checkpoint_dir` must be a NUL-terminated string.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_train_with_checkpoints(
    train: *const SylvanDataset,
    params_json: *const c_char,
    evals: *const *const SylvanDataset,
    eval_names: *const *const c_char,
    num_evals: usize,
    checkpoint_dir: *const c_char,
    checkpoint_every: usize,
    checkpoint_keep: usize,
    resume: c_int,
    out: *mut *mut SylvanBooster,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a NUL-terminated string or null.
        let dir = unsafe { str_in(checkpoint_dir, "checkpoint_dir") }?;
        if checkpoint_every == 0 {
            return Err(Error::arg(
                "checkpoint_every",
                "must be at least 1 (rounds between checkpoints)",
            ));
        }
        if checkpoint_keep == 0 {
            return Err(Error::arg("checkpoint_keep", "must be at least 1 (checkpoints kept)"));
        }
        let plan = CheckpointPlan {
            checkpoints: Checkpoints::new(dir, checkpoint_every, checkpoint_keep),
            resume: resume != 0,
        };
        // SAFETY: the caller's guarantees are `sylvan_booster_train`'s, which are `train_booster`'s.
        unsafe { train_booster(train, params_json, evals, eval_names, num_evals, Some(plan), out) }
    })
}

/// The checkpoints of a run, and whether it resumes from the newest one.
struct CheckpointPlan {
    checkpoints: Checkpoints,
    resume: bool,
}

/// The body of `sylvan_booster_train` and `sylvan_booster_train_with_checkpoints`.
///
/// # Safety
/// As for `sylvan_booster_train`.
unsafe fn train_booster(
    train: *const SylvanDataset,
    params_json: *const c_char,
    evals: *const *const SylvanDataset,
    eval_names: *const *const c_char,
    num_evals: usize,
    checkpoints: Option<CheckpointPlan>,
    out: *mut *mut SylvanBooster,
) -> Result<()> {
    // SAFETY: the caller guarantees `out` is null or writable.
    let slot = unsafe { handle_out(out, "out") }?;
    // SAFETY: the caller guarantees a live handle or null.
    let train = unsafe { handle(train, "train") }?;
    // SAFETY: the caller guarantees a NUL-terminated string or null.
    let params = params_from_json(unsafe { str_in(params_json, "params_json") }?)?;
    // SAFETY: the caller guarantees `evals` is null or holds `num_evals` pointers.
    let eval_ptrs = unsafe { array_in(evals, num_evals, "evals") }?;
    let names: Vec<String> = if eval_names.is_null() {
        (0..num_evals).map(|i| format!("eval_{i}")).collect()
    } else {
        // SAFETY: the caller guarantees a non-null `eval_names` holds `num_evals` pointers.
        let ptrs = unsafe { array_in(eval_names, num_evals, "eval_names") }?;
        ptrs.iter()
            // SAFETY: the caller guarantees each entry is a NUL-terminated string (null is caught).
            .map(|p| unsafe { str_in(*p, "eval_names") }.map(str::to_string))
            .collect::<Result<_>>()?
    };
    let sets: Vec<&Dataset> = eval_ptrs
        .iter()
        // SAFETY: the caller guarantees each entry is a live handle (null is caught).
        .map(|p| unsafe { handle(*p, "evals") }.map(|d| &d.inner))
        .collect::<Result<_>>()?;
    let evals: Vec<(&str, &Dataset)> = names.iter().map(String::as_str).zip(sets).collect();
    let booster = match checkpoints {
        None => Booster::train(&params, &train.inner, &evals)?,
        Some(CheckpointPlan { checkpoints, resume }) => {
            let init = match resume {
                true => match latest_checkpoint(&checkpoints.dir)? {
                    Some(path) => Some(Booster::load(path)?),
                    None => {
                        return Err(Error::arg(
                            "checkpoint_dir",
                            format!("resume: no checkpoint in `{}`", checkpoints.dir.display()),
                        ))
                    }
                },
                false => None,
            };
            let options = TrainOptions {
                init_model: init.as_ref(),
                checkpoints: Some(checkpoints),
                resume,
                ..Default::default()
            };
            Booster::train_with(&params, &train.inner, &evals, options)?
        }
    };
    *slot = Box::into_raw(Box::new(SylvanBooster { inner: booster }));
    Ok(())
}

/// The prediction output of a `SYLVAN_PREDICT_*` code; an error naming `name` for any other value.
fn predict_output(code: c_int, name: &'static str) -> Result<PredictOutput> {
    Ok(match code {
        SYLVAN_PREDICT_VALUE => PredictOutput::Value,
        SYLVAN_PREDICT_MARGIN => PredictOutput::Margin,
        SYLVAN_PREDICT_LEAF_INDEX => PredictOutput::LeafIndex,
        SYLVAN_PREDICT_CONTRIBUTIONS => PredictOutput::Contributions,
        SYLVAN_PREDICT_APPROX_CONTRIBUTIONS => PredictOutput::ApproxContributions,
        SYLVAN_PREDICT_INTERACTIONS => PredictOutput::Interactions,
        other => {
            return Err(Error::arg(
                name,
                format!(
                    "{other} is not SYLVAN_PREDICT_VALUE (0), _MARGIN (1), _LEAF_INDEX (2), _CONTRIBUTIONS (3), \
                     _APPROX_CONTRIBUTIONS (4) or _INTERACTIONS (5)"
                ),
            ))
        }
    })
}

/// Predicts for every row of `data` into `out`, row-major: `num_rows * k` floats, where `k` is 1
/// for regression and binary classification, the number of classes for `multi:softprob` (and for
/// margins of multiclass models), the number of label columns for a model trained on several
/// targets (`sylvan_dataset_set_label_matrix`), the number of levels for several `quantile_alpha`
/// or `expectile_alpha` (values in the levels' order, never crossing: a higher level never gets a
/// lower value; margins are the raw outputs), the number of trees used for leaf indices, and for
/// the explanations (`SYLVAN_PREDICT_CONTRIBUTIONS`, `_APPROX_CONTRIBUTIONS`, `_INTERACTIONS`,
/// computed on the CPU) the sizes given there (`sylvan_booster_num_outputs` gives `k` for values,
/// `sylvan_booster_output_columns` for every output but leaf indices).
///
/// `options` may be `NULL` for the defaults. The number of values needed is written to
/// `*out_needed` when `out_needed` is not `NULL`. If `out_len` is smaller, nothing is written to
/// `out` and the status is `SYLVAN_ERR_BUFFER_TOO_SMALL`, except for a size query, `out == NULL`
/// and `out_len == 0`, which returns `SYLVAN_OK` after reporting the size (it runs the prediction;
/// `num_rows * k` avoids that when `k` is known).
///
/// Thread safety: any number of threads may predict with one booster (and one data set) at once,
/// also while other threads train other boosters; each gets the single-thread result. Only
/// freeing a handle, or changing a data set, needs the other threads to be done with it.
///
/// # Safety
/// `booster` and `data` must be live handles; `options` `NULL` or a readable options struct; `out`
/// `NULL` or `out_len` writable floats; `out_needed` `NULL` or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_predict(
    booster: *const SylvanBooster,
    data: *const SylvanDataset,
    options: *const SylvanPredictOptions,
    out: *mut f32,
    out_len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees live handles or null.
        let booster = unsafe { handle(booster, "booster") }?;
        // SAFETY: as above.
        let data = unsafe { handle(data, "data") }?;
        // SAFETY: the caller guarantees `options` is null or readable.
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let output = predict_output(options.output, "options.output")?;
        let iteration_range = match (options.iteration_begin, options.iteration_end) {
            (0, 0) => None,
            range => Some(range),
        };
        let query = out.is_null() && out_len == 0;
        if out.is_null() && !query {
            return Err(Error::NullPointer { name: "out" });
        }
        // Check the buffer before the (possibly long) prediction.
        // SAFETY: the caller guarantees `out` is null or points to `out_len` writable floats.
        let buffer = unsafe { array_out(out, out_len, "out") }?;
        let predictions = booster.inner.predict(
            &data.inner,
            PredictOptions {
                output,
                iteration_range,
            },
        )?;
        let needed = predictions.values.len();
        if !out_needed.is_null() {
            // SAFETY: the caller guarantees a non-null `out_needed` is writable.
            unsafe { write_out(out_needed, needed, "out_needed") }?;
        }
        if query {
            return Ok(());
        }
        if buffer.len() < needed {
            return Err(Error::BufferTooSmall {
                name: "out",
                needed,
                got: buffer.len(),
            });
        }
        buffer[..needed].copy_from_slice(&predictions.values);
        Ok(())
    })
}

/// Saves the booster to `path`: JSON when the path ends in `.json`, the compact binary form otherwise
/// (the same files as `sylvan train --model-out`). The file is replaced atomically.
///
/// # Safety
/// `booster` must be a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_save(booster: *const SylvanBooster, path: *const c_char) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let booster = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees a NUL-terminated string or null.
        let path = unsafe { path_in(path, "path") }?;
        booster.inner.save(&path)?;
        Ok(())
    })
}

/// Loads a booster saved by `sylvan_booster_save` or the `sylvan` CLI (JSON or binary, detected from
/// the content). A file that is not a valid model gives `SYLVAN_ERR_INVALID_MODEL`, a missing or
/// unreadable one `SYLVAN_ERR_IO`. On success `*out` holds a new handle to release with
/// `sylvan_booster_free`; on error it is set to `NULL`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable `SylvanBooster *`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_load(path: *const c_char, out: *mut *mut SylvanBooster) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees `out` is null or writable.
        let slot = unsafe { handle_out(out, "out") }?;
        // SAFETY: the caller guarantees a NUL-terminated string or null.
        let path = unsafe { path_in(path, "path") }?;
        let booster = Booster::load(&path)?;
        *slot = Box::into_raw(Box::new(SylvanBooster { inner: booster }));
        Ok(())
    })
}

/// Writes the number of features the booster expects to `*out`.
///
/// # Safety
/// `booster` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_num_features(booster: *const SylvanBooster, out: *mut usize) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, b.inner.num_features(), "out") }
    })
}

/// Writes the type of every feature the booster was trained on (`SYLVAN_FEATURE_NUMERICAL` or
/// `SYLVAN_FEATURE_CATEGORICAL`, one int per feature) to `out`, with the buffer conventions of
/// `sylvan_dataset_feature_types`. Models saved and loaded keep their types.
///
/// # Safety
/// `booster` must be a live handle; `out` `NULL` or `out_len` writable ints; `out_needed` `NULL`
/// or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_feature_types(
    booster: *const SylvanBooster,
    out: *mut c_int,
    out_len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        let types: Vec<c_int> = b.inner.feature_types().into_iter().map(type_code).collect();
        // SAFETY: the caller guarantees the buffers as documented.
        unsafe { ints_out(&types, out, out_len, out_needed) }
    })
}

/// Copies the model attribute `key` (a string saved with the model) into `out` as a
/// NUL-terminated string. `*out_needed` (when not `NULL`) gets the bytes needed including the NUL,
/// or 0 when the model has no such attribute (then nothing is written and the status is
/// `SYLVAN_OK`). `out == NULL, out_len == 0` is a size query; a shorter buffer gives
/// `SYLVAN_ERR_BUFFER_TOO_SMALL` and writes nothing.
///
/// Models trained on string columns (the CLI, Python) store their category mapping under
/// `"sylvan.categories"`: a JSON object `{"column": ["first", "second", ...]}` where code `i` is the
/// `i`-th string; encode strings with it before predicting through this API.
///
/// # Safety
/// `booster` must be a live handle; `key` a NUL-terminated string; `out` `NULL` or `out_len`
/// writable bytes; `out_needed` `NULL` or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_attribute(
    booster: *const SylvanBooster,
    key: *const c_char,
    out: *mut c_char,
    out_len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees a NUL-terminated string or null.
        let key = unsafe { str_in(key, "key") }?;
        let query = out.is_null() && out_len == 0;
        if out.is_null() && !query {
            return Err(Error::NullPointer { name: "out" });
        }
        // SAFETY: the caller guarantees `out` is null or points to `out_len` writable bytes.
        let buffer = unsafe { array_out(out, out_len, "out") }?;
        let value = b.inner.attributes().get(key);
        let needed = value.map_or(0, |v| v.len() + 1);
        if !out_needed.is_null() {
            // SAFETY: the caller guarantees a non-null `out_needed` is writable.
            unsafe { write_out(out_needed, needed, "out_needed") }?;
        }
        let Some(value) = value else {
            return Ok(());
        };
        if query {
            return Ok(());
        }
        if buffer.len() < needed {
            return Err(Error::BufferTooSmall {
                name: "out",
                needed,
                got: buffer.len(),
            });
        }
        for (slot, byte) in buffer.iter_mut().zip(value.bytes().chain([0])) {
            *slot = byte as c_char;
        }
        Ok(())
    })
}

/// Writes the number of boosting rounds of the booster to `*out`.
///
/// # Safety
/// `booster` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_num_rounds(booster: *const SylvanBooster, out: *mut usize) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, b.inner.num_rounds(), "out") }
    })
}

/// Writes to `*out` how many values per row `sylvan_booster_predict` gives for
/// `SYLVAN_PREDICT_VALUE`: 1 for one output (and `multi:softmax`), the number of classes for
/// `multi:softprob`, of label columns for a model trained on several targets, of levels for several
/// `quantile_alpha` or `expectile_alpha`. A prediction buffer needs `num_rows` times this many
/// floats (margins of `multi:softmax` need `num_class` per row).
///
/// # Safety
/// `booster` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_num_outputs(booster: *const SylvanBooster, out: *mut usize) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, b.inner.num_prediction_columns(), "out") }
    })
}

/// Writes to `*out` how many values per row `sylvan_booster_predict` gives for the output `output`
/// (a `SYLVAN_PREDICT_*` code) over all rounds: for `SYLVAN_PREDICT_VALUE` what
/// `sylvan_booster_num_outputs` gives; for `SYLVAN_PREDICT_MARGIN` the number of outputs `m` (the
/// classes also for `multi:softmax`); `m * (num_features + 1)` for `SYLVAN_PREDICT_CONTRIBUTIONS`
/// and `SYLVAN_PREDICT_APPROX_CONTRIBUTIONS`; `m * (num_features + 1)^2` for
/// `SYLVAN_PREDICT_INTERACTIONS`. Leaf indices depend on the rounds used: ask
/// `sylvan_booster_predict` with `out == NULL, out_len == 0` instead (this function gives
/// `SYLVAN_ERR_INVALID_ARGUMENT` for them, as for an unknown code).
///
/// # Safety
/// `booster` must be a live handle; `out` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_output_columns(
    booster: *const SylvanBooster,
    output: c_int,
    out: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        let columns = match predict_output(output, "output")? {
            PredictOutput::Value => b.inner.num_prediction_columns(),
            PredictOutput::Margin => b.inner.num_groups(),
            PredictOutput::LeafIndex => {
                return Err(Error::arg(
                    "output",
                    "the number of leaf indices per row depends on the rounds used; query it with \
                     sylvan_booster_predict(..., out = NULL, out_len = 0, &needed)",
                ))
            }
            explanation => b.inner.explanation_columns(explanation),
        };
        // SAFETY: the caller guarantees `out` is null or writable.
        unsafe { write_out(out, columns, "out") }
    })
}

/// Writes the importance of every feature (one `double` per feature, 0 for a feature no split
/// uses) to `out`, measured as `importance_type` says, with XGBoost's names: `"weight"` (number of
/// splits on the feature), `"gain"` (average loss change of its splits), `"cover"` (average hessian
/// sum of its split nodes), `"total_gain"`, `"total_cover"`. Another name gives
/// `SYLVAN_ERR_INVALID_ARGUMENT`. Buffer conventions of `sylvan_booster_predict`: `*out_needed`
/// (when not `NULL`) gets the number of features, `out == NULL, out_len == 0` is a size query, a
/// shorter buffer gives `SYLVAN_ERR_BUFFER_TOO_SMALL` and writes nothing. (Mean |SHAP| importance:
/// average the absolute values of `SYLVAN_PREDICT_CONTRIBUTIONS` over rows.)
///
/// # Safety
/// `booster` must be a live handle; `importance_type` a NUL-terminated string; `out` `NULL` or
/// `out_len` writable doubles; `out_needed` `NULL` or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_feature_importance(
    booster: *const SylvanBooster,
    importance_type: *const c_char,
    out: *mut f64,
    out_len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        // SAFETY: the caller guarantees a live handle or null.
        let b = unsafe { handle(booster, "booster") }?;
        // SAFETY: the caller guarantees a NUL-terminated string or null.
        let name = unsafe { str_in(importance_type, "importance_type") }?;
        let kind: ImportanceType = name
            .parse()
            .map_err(|e: sylvan_booster::Error| Error::arg("importance_type", e.to_string()))?;
        let values = b.inner.feature_importance(kind);
        // SAFETY: the caller guarantees the buffers as documented.
        unsafe { values_out(&values, out, out_len, out_needed) }
    })
}

/// Releases a booster. `NULL` is accepted and does nothing. The handle must not be used afterwards.
///
/// # Safety
/// `booster` must be `NULL` or a live handle from `sylvan_booster_train` or `sylvan_booster_load`,
/// not freed before, and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn sylvan_booster_free(booster: *mut SylvanBooster) -> c_int {
    run(|| {
        if !booster.is_null() {
            // SAFETY: the caller guarantees this is a live handle, i.e. a leaked `Box<SylvanBooster>`
            // that nothing else uses any more.
            drop(unsafe { Box::from_raw(booster) });
        }
        Ok(())
    })
}

/// The message of the last failed call on this thread, or `""` when the last call succeeded.
/// Never `NULL`. The string belongs to the library and stays valid until the next `sylvan_*` call
/// on the same thread (copy it to keep it).
#[no_mangle]
pub extern "C" fn sylvan_last_error() -> *const c_char {
    catch_unwind(error::last_error_ptr).unwrap_or(c"".as_ptr())
}

/// The library version, e.g. `"0.1.0"`: a static string, never `NULL`.
#[no_mangle]
pub extern "C" fn sylvan_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The crate version as a C string.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => c"unknown",
};

#[cfg(test)]
mod tests;
