"""Sylvan: gradient boosted decision trees with a Rust core.

- :class:`SylvanRegressor`, :class:`SylvanClassifier`, :class:`SylvanRanker`: scikit-learn
  estimators (XGBoost's scikit-learn parameter names; the ranker has XGBRanker's interface).
- :class:`Dataset`, :class:`Booster`, :func:`train`, :func:`cv`: the low-level API (XGBoost's
  parameter names), with the model files of the ``sylvan`` command line tool; custom objectives and
  metrics, and XGBoost's callbacks (:mod:`sylvan.callback`).
- :func:`plot_importance`, :func:`plot_metric`, :func:`plot_tree`: matplotlib plots (matplotlib is
  optional, imported when a plot is drawn).
- ``sylvan.dask`` (import it explicitly; needs dask and distributed): training on a Dask cluster,
  one rank per worker, giving the one-process model bit for bit (docs/distributed-dask.md).
"""

from . import callback
from ._sylvan import SylvanError
from .core import Booster, DataIter, Dataset, train
from .cross_validation import cv
from .plotting import plot_importance, plot_metric, plot_tree
from .sklearn import SylvanClassifier, SylvanRanker, SylvanRegressor

__all__ = [
    "Booster",
    "DataIter",
    "callback",
    "cv",
    "Dataset",
    "SylvanClassifier",
    "SylvanError",
    "SylvanRanker",
    "SylvanRegressor",
    "plot_importance",
    "plot_metric",
    "plot_tree",
    "train",
]
