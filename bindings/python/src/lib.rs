//! # sylvan-py
//!
//! Python bindings for Sylvan, built with PyO3 and maturin into the extension module
//! `sylvan._sylvan`. The Python package `sylvan` (in `python/sylvan/`) wraps it:
//!
//! - `sylvan.Dataset` turns NumPy arrays, pandas and polars DataFrames and pyarrow Tables into a
//!   [`Dataset`] (this crate's [`PyDataset`]); string, categorical and dictionary columns become
//!   categorical features ([`FeatureType::Categorical`], split by category sets): their category
//!   codes come from sylvan-io's [`Encoder`] (codes in sorted order of the strings, an unseen category
//!   is missing), and the mapping is stored in the model under [`CATEGORIES_ATTRIBUTE`] exactly as
//!   the CLI does, so models move freely between Python and the `sylvan` CLI. Numeric columns can be
//!   declared categorical too (by index here, by name or index with the `categorical_features`
//!   parameter); their values are taken as codes.
//! - `sylvan.train` / `sylvan.Booster` wrap [`Booster`] ([`PyBooster`]): training, prediction
//!   (values, margins, leaves, and SHAP/Saabas explanations in XGBoost's shapes: [`explanation_shape`]),
//!   save/load (Sylvan JSON or binary, the CLI's files), export to XGBoost JSON, LightGBM text or ONNX.
//! - `sylvan.SylvanRegressor` / `sylvan.SylvanClassifier` are scikit-learn estimators on top.
//! - `sylvan.dask` trains over a Dask cluster: one rank per worker, connected over TCP
//!   (`_TcpListener` / `_TcpCollective`, in the `distributed` module).
//!
//! Everything heavy runs with the GIL released. Training runs on a helper thread while the calling
//! thread waits with the GIL released and wakes every few milliseconds to run Python's signal
//! handlers (only the main thread can), so Ctrl-C stops training after the current round and raises
//! `KeyboardInterrupt`. Errors from Sylvan arrive as `sylvan.SylvanError` (a `ValueError`), I/O
//! errors as `OSError`; nothing panics across the boundary (a panic in training becomes a
//! `RuntimeError`).
//!
//! The pure-Rust helpers ([`build_params`], [`dataset_from_matrix`], [`encode_strings`]) hold the
//! logic and are tested without Python.
//!
//! ## Example (Python)
//!
//! ```text
//! import numpy as np, sylvan
//! X = np.random.default_rng(0).random((500, 3), dtype=np.float32)
//! y = (X[:, 0] > 0.5).astype(np.float32)
//! bst = sylvan.train({"objective": "binary:logistic"}, sylvan.Dataset(X, label=y), num_boost_round=20)
//! p = bst.predict(sylvan.Dataset(X))
//! ```
//!
//! ## Example (Rust, the helpers)
//!
//! ```
//! let params = sylvan_py::build_params(&[("objective".into(), "binary:logistic".into())]).unwrap();
//! assert_eq!(params.objective.name(), "binary:logistic");
//! // Row-major 2 x 2 matrix.
//! let d = sylvan_py::dataset_from_matrix(&[1.0, 2.0, 3.0, 4.0], 2, 2, false).unwrap();
//! assert_eq!(d.column(1).as_dense(), Some(&[2.0, 4.0][..]));
//! let d = d.with_categorical(&[0]).unwrap();
//! assert_eq!(sylvan_py::type_letters(&d.feature_types()), vec!["c", "q"]);
//! let (codes, cats) = sylvan_py::encode_strings(&[Some("b"), None, Some("a")], None);
//! assert_eq!(cats, vec!["a".to_string(), "b".to_string()]);
//! assert_eq!(codes[0], 1.0);
//! assert!(codes[1].is_nan());
//! ```

#![warn(missing_docs)]

mod callbacks;
mod chunked;
mod distributed;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyMemoryError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use sylvan_booster::backend::objective_for;
pub use sylvan_booster::{Booster, Dataset, FeatureType, Params};
use sylvan_booster::{
    Checkpoints, Distributed, ImportanceType, Metric, Objective, PredictOptions, PredictOutput, TrainOptions,
};

use callbacks::{PyHooks, PyObjective, PyRoundState, PythonError};
use sylvan_io::ModelFormat;
pub use sylvan_io::{Encoder, CATEGORIES_ATTRIBUTE};

pyo3::create_exception!(
    sylvan,
    SylvanError,
    PyValueError,
    "An error reported by Sylvan (bad parameter, data, model file ...); a ValueError."
);

/// Turns a booster error into a Python exception: I/O errors become `OSError`, a training that
/// cannot fit the memory left `MemoryError`, the rest [`SylvanError`] (a `ValueError`), with
/// Sylvan's message.
fn booster_err(e: sylvan_booster::Error) -> PyErr {
    match e {
        sylvan_booster::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        sylvan_booster::Error::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        other => SylvanError::new_err(other.to_string()),
    }
}

/// Turns an io-crate error into a Python exception (see [`booster_err`]).
fn io_err(e: sylvan_io::Error) -> PyErr {
    match e {
        sylvan_io::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => SylvanError::new_err(other.to_string()),
    }
}

/// Builds training parameters from `(name, value)` pairs with XGBoost's names ([`Params::apply`]).
pub fn build_params(pairs: &[(String, String)]) -> sylvan_booster::Result<Params> {
    let mut params = Params::default();
    params.apply(pairs.iter().map(|(n, v)| (n, v)))?;
    Ok(params)
}

/// Builds a data set from a dense matrix of `num_rows x num_features` values, row-major
/// (C order) or, when `fortran` is true, column-major (Fortran order, one column after another).
pub fn dataset_from_matrix(
    values: &[f32],
    num_rows: usize,
    num_features: usize,
    fortran: bool,
) -> sylvan_booster::Result<Dataset> {
    if values.len() != num_rows * num_features {
        return Err(sylvan_booster::Error::ShapeMismatch {
            what: "matrix values vs rows x features".into(),
            expected: num_rows * num_features,
            got: values.len(),
        });
    }
    if num_features == 0 || num_rows == 0 {
        return Err(sylvan_booster::Error::data(if num_rows == 0 {
            "no rows"
        } else {
            "no feature columns"
        }));
    }
    if fortran {
        Dataset::from_columns(values.chunks_exact(num_rows).map(<[f32]>::to_vec).collect())
    } else {
        Dataset::from_rows(values, num_features)
    }
}

/// Encodes one string column with sylvan-io's [`Encoder`]: with `fixed` categories (from a model)
/// an unseen string is missing; otherwise the categories are learned and numbered in sorted order.
/// `None` and empty strings are missing (`NaN`). Returns the codes and the categories in code order.
pub fn encode_strings(values: &[Option<&str>], fixed: Option<&[String]>) -> (Vec<f32>, Vec<String>) {
    let mut enc = match fixed {
        Some(f) => Encoder::fixed(f),
        None => Encoder::learning(),
    };
    let mut codes: Vec<f32> = values
        .iter()
        .map(|v| match v {
            Some(s) if !s.is_empty() => enc.code(s),
            _ => f32::NAN,
        })
        .collect();
    let categories = enc.finish(&mut codes);
    (codes, categories)
}

/// The feature types as XGBoost's letters: `q` (numerical) and `c` (categorical).
pub fn type_letters(types: &[FeatureType]) -> Vec<String> {
    types.iter().map(|t| t.xgboost_letter().to_string()).collect()
}

/// The optional parts of a data set: labels, weights, base margins, feature names and the indices
/// of the categorical features.
#[derive(Default)]
struct Extras {
    label: Option<Vec<f32>>,
    /// Label columns per row: `label` holds `num_targets` values per row, row-major, when this is
    /// above 1 (several targets); 0 or 1 means one label per row.
    num_targets: usize,
    weight: Option<Vec<f32>>,
    base_margin: Option<Vec<f32>>,
    feature_names: Option<Vec<String>>,
    categorical: Vec<usize>,
    /// One query id per row (ranking; XGBoost's `qid`), already mapped to integers by Python.
    qid: Option<Vec<u64>>,
    /// Sizes of consecutive query groups (XGBoost's `group`).
    group: Option<Vec<usize>>,
    /// Label lower and upper bounds (survival; `NaN` upper = `+inf`).
    bounds: Option<(Vec<f32>, Vec<f32>)>,
}

impl Extras {
    /// The parts every constructor takes: labels (`num_targets` per row), weights, base margins,
    /// feature names and the categorical features.
    fn of_rows(
        label: Option<PyReadonlyArray1<'_, f32>>,
        num_targets: usize,
        weight: Option<PyReadonlyArray1<'_, f32>>,
        base_margin: Option<PyReadonlyArray1<'_, f32>>,
        feature_names: Option<Vec<String>>,
        categorical: Option<Vec<usize>>,
    ) -> Extras {
        Extras {
            label: vec_of(label),
            num_targets,
            weight: vec_of(weight),
            base_margin: vec_of(base_margin),
            feature_names,
            categorical: categorical.unwrap_or_default(),
            ..Extras::default()
        }
    }

    /// The ranking and survival parts: query ids or group sizes (not both), and label bounds
    /// (both or neither).
    fn with_targets(
        mut self,
        qid: Option<PyReadonlyArray1<'_, u64>>,
        group: Option<Vec<usize>>,
        lower: Option<PyReadonlyArray1<'_, f32>>,
        upper: Option<PyReadonlyArray1<'_, f32>>,
    ) -> PyResult<Extras> {
        if qid.is_some() && group.is_some() {
            return Err(PyValueError::new_err("give qid or group, not both"));
        }
        self.qid = qid.map(|a| a.as_array().iter().copied().collect());
        self.group = group;
        self.bounds = match (vec_of(lower), vec_of(upper)) {
            (Some(l), Some(u)) => Some((
                l,
                u.into_iter()
                    .map(|v| if v.is_nan() { f32::INFINITY } else { v })
                    .collect(),
            )),
            (None, None) => None,
            _ => {
                return Err(PyValueError::new_err(
                    "label_lower_bound and label_upper_bound come in pairs: give both",
                ))
            }
        };
        Ok(self)
    }
}

/// One sparse column: the rows that hold a value (ascending), and their values.
pub type SparseColumn = (Vec<u32>, Vec<f32>);

/// The columns of a compressed-column sparse matrix as `(rows, values)` pairs (missing values
/// dropped), checking the layout: an error names the column and entry at fault.
pub fn sparse_columns(
    num_rows: usize,
    indptr: &[i64],
    indices: &[i64],
    data: &[f32],
) -> Result<Vec<SparseColumn>, String> {
    if indices.len() != data.len() {
        return Err(format!(
            "sparse matrix: {} row indices but {} values",
            indices.len(),
            data.len()
        ));
    }
    if num_rows > u32::MAX as usize {
        return Err(format!(
            "sparse matrix: {num_rows} rows is more than Sylvan's limit of {}",
            u32::MAX
        ));
    }
    let ends: Vec<usize> = indptr
        .iter()
        .map(|&p| usize::try_from(p).ok().filter(|&p| p <= data.len()))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("sparse matrix: indptr must lie in 0..={}", data.len()))?;
    let mut columns = Vec::with_capacity(ends.len().saturating_sub(1));
    for (j, span) in ends.windows(2).enumerate() {
        let (start, end) = (span[0], span[1]);
        if start > end {
            return Err(format!("sparse matrix: indptr decreases at column {j}"));
        }
        let mut rows = Vec::with_capacity(end - start);
        let mut values = Vec::with_capacity(end - start);
        for e in start..end {
            let r = indices[e];
            if r < 0 || r as usize >= num_rows {
                return Err(format!(
                    "sparse matrix: column {j} has row index {r}, outside 0..{num_rows}"
                ));
            }
            if rows.last().is_some_and(|&last| last >= r as u32) {
                return Err(format!(
                    "sparse matrix: column {j}'s row indices are not sorted and distinct (row {r}); \
                     call sum_duplicates() and sort_indices() first"
                ));
            }
            if !data[e].is_nan() {
                rows.push(r as u32);
                values.push(data[e]);
            }
        }
        columns.push((rows, values));
    }
    Ok(columns)
}

/// Attaches the optional parts of a data set; the categorical features last, so that an error
/// about a value that is not a category code names the feature.
fn finish_dataset(mut d: Dataset, extras: Extras) -> sylvan_booster::Result<Dataset> {
    let Extras {
        label,
        num_targets,
        weight,
        base_margin,
        feature_names,
        categorical,
        qid,
        group,
        bounds,
    } = extras;
    if let Some(l) = label {
        d = if num_targets > 1 {
            d.with_label_matrix(l, num_targets)?
        } else {
            d.with_labels(l)?
        };
    }
    if let Some(w) = weight {
        d = d.with_weights(w)?;
    }
    if let Some(m) = base_margin {
        d = d.with_base_margin(m)?;
    }
    if let Some(n) = feature_names {
        d = d.with_feature_names(n)?;
    }
    if !categorical.is_empty() {
        d = d.with_categorical(&categorical)?;
    }
    if let Some(ids) = qid {
        d = d.with_query_ids(ids)?;
    }
    if let Some(sizes) = group {
        d = d.with_group_sizes(&sizes)?;
    }
    if let Some((lower, upper)) = bounds {
        d = d.with_label_bounds(lower, upper)?;
    }
    Ok(d)
}

/// Copies an optional 1-D float32 array into a vector.
fn vec_of(a: Option<PyReadonlyArray1<'_, f32>>) -> Option<Vec<f32>> {
    a.map(|a| match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    })
}

/// A data set held by Rust: features (f32, `NaN` = missing), labels, weights, base margins, names.
/// Built by the Python class `sylvan.Dataset`; not meant to be used directly.
#[pyclass(name = "_Dataset", module = "sylvan._sylvan", frozen)]
pub struct PyDataset {
    inner: Dataset,
}

#[pymethods]
impl PyDataset {
    /// Builds a data set from a 2-D float32 array. A C- or Fortran-contiguous array is read in
    /// place (no intermediate copy); any other layout is gathered element by element. The features
    /// `categorical` (0-based indices) are declared categorical: their values must be category codes
    /// (integers `0..65535`, `NaN` missing). `qid` (one id per row, rows of a query anywhere) or
    /// `group` (sizes of consecutive groups) attach query groups for ranking;
    /// `label_lower_bound`/`label_upper_bound` attach survival label bounds (`NaN` upper = `+inf`).
    /// With `num_targets` above 1, `label` holds that many labels per row, row-major (several
    /// targets: multi-output regression, multi-label classification).
    #[staticmethod]
    #[pyo3(signature = (x, label=None, weight=None, base_margin=None, feature_names=None, categorical=None,
                        qid=None, group=None, label_lower_bound=None, label_upper_bound=None, num_targets=1))]
    #[allow(clippy::too_many_arguments)]
    fn from_matrix(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        label: Option<PyReadonlyArray1<'_, f32>>,
        weight: Option<PyReadonlyArray1<'_, f32>>,
        base_margin: Option<PyReadonlyArray1<'_, f32>>,
        feature_names: Option<Vec<String>>,
        categorical: Option<Vec<usize>>,
        qid: Option<PyReadonlyArray1<'_, u64>>,
        group: Option<Vec<usize>>,
        label_lower_bound: Option<PyReadonlyArray1<'_, f32>>,
        label_upper_bound: Option<PyReadonlyArray1<'_, f32>>,
        num_targets: usize,
    ) -> PyResult<PyDataset> {
        let (n, m) = (x.shape()[0], x.shape()[1]);
        let extras = Extras::of_rows(label, num_targets, weight, base_margin, feature_names, categorical)
            .with_targets(qid, group, label_lower_bound, label_upper_bound)?;
        let build = |values: &[f32], fortran: bool| {
            py.detach(|| dataset_from_matrix(values, n, m, fortran).and_then(|d| finish_dataset(d, extras)))
        };
        let d = if x.is_c_contiguous() {
            build(x.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?, false)
        } else if x.is_fortran_contiguous() {
            build(x.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?, true)
        } else {
            let copy: Vec<f32> = x.as_array().iter().copied().collect();
            build(&copy, false)
        };
        Ok(PyDataset {
            inner: d.map_err(booster_err)?,
        })
    }

    /// Builds a data set from a sparse matrix in compressed-column form (scipy's CSC: `indptr`
    /// with one more entry than columns, `indices` the row of each stored value, sorted and
    /// distinct within a column, `data` the values), kept sparse: an entry that is not stored is a
    /// missing value, as in XGBoost (a stored `NaN` too). The other arguments are `from_matrix`'s.
    #[staticmethod]
    #[pyo3(signature = (num_rows, indptr, indices, data, label=None, weight=None, base_margin=None, feature_names=None,
                        categorical=None, qid=None, group=None, label_lower_bound=None, label_upper_bound=None,
                        num_targets=1))]
    #[allow(clippy::too_many_arguments)]
    fn from_csc(
        py: Python<'_>,
        num_rows: usize,
        indptr: PyReadonlyArray1<'_, i64>,
        indices: PyReadonlyArray1<'_, i64>,
        data: PyReadonlyArray1<'_, f32>,
        label: Option<PyReadonlyArray1<'_, f32>>,
        weight: Option<PyReadonlyArray1<'_, f32>>,
        base_margin: Option<PyReadonlyArray1<'_, f32>>,
        feature_names: Option<Vec<String>>,
        categorical: Option<Vec<usize>>,
        qid: Option<PyReadonlyArray1<'_, u64>>,
        group: Option<Vec<usize>>,
        label_lower_bound: Option<PyReadonlyArray1<'_, f32>>,
        label_upper_bound: Option<PyReadonlyArray1<'_, f32>>,
        num_targets: usize,
    ) -> PyResult<PyDataset> {
        let extras = Extras::of_rows(label, num_targets, weight, base_margin, feature_names, categorical)
            .with_targets(qid, group, label_lower_bound, label_upper_bound)?;
        let contiguous = |e: numpy::AsSliceError| PyValueError::new_err(format!("sparse matrix arrays: {e}"));
        let columns = sparse_columns(
            num_rows,
            indptr.as_slice().map_err(contiguous)?,
            indices.as_slice().map_err(contiguous)?,
            data.as_slice().map_err(contiguous)?,
        )
        .map_err(SylvanError::new_err)?;
        let d = py.detach(|| Dataset::from_sparse_columns(num_rows, columns).and_then(|d| finish_dataset(d, extras)));
        Ok(PyDataset {
            inner: d.map_err(booster_err)?,
        })
    }

    /// Builds a data set from 1-D float32 columns of equal length; the features `categorical`
    /// (0-based indices) are declared categorical and `num_targets` reads the labels, as in
    /// `from_matrix`.
    #[staticmethod]
    #[pyo3(signature = (columns, label=None, weight=None, base_margin=None, feature_names=None, categorical=None,
                        qid=None, group=None, label_lower_bound=None, label_upper_bound=None, num_targets=1))]
    #[allow(clippy::too_many_arguments)]
    fn from_columns(
        py: Python<'_>,
        columns: Vec<PyReadonlyArray1<'_, f32>>,
        label: Option<PyReadonlyArray1<'_, f32>>,
        weight: Option<PyReadonlyArray1<'_, f32>>,
        base_margin: Option<PyReadonlyArray1<'_, f32>>,
        feature_names: Option<Vec<String>>,
        categorical: Option<Vec<usize>>,
        qid: Option<PyReadonlyArray1<'_, u64>>,
        group: Option<Vec<usize>>,
        label_lower_bound: Option<PyReadonlyArray1<'_, f32>>,
        label_upper_bound: Option<PyReadonlyArray1<'_, f32>>,
        num_targets: usize,
    ) -> PyResult<PyDataset> {
        let cols: Vec<Vec<f32>> = columns
            .into_iter()
            .map(|c| vec_of(Some(c)).unwrap_or_default())
            .collect();
        let extras = Extras::of_rows(label, num_targets, weight, base_margin, feature_names, categorical)
            .with_targets(qid, group, label_lower_bound, label_upper_bound)?;
        let d = py.detach(|| Dataset::from_columns(cols).and_then(|d| finish_dataset(d, extras)));
        Ok(PyDataset {
            inner: d.map_err(booster_err)?,
        })
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.inner.num_rows()
    }

    /// Number of feature columns.
    #[getter]
    fn num_features(&self) -> usize {
        self.inner.num_features()
    }

    /// The feature names, if any.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.inner.feature_names().map(<[String]>::to_vec)
    }

    /// Whether labels are attached.
    #[getter]
    fn has_labels(&self) -> bool {
        self.inner.has_labels()
    }

    /// Label columns per row (1 unless several targets are attached).
    #[getter]
    fn num_targets(&self) -> usize {
        self.inner.num_targets()
    }

    /// The number of query groups (ranking), or `None` when none are attached.
    #[getter]
    fn num_queries(&self) -> Option<usize> {
        self.inner.groups().map(|g| g.num_queries())
    }

    /// The label bounds (lower, upper) as lists, or `None` when none are attached.
    /// The labels as a float32 array (`rows * num_targets` values, row-major; empty when
    /// unlabelled).
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.labels())
    }

    /// The sample weights, or None.
    fn weights<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f32>>> {
        self.inner.weights().map(|w| PyArray1::from_slice(py, w))
    }

    /// The base margins (`rows * outputs` values, row-major), or None.
    fn base_margins<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f32>>> {
        self.inner.base_margin().map(|m| PyArray1::from_slice(py, m))
    }

    #[getter]
    fn label_bounds(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        self.inner.label_bounds().map(|b| (b.lower.clone(), b.upper.clone()))
    }

    /// The type of every feature, as XGBoost's letters: `q` numerical, `c` categorical.
    #[getter]
    fn feature_types(&self) -> Vec<String> {
        type_letters(&self.inner.feature_types())
    }
}

/// How often the waiting Python thread wakes to run signal handlers during training.
const SIGNAL_POLL: Duration = Duration::from_millis(20);

/// Python code that runs during training: a custom objective and the per-round hooks (see the
/// `callbacks` module), sharing one slot for the first Python exception they raise.
#[derive(Default)]
pub(crate) struct PythonParts {
    /// The custom objective (XGBoost's `obj`), standing in for the parameters' objective.
    objective: Option<Arc<dyn Objective>>,
    /// The object whose `before_iteration` / `after_iteration` run around each round.
    hooks: Option<Py<PyAny>>,
    error: PythonError,
}

/// How a run trains besides the data: as a rank of a distributed group (`train` is then this
/// rank's shard), with checkpoints, resuming a checkpoint of this run (`TrainOptions`'s fields).
#[derive(Default)]
struct RunParts<'a> {
    distributed: Option<Distributed<'a>>,
    checkpoints: Option<Checkpoints>,
    resume: bool,
}

/// `_Booster.train`'s `checkpoint`: folder, rounds between checkpoints, how many to keep, and the
/// attributes each carries.
type CheckpointArgs = (std::path::PathBuf, usize, usize, Vec<(String, String)>);

/// Trains on a helper thread while this (Python) thread waits with the GIL released, waking every
/// [`SIGNAL_POLL`] to run signal handlers; a pending exception (Ctrl-C) stops training after the
/// current round and is returned as the error, as is the first exception the `python` parts
/// raise.
fn train_interruptibly(
    py: Python<'_>,
    params: &Params,
    train: &Dataset,
    evals: &[(&str, &Dataset)],
    init: Option<&Booster>,
    python: PythonParts,
    run: RunParts<'_>,
) -> PyResult<Booster> {
    let stop = AtomicBool::new(false);
    let mut interrupted: Option<PyErr> = None;
    let PythonParts {
        objective,
        hooks,
        error,
    } = python;
    let error_of_python = error.clone();
    let outcome = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let stop = &stop;
        let handle = s.spawn(move || {
            let mut cb = PyHooks::new(hooks, stop, error);
            let r = Booster::train_with(
                params,
                train,
                evals,
                TrainOptions {
                    objective,
                    callback: Some(&mut cb),
                    init_model: init,
                    distributed: run.distributed,
                    checkpoints: run.checkpoints,
                    resume: run.resume,
                    ..Default::default()
                },
            );
            let _ = tx.send(r);
        });
        let mut rx = rx;
        loop {
            // The receiver is moved in and back out: it is `Send` but not `Sync`.
            let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
            rx = back;
            match got {
                Ok(r) => {
                    let _ = handle.join();
                    break Some(r);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupted.is_none() {
                        if let Err(e) = py.check_signals() {
                            interrupted = Some(e);
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // The training thread ended without a result: it panicked.
                    let _ = py.detach(|| handle.join());
                    break None;
                }
            }
        }
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    if let Some(e) = error_of_python.take() {
        return Err(e);
    }
    match outcome {
        Some(r) => r.map_err(booster_err),
        None => Err(PyRuntimeError::new_err("internal error: training panicked")),
    }
}

/// Parses a prediction output name: `value`, `margin`, `leaf`, `contribs`, `approx_contribs` or
/// `interactions`.
fn predict_output(name: &str) -> PyResult<PredictOutput> {
    Ok(match name {
        "value" => PredictOutput::Value,
        "margin" => PredictOutput::Margin,
        "leaf" => PredictOutput::LeafIndex,
        "contribs" => PredictOutput::Contributions,
        "approx_contribs" => PredictOutput::ApproxContributions,
        "interactions" => PredictOutput::Interactions,
        other => {
            return Err(SylvanError::new_err(format!(
                "unknown prediction output `{other}` (expected value, margin, leaf, contribs, approx_contribs or interactions)"
            )))
        }
    })
}

/// XGBoost's array shape of an explanation of `rows` rows with `cols` values each, for a model with
/// `groups` outputs and `features` features: contributions `(rows, features + 1)` for one output,
/// `(rows, groups, features + 1)` for several; interactions `(rows, features + 1, features + 1)` or
/// `(rows, groups, features + 1, features + 1)`. `None` for outputs that are not explanations, or
/// when `cols` does not match the model (the caller then keeps `(rows, cols)`).
pub fn explanation_shape(
    output: PredictOutput,
    rows: usize,
    cols: usize,
    groups: usize,
    features: usize,
) -> Option<Vec<usize>> {
    let c = features + 1;
    let mut shape = vec![rows];
    if groups > 1 {
        shape.push(groups);
    }
    match output {
        PredictOutput::Contributions | PredictOutput::ApproxContributions => shape.push(c),
        PredictOutput::Interactions => shape.extend([c, c]),
        _ => return None,
    }
    (shape[1..].iter().product::<usize>() == cols).then_some(shape)
}

/// Parses a model format name (`xgboost-json`, `lightgbm`, `onnx`).
fn model_format(name: &str) -> PyResult<ModelFormat> {
    name.parse::<ModelFormat>().map_err(io_err)
}

/// Parses an importance type (XGBoost's names).
fn importance_type(name: &str) -> PyResult<ImportanceType> {
    name.parse()
        .map_err(|e: sylvan_booster::Error| SylvanError::new_err(e.to_string()))
}

/// A fitted Sylvan model. Wrapped by the Python class `sylvan.Booster`.
#[pyclass(name = "_Booster", module = "sylvan._sylvan")]
pub struct PyBooster {
    inner: Booster,
}

#[pymethods]
impl PyBooster {
    /// Trains a model. `params` are `(name, value)` pairs with XGBoost's names, applied in order;
    /// `evals` are `(data set, name)` pairs (early stopping watches the last); `init_model` continues
    /// training an existing model. Ctrl-C stops training and raises `KeyboardInterrupt`.
    ///
    /// `obj`: a custom objective `obj(preds, dtrain) -> (grad, hess)` (XGBoost's), called every
    /// round with the training margins and `dtrain_object` (the Python `Dataset`). `hooks`: an
    /// object whose `before_iteration(round) -> (stop, learning_rate or None)` and
    /// `after_iteration(round, evals, state) -> stop` run around every round (`evals`: the round's
    /// `(set, metric, value)` triples; `state`: a `_RoundState`). An exception either raises stops
    /// training and is raised here. `checkpoint`: `(folder, every, keep, attributes)` writes the
    /// model so far every `every` rounds (with the `(key, value)` attributes), keeping the newest
    /// `keep`; `resume`: `init_model` is a checkpoint of this run, trained on to `num_round`
    /// rounds in all, to the uninterrupted run's model.
    #[staticmethod]
    #[pyo3(signature = (params, dtrain, evals=Vec::new(), init_model=None, obj=None, dtrain_object=None, hooks=None,
                        checkpoint=None, resume=false))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        params: Vec<(String, String)>,
        dtrain: Py<PyDataset>,
        evals: Vec<(Py<PyDataset>, String)>,
        init_model: Option<PyRef<'_, PyBooster>>,
        obj: Option<Py<PyAny>>,
        dtrain_object: Option<Py<PyAny>>,
        hooks: Option<Py<PyAny>>,
        checkpoint: Option<CheckpointArgs>,
        resume: bool,
    ) -> PyResult<PyBooster> {
        let params = build_params(&params).map_err(booster_err)?;
        let eval_refs: Vec<(&str, &Dataset)> = evals.iter().map(|(d, n)| (n.as_str(), &d.get().inner)).collect();
        let init = init_model.as_ref().map(|b| &b.inner);
        let error = PythonError::default();
        let objective = obj.map(|f| {
            let dtrain_object = dtrain_object.unwrap_or_else(|| dtrain.clone_ref(py).into_any());
            Arc::new(PyObjective::new(
                objective_for(&params),
                f,
                dtrain_object,
                error.clone(),
            )) as Arc<dyn Objective>
        });
        let python = PythonParts {
            objective,
            hooks,
            error,
        };
        let run = RunParts {
            distributed: None,
            checkpoints: checkpoint.map(|(dir, every, keep, attributes)| Checkpoints {
                attributes,
                ..Checkpoints::new(dir, every, keep)
            }),
            resume,
        };
        let booster = train_interruptibly(py, &params, &dtrain.get().inner, &eval_refs, init, python, run)?;
        Ok(PyBooster { inner: booster })
    }

    /// The model of rounds `start..end` only (`booster[start:end]`).
    fn slice_rounds(&self, start: usize, end: usize) -> PyResult<PyBooster> {
        let inner = self.inner.slice_rounds(start, end).map_err(booster_err)?;
        Ok(PyBooster { inner })
    }

    /// Records the best round and score (early stopping done by a Python callback), or clears
    /// them with `None`.
    #[pyo3(signature = (iteration, score))]
    fn set_best_iteration(&mut self, iteration: Option<usize>, score: Option<f64>) -> PyResult<()> {
        let best = iteration.map(|i| (i, score.unwrap_or(f64::NAN)));
        self.inner.set_best_iteration(best).map_err(booster_err)
    }

    /// Predicts for every row: `output` is `value`, `margin`, `leaf`, or an explanation:
    /// `contribs` (SHAP values), `approx_contribs` (Saabas values) or `interactions` (SHAP
    /// interaction values); `iteration_range` a `(start, end)` range of rounds. Returns a float32
    /// array: `(rows, columns)` for predictions; explanations in XGBoost's shapes (see
    /// [`explanation_shape`]).
    #[pyo3(signature = (data, output="value", iteration_range=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        data: Py<PyDataset>,
        output: &str,
        iteration_range: Option<(usize, usize)>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let output = predict_output(output)?;
        let options = PredictOptions {
            output,
            iteration_range,
        };
        let booster = &self.inner;
        let d = &data.get().inner;
        let p = py.detach(|| booster.predict(d, options)).map_err(booster_err)?;
        let shape = explanation_shape(
            output,
            p.num_rows,
            p.num_cols,
            booster.num_groups(),
            booster.num_features(),
        )
        .unwrap_or_else(|| vec![p.num_rows, p.num_cols]);
        let arr = PyArray1::from_vec(py, p.values);
        Ok(arr.reshape(shape)?.into_any())
    }

    /// Evaluates metrics (XGBoost names, e.g. `rmse`, `auc`) on a labelled data set.
    fn evaluate(&self, py: Python<'_>, data: Py<PyDataset>, metrics: Vec<String>) -> PyResult<Vec<(String, f64)>> {
        let metrics: Vec<Metric> = metrics
            .iter()
            .map(|m| m.parse::<Metric>())
            .collect::<Result<_, _>>()
            .map_err(booster_err)?;
        let booster = &self.inner;
        let d = &data.get().inner;
        py.detach(|| booster.evaluate(d, &metrics)).map_err(booster_err)
    }

    /// Saves the model: Sylvan JSON when the path ends in `.json`, the compact binary form otherwise
    /// (the same files `sylvan train` writes).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let booster = &self.inner;
        py.detach(|| booster.save(&path)).map_err(booster_err)
    }

    /// Loads a model saved by `save` or the CLI (JSON or binary, detected from the content).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyBooster> {
        let inner = py.detach(|| Booster::load(&path)).map_err(booster_err)?;
        Ok(PyBooster { inner })
    }

    /// The model in the compact binary form.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self.inner.to_bytes().map_err(booster_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Reads a model from the compact binary form.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<PyBooster> {
        Ok(PyBooster {
            inner: Booster::from_bytes(bytes).map_err(booster_err)?,
        })
    }

    /// The model as Sylvan JSON text.
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json_string().map_err(booster_err)
    }

    /// Reads a model from Sylvan JSON text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<PyBooster> {
        Ok(PyBooster {
            inner: Booster::from_json_str(text).map_err(booster_err)?,
        })
    }

    /// Writes the model in a foreign format (`xgboost-json`, `lightgbm` or `onnx`), atomically.
    fn export(&self, py: Python<'_>, path: PathBuf, format: &str) -> PyResult<()> {
        let format = model_format(format)?;
        let booster = &self.inner;
        py.detach(|| sylvan_io::export_model(booster, format, &path))
            .map_err(io_err)
    }

    /// The model's bytes in a foreign format (text formats as UTF-8).
    fn export_bytes<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyBytes>> {
        let format = model_format(format)?;
        let b = sylvan_io::export::export_bytes(&self.inner, format).map_err(io_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Reads a model file of another library (`xgboost-json` or `lightgbm`).
    #[staticmethod]
    fn import_model(py: Python<'_>, path: PathBuf, format: &str) -> PyResult<PyBooster> {
        let format = model_format(format)?;
        let inner = py.detach(|| sylvan_io::import_model(&path, format)).map_err(io_err)?;
        Ok(PyBooster { inner })
    }

    /// Importance of every feature: `weight`, `gain`, `total_gain`, `cover` or `total_cover`.
    fn feature_importance(&self, kind: &str) -> PyResult<Vec<f64>> {
        Ok(self.inner.feature_importance(importance_type(kind)?))
    }

    /// Number of features the model expects.
    #[getter]
    fn num_features(&self) -> usize {
        self.inner.num_features()
    }

    /// Number of boosting rounds.
    #[getter]
    fn num_rounds(&self) -> usize {
        self.inner.num_rounds()
    }

    /// Number of trees.
    #[getter]
    fn num_trees(&self) -> usize {
        self.inner.num_trees()
    }

    /// Outputs per row: classes for multiclass, targets for several label columns, levels for
    /// several quantiles or expectiles; else 1.
    #[getter]
    fn num_groups(&self) -> usize {
        self.inner.num_groups()
    }

    /// Label columns the model was trained on (1 unless several targets).
    #[getter]
    fn num_targets(&self) -> usize {
        self.inner.params().num_target.max(1)
    }

    /// The objective's name.
    #[getter]
    fn objective(&self) -> String {
        self.inner.objective_name().to_string()
    }

    /// The best round found by early stopping, if it ran.
    #[getter]
    fn best_iteration(&self) -> Option<usize> {
        self.inner.best_iteration()
    }

    /// The best score found by early stopping, if it ran.
    #[getter]
    fn best_score(&self) -> Option<f64> {
        self.inner.best_score()
    }

    /// Feature names, if the training data had them.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.inner.feature_names().map(<[String]>::to_vec)
    }

    /// The type of every feature the model was trained on, as XGBoost's letters: `q` numerical,
    /// `c` categorical.
    #[getter]
    fn feature_types(&self) -> Vec<String> {
        type_letters(&self.inner.feature_types())
    }

    /// Whether the model has categorical features.
    #[getter]
    fn has_categorical(&self) -> bool {
        self.inner.has_categorical()
    }

    /// The training parameters as JSON text.
    fn params_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.params()).map_err(|e| SylvanError::new_err(e.to_string()))
    }

    /// The string attributes saved with the model.
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.attributes() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Sets a string attribute saved with the model.
    fn set_attribute(&mut self, key: String, value: String) {
        self.inner.set_attribute(key, value);
    }

    /// The evaluation results of every training round: a list of `(round, [(set, metric, value)])`
    /// (empty for a loaded model).
    #[allow(clippy::type_complexity)]
    fn eval_history(&self) -> Vec<(usize, Vec<(String, String, f64)>)> {
        self.inner
            .eval_history()
            .iter()
            .map(|r| (r.round, r.evals.clone()))
            .collect()
    }
}

/// Encodes a string column (a list of `str` or `None`) with sylvan-io's category encoder; `fixed`
/// is a stored category list (unseen strings become missing). Returns `(codes, categories)`.
#[pyfunction]
#[pyo3(signature = (values, fixed=None))]
fn encode_categories<'py>(
    py: Python<'py>,
    values: Vec<Option<String>>,
    fixed: Option<Vec<String>>,
) -> (Bound<'py, PyArray1<f32>>, Vec<String>) {
    let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
    let (codes, categories) = encode_strings(&refs, fixed.as_deref());
    (PyArray1::from_vec(py, codes), categories)
}

/// Validates parameters (`(name, value)` pairs) and returns them as JSON text with Sylvan's names.
#[pyfunction]
fn check_params(params: Vec<(String, String)>) -> PyResult<String> {
    let p = build_params(&params).map_err(booster_err)?;
    serde_json::to_string(&p).map_err(|e| SylvanError::new_err(e.to_string()))
}

/// The newest checkpoint (`checkpoint-<rounds>.sylvan`) in the folder `dir`, or `None`.
#[pyfunction]
fn latest_checkpoint(dir: std::path::PathBuf) -> PyResult<Option<std::path::PathBuf>> {
    sylvan_booster::latest_checkpoint(&dir).map_err(booster_err)
}

/// The extension module `sylvan._sylvan`.
#[pymodule(name = "_sylvan")]
fn sylvan_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SylvanError", m.py().get_type::<SylvanError>())?;
    m.add("CATEGORIES_ATTRIBUTE", CATEGORIES_ATTRIBUTE)?;
    m.add_class::<PyDataset>()?;
    m.add_class::<PyBooster>()?;
    m.add_class::<PyRoundState>()?;
    m.add_class::<chunked::PyChunkedBinning>()?;
    m.add_class::<distributed::PyTcpListener>()?;
    m.add_class::<distributed::PyTcpCollective>()?;
    m.add_function(wrap_pyfunction!(encode_categories, m)?)?;
    m.add_function(wrap_pyfunction!(check_params, m)?)?;
    m.add_function(wrap_pyfunction!(latest_checkpoint, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_applied_in_order_and_validated() {
        let p = build_params(&[
            ("learning_rate".into(), "0.5".into()),
            ("eta".into(), "0.1".into()),
            ("max_depth".into(), "3".into()),
        ])
        .unwrap();
        assert_eq!(p.eta, 0.1);
        assert_eq!(p.max_depth, 3);
        let e = build_params(&[("eta".into(), "2".into())]).unwrap_err().to_string();
        assert!(e.contains("eta"), "{e}");
        assert!(build_params(&[("no_such".into(), "1".into())]).is_err());
    }

    #[test]
    fn explanations_take_xgboost_shapes() {
        use PredictOutput::*;
        assert_eq!(explanation_shape(Contributions, 5, 4, 1, 3), Some(vec![5, 4]));
        assert_eq!(explanation_shape(ApproxContributions, 5, 12, 3, 3), Some(vec![5, 3, 4]));
        assert_eq!(explanation_shape(Interactions, 5, 16, 1, 3), Some(vec![5, 4, 4]));
        assert_eq!(explanation_shape(Interactions, 5, 48, 3, 3), Some(vec![5, 3, 4, 4]));
        assert_eq!(explanation_shape(Value, 5, 3, 3, 3), None);
        assert_eq!(explanation_shape(Contributions, 5, 7, 1, 3), None);
        for name in ["value", "margin", "leaf", "contribs", "approx_contribs", "interactions"] {
            assert!(predict_output(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn sparse_columns_are_read_and_checked() {
        // 3 x 2: column 0 has rows 0 and 2, column 1 has row 1 and a stored NaN at row 2.
        let cols = sparse_columns(3, &[0, 2, 4], &[0, 2, 1, 2], &[1.0, 2.0, 3.0, f32::NAN]).unwrap();
        assert_eq!(cols, vec![(vec![0, 2], vec![1.0, 2.0]), (vec![1], vec![3.0])]);
        let d = Dataset::from_sparse_columns(3, cols).unwrap();
        assert_eq!(d.num_features(), 2);
        for (indptr, indices, why) in [
            (&[0i64, 2, 1][..], &[0i64, 1][..], "decreases"),
            (&[0, 2, 3][..], &[0, 1, 5][..], "outside"),
            (&[0, 2, 3][..], &[1, 0, 1][..], "sorted"),
            (&[0, 9, 3][..], &[0, 1, 2][..], "indptr"),
        ] {
            let e = sparse_columns(3, indptr, indices, &vec![1.0; indices.len()]).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn c_and_fortran_matrices_agree() {
        // 3 x 2: rows (1, 4), (2, 5), (3, 6).
        let c = dataset_from_matrix(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], 3, 2, false).unwrap();
        let f = dataset_from_matrix(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, true).unwrap();
        assert_eq!(c, f);
        assert!(dataset_from_matrix(&[1.0], 3, 2, false).is_err());
        assert!(dataset_from_matrix(&[], 0, 2, false).is_err());
        assert!(dataset_from_matrix(&[f32::INFINITY, 1.0], 2, 1, false).is_err());
    }

    #[test]
    fn strings_encode_like_sylvan_io() {
        let (codes, cats) = encode_strings(&[Some("red"), Some("blue"), Some(""), None, Some("red")], None);
        assert_eq!(cats, vec!["blue".to_string(), "red".to_string()]);
        assert_eq!(codes[0], 1.0);
        assert_eq!(codes[1], 0.0);
        assert!(codes[2].is_nan() && codes[3].is_nan());
        let (codes, cats2) = encode_strings(&[Some("blue"), Some("green")], Some(&cats));
        assert_eq!(codes[0], 0.0);
        assert!(codes[1].is_nan());
        assert_eq!(cats2, cats);
    }

    #[test]
    fn several_label_columns_are_read_row_major_and_checked() {
        let d = dataset_from_matrix(&[0.0, 1.0, 2.0], 3, 1, false).unwrap();
        let labels = vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        let two = finish_dataset(
            d.clone(),
            Extras {
                label: Some(labels.clone()),
                num_targets: 2,
                ..Extras::default()
            },
        )
        .unwrap();
        assert_eq!(two.num_targets(), 2);
        assert_eq!(two.labels(), &labels[..]);
        let one = finish_dataset(
            d.clone(),
            Extras {
                label: Some(vec![1.0, 2.0, 3.0]),
                num_targets: 1,
                ..Extras::default()
            },
        )
        .unwrap();
        assert_eq!(one.num_targets(), 1);
        // A NaN in the second label column: the error names the row and the target.
        let mut bad = labels;
        bad[3] = f32::NAN;
        let e = finish_dataset(
            d.clone(),
            Extras {
                label: Some(bad),
                num_targets: 2,
                ..Extras::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("row 1") && e.contains("target 1"), "{e}");
        let e = finish_dataset(
            d,
            Extras {
                label: Some(vec![1.0; 5]),
                num_targets: 2,
                ..Extras::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("labels"), "{e}");
    }

    #[test]
    fn categorical_features_are_declared_last_and_checked() {
        // Column 0 holds codes, column 1 does not.
        let d = dataset_from_matrix(&[0.0, 0.5, 2.0, 1.5, f32::NAN, 2.5], 3, 2, false).unwrap();
        let names = Some(vec!["city".to_string(), "x".to_string()]);
        let typed = finish_dataset(
            d.clone(),
            Extras {
                feature_names: names.clone(),
                categorical: vec![0],
                ..Extras::default()
            },
        )
        .unwrap();
        assert_eq!(type_letters(&typed.feature_types()), vec!["c", "q"]);
        let plain = finish_dataset(d.clone(), Extras::default()).unwrap();
        assert_eq!(type_letters(&plain.feature_types()), vec!["q", "q"]);
        let e = finish_dataset(
            d.clone(),
            Extras {
                feature_names: names,
                categorical: vec![1],
                ..Extras::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`x`") && e.contains("row 0"), "{e}");
        let e = finish_dataset(
            d,
            Extras {
                categorical: vec![2],
                ..Extras::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("index 2"), "{e}");
    }
}
