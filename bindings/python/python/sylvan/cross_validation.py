"""Cross-validation, as ``xgboost.cv``: :func:`cv`.

The folds train at the same time, one thread each (training releases the GIL), sharing the
machine's threads (results do not depend on the number of threads). They advance round by round
together: after each round the folds' metrics are averaged, and the callbacks (early stopping,
printing, learning-rate schedules) see the averages, as in XGBoost.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._sylvan import SylvanError
from .callback import EarlyStopping, EvaluationMonitor, TrainingCallback
from .core import Dataset, train

__all__ = ["cv"]


def _fold_rows(
    dtrain: Dataset, nfold: int, stratified: bool, folds: Any, seed: int, shuffle: bool
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``(training rows, test rows)`` of every fold."""
    n = dtrain.num_rows
    if folds is not None:
        if hasattr(folds, "split"):  # a scikit-learn splitter (KFold, GroupKFold ...)
            y = dtrain.get_label()
            pairs = folds.split(np.zeros((n, 1)), y if y.size else None)
        else:
            pairs = folds
        out = [(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)) for a, b in pairs]
        if not out:
            raise ValueError("folds gave no fold")
        return out
    if int(nfold) < 2:
        raise ValueError(f"nfold must be at least 2, got {nfold}")
    if stratified:
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=nfold, shuffle=shuffle, random_state=seed if shuffle else None)
        y = dtrain.get_label()
        return [(a, b) for a, b in splitter.split(np.zeros((n, 1)), y)]
    idx = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
    parts = np.array_split(idx, nfold)
    return [(np.concatenate([parts[j] for j in range(nfold) if j != k]), parts[k]) for k in range(nfold)]


class _CVModel:
    """What callbacks see as the model in :func:`cv` (XGBoost passes its folds): the learning
    rate, attributes and the best round are shared by every fold."""

    _is_cv = True

    def __init__(self, run: "_LockstepRun") -> None:
        self._run = run

    def num_boosted_rounds(self) -> int:
        return self._run.rounds

    def set_param(self, params: Any, value: Any = None) -> None:
        items = params.items() if isinstance(params, Mapping) else [(params, value)]
        for key, v in items:
            if key not in ("learning_rate", "eta"):
                raise SylvanError(f"set_param: only learning_rate (eta) can change while cv runs, not `{key}`")
            self._run.learning_rate = float(v)

    def set_attr(self, **kwargs: Any) -> None:
        for key, v in kwargs.items():
            if v is None:
                self._run.attributes.pop(key, None)
            else:
                self._run.attributes[key] = str(v)

    def attr(self, key: str) -> Optional[str]:
        return self._run.attributes.get(key)

    @property
    def best_iteration(self) -> Optional[int]:
        return None if self._run.best is None else self._run.best[0]

    def _set_best(self, iteration: int, score: Optional[float]) -> None:
        self._run.best = (int(iteration), score)


class _LockstepRun:
    """The folds of one cv run, advancing round by round together."""

    def __init__(self, nfold: int, callbacks: Sequence[TrainingCallback]) -> None:
        self.nfold = nfold
        self.callbacks = list(callbacks)
        self.history: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
        self.results: Dict[str, List[float]] = {}
        self.fold_evals: List[Optional[List[Tuple[str, str, float]]]] = [None] * nfold
        self.stop = False
        self.learning_rate: Optional[float] = None
        self.attributes: Dict[str, str] = {}
        self.best: Optional[Tuple[int, Optional[float]]] = None
        self.rounds = 0
        self.error: Optional[BaseException] = None
        self.model = _CVModel(self)
        self.barrier = threading.Barrier(nfold, action=self._aggregate)
        self._epoch = 0

    def _aggregate(self) -> None:
        """Runs once per round, when every fold has reported: averages the folds' metrics and runs
        the callbacks (then the next round's ``before_iteration``)."""
        try:
            epoch = self._epoch
            keys: List[Tuple[str, str]] = []
            values: Dict[Tuple[str, str], List[float]] = {}
            for evals in self.fold_evals:
                for name, metric, v in evals or []:
                    if (name, metric) not in values:
                        keys.append((name, metric))
                        values[(name, metric)] = []
                    values[(name, metric)].append(v)
            for name, metric in keys:
                vs = np.asarray(values[(name, metric)], dtype=np.float64)
                mean, std = float(vs.mean()), float(vs.std())
                self.history.setdefault(name, {}).setdefault(metric, []).append((mean, std))
                self.results.setdefault(f"{name}-{metric}-mean", []).append(mean)
                self.results.setdefault(f"{name}-{metric}-std", []).append(std)
            self.rounds = epoch + 1
            stop = any(cb.after_iteration(self.model, epoch, self.history) for cb in self.callbacks)
            if not stop:
                stop = any(cb.before_iteration(self.model, epoch + 1, self.history) for cb in self.callbacks)
            self.stop = bool(stop)
            self._epoch += 1
        except BaseException as e:  # noqa: BLE001 - handed to cv's caller
            self.error = self.error or e
            self.stop = True


def cv(
    params: Mapping[str, Any],
    dtrain: Dataset,
    num_boost_round: int = 10,
    nfold: int = 3,
    stratified: bool = False,
    folds: Any = None,
    metrics: Sequence[str] = (),
    obj: Optional[Callable[..., Any]] = None,
    maximize: Optional[bool] = None,
    early_stopping_rounds: Optional[int] = None,
    fpreproc: Optional[Callable[..., Any]] = None,
    as_pandas: bool = True,
    verbose_eval: Any = None,
    show_stdv: bool = True,
    seed: int = 0,
    callbacks: Optional[Sequence[TrainingCallback]] = None,
    shuffle: bool = True,
    custom_metric: Optional[Callable[..., Any]] = None,
) -> Any:
    """Cross-validation, as ``xgboost.cv``: trains one model per fold and returns the metrics of
    every round averaged over the folds.

    Parameters
    ----------
    params : dict
        Training parameters (XGBoost's names), as for :func:`sylvan.train`.
    dtrain : Dataset
        The data to split into folds.
    num_boost_round : int, default 10
        Boosting rounds.
    nfold : int, default 3
        Number of folds (when ``folds`` is not given).
    stratified : bool, default False
        Folds that keep the labels' class shares (scikit-learn's ``StratifiedKFold``).
    folds : splitter or list, optional
        A scikit-learn splitter (``KFold(...)``, ``GroupKFold`` ...; its ``split`` gets the labels)
        or a list of ``(train rows, test rows)`` pairs; wins over ``nfold`` and ``stratified``.
    metrics : list of str, default ()
        Metrics to evaluate (default: ``params``' ``eval_metric``, else the objective's).
    obj : callable, optional
        A custom objective, as for :func:`sylvan.train`.
    maximize : bool, optional
        Whether early stopping maximises the watched metric (default: by its name).
    early_stopping_rounds : int, optional
        Stop when the test folds' mean of the last metric has not improved for this many rounds;
        the result then ends at the best round.
    fpreproc : callable, optional
        ``fpreproc(dtrain, dtest, params) -> (dtrain, dtest, params)``, run on every fold first.
    as_pandas : bool, default True
        Return a pandas DataFrame (a dict of lists when False or without pandas).
    verbose_eval : bool or int, optional
        Print the averages every round (True) or every ``N`` rounds.
    show_stdv : bool, default True
        Print the standard deviations too.
    seed : int, default 0
        Seed of the folds' shuffle.
    callbacks : list of TrainingCallback, optional
        Callbacks (:mod:`sylvan.callback`); ``evals_log`` holds ``(mean, std)`` pairs.
    shuffle : bool, default True
        Shuffle the rows before making the folds.
    custom_metric : callable, optional
        A custom metric, as for :func:`sylvan.train`, evaluated on every fold.

    Returns a table with the columns ``train-{metric}-mean``, ``train-{metric}-std``,
    ``test-{metric}-mean``, ``test-{metric}-std`` and one row per round. The folds train at the
    same time, sharing the threads (``nthread``, default all cores); every fold's model is the
    one :func:`sylvan.train` gives on its rows, whatever the number of threads.
    """
    if not isinstance(dtrain, Dataset):
        raise TypeError("dtrain must be a sylvan.Dataset")
    params = dict(params)
    if metrics:
        params["eval_metric"] = list(metrics) if not isinstance(metrics, str) else [metrics]
    fold_rows = _fold_rows(dtrain, nfold, stratified, folds, seed, shuffle)
    k = len(fold_rows)
    callbacks = list(callbacks) if callbacks else []
    for cb in callbacks:
        if not isinstance(cb, TrainingCallback):
            raise TypeError(f"callbacks must be sylvan.callback.TrainingCallback instances, got {type(cb).__name__}")
    if verbose_eval:
        callbacks.append(EvaluationMonitor(period=1 if verbose_eval is True else int(verbose_eval), show_stdv=show_stdv))
    if early_stopping_rounds is not None:
        callbacks.append(EarlyStopping(rounds=early_stopping_rounds, maximize=maximize))
    threads = int(params.get("nthread", params.get("n_jobs", 0)) or 0) or (os.cpu_count() or 1)
    per_fold = max(1, threads // k)
    run = _LockstepRun(k, callbacks)
    jobs = []
    for f, (train_rows, test_rows) in enumerate(fold_rows):
        dtr, dte = dtrain.slice(train_rows), dtrain.slice(test_rows)
        fold_params = dict(params)
        if fpreproc is not None:
            dtr, dte, fold_params = fpreproc(dtr, dte, fold_params)
        fold_params["nthread"] = per_fold
        jobs.append((fold_params, dtr, [(dtr, "train"), (dte, "test")]))
    for cb in callbacks:
        cb.before_training(run.model)
    if any(cb.before_iteration(run.model, 0, run.history) for cb in callbacks):
        run.stop = True
    errors: List[Optional[BaseException]] = [None] * k

    def fit(f: int) -> None:
        fold_params, dtr, sets = jobs[f]
        try:
            train(fold_params, dtr, num_boost_round, evals=sets, obj=obj, custom_metric=custom_metric,
                  verbose_eval=False, callbacks=[_Relay(run, f)])
        except BaseException as e:  # noqa: BLE001 - raised below
            errors[f] = e
            run.barrier.abort()

    if not run.stop:
        workers = [threading.Thread(target=fit, args=(f,), name=f"sylvan-cv-fold-{f}") for f in range(k)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    if run.error is not None:
        raise run.error
    first = next((e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)), None)
    if first is not None:
        raise first
    for cb in callbacks:
        cb.after_training(run.model)
    results = run.results
    if run.best is not None:
        results = {key: v[: run.best[0] + 1] for key, v in results.items()}
    if as_pandas:
        try:
            import pandas as pd
        except ImportError:
            return results
        return pd.DataFrame.from_dict(results)
    return results


class _Relay(TrainingCallback):
    """One fold's link to the lockstep run, as a callback of its :func:`sylvan.train`: reports
    the fold's metrics of each round, waits for the other folds, and follows the shared decision
    (stop, learning rate)."""

    def __init__(self, run: _LockstepRun, fold: int) -> None:
        self.run = run
        self.fold = fold

    def before_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if self.run.learning_rate is not None:
            model.set_param("learning_rate", self.run.learning_rate)
        return self.run.stop

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        # The fold's values of this round, built-in metrics then custom ones, set by set.
        self.run.fold_evals[self.fold] = [
            (name, metric, values[-1]) for name, metrics in evals_log.items() for metric, values in metrics.items()
        ]
        self.run.barrier.wait()
        return self.run.stop
