"""Training callbacks with XGBoost's interface (``xgboost.callback``).

A callback is a :class:`TrainingCallback` passed to :func:`sylvan.train` (``callbacks=[...]``), to
:func:`sylvan.cv`, or to the scikit-learn estimators (``callbacks=[...]``). Around every boosting
round, training calls ``before_iteration(model, epoch, evals_log)`` and
``after_iteration(model, epoch, evals_log)``; either returning True stops training.
``before_training(model)`` and ``after_training(model)`` run once and return the model.

``evals_log`` is ``{set name: {metric name: [value after each round]}}`` (custom metrics after the
built-in ones). ``model`` is, during training, the model being trained: ``num_boosted_rounds()``,
``predict(...)`` and every other read of :class:`sylvan.Booster` work on a copy of it made when asked
(in ``after_iteration``), ``set_param("learning_rate", v)`` changes the learning rate of the rounds
that follow, ``set_attr``/``attr`` keep string attributes that the trained model gets. In
``after_training`` it is the trained :class:`sylvan.Booster`.

Built in: :class:`EarlyStopping`, :class:`LearningRateScheduler`, :class:`EvaluationMonitor`
(what ``verbose_eval`` prints) and :class:`TrainingCheckPoint`.
"""

from __future__ import annotations

import os
from abc import ABC
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

__all__ = [
    "TrainingCallback",
    "EarlyStopping",
    "LearningRateScheduler",
    "EvaluationMonitor",
    "TrainingCheckPoint",
]

EvalsLog = Dict[str, Dict[str, List[Any]]]

# Metric names where a higher value is better, by prefix (XGBoost's rule, `mape` excepted; and
# Sylvan's `accuracy`), for callbacks that are not told.
_MAXIMIZE = ("auc", "aucpr", "pre", "map", "ndcg", "accuracy")


def _higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better, by its name as XGBoost decides it (a
    custom metric's name too: ``precision`` is maximised, ``my_loss`` minimised)."""
    return metric != "mape" and metric.startswith(_MAXIMIZE)


class TrainingCallback(ABC):
    """The interface of a training callback (XGBoost's ``TrainingCallback``): override what you
    need. ``before_iteration`` / ``after_iteration`` return True to stop training."""

    def before_training(self, model: Any) -> Any:
        """Runs before the first round; returns the model."""
        return model

    def after_training(self, model: Any) -> Any:
        """Runs after the last round with the trained model; returns the model (possibly another)."""
        return model

    def before_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        """Runs before round ``epoch``; True stops training before it."""
        return False

    def after_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        """Runs after round ``epoch`` with the metrics so far; True stops training."""
        return False


class EarlyStopping(TrainingCallback):
    """Stops training when a metric has not improved for ``rounds`` rounds (XGBoost's
    ``EarlyStopping``).

    Parameters
    ----------
    rounds : int
        Rounds without improvement before stopping.
    metric_name : str, optional
        The metric watched (default: the last metric of the set watched, so a custom metric when
        there is one).
    data_name : str, optional
        The evaluation set watched (default: the last one).
    maximize : bool, optional
        Whether larger is better (default: by the metric's name: ``auc``, ``aucpr``, ``map``,
        ``ndcg``, ``pre`` and their ``@k`` forms are maximised, everything else minimised).
    save_best : bool, default False
        Return a model of the rounds up to the best one only (otherwise every round is kept and
        prediction uses the rounds up to the best one by default).
    min_delta : float, default 0.0
        The least change that counts as an improvement.

    The trained model's ``best_iteration`` and ``best_score`` are set (``best_iteration`` counts
    the rounds of a continued model too; ``epoch`` as callbacks see it starts at 0 in every run,
    as in XGBoost).
    """

    def __init__(
        self,
        rounds: int,
        metric_name: Optional[str] = None,
        data_name: Optional[str] = None,
        maximize: Optional[bool] = None,
        save_best: Optional[bool] = False,
        min_delta: float = 0.0,
    ) -> None:
        if int(rounds) < 1:
            raise ValueError(f"EarlyStopping: rounds must be at least 1, got {rounds}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be non-negative, got {min_delta}")
        self.rounds = int(rounds)
        self.metric_name = metric_name
        self.data = data_name
        self.maximize = maximize
        self.save_best = bool(save_best)
        self._min_delta = float(min_delta)
        self.best_iteration: Optional[int] = None
        self.best_score: Optional[float] = None
        self.stopping_history: EvalsLog = {}
        self._stagnant = 0
        self._starting_round = 0

    def before_training(self, model: Any) -> Any:
        if self.save_best and getattr(model, "_is_cv", False):
            raise ValueError("EarlyStopping: save_best does not apply to cv, which returns no model")
        self.best_iteration = None
        self.best_score = None
        self._stagnant = 0
        self.stopping_history = {}
        rounds = getattr(model, "num_boosted_rounds", None)
        self._starting_round = int(rounds()) if callable(rounds) else 0
        return model

    def _watched(self, evals_log: EvalsLog) -> Tuple[str, str]:
        if not evals_log:
            raise ValueError("EarlyStopping needs at least one evaluation set (evals / eval_set)")
        data = self.data if self.data is not None else list(evals_log)[-1]
        if data not in evals_log:
            raise ValueError(f"EarlyStopping: no evaluation set named `{data}` (have {list(evals_log)})")
        metrics = evals_log[data]
        metric = self.metric_name if self.metric_name is not None else list(metrics)[-1]
        if metric not in metrics:
            raise ValueError(f"EarlyStopping: set `{data}` has no metric `{metric}` (have {list(metrics)})")
        return data, metric

    def after_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        data, metric = self._watched(evals_log)
        score = evals_log[data][metric][-1]
        if isinstance(score, tuple):  # cv: (mean, std)
            score = score[0]
        score = float(score)
        maximize = self.maximize if self.maximize is not None else _higher_is_better(metric)
        self.stopping_history.setdefault(data, {}).setdefault(metric, []).append(score)
        if self.best_score is None:
            improved = True
        elif maximize:
            improved = score - self._min_delta > self.best_score
        else:
            improved = self.best_score - self._min_delta > score
        if improved:
            self.best_score, self.best_iteration, self._stagnant = score, epoch + self._starting_round, 0
        else:
            self._stagnant += 1
        _set_best(model, self.best_iteration, self.best_score)
        return self._stagnant >= self.rounds

    def after_training(self, model: Any) -> Any:
        if self.best_iteration is None or not hasattr(model, "_set_best"):  # nothing, or cv's folds
            return model
        if self.save_best:
            model = model[: self.best_iteration + 1]
        _set_best(model, self.best_iteration, self.best_score)
        return model


def _set_best(model: Any, iteration: Optional[int], score: Optional[float]) -> None:
    """Records the best round on the model (the live model of a run, or a trained Booster)."""
    setter = getattr(model, "_set_best", None)
    if setter is not None and iteration is not None:
        setter(iteration, score)


class LearningRateScheduler(TrainingCallback):
    """Changes the learning rate as training goes (XGBoost's ``LearningRateScheduler``):
    ``learning_rates`` is a function of the round or a sequence with one rate per round. As in
    XGBoost, after round ``epoch`` the rate becomes ``learning_rates(epoch)`` for the rounds that
    follow (the first round uses the parameters' ``eta``)."""

    def __init__(self, learning_rates: Union[Callable[[int], float], Sequence[float]]) -> None:
        if callable(learning_rates):
            self.learning_rates = learning_rates
        elif isinstance(learning_rates, Sequence) and not isinstance(learning_rates, str):
            rates = list(learning_rates)
            self.learning_rates = lambda epoch: rates[epoch]
        else:
            raise TypeError(
                f"learning_rates must be a function of the round or a sequence, got {type(learning_rates).__name__}"
            )

    def after_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        model.set_param("learning_rate", self.learning_rates(epoch))
        return False


class EvaluationMonitor(TrainingCallback):
    """Prints the metrics as training goes (what ``verbose_eval`` turns on), XGBoost's format:
    ``[round]\\tset-metric:value ...`` every ``period`` rounds and after the last one.
    ``show_stdv`` prints cv's standard deviations; ``logger`` receives each line (default
    ``print``)."""

    def __init__(
        self, rank: int = 0, period: int = 1, show_stdv: bool = False, logger: Optional[Callable[[str], Any]] = None
    ) -> None:
        if int(period) < 1:
            raise ValueError(f"EvaluationMonitor: period must be at least 1, got {period}")
        self.printer_rank = rank
        self.period = int(period)
        self.show_stdv = show_stdv
        self._logger = logger if logger is not None else (lambda line: print(line, flush=True))
        self._latest: Optional[str] = None

    def _line(self, epoch: int, evals_log: EvalsLog) -> str:
        msg = f"[{epoch}]"
        for data, metrics in evals_log.items():
            for metric, values in metrics.items():
                score = values[-1]
                if isinstance(score, tuple):
                    mean, std = score
                    msg += f"\t{data}-{metric}:{mean:.5f}" + (f"+{std:.5f}" if self.show_stdv else "")
                else:
                    msg += f"\t{data}-{metric}:{score:.5f}"
        return msg

    def after_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        if not evals_log:
            return False
        line = self._line(epoch, evals_log)
        if epoch % self.period == 0 or self.period == 1:
            self._logger(line)
            self._latest = None
        else:
            self._latest = line
        return False

    def after_training(self, model: Any) -> Any:
        if self._latest is not None:
            self._logger(self._latest)
            self._latest = None
        return model


class TrainingCheckPoint(TrainingCallback):
    """Saves the model every ``interval`` rounds into ``directory`` as ``{name}_{n}.json`` (or
    ``.sylvan``, the binary form, with ``as_binary=True``), XGBoost's ``TrainingCheckPoint``; files
    are written atomically, so a killed run leaves whole checkpoints."""

    def __init__(
        self, directory: Union[str, os.PathLike], name: str = "model", as_pickle: bool = False,
        interval: int = 100, as_binary: bool = False,
    ) -> None:
        if as_pickle:
            raise ValueError("TrainingCheckPoint: as_pickle is not supported; models are saved as Sylvan files")
        if int(interval) < 1:
            raise ValueError(f"TrainingCheckPoint: interval must be at least 1, got {interval}")
        self._path = os.fspath(directory)
        self._name = name
        self._interval = int(interval)
        self._ext = "sylvan" if as_binary else "json"
        self._epoch = 0

    def before_training(self, model: Any) -> Any:
        os.makedirs(self._path, exist_ok=True)
        self._epoch = 0
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: EvalsLog) -> bool:
        self._epoch += 1
        if self._epoch % self._interval == 0:
            model.save_model(os.path.join(self._path, f"{self._name}_{epoch}.{self._ext}"))
        return False
