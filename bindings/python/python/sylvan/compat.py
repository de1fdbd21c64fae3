"""XGBoost's names for Sylvan's Python API, so that a script written for XGBoost runs on Sylvan by
changing its import: ``import sylvan.compat as xgb``.

``DMatrix`` (and ``QuantileDMatrix``) is :class:`sylvan.Dataset`; ``train``, ``cv``, ``Booster``
and ``callback`` are Sylvan's; ``XGBRegressor``, ``XGBClassifier`` and ``XGBRanker`` are the
scikit-learn estimators. Parameters keep XGBoost's names throughout.
"""

from typing import Any, Optional

from . import callback
from .core import Booster, DataIter, Dataset, train
from .cross_validation import cv
from .plotting import plot_importance, plot_tree
from .sklearn import SylvanClassifier, SylvanRanker, SylvanRegressor

DMatrix = Dataset


def QuantileDMatrix(  # noqa: N802 (XGBoost's name)
    data: Any, label: Any = None, *, ref: Optional[Dataset] = None, max_bin: int = 256, **kwargs: Any
) -> Dataset:
    """XGBoost's ``QuantileDMatrix``: a :class:`sylvan.Dataset`, binned as it is read when ``data``
    is a :class:`sylvan.DataIter` (with the cuts of ``ref``, the ``reference``, when given). Array
    data stays a plain Dataset, binned by training with its ``max_bin`` parameter."""
    return Dataset(data, label=label, reference=ref, max_bin=max_bin, **kwargs)

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
