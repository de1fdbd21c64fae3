"""What runs in Python around each boosting round of :func:`sylvan.train`: the callbacks, custom
metrics and the live model they see. The extension calls :meth:`RoundHooks.before_iteration` and
:meth:`RoundHooks.after_iteration` from the training thread, holding the GIL only for the call."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ._sylvan import SylvanError

EvalsLog = Dict[str, Dict[str, List[Any]]]


def metric_values(result: Any, what: str = "custom_metric") -> List[Tuple[str, float]]:
    """A custom metric's result as ``[(name, value), ...]``: one ``(name, value)`` pair or a list
    of them (XGBoost's forms)."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], str):
        return [(result[0], float(result[1]))]
    if isinstance(result, list) and all(isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str) for r in result):
        return [(n, float(v)) for n, v in result]
    raise TypeError(f"{what} must return (name, value) or a list of (name, value) pairs, got {result!r}")


class LiveModel:
    """The model being trained, as callbacks see it (XGBoost hands them its Booster).

    Reads (``predict``, ``get_score``, ``save_model`` ... any :class:`sylvan.Booster` method) work
    in ``after_iteration`` on a copy of the model made when first asked in that round.
    ``set_param("learning_rate", v)`` (or ``eta``) sets the rate of the following rounds; other
    parameters cannot change while training runs. ``set_attr``/``attr``/``attributes`` keep string
    attributes that the trained model gets."""

    def __init__(self, hooks: "RoundHooks") -> None:
        self._hooks = hooks

    def num_boosted_rounds(self) -> int:
        """Rounds trained so far (including a continued model's)."""
        return self._hooks.rounds

    def set_param(self, params: Any, value: Any = None) -> None:
        """Changes the learning rate (``learning_rate`` / ``eta``) of the rounds that follow."""
        items = params.items() if isinstance(params, Mapping) else [(params, value)]
        for key, v in items:
            if key not in ("learning_rate", "eta"):
                raise SylvanError(
                    f"set_param: only learning_rate (eta) can change while training runs, not `{key}`"
                )
            self._hooks.learning_rate = float(v)

    def set_attr(self, **kwargs: Any) -> None:
        """Sets (or with None removes) string attributes the trained model will have."""
        for key, v in kwargs.items():
            if v is None:
                self._hooks.attributes.pop(key, None)
            else:
                self._hooks.attributes[key] = str(v)

    def attr(self, key: str) -> Optional[str]:
        """An attribute set during training, or None."""
        return self._hooks.attributes.get(key)

    def attributes(self) -> Dict[str, str]:
        """The attributes set during training."""
        return dict(self._hooks.attributes)

    @property
    def best_iteration(self) -> Optional[int]:
        """The best round recorded so far by early stopping, if any."""
        return None if self._hooks.best is None else self._hooks.best[0]

    @property
    def best_score(self) -> Optional[float]:
        """The best score recorded so far by early stopping, if any."""
        return None if self._hooks.best is None else self._hooks.best[1]

    def _set_best(self, iteration: int, score: Optional[float]) -> None:
        self._hooks.best = (int(iteration), None if score is None else float(score))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._hooks.snapshot(), name)

    def __repr__(self) -> str:
        return f"<sylvan model being trained, {self.num_boosted_rounds()} rounds>"


class RoundHooks:
    """Runs the callbacks and custom metrics of one training run; keeps the evaluation log."""

    def __init__(
        self,
        callbacks: Sequence[Any],
        custom_metric: Optional[Callable[..., Any]],
        evals: Sequence[Tuple[Any, str]],
        output_margin: bool,
        start_round: int,
        make_booster: Callable[[Any], Any],
    ) -> None:
        self.callbacks = list(callbacks)
        self.custom_metric = custom_metric
        self.evals = list(evals)
        self.output_margin = output_margin
        self.rounds = start_round
        self.history: EvalsLog = {}
        self.learning_rate: Optional[float] = None
        self.attributes: Dict[str, str] = {}
        self.best: Optional[Tuple[int, Optional[float]]] = None
        self.model = LiveModel(self)
        self._start = start_round
        self._make_booster = make_booster
        self._state: Any = None
        self._snapshot: Any = None

    def snapshot(self) -> Any:
        """A Booster copy of the model so far (once per round)."""
        if self._state is None:
            raise SylvanError(
                "the model being trained can be read only in after_iteration (after a round, while "
                "training runs)"
            )
        if self._snapshot is None:
            self._snapshot = self._make_booster(self._state.model())
        return self._snapshot

    def before_training(self) -> None:
        """Runs every callback's ``before_training``."""
        for cb in self.callbacks:
            cb.before_training(self.model)

    def before_iteration(self, round: int) -> Tuple[bool, Optional[float]]:
        """Called by the extension before round ``round`` (of the model, a continued model's
        rounds included): whether to stop, and the learning rate a callback set since the last
        round (None: unchanged). Callbacks see the run's epochs, from 0."""
        epoch = round - self._start
        stop = any(cb.before_iteration(self.model, epoch, self.history) for cb in self.callbacks)
        rate, self.learning_rate = self.learning_rate, None
        return bool(stop), rate

    def after_iteration(self, round: int, evals: List[Tuple[str, str, float]], state: Any) -> bool:
        """Called by the extension after round ``round`` with its built-in metrics; adds the custom
        metric's values and runs the callbacks. Returns whether to stop."""
        self._state, self._snapshot = state, None
        self.rounds = round + 1
        epoch = round - self._start
        try:
            for name, metric, value in evals:
                self.history.setdefault(name, {}).setdefault(metric, []).append(value)
            if self.custom_metric is not None:
                for i, (data, name) in enumerate(self.evals):
                    preds = state.predictions(i, self.output_margin)
                    for metric, value in metric_values(self.custom_metric(preds, data)):
                        self.history.setdefault(name, {}).setdefault(metric, []).append(value)
            return bool(any(cb.after_iteration(self.model, epoch, self.history) for cb in self.callbacks))
        finally:
            self._state, self._snapshot = None, None

    def after_training(self, booster: Any) -> Any:
        """Gives the trained model the attributes and best round recorded during training, then
        runs every callback's ``after_training`` (which may return another model)."""
        for key, v in self.attributes.items():
            booster.set_attr(**{key: v})
        if self.best is not None:
            booster._set_best(*self.best)
        for cb in self.callbacks:
            booster = cb.after_training(booster)
        return booster
