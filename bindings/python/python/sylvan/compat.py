"""XGBoost's names for Sylvan's Python API, so that a script written for XGBoost runs on Sylvan by
changing its import: ``import sylvan.compat as xgb``.

``DMatrix`` (and ``QuantileDMatrix``) is :class:`sylvan.Dataset`; ``train``, ``cv``, ``Booster``
and ``callback`` are Sylvan's; ``XGBRegressor``, ``XGBClassifier`` and ``XGBRanker`` are the
scikit-learn estimators. Parameters keep XGBoost's names throughout.
"""

from . import callback
from .core import Booster, DataIter, Dataset, train
from .cross_validation import cv
from .plotting import plot_importance, plot_tree
from .sklearn import SylvanClassifier, SylvanRanker, SylvanRegressor

DMatrix = Dataset
QuantileDMatrix = Dataset
XGBRegressor = SylvanRegressor
XGBClassifier = SylvanClassifier
XGBRanker = SylvanRanker

__all__ = [
    "Booster",
    "DMatrix",
    "DataIter",
    "QuantileDMatrix",
    "XGBClassifier",
    "XGBRanker",
    "XGBRegressor",
    "callback",
    "cv",
    "plot_importance",
    "plot_tree",
    "train",
]
