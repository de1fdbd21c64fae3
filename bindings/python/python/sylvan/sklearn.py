"""scikit-learn estimators: :class:`SylvanRegressor` and :class:`SylvanClassifier`.

Constructor parameters follow XGBoost's scikit-learn wrapper (``n_estimators``, ``learning_rate``,
``max_depth``, ``reg_lambda`` ...); ``None`` means Sylvan's (= XGBoost's) default.

Categorical features: the categorical columns of a DataFrame or Table (pandas ``category`` and
string columns, polars ``Categorical``/``Enum``/string, pyarrow dictionary/string) are categorical
features while ``enable_categorical`` is True (the default; False refuses them, as XGBoost does).
Their categories are stored with the model and prediction re-encodes by category name. Numeric
features can be declared categorical with ``feature_types`` (XGBoost's ``"q"``/``"c"`` list) or
``categorical_features`` (names or indices, LightGBM's parameter).

Training controls (docs/training-controls.md), as XGBoost's and LightGBM's estimators take them:
``monotone_constraints`` (list/tuple by position, dict by feature name, or ``"(1,0,-1)"``),
``interaction_constraints`` (lists of feature names or indices), ``feature_weights`` (constructor, or
``fit(feature_weights=...)`` as in XGBoost: one weight per feature), ``booster="dart"`` with
``rate_drop``, ``skip_drop``, ``one_drop``, ``sample_type``, ``normalize_type``, and
``data_sample_strategy="goss"`` with ``top_rate``, ``other_rate``.

Several outputs, as XGBoost's estimators give them: :class:`SylvanRegressor` fits a 2-D ``y``
(``(rows, T)``, one model output per target; ``predict`` gives ``(rows, T)``), a list of
``quantile_alpha`` levels (``objective="reg:quantileerror"``; ``predict`` gives ``(rows, K)``, sorted
in each row so the quantiles never cross) and ``objective="reg:expectileerror"`` with
``expectile_alpha`` (one level or an ascending list). :class:`SylvanClassifier` fits a 2-D 0/1
``y`` as multi-label classification (one ``binary:logistic`` output per label). ``multi_strategy``
chooses how trees are grown for several outputs: ``"one_output_per_tree"`` (default) or
``"multi_output_tree"`` (one tree per round whose leaves hold a value per output; needs
``tree_method="hist"``).

Explanations: every estimator's ``predict`` takes LightGBM's ``pred_contrib=True`` (also
XGBoost's spellings ``pred_contribs``, ``approx_contribs``, ``pred_interactions``) and returns SHAP
values in XGBoost's shapes (see :meth:`sylvan.Booster.predict`); ``get_booster().predict(X,
pred_contribs=True)`` gives the same. ``evals_result()`` returns the evaluation history.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d, validate_data

from .core import Booster, Dataset, _merged_categories, frame_columns, frame_num_rows, is_frame, train

__all__ = ["SylvanClassifier", "SylvanRanker", "SylvanRegressor"]

# Constructor parameter -> Sylvan parameter (where the names differ).
_RENAMED = {
    "n_estimators": "num_round",
    "learning_rate": "eta",
    "reg_alpha": "alpha",
    "reg_lambda": "lambda",
    "random_state": "seed",
    "n_jobs": "nthread",
}
# Constructor parameters that are not training parameters.
_NOT_TRAINING = {
    "importance_type",
    "random_state",
    "n_jobs",
    "early_stopping_rounds",
    "eval_metric",
    "objective",
    "enable_categorical",
    "feature_types",
    "callbacks",
}


def _takes_weight(func: Any) -> bool:
    """Whether ``func`` takes a third argument (the sample weights)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _objective_function(func: Any) -> Any:
    """An estimator's callable ``objective(y_true, y_pred[, sample_weight]) -> (grad, hess)`` as
    :func:`sylvan.train`'s ``obj(preds, dtrain)`` (XGBoost's scikit-learn convention: ``y_pred``
    are margins, ``(rows,)`` or ``(rows, classes)``)."""
    weighted = _takes_weight(func)

    def obj(preds: np.ndarray, dtrain: Dataset) -> Any:
        y = dtrain.get_label()
        if weighted:
            w = dtrain.get_weight()
            return func(y, preds, w if w.size else None)
        return func(y, preds)

    return obj


def _metric_function(func: Any) -> Any:
    """An estimator's callable ``eval_metric(y_true, y_pred[, sample_weight=...]) -> float`` (a
    scikit-learn metric) as :func:`sylvan.train`'s ``custom_metric``, named after the function.
    ``y_pred`` are predictions as ``predict_proba``/``predict`` give them before labels (the
    probabilities of a classifier), or margins with a callable objective."""
    name = getattr(func, "__name__", "custom")

    def metric(preds: np.ndarray, data: Dataset) -> Tuple[str, float]:
        y, w = data.get_label(), data.get_weight()
        value = func(y, preds, sample_weight=w) if w.size else func(y, preds)
        return name, float(value)

    return metric


def _num_columns(y: Any) -> int:
    """Columns of a label array-like: 1 for a vector (or a single column), else its second dimension."""
    shape = getattr(y, "shape", None)
    if shape is None:
        shape = np.shape(np.asarray(y, dtype=object))
    return int(shape[1]) if len(shape) == 2 else 1


def _eval_labels(y: Any, num_targets: int, i: int) -> np.ndarray:
    """The labels of ``eval_set[i]``: 1-D for one target, ``(rows, num_targets)`` for several (the
    training labels' number of columns)."""
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    arr = np.asarray(y)
    if num_targets == 1:
        return column_or_1d(arr)
    if arr.ndim != 2 or arr.shape[1] != num_targets:
        raise ValueError(
            f"eval_set[{i}]: y must have {num_targets} columns like the training labels, got shape {arr.shape}"
        )
    return arr


def _has_string_columns(X: Any) -> bool:
    """Whether a DataFrame/Table has any column that is not numeric or boolean."""
    if type(X).__module__.split(".")[0] == "pandas":
        import pandas as pd

        return not all(pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in X.dtypes)
    return True


_PARAMETERS_DOC = """

    Parameters
    ----------
    n_estimators : int, default 100
        Boosting rounds.
    learning_rate : float, default None (0.3)
        Shrinkage of every tree (``eta``).
    max_depth : int, default None (6)
        Deepest level of a tree; 0 is unlimited (with ``grow_policy="lossguide"``).
    max_leaves : int, default None (0, unlimited)
        Most leaves of a tree (loss-guided growth).
    max_bin : int, default None (256)
        Most histogram bins per feature (``tree_method`` hist and approx).
    grow_policy : str, default None ("depthwise")
        ``"depthwise"`` (level by level) or ``"lossguide"`` (best leaf first).
    tree_method : str, default None ("hist")
        ``"hist"``, ``"approx"`` or ``"exact"``.
    objective : str or callable, default None
        The loss (the estimator's default when None), or a callable
        ``objective(y_true, y_pred[, sample_weight]) -> (grad, hess)`` on margins, XGBoost's
        convention; the model then keeps the default objective's base score and transform.
    boosting : str, default None ("newton")
        ``"newton"`` (second order, XGBoost) or ``"gradient"`` (first order).
    n_jobs : int, default None (all cores)
        Threads; results do not depend on it.
    gamma : float, default None (0)
        Least loss reduction a split must make.
    min_child_weight : float, default None (1)
        Least hessian sum in a child.
    max_delta_step : float, default None (0, off)
        Largest leaf value step.
    subsample : float, default None (1)
        Share of the rows each tree samples.
    colsample_bytree, colsample_bylevel, colsample_bynode : float, default None (1)
        Shares of the features sampled per tree, per level and per node.
    reg_alpha : float, default None (0)
        L1 regularisation of leaf values.
    reg_lambda : float, default None (1)
        L2 regularisation of leaf values.
    scale_pos_weight : float, default None (1)
        Weight of the positive class (binary).
    base_score : float, default None (from the labels)
        The starting prediction.
    num_parallel_tree : int, default None (1)
        Trees grown per round and output (random forests).
    random_state : int or RandomState, default None (0)
        Seed of the sampling.
    importance_type : str, default None ("gain")
        What ``feature_importances_`` reports: ``weight``, ``gain``, ``cover``, ``total_gain``,
        ``total_cover``.
    eval_metric : str, list or callable, default None (the objective's)
        Metrics on ``eval_set``; a callable ``eval_metric(y_true, y_pred[, sample_weight=...])
        -> float`` (a scikit-learn metric) is a custom metric named after the function,
        evaluated after the built-in ones (early stopping then watches it; minimised unless its
        name says otherwise, as XGBoost).
    early_stopping_rounds : int, default None (off)
        Stop when the last ``eval_set``'s metric has not improved for this many rounds.
    huber_slope : float, default None (1)
        ``reg:pseudohubererror``'s slope.
    quantile_alpha : float or list, default None (0.5)
        ``reg:quantileerror``'s level(s); a list trains one output per level.
    expectile_alpha : float or list, default None (0.5)
        ``reg:expectileerror``'s level(s).
    multi_strategy : str, default None ("one_output_per_tree")
        ``"one_output_per_tree"`` or ``"multi_output_tree"`` for several outputs.
    tweedie_variance_power : float, default None (1.5)
        ``reg:tweedie``'s power.
    enable_categorical : bool, default True
        Whether categorical DataFrame columns may be used (False refuses them, as XGBoost).
    feature_types : list of str, default None
        ``"q"``/``"c"`` per feature (XGBoost's).
    categorical_features : list, default None
        Features (names or indices) whose numeric values are category codes.
    max_cat_to_onehot : int, default None (4)
        Categorical features with fewer categories are split one category against the rest.
    max_cat_threshold : int, default None (64)
        Most categories on one side of a categorical split.
    cat_smooth, cat_l2 : float, default None (1, 0)
        Regularisation of the categories' order (LightGBM's).
    min_data_per_group : int, default None (0)
        Least rows a category needs to be split on its own.
    monotone_constraints : list, tuple, dict or str, default None
        Increasing (1), decreasing (-1) or free (0) per feature.
    interaction_constraints : list of lists, default None
        Groups of features that may appear together on a tree path.
    feature_weights : array-like or dict, default None
        Weights of the features in column sampling.
    booster : str, default None ("gbtree")
        ``"gbtree"`` or ``"dart"``.
    rate_drop, skip_drop : float, default None (0, 0)
        DART's share of trees dropped and chance of skipping the drop.
    one_drop : bool, default None (False)
        DART: drop at least one tree.
    sample_type, normalize_type : str, default None ("uniform", "tree")
        DART's choice of dropped trees and their weighting.
    data_sample_strategy : str, default None ("bagging")
        ``"bagging"`` or ``"goss"``.
    top_rate, other_rate : float, default None (0.2, 0.1)
        GOSS's shares of large- and small-gradient rows.
    callbacks : list of TrainingCallback, default None
        :mod:`sylvan.callback` objects run around every round (XGBoost's).
"""

class _SylvanModel(BaseEstimator):
    """Shared parts of the Sylvan estimators (fitting, parameters, prediction plumbing)."""

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        learning_rate: Optional[float] = None,
        max_depth: Optional[int] = None,
        max_leaves: Optional[int] = None,
        max_bin: Optional[int] = None,
        grow_policy: Optional[str] = None,
        tree_method: Optional[str] = None,
        objective: Optional[str] = None,
        boosting: Optional[str] = None,
        n_jobs: Optional[int] = None,
        gamma: Optional[float] = None,
        min_child_weight: Optional[float] = None,
        max_delta_step: Optional[float] = None,
        subsample: Optional[float] = None,
        colsample_bytree: Optional[float] = None,
        colsample_bylevel: Optional[float] = None,
        colsample_bynode: Optional[float] = None,
        reg_alpha: Optional[float] = None,
        reg_lambda: Optional[float] = None,
        scale_pos_weight: Optional[float] = None,
        base_score: Optional[float] = None,
        num_parallel_tree: Optional[int] = None,
        random_state: Any = None,
        importance_type: Optional[str] = None,
        eval_metric: Any = None,
        early_stopping_rounds: Optional[int] = None,
        huber_slope: Optional[float] = None,
        quantile_alpha: Any = None,
        expectile_alpha: Any = None,
        multi_strategy: Optional[str] = None,
        tweedie_variance_power: Optional[float] = None,
        enable_categorical: bool = True,
        feature_types: Optional[Any] = None,
        categorical_features: Optional[Any] = None,
        max_cat_to_onehot: Optional[int] = None,
        max_cat_threshold: Optional[int] = None,
        cat_smooth: Optional[float] = None,
        cat_l2: Optional[float] = None,
        min_data_per_group: Optional[int] = None,
        monotone_constraints: Any = None,
        interaction_constraints: Any = None,
        feature_weights: Any = None,
        booster: Optional[str] = None,
        rate_drop: Optional[float] = None,
        skip_drop: Optional[float] = None,
        one_drop: Optional[bool] = None,
        sample_type: Optional[str] = None,
        normalize_type: Optional[str] = None,
        data_sample_strategy: Optional[str] = None,
        top_rate: Optional[float] = None,
        other_rate: Optional[float] = None,
        callbacks: Optional[List[Any]] = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaves = max_leaves
        self.max_bin = max_bin
        self.grow_policy = grow_policy
        self.tree_method = tree_method
        self.objective = objective
        self.boosting = boosting
        self.n_jobs = n_jobs
        self.gamma = gamma
        self.min_child_weight = min_child_weight
        self.max_delta_step = max_delta_step
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.colsample_bylevel = colsample_bylevel
        self.colsample_bynode = colsample_bynode
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.scale_pos_weight = scale_pos_weight
        self.base_score = base_score
        self.num_parallel_tree = num_parallel_tree
        self.random_state = random_state
        self.importance_type = importance_type
        self.eval_metric = eval_metric
        self.early_stopping_rounds = early_stopping_rounds
        self.huber_slope = huber_slope
        self.quantile_alpha = quantile_alpha
        self.expectile_alpha = expectile_alpha
        self.multi_strategy = multi_strategy
        self.tweedie_variance_power = tweedie_variance_power
        self.enable_categorical = enable_categorical
        self.feature_types = feature_types
        self.categorical_features = categorical_features
        self.max_cat_to_onehot = max_cat_to_onehot
        self.max_cat_threshold = max_cat_threshold
        self.cat_smooth = cat_smooth
        self.cat_l2 = cat_l2
        self.min_data_per_group = min_data_per_group
        self.monotone_constraints = monotone_constraints
        self.interaction_constraints = interaction_constraints
        self.feature_weights = feature_weights
        self.booster = booster
        self.rate_drop = rate_drop
        self.skip_drop = skip_drop
        self.one_drop = one_drop
        self.sample_type = sample_type
        self.normalize_type = normalize_type
        self.data_sample_strategy = data_sample_strategy
        self.top_rate = top_rate
        self.other_rate = other_rate
        self.callbacks = callbacks

    # -- scikit-learn plumbing ------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _training_params(self) -> Dict[str, Any]:
        """The constructor parameters as Sylvan training parameters (None = default)."""
        out: Dict[str, Any] = {}
        for name, value in self.get_params(deep=False).items():
            if name in _NOT_TRAINING or value is None:
                continue
            out[_RENAMED.get(name, name)] = value
        rs = self.random_state
        if rs is not None:
            if isinstance(rs, (int, np.integer)):
                seed = int(rs)
                if seed < 0:
                    raise ValueError(f"random_state must be >= 0, got {seed}")
            else:
                seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
            out["seed"] = seed
        if self.n_jobs is not None:
            out["nthread"] = max(int(self.n_jobs), 0)
        if self.eval_metric is not None and not callable(self.eval_metric):
            out["eval_metric"] = self.eval_metric
        return out

    def _builtin_objective(self, default: str) -> str:
        """The objective named by the constructor, or ``default`` when it is unset or a callable
        (whose model keeps ``default``'s base score and transform, as XGBoost's)."""
        if self.objective is None or callable(self.objective):
            return default
        return str(self.objective)

    def _check_frame_features(self, X: Any, reset: bool) -> None:
        """n_features_in_ / feature_names_in_ for a DataFrame or Table read by Sylvan itself."""
        names = frame_columns(X)
        if reset:
            self.n_features_in_ = len(names)
            self.feature_names_in_ = np.asarray(names, dtype=object)
            return
        fitted = getattr(self, "feature_names_in_", None)
        if len(names) != self.n_features_in_:
            raise ValueError(
                f"X has {len(names)} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if fitted is not None and list(fitted) != names:
            raise ValueError(
                "The feature names should match those that were passed during fit "
                f"(fit: {list(fitted)}, now: {names})."
            )

    def _uses_frame_reader(self, X: Any) -> bool:
        """Whether X is read column by column by Sylvan (categorical columns, polars, pyarrow)
        rather than validated and converted as an array by scikit-learn."""
        if not is_frame(X):
            return False
        return bool(getattr(self, "_categories", None)) or _has_string_columns(X)

    def _validate_X(self, X: Any, reset: bool):
        """Validates X for fit (reset) or prediction; returns what Dataset takes."""
        if self._uses_frame_reader(X):
            self._check_frame_features(X, reset)
            if frame_num_rows(X) == 0:
                raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
            return X
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=np.float32,
            ensure_all_finite="allow-nan",
            order="K",
        )

    def _validate_fit(self, X: Any, y: Any, y_numeric: bool, multi_output: bool = False):
        """Validates X and y for fit; returns them (X in a form Dataset takes, y 1-D). With
        ``multi_output``, a ``y`` of several columns stays 2-D (several targets); one column
        (``(rows, 1)``) is still one target."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        multi = multi_output and _num_columns(y) > 1
        self._categories = {}
        if self._uses_frame_reader(X):
            X = self._validate_X(X, reset=True)
            y = check_array(y, ensure_2d=False, dtype=np.float64 if y_numeric else None, input_name="y")
            if not multi:
                y = column_or_1d(y, warn=True)
            check_consistent_length(np.empty((frame_num_rows(X), 0)), y)
            return X, y
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc"),
            dtype=np.float32,
            ensure_all_finite="allow-nan",
            order="K",
            y_numeric=y_numeric,
            multi_output=multi,
        )
        return X, y

    def _fit_feature_weights(self, feature_weights: Any) -> Any:
        """``fit(feature_weights=...)`` checked as XGBoost checks it: one finite weight >= 0 per
        feature (a dict by feature name is passed on as it is); not also set in the constructor."""
        if self.feature_weights is not None:
            raise ValueError(
                "feature_weights is set both in the constructor and in fit; give it in one place"
            )
        if isinstance(feature_weights, dict):
            return feature_weights
        w = np.asarray(feature_weights, dtype=np.float64)
        if w.ndim != 1 or w.shape[0] != self.n_features_in_:
            raise ValueError(
                f"feature_weights must hold one weight per feature ({self.n_features_in_}), got shape {w.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("feature_weights must be finite numbers >= 0")
        return w.tolist()

    @staticmethod
    def _weights(sample_weight: Any, n: int) -> Optional[np.ndarray]:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(n, float(w))
        if w.ndim != 1:
            raise ValueError(f"Sample weights must be 1D array or scalar, got shape {w.shape}")
        if w.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        return w.astype(np.float32)

    def _fit(
        self,
        X: Any,
        y_encoded: np.ndarray,
        params: Dict[str, Any],
        sample_weight: Any,
        base_margin: Any,
        eval_set: Any,
        sample_weight_eval_set: Any,
        encode_eval_y,
        verbose: Any,
        xgb_model: Any,
        feature_weights: Any = None,
        targets: Optional[Dict[str, Any]] = None,
        eval_targets: Optional[List[Dict[str, Any]]] = None,
    ):
        """Trains; ``targets`` (query ids/groups, label bounds) go to the training Dataset and
        ``eval_targets[i]`` to the i-th evaluation set."""
        n = frame_num_rows(X) if is_frame(X) else X.shape[0]
        if feature_weights is not None:
            params["feature_weights"] = self._fit_feature_weights(feature_weights)
        # Arrays validated by scikit-learn lost a DataFrame's column names: give them to the model.
        names = None
        if not is_frame(X) and getattr(self, "feature_names_in_", None) is not None:
            names = [str(c) for c in self.feature_names_in_]
        dtrain = Dataset(
            X,
            label=y_encoded,
            weight=self._weights(sample_weight, n),
            base_margin=base_margin,
            feature_names=names,
            feature_types=self.feature_types,
            enable_categorical=self.enable_categorical,
            **(targets or {}),
        )
        if isinstance(xgb_model, _SylvanModel):
            xgb_model = xgb_model.get_booster()
        elif xgb_model is not None and not isinstance(xgb_model, Booster):
            xgb_model = Booster.load(xgb_model)
        if xgb_model is not None and xgb_model.categories:
            # Continuing a model keeps its category codes; new categories get the next codes.
            merged = _merged_categories(xgb_model.categories, dtrain.categories)
            if merged != dtrain.categories:
                dtrain = dtrain._with_categories(merged)
        self._categories = dict(dtrain.categories)
        evals = []
        if eval_set is not None:
            if sample_weight_eval_set is not None and len(sample_weight_eval_set) != len(eval_set):
                raise ValueError("sample_weight_eval_set must have one entry per eval_set entry")
            for i, (Xe, ye) in enumerate(eval_set):
                Xe = self._validate_X(Xe, reset=False)
                ne = frame_num_rows(Xe) if is_frame(Xe) else Xe.shape[0]
                ye = encode_eval_y(_eval_labels(ye, _num_columns(y_encoded), i))
                we = None if sample_weight_eval_set is None else sample_weight_eval_set[i]
                d = Dataset(
                    Xe,
                    label=ye,
                    weight=self._weights(we, ne),
                    categories=self._categories,
                    feature_types=self.feature_types,
                    enable_categorical=self.enable_categorical,
                    **(eval_targets[i] if eval_targets else {}),
                )
                evals.append((d, f"validation_{i}"))
        if self.early_stopping_rounds is not None and not evals:
            raise ValueError("early_stopping_rounds needs at least one eval_set to watch")
        num_round = int(params.pop("num_round", 100))
        result: Dict[str, Any] = {}
        booster = train(
            params,
            dtrain,
            num_boost_round=num_round,
            evals=evals,
            early_stopping_rounds=self.early_stopping_rounds,
            evals_result=result,
            verbose_eval=verbose,
            xgb_model=xgb_model,
            obj=_objective_function(self.objective) if callable(self.objective) else None,
            custom_metric=_metric_function(self.eval_metric) if callable(self.eval_metric) else None,
            callbacks=self.callbacks,
        )
        self._booster = booster
        self.evals_result_ = result
        best = booster.best_iteration
        self.best_iteration_ = best if best is not None else booster.num_boosted_rounds() - 1
        if booster.best_score is not None:
            self.best_score_ = booster.best_score
        return self

    # -- fitted model ----------------------------------------------------------------------------

    def get_booster(self) -> Booster:
        """The fitted :class:`sylvan.Booster`."""
        check_is_fitted(self, "_booster")
        return self._booster

    @property
    def best_iteration(self) -> int:
        """XGBoost's name for ``best_iteration_``: the best round (the last without early
        stopping)."""
        check_is_fitted(self, "_booster")
        return self.best_iteration_

    @property
    def best_score(self) -> float:
        """XGBoost's name for ``best_score_`` (set by early stopping)."""
        check_is_fitted(self, "_booster")
        return self.best_score_

    def _dataset_for_predict(self, X: Any) -> Dataset:
        """X as a Dataset for the fitted model: categorical columns re-encoded by category name with
        the model's categories (a category unseen in fit is a missing value)."""
        check_is_fitted(self, "_booster")
        X = self._validate_X(X, reset=False)
        return Dataset(X, categories=self._categories, enable_categorical=self.enable_categorical)

    def _raw_predict(self, X: Any, output_margin: bool = False, iteration_range=None) -> np.ndarray:
        d = self._dataset_for_predict(X)
        return self._booster.predict(d, output_margin=output_margin, iteration_range=iteration_range)

    def _explanation(
        self,
        X: Any,
        iteration_range: Any,
        pred_contrib: bool,
        pred_contribs: bool,
        approx_contribs: bool,
        pred_interactions: bool,
    ) -> Optional[np.ndarray]:
        """The explanation ``predict`` was asked for (SHAP or Saabas values, or interaction values,
        in XGBoost's shapes: see :meth:`sylvan.Booster.predict`), or None when none was."""
        if not (pred_contrib or pred_contribs or approx_contribs or pred_interactions):
            return None
        d = self._dataset_for_predict(X)
        return self._booster.predict(
            d,
            pred_contribs=pred_contrib or pred_contribs,
            approx_contribs=approx_contribs,
            pred_interactions=pred_interactions,
            iteration_range=iteration_range,
        )

    def evals_result(self) -> Dict[str, Dict[str, List[float]]]:
        """The evaluation results recorded during ``fit``: ``{"validation_0": {"rmse": [...]}}``,
        as ``XGBModel.evals_result()`` (the same as the ``evals_result_`` attribute)."""
        check_is_fitted(self, "_booster")
        result = getattr(self, "evals_result_", None)
        return dict(result) if result else self._booster.eval_history()

    def apply(self, X: Any) -> np.ndarray:
        """The leaf index of every tree for every row, ``(rows, trees)``."""
        d = self._dataset_for_predict(X)
        p = self._booster.predict(d, pred_leaf=True)
        return p.reshape(d.num_rows, -1).astype(np.int64)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Feature importance (``importance_type``: ``weight``, ``gain`` (the default),
        ``total_gain``, ``cover`` or ``total_cover``), normalised to sum to 1."""
        check_is_fitted(self, "_booster")
        imp = self._booster.feature_importance(self.importance_type or "gain")
        total = imp.sum()
        return (imp / total if total > 0 else imp).astype(np.float32)

    def save_model(self, path) -> None:
        """Saves the fitted model (Sylvan JSON for ``.json``, binary otherwise)."""
        self.get_booster().save_model(path)

    def load_model(self, path) -> None:
        """Loads a model saved by :meth:`save_model` or the CLI into this estimator."""
        booster = Booster.load(path)
        self._booster = booster
        self._categories = booster.categories
        self.n_features_in_ = booster.num_features()
        names = booster.feature_names
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        # Early stopping's choice is stored with the model, as ``fit`` reports it.
        best = booster.best_iteration
        self.best_iteration_ = best if best is not None else booster.num_boosted_rounds() - 1
        if booster.best_score is not None:
            self.best_score_ = booster.best_score
        self._after_load(booster)

    def _after_load(self, booster: Booster) -> None:
        pass


class SylvanRegressor(RegressorMixin, _SylvanModel):
    __doc__ = """Gradient boosted trees for regression (scikit-learn estimator).

    ``objective`` defaults to ``reg:squarederror``; any Sylvan regression objective works
    (``reg:absoluteerror``, ``reg:quantileerror``, ``reg:expectileerror``, ``count:poisson``,
    ``reg:tweedie`` ...).

    Several outputs (as ``XGBRegressor``):

    - a 2-D ``y`` of ``T`` columns trains one output per target (element-wise objectives);
      ``predict`` returns ``(rows, T)``;
    - ``quantile_alpha``: the level of ``reg:quantileerror`` (default 0.5), or a list of levels in
      (0, 1) giving one output each; ``predict`` returns ``(rows, K)`` in the order of the levels,
      sorted in each row so that the predicted quantiles never cross;
    - ``expectile_alpha``: the level of ``reg:expectileerror`` (default 0.5), or a strictly
      ascending list of levels (XGBoost's parametrisation: the outputs increase by construction);
    - ``multi_strategy``: ``"one_output_per_tree"`` (default: a tree per output per round) or
      ``"multi_output_tree"`` (one tree structure per round shared by all outputs, a value per
      output in each leaf; ``tree_method="hist"`` only).

    Predictions with several outputs are float64 (scikit-learn's contract for multi-output
    regressors); one output per row stays float32, as XGBoost's.

    Categorical columns of DataFrames and Tables are categorical features (``enable_categorical``,
    default True; ``feature_types`` / ``categorical_features`` declare numeric codes; tuning with
    ``max_cat_to_onehot``, ``max_cat_threshold``, ``cat_smooth``, ``cat_l2``,
    ``min_data_per_group``); prediction re-encodes them by category name, an unseen one is missing.

    Attributes (after ``fit``): ``n_features_in_``, ``feature_names_in_`` (DataFrames),
    ``feature_importances_``, ``evals_result_``, ``best_iteration_``, ``best_score_`` (early stopping).
    """ + _PARAMETERS_DOC

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        sample_weight_eval_set: Any = None,
        verbose: Any = False,
        xgb_model: Any = None,
        feature_weights: Any = None,
        label_lower_bound: Any = None,
        label_upper_bound: Any = None,
    ) -> "SylvanRegressor":
        """Fits the model; ``eval_set`` is a list of ``(X, y)`` evaluated every round (named
        ``validation_0`` ...); with ``early_stopping_rounds`` the last one is watched.
        ``feature_weights`` (one weight >= 0 per feature, as in XGBoost) weighs the features in
        column sampling (``colsample_by*``); a feature of weight 0 is never used.

        Survival (``objective="survival:aft"``): ``label_lower_bound`` / ``label_upper_bound``
        give each training row's interval (``+inf`` or NaN upper = right-censored), as
        ``sylvan.Dataset`` takes them; XGBoost's estimator has no such arguments (use its DMatrix).
        ``y`` is still required (scikit-learn's contract); pass e.g. the lower bound. Evaluation
        sets carry no bounds here: evaluate survival metrics with ``sylvan.train`` and Datasets."""
        if (label_lower_bound is None) != (label_upper_bound is None):
            raise ValueError("label_lower_bound and label_upper_bound come in pairs: give both")
        targets = None
        if label_lower_bound is not None:
            targets = dict(label_lower_bound=label_lower_bound, label_upper_bound=label_upper_bound)
        X, y = self._validate_fit(X, y, y_numeric=True, multi_output=True)
        params = self._training_params()
        params["objective"] = self._builtin_objective("reg:squarederror")
        y = np.asarray(y, dtype=np.float32)
        return self._fit(
            X,
            y,
            params,
            sample_weight,
            base_margin,
            eval_set,
            sample_weight_eval_set,
            lambda v: np.asarray(v, dtype=np.float32),
            verbose,
            xgb_model,
            feature_weights,
            targets=targets,
        )

    def predict(
        self,
        X: Any,
        output_margin: bool = False,
        iteration_range=None,
        pred_contrib: bool = False,
        pred_contribs: bool = False,
        approx_contribs: bool = False,
        pred_interactions: bool = False,
    ) -> np.ndarray:
        """Predicted values: one per row (float32), or ``(rows, outputs)`` (float64) for several
        targets, quantiles or expectiles.

        ``pred_contrib=True`` (or ``pred_contribs``, ``approx_contribs``, ``pred_interactions``)
        returns SHAP values instead, in XGBoost's shapes (:meth:`sylvan.Booster.predict`)."""
        e = self._explanation(X, iteration_range, pred_contrib, pred_contribs, approx_contribs, pred_interactions)
        if e is not None:
            return e
        p = self._raw_predict(X, output_margin=output_margin, iteration_range=iteration_range)
        return p.astype(np.float64) if p.ndim == 2 else p

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class SylvanClassifier(ClassifierMixin, _SylvanModel):
    __doc__ = """Gradient boosted trees for binary, multiclass and multi-label classification (scikit-learn
    estimator).

    Two classes train ``binary:logistic``, more train ``multi:softprob``. Labels may be any values
    (``classes_`` holds them, sorted).

    Multi-label (as ``XGBClassifier``): a 2-D ``y`` of 0/1 indicator columns, ``(rows, T)``, trains
    one ``binary:logistic`` output per label (``multi_strategy`` chooses one tree per label or
    ``"multi_output_tree"``). ``predict_proba`` then returns ``(rows, T)``, the probability of each
    label, and ``predict`` ``(rows, T)`` 0/1 (probability above 0.5) in ``y``'s dtype; ``classes_``
    is the two indicator values and ``n_outputs_`` is ``T``.

    Categorical features as in :class:`SylvanRegressor`.

    Attributes (after ``fit``): ``classes_``, ``n_classes_``, ``n_features_in_``,
    ``feature_names_in_`` (DataFrames), ``feature_importances_``, ``evals_result_``,
    ``best_iteration_``, ``best_score_`` (early stopping).
    """ + _PARAMETERS_DOC

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        sample_weight_eval_set: Any = None,
        verbose: Any = False,
        xgb_model: Any = None,
        feature_weights: Any = None,
    ) -> "SylvanClassifier":
        """Fits the model; ``eval_set`` is a list of ``(X, y)`` evaluated every round (named
        ``validation_0`` ...); with ``early_stopping_rounds`` the last one is watched.
        ``feature_weights`` (one weight >= 0 per feature, as in XGBoost) weighs the features in
        column sampling (``colsample_by*``); a feature of weight 0 is never used."""
        X, y = self._validate_fit(X, y, y_numeric=False, multi_output=True)
        check_classification_targets(y)
        if np.ndim(y) == 2:
            return self._fit_multilabel(
                X, y, sample_weight, base_margin, eval_set, sample_weight_eval_set, verbose, xgb_model, feature_weights
            )
        self.n_outputs_ = 1
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"Classifier can't train when only one class is present: y has the single class {classes[0]!r}."
            )
        self.classes_ = classes
        self.n_classes_ = len(classes)
        params = self._training_params()
        if len(classes) == 2:
            objective = "binary:logistic"
        else:
            objective = "multi:softprob"
            params["num_class"] = len(classes)
        if self._builtin_objective(objective) != objective:
            raise ValueError(
                f"objective `{self.objective}` does not fit {len(classes)} classes; "
                f"SylvanClassifier uses {objective} here (leave objective unset)"
            )
        params["objective"] = objective
        index = {c: i for i, c in enumerate(classes.tolist())}

        def encode_eval_y(v: np.ndarray) -> np.ndarray:
            try:
                return np.asarray([index[c] for c in v.tolist()], dtype=np.float32)
            except KeyError as e:
                raise ValueError(f"eval_set has a label not seen in training: {e.args[0]!r}") from None

        return self._fit(
            X,
            encoded.astype(np.float32),
            params,
            sample_weight,
            base_margin,
            eval_set,
            sample_weight_eval_set,
            encode_eval_y,
            verbose,
            xgb_model,
            feature_weights,
        )

    def _fit_multilabel(
        self,
        X: Any,
        y: np.ndarray,
        sample_weight: Any,
        base_margin: Any,
        eval_set: Any,
        sample_weight_eval_set: Any,
        verbose: Any,
        xgb_model: Any,
        feature_weights: Any,
    ) -> "SylvanClassifier":
        """Multi-label fit: ``y`` is ``(rows, T)`` of two indicator values (0/1); one
        ``binary:logistic`` output per column."""
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y, input_name="y")
        if kind != "multilabel-indicator":
            raise ValueError(
                f"SylvanClassifier takes a 2-D y only as multi-label indicators (0/1 columns, "
                f"binary:logistic per label); y is {kind}"
            )
        classes = np.unique(y)
        if len(classes) == 1:
            # Every label 0 (or 1) everywhere: the indicator values are still 0 and 1.
            classes = np.asarray([0, 1], dtype=y.dtype)
        self.classes_ = classes
        self.n_classes_ = 2
        self.n_outputs_ = int(y.shape[1])
        if self._builtin_objective("binary:logistic") != "binary:logistic":
            raise ValueError(
                f"objective `{self.objective}` does not fit multi-label targets; SylvanClassifier uses "
                "binary:logistic per label (leave objective unset)"
            )
        params = self._training_params()
        params["objective"] = "binary:logistic"
        positive = classes[-1]

        def encode(v: np.ndarray) -> np.ndarray:
            return (np.asarray(v) == positive).astype(np.float32)

        return self._fit(
            X,
            encode(y),
            params,
            sample_weight,
            base_margin,
            eval_set,
            sample_weight_eval_set,
            encode,
            verbose,
            xgb_model,
            feature_weights,
        )

    def _is_multilabel(self) -> bool:
        return getattr(self, "n_outputs_", 1) > 1

    def predict_proba(self, X: Any, iteration_range=None) -> np.ndarray:
        """Class probabilities, ``(rows, n_classes)``, columns in the order of ``classes_``; for a
        multi-label model the probability of each label, ``(rows, n_outputs_)``."""
        p = self._raw_predict(X, iteration_range=iteration_range)
        if p.ndim == 1:
            return np.column_stack([1.0 - p, p]).astype(np.float32)
        return p

    def predict(
        self,
        X: Any,
        output_margin: bool = False,
        iteration_range=None,
        pred_contrib: bool = False,
        pred_contribs: bool = False,
        approx_contribs: bool = False,
        pred_interactions: bool = False,
    ) -> np.ndarray:
        """The most probable class of every row (raw margins with ``output_margin``); for a
        multi-label model ``(rows, n_outputs_)`` indicators, positive where the probability is
        above 0.5.

        ``pred_contrib=True`` (or ``pred_contribs``, ``approx_contribs``, ``pred_interactions``)
        returns SHAP values instead, in XGBoost's shapes (:meth:`sylvan.Booster.predict`)."""
        e = self._explanation(X, iteration_range, pred_contrib, pred_contribs, approx_contribs, pred_interactions)
        if e is not None:
            return e
        if output_margin:
            return self._raw_predict(X, output_margin=True, iteration_range=iteration_range)
        proba = self.predict_proba(X, iteration_range=iteration_range)
        if self._is_multilabel():
            return self.classes_[(proba > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(proba, axis=1)]

    def _after_load(self, booster: Booster) -> None:
        k = booster.num_groups
        multiclass = booster.objective.startswith("multi:")
        self.n_classes_ = k if multiclass else 2
        self.n_outputs_ = 1 if multiclass else k
        if not hasattr(self, "classes_") or len(self.classes_) != self.n_classes_:
            self.classes_ = np.arange(self.n_classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags



def _split_qid(X: Any, qid: Any) -> Tuple[Any, Any]:
    """XGBoost's special column: a pandas DataFrame X may hold the query ids in a column named
    ``qid`` (so that scikit-learn's model selection, which passes only X and y to ``score``, keeps
    them); it is taken out of X. Giving both that column and ``qid`` is an error."""
    if type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns") and "qid" in X.columns:
        if qid is not None:
            raise ValueError("found both a `qid` column in X and the qid argument; give one of them")
        return X.drop(columns="qid"), X["qid"].to_numpy()
    return X, qid


def _ranking_targets(qid: Any, group: Any, what: str) -> Dict[str, Any]:
    """The Dataset keywords for one set's query ids or group sizes (exactly one of them)."""
    if qid is not None and group is not None:
        raise ValueError(f"{what}: give qid or group, not both")
    if qid is None and group is None:
        raise ValueError(f"{what}: ranking needs query groups: give qid (one id per row) or group (group sizes)")
    return dict(qid=qid) if qid is not None else dict(group=group)


class SylvanRanker(_SylvanModel):
    __doc__ = """Gradient boosted trees for learning to rank (scikit-learn estimator, XGBRanker's interface).

    ``objective`` (None) means ``rank:ndcg`` (also ``rank:pairwise``, ``rank:map``). Queries are
    given to ``fit`` as ``qid`` (one query id per row, of any type; the rows of a query need NOT
    be contiguous or sorted, unlike XGBoost) or ``group`` (sizes of consecutive groups), or as a
    column named ``qid`` of a pandas DataFrame X (XGBoost's special column; it is not a feature).
    ``eval_set`` entries get their queries from ``eval_qid`` / ``eval_group`` (lists, one entry per
    set) or their own ``qid`` column.

    ``predict`` returns one relevance score per row (higher = ranked higher) and needs no queries.
    ``score(X, y)`` is the model's last ``eval_metric`` (default: the objective's metric,
    ``ndcg@32`` for rank:ndcg) on X's queries: the
    ``qid`` column of a DataFrame X or the ``qid`` argument; without either, all rows form one
    query. With scikit-learn's ``GroupKFold`` and ``cross_val_score``, pass the query ids as
    ``groups=qid`` (for the split) and either keep them as X's ``qid`` column or route them to
    ``fit`` with ``params={"qid": qid}`` (then ``score`` sees one query per test fold unless X
    holds the ``qid`` column).

    ``sample_weight``: one weight per row (XGBoost takes one weight per query; repeat the query's
    weight on each of its rows to match it).
    """ + _PARAMETERS_DOC

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        group: Any = None,
        qid: Any = None,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        eval_group: Any = None,
        eval_qid: Any = None,
        sample_weight_eval_set: Any = None,
        verbose: Any = False,
        xgb_model: Any = None,
        feature_weights: Any = None,
    ) -> "SylvanRanker":
        """Fits the ranker on the queries given by ``qid`` or ``group`` (or X's ``qid`` column);
        ``eval_set`` is a list of ``(X, y)`` with ``eval_qid`` / ``eval_group`` (one entry per set)."""
        objective = self._builtin_objective("rank:ndcg")
        if not str(objective).startswith("rank:"):
            raise ValueError(f"SylvanRanker trains ranking objectives (rank:*), got `{objective}`")
        X, qid = _split_qid(X, qid)
        targets = _ranking_targets(qid, group, "fit")
        X, y = self._validate_fit(X, y, y_numeric=True)
        params = self._training_params()
        params["objective"] = objective
        eval_targets = None
        if eval_set is not None:
            eval_set = list(eval_set)
            for name, v in (("eval_qid", eval_qid), ("eval_group", eval_group)):
                if v is not None and len(v) != len(eval_set):
                    raise ValueError(f"{name} must have one entry per eval_set entry")
            eval_targets = []
            for i, (Xe, ye) in enumerate(eval_set):
                Xe, qe = _split_qid(Xe, None if eval_qid is None else eval_qid[i])
                ge = None if eval_group is None else eval_group[i]
                eval_targets.append(_ranking_targets(qe, ge, f"eval_set[{i}]"))
                eval_set[i] = (Xe, ye)
        return self._fit(
            X,
            np.asarray(y, dtype=np.float32),
            params,
            sample_weight,
            base_margin,
            eval_set,
            sample_weight_eval_set,
            lambda v: np.asarray(v, dtype=np.float32),
            verbose,
            xgb_model,
            feature_weights,
            targets=targets,
            eval_targets=eval_targets,
        )

    def predict(
        self,
        X: Any,
        output_margin: bool = False,
        iteration_range=None,
        pred_contrib: bool = False,
        pred_contribs: bool = False,
        approx_contribs: bool = False,
        pred_interactions: bool = False,
    ) -> np.ndarray:
        """One relevance score per row (float32); a ``qid`` column of a DataFrame X is ignored.

        ``pred_contrib=True`` (or ``pred_contribs``, ``approx_contribs``, ``pred_interactions``)
        returns SHAP values instead, in XGBoost's shapes (:meth:`sylvan.Booster.predict`)."""
        X, _ = _split_qid(X, None)
        e = self._explanation(X, iteration_range, pred_contrib, pred_contribs, approx_contribs, pred_interactions)
        if e is not None:
            return e
        return self._raw_predict(X, output_margin=output_margin, iteration_range=iteration_range)

    def apply(self, X: Any) -> np.ndarray:
        """The leaf index of every tree for every row, ``(rows, trees)``."""
        X, _ = _split_qid(X, None)
        return super().apply(X)

    def _score_metrics(self) -> List[str]:
        """The metric ``score`` reports: the last ``eval_metric``; none given (empty list) means
        the objective's own metric (``ndcg@32`` for rank:ndcg with the default pairs)."""
        m = self.eval_metric
        if m is None or callable(m):
            return []
        if isinstance(m, (list, tuple)):
            return [str(m[-1])] if m else []
        return [str(m)]

    def score(self, X: Any, y: Any, sample_weight: Any = None, qid: Any = None) -> float:
        """The model's last ``eval_metric`` (default: the objective's metric, ``ndcg@32`` for
        rank:ndcg, as XGBRanker) on X's queries (X's ``qid`` column or ``qid``; without either, all
        rows form one query)."""
        check_is_fitted(self, "_booster")
        X, qid = _split_qid(X, qid)
        X = self._validate_X(X, reset=False)
        n = frame_num_rows(X) if is_frame(X) else X.shape[0]
        d = Dataset(
            X,
            label=np.asarray(y, dtype=np.float32),
            weight=self._weights(sample_weight, n),
            categories=self._categories,
            enable_categorical=self.enable_categorical,
            qid=qid if qid is not None else np.zeros(n, dtype=np.int64),
        )
        return float(next(iter(self._booster.eval(d, self._score_metrics()).values())))
