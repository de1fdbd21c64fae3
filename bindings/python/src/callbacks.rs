//! Python code that runs while training runs: a custom objective (`obj=f`, [`PyObjective`]) and
//! the per-round hooks behind `sylvan.train`'s callbacks, custom metrics and live printing
//! ([`PyHooks`], with [`PyRoundState`] giving the hooks the predictions and the model so far).
//!
//! Training runs on a helper thread with the GIL released (see `train_interruptibly`); these take
//! the GIL only around each call into Python. A Python exception stops training after the current
//! round and is raised from `train` ([`PythonError`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sylvan_booster::{
    GradPair, LeafRows, Metric, Objective, RoundPlan, RoundReport, Targets, TrainCallback, TrainingState,
};

use crate::PyBooster;

/// The first Python exception raised by Python code during training; training stops after the
/// round it was raised in, and `train` raises it.
#[derive(Clone, Default)]
pub(crate) struct PythonError(Arc<Mutex<Option<PyErr>>>);

impl PythonError {
    /// Keeps `e` unless an earlier error is kept.
    fn keep(&self, e: PyErr) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// Whether an error is kept.
    fn is_set(&self) -> bool {
        self.0.lock().map(|s| s.is_some()).unwrap_or(true)
    }

    /// The kept error, if any.
    pub(crate) fn take(&self) -> Option<PyErr> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// An objective whose gradients come from a Python function `f(preds, dtrain) -> (grad, hess)`
/// (XGBoost's `obj`): `preds` are the training margins (float64, `(rows,)`, or `(rows, outputs)`
/// with several outputs), `dtrain` the Python `Dataset`. Everything else -- the name saved with the
/// model, outputs, base margin, the transform of predictions, the default metric -- is the
/// objective the parameters name, as in XGBoost. The returned arrays hold one value per row and
/// output (any shape, row-major), used as they are (weights are the function's business).
pub(crate) struct PyObjective {
    builtin: Arc<dyn Objective>,
    func: Py<PyAny>,
    dtrain: Py<PyAny>,
    error: PythonError,
}

impl PyObjective {
    /// A custom objective calling `func` with `dtrain`, standing in for `builtin`.
    pub(crate) fn new(builtin: Arc<dyn Objective>, func: Py<PyAny>, dtrain: Py<PyAny>, error: PythonError) -> Self {
        PyObjective {
            builtin,
            func,
            dtrain,
            error,
        }
    }

    /// Calls the Python function and reads its gradients and hessians into `out`.
    fn call(&self, py: Python<'_>, margins: &[f64], out: &mut [GradPair]) -> PyResult<()> {
        let k = self.builtin.num_groups().max(1);
        let rows = margins.len() / k;
        let preds = PyArray1::from_slice(py, margins);
        let preds = if k > 1 {
            preds.reshape([rows, k])?.into_any()
        } else {
            preds.into_any()
        };
        let result = self.func.bind(py).call1((preds, self.dtrain.bind(py)))?;
        let pair = result
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| PyValueError::new_err("obj must return a pair (grad, hess) of arrays"))?;
        let np = py.import("numpy")?;
        let flat = |x: Bound<'_, PyAny>, what: &str| -> PyResult<Vec<f32>> {
            let a = np.call_method1("ravel", (np.call_method1("asarray", (x, "float32"))?,))?;
            let a: PyReadonlyArray1<'_, f32> = a
                .extract()
                .map_err(|_| PyValueError::new_err(format!("obj's {what} must be an array of numbers")))?;
            if a.len() != margins.len() {
                return Err(PyValueError::new_err(format!(
                    "obj returned {} {what} values; it must return one per row and output ({rows} rows x {k} outputs = {})",
                    a.len(),
                    margins.len()
                )));
            }
            Ok(a.as_array().iter().copied().collect())
        };
        let grad = flat(pair.get_item(0)?, "grad")?;
        let hess = flat(pair.get_item(1)?, "hess")?;
        for (i, (g, h)) in grad.into_iter().zip(hess).enumerate() {
            if !g.is_finite() || !h.is_finite() {
                return Err(PyValueError::new_err(format!(
                    "obj returned a non-finite gradient or hessian at row {}, output {} (grad {g}, hess {h})",
                    i / k,
                    i % k
                )));
            }
            out[i] = GradPair::new(g, h);
        }
        Ok(())
    }
}

impl std::fmt::Debug for PyObjective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyObjective({})", self.builtin.name())
    }
}

impl Objective for PyObjective {
    fn name(&self) -> &str {
        self.builtin.name()
    }

    fn num_groups(&self) -> usize {
        self.builtin.num_groups()
    }

    fn validate_labels(&self, labels: &[f32]) -> sylvan_booster::Result<()> {
        self.builtin.validate_labels(labels)
    }

    /// The Python function's pairs; after a Python error, zeros (nothing is learned) while
    /// training stops.
    fn gradients(&self, _labels: &[f32], _weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        if !self.error.is_set() {
            if let Err(e) = Python::attach(|py| self.call(py, margins, out)) {
                self.error.keep(e);
            }
        }
        if self.error.is_set() {
            out.fill(GradPair::new(0.0, 0.0));
        }
    }

    fn check_targets(&self, targets: &Targets<'_>) -> sylvan_booster::Result<()> {
        self.builtin.check_targets(targets)
    }

    fn initial_margin(&self, labels: &[f32], weights: Option<&[f32]>) -> Vec<f64> {
        self.builtin.initial_margin(labels, weights)
    }

    fn score_to_margin(&self, score: f64) -> sylvan_booster::Result<f64> {
        self.builtin.score_to_margin(score)
    }

    fn margin_to_score(&self, row: &mut [f32]) {
        self.builtin.margin_to_score(row)
    }

    fn margins_to_scores(&self, values: &mut [f32], num_groups: usize) {
        self.builtin.margins_to_scores(values, num_groups)
    }

    fn prediction_columns(&self) -> usize {
        self.builtin.prediction_columns()
    }

    fn predict_row(&self, margins: &[f32], out: &mut [f32]) {
        self.builtin.predict_row(margins, out)
    }

    fn default_metric(&self) -> Metric {
        self.builtin.default_metric()
    }

    /// Leaves are one Newton step from the custom pairs (a built-in line search would fit the
    /// built-in loss, not the custom one).
    fn line_search(&self, _leaf: &LeafRows<'_>) -> Option<f64> {
        None
    }
}

thread_local! {
    /// The training state of the round whose hook runs on this thread (erased lifetime; null
    /// outside a hook). Set by [`StateScope`] for exactly the duration of the call into Python.
    static ROUND_STATE: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Publishes a training state to [`PyRoundState`] on this thread until dropped.
struct StateScope;

impl StateScope {
    fn enter(state: &TrainingState<'_>) -> StateScope {
        ROUND_STATE.with(|c| c.set(state as *const TrainingState<'_> as *const ()));
        StateScope
    }
}

impl Drop for StateScope {
    fn drop(&mut self) {
        ROUND_STATE.with(|c| c.set(std::ptr::null()));
    }
}

/// Runs `f` on the training state published on this thread.
fn with_round_state<R>(f: impl FnOnce(&TrainingState<'_>) -> PyResult<R>) -> PyResult<R> {
    let p = ROUND_STATE.with(Cell::get);
    if p.is_null() {
        return Err(PyRuntimeError::new_err(
            "the state of a training run can be read only inside its callbacks, while the round's callback runs",
        ));
    }
    // SAFETY: the pointer is non-null only while `StateScope` lives, which `PyHooks::after_round_in`
    // holds for the whole call into Python, on this thread, while it borrows the state.
    f(unsafe { &*(p as *const TrainingState<'_>) })
}

/// What the round's hook may read of the run: each evaluation set's predictions and a copy of the
/// model so far. Valid only during the call it is passed to.
#[pyclass(name = "_RoundState", module = "sylvan._sylvan", frozen)]
pub(crate) struct PyRoundState;

#[pymethods]
impl PyRoundState {
    /// Evaluation set `set`'s predictions (float64; `(rows,)`, or `(rows, outputs)` with several
    /// outputs): margins when `margin`, else what the metrics read (probabilities, values).
    fn predictions<'py>(&self, py: Python<'py>, set: usize, margin: bool) -> PyResult<Bound<'py, PyAny>> {
        with_round_state(|s| {
            let k = s.num_groups().max(1);
            let values: Vec<f64> = if margin {
                s.margins(set).map(<[f64]>::to_vec)
            } else {
                s.scores(set).map(|v| v.into_iter().map(f64::from).collect())
            }
            .ok_or_else(|| PyValueError::new_err(format!("no evaluation set {set}")))?;
            let rows = values.len() / k;
            let a = PyArray1::from_vec(py, values);
            Ok(if k > 1 {
                a.reshape([rows, k])?.into_any()
            } else {
                a.into_any()
            })
        })
    }

    /// A copy of the model so far (copies every tree).
    fn model(&self) -> PyResult<PyBooster> {
        with_round_state(|s| Ok(PyBooster { inner: s.model() }))
    }

    /// Rounds in the model so far.
    #[getter]
    fn num_rounds(&self) -> PyResult<usize> {
        with_round_state(|s| Ok(s.num_rounds()))
    }
}

/// The per-round hooks of a Python training run: `hooks.before_iteration(round)` returns
/// `(stop, learning_rate or None)`; `hooks.after_iteration(round, evals, state)` receives the
/// round's built-in metrics as `(set, metric, value)` triples and a [`PyRoundState`], and returns
/// whether to stop. Either may be absent (no hooks: Ctrl-C and errors only).
pub(crate) struct PyHooks<'a> {
    hooks: Option<Py<PyAny>>,
    /// Set when Python's signal handlers raised (Ctrl-C): stop after this round.
    pub(crate) interrupted: &'a AtomicBool,
    error: PythonError,
}

impl<'a> PyHooks<'a> {
    /// Hooks calling `hooks` (if any), stopping on `interrupted` or a kept Python error.
    pub(crate) fn new(hooks: Option<Py<PyAny>>, interrupted: &'a AtomicBool, error: PythonError) -> Self {
        PyHooks {
            hooks,
            interrupted,
            error,
        }
    }

    fn should_stop(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) || self.error.is_set()
    }
}

impl TrainCallback for PyHooks<'_> {
    fn after_round(&mut self, _report: &RoundReport) -> bool {
        !self.should_stop()
    }

    fn after_round_in(&mut self, report: &RoundReport, state: &TrainingState<'_>) -> bool {
        let Some(hooks) = &self.hooks else {
            return !self.should_stop();
        };
        if self.should_stop() {
            return false;
        }
        let stop = Python::attach(|py| -> PyResult<bool> {
            let _scope = StateScope::enter(state);
            let live = Py::new(py, PyRoundState)?;
            hooks
                .bind(py)
                .call_method1("after_iteration", (report.round, report.evals.clone(), live))?
                .is_truthy()
        });
        match stop {
            Ok(stop) => !stop && !self.should_stop(),
            Err(e) => {
                self.error.keep(e);
                false
            }
        }
    }

    fn before_round(&mut self, round: usize) -> RoundPlan {
        if self.should_stop() {
            return RoundPlan {
                stop: true,
                learning_rate: None,
            };
        }
        let Some(hooks) = &self.hooks else {
            return RoundPlan::default();
        };
        let plan = Python::attach(|py| -> PyResult<(bool, Option<f64>)> {
            hooks.bind(py).call_method1("before_iteration", (round,))?.extract()
        });
        match plan {
            Ok((stop, learning_rate)) => RoundPlan { stop, learning_rate },
            Err(e) => {
                self.error.keep(e);
                RoundPlan {
                    stop: true,
                    learning_rate: None,
                }
            }
        }
    }
}
