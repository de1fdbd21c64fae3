"""The low-level API: :class:`Dataset`, :class:`Booster` and :func:`train`.

Parameter names are XGBoost's (``eta``/``learning_rate``, ``max_depth``, ``lambda``, ``objective`` ...).
Models are the files of the ``sylvan`` command line tool: Sylvan JSON (``.json``) or the compact
binary form (any other extension).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _sylvan
from ._hooks import RoundHooks
from ._sylvan import CATEGORIES_ATTRIBUTE, SylvanError
from .callback import EarlyStopping, EvaluationMonitor, TrainingCallback

__all__ = ["Booster", "Dataset", "train"]

_MODEL_FORMATS = ("xgboost-json", "lightgbm", "onnx")


# ---------------------------------------------------------------------------------------------
# Input conversion
# ---------------------------------------------------------------------------------------------


def _module_of(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _is_pandas_frame(data: Any) -> bool:
    return _module_of(data) == "pandas" and hasattr(data, "columns") and hasattr(data, "dtypes")


def _is_polars_frame(data: Any) -> bool:
    return _module_of(data) == "polars" and hasattr(data, "to_arrow") and hasattr(data, "columns")


def _is_arrow_table(data: Any) -> bool:
    return _module_of(data) == "pyarrow" and hasattr(data, "column_names") and hasattr(data, "columns")


def is_frame(data: Any) -> bool:
    """Whether ``data`` is a pandas or polars DataFrame or a pyarrow Table (or RecordBatch)."""
    return _is_pandas_frame(data) or _is_polars_frame(data) or _is_arrow_table(data)


def frame_columns(data: Any) -> List[str]:
    """The column names of a DataFrame or Table, as strings."""
    if _is_arrow_table(data):
        return [str(c) for c in data.column_names]
    return [str(c) for c in data.columns]


def frame_num_rows(data: Any) -> int:
    """The number of rows of a DataFrame or Table."""
    if _is_arrow_table(data):
        return int(data.num_rows)
    return int(data.shape[0])


def _encode_uniques(uniques: Sequence[Any], codes: np.ndarray, fixed: Optional[List[str]]):
    """Category codes of a column given as ``codes`` (-1 = missing) into its distinct values
    ``uniques``, through Sylvan's encoder (codes in sorted order of the strings; with ``fixed``
    categories an unseen one is missing). Returns ``(f32 column, categories)``."""
    strings = [None if u is None else str(u) for u in uniques]
    mapped, categories = _sylvan.encode_categories(strings, fixed)
    mapped = np.append(np.asarray(mapped, dtype=np.float32), np.float32(np.nan))
    codes = np.asarray(codes, dtype=np.int64)
    codes = np.where(codes < 0, len(strings), codes)
    return np.ascontiguousarray(mapped[codes]), list(categories)


_ENABLE_CATEGORICAL = (
    "pass enable_categorical=True (the default) to use them as categorical features, or encode them as numbers"
)


def _pandas_is_categorical(dt: Any) -> bool:
    """Whether a pandas dtype holds categories: ``category``, strings or Python objects."""
    import pandas as pd

    return isinstance(dt, pd.CategoricalDtype) or dt == object or pd.api.types.is_string_dtype(dt)


def _pandas_column(name: str, s: Any, fixed: Optional[List[str]]):
    """One pandas column as f32: ``(values, categories or None)``."""
    import pandas as pd

    dt = s.dtype
    if _pandas_is_categorical(dt):
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        return _encode_uniques(list(np.asarray(uniques, dtype=object)), codes, fixed)
    if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt):
        if fixed is not None:
            raise TypeError(f"column `{name}` was categorical (strings) in training but is numeric here")
        return np.ascontiguousarray(s.to_numpy(dtype=np.float32, na_value=np.nan)), None
    raise TypeError(f"column `{name}` has type {dt}, which cannot be a feature (numbers, booleans, strings)")


def _arrow_is_string(t: Any) -> bool:
    import pyarrow as pa

    is_string = pa.types.is_string(t) or pa.types.is_large_string(t)
    return is_string or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t))


def _arrow_is_categorical(t: Any) -> bool:
    """Whether a pyarrow type holds categories: a dictionary (of any values) or strings."""
    import pyarrow as pa

    return pa.types.is_dictionary(t) or _arrow_is_string(t)


def _arrow_column(name: str, col: Any, fixed: Optional[List[str]]):
    """One pyarrow (chunked) array as f32: ``(values, categories or None)``."""
    import pyarrow as pa

    t = col.type
    if isinstance(col, pa.ChunkedArray):
        # Chunks of a dictionary column may hold different dictionaries; combining unifies them.
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(t):
        # The dictionary's values are the categories (polars Categorical/Enum and pandas category
        # columns arrive this way), named by their text; unused entries are not learned.
        codes = col.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
        return _encode_uniques(_observed(col.dictionary.to_pylist(), codes), codes, fixed)
    if _arrow_is_string(t):
        enc = col.dictionary_encode()
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return _encode_uniques(enc.dictionary.to_pylist(), codes, fixed)
    numeric = (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )
    if not numeric:
        raise TypeError(f"column `{name}` has type {t}, which cannot be a feature (numbers, booleans, strings)")
    if fixed is not None:
        raise TypeError(f"column `{name}` was categorical (strings) in training but is numeric here")
    values = col.cast(pa.float32(), safe=False).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(np.asarray(values, dtype=np.float32)), None


def _observed(dictionary: List[Any], codes: np.ndarray) -> List[Any]:
    """The dictionary with the entries no row uses replaced by None, so that a learning encoder
    records only the categories present in the data (as pandas and the CLI do)."""
    used = np.zeros(len(dictionary), dtype=bool)
    present = codes[codes >= 0]
    used[present] = True
    return [v if u else None for v, u in zip(dictionary, used)]


def _column_kinds(data: Any) -> List[Tuple[str, str, bool]]:
    """``(name, type text, categorical)`` for every column of a DataFrame or Table."""
    if _is_pandas_frame(data):
        return [(str(c), str(t), _pandas_is_categorical(t)) for c, t in zip(data.columns, data.dtypes)]
    if _is_polars_frame(data):
        return [(str(c), str(t), _polars_is_categorical(t)) for c, t in zip(data.columns, data.dtypes)]
    return [(str(f.name), str(f.type), _arrow_is_categorical(f.type)) for f in data.schema]


def _polars_is_categorical(t: Any) -> bool:
    """Whether a polars dtype holds categories: Categorical, Enum or strings."""
    import polars as pl

    return t in (pl.Categorical, pl.Enum, pl.Utf8) or isinstance(t, (pl.Categorical, pl.Enum))


def categorical_columns(data: Any) -> List[Tuple[str, str]]:
    """``(name, type)`` of the columns of a DataFrame or Table that are categorical features:
    pandas ``category``, string and object columns, polars ``Categorical``, ``Enum`` and string
    columns, pyarrow dictionary and string columns."""
    return [(n, t) for n, t, c in _column_kinds(data) if c]


def frame_to_columns(
    data: Any,
    categories: Optional[Mapping[str, List[str]]] = None,
    learn: bool = True,
    enable_categorical: bool = True,
):
    """Converts a DataFrame or Table into ``(names, f32 columns, categories, categorical)``.

    Categorical columns (:func:`categorical_columns`) become category codes: with ``categories`` (a
    mapping stored with a model) the codes are fixed and an unseen category is missing; otherwise
    (``learn``) each categorical column learns its categories, numbered in sorted order of their
    text -- exactly as the ``sylvan`` CLI reads Parquet and CSV files. Categories are matched by
    name, never by a library's physical codes. ``categorical`` lists the indices of those columns.
    With ``enable_categorical=False`` a categorical column is an error (as in XGBoost).
    """
    categories = dict(categories or {})
    names = frame_columns(data)
    if len(set(names)) != len(names):
        raise ValueError("column names must be distinct")
    if not enable_categorical:
        bad = categorical_columns(data)
        if bad:
            listed = ", ".join(f"`{n}` ({t})" for n, t in bad)
            raise ValueError(
                f"enable_categorical is False, but the data has categorical column(s) {listed}; {_ENABLE_CATEGORICAL}"
            )
    columns: List[np.ndarray] = []
    learned: Dict[str, List[str]] = {}
    if _is_pandas_frame(data):
        for j, name in enumerate(names):
            values, cats = _pandas_column(name, data.iloc[:, j], categories.get(name))
            columns.append(values)
            if cats is not None:
                learned[name] = cats
    else:
        if _is_polars_frame(data):
            data = data.to_arrow()
        for name, col in zip(names, data.columns):
            values, cats = _arrow_column(name, col, categories.get(name))
            columns.append(values)
            if cats is not None:
                learned[name] = cats
    if not learn:
        stray = [k for k in learned if k not in categories]
        if stray:
            raise TypeError(
                f"column(s) {', '.join(stray)} hold strings, but the model has no categories for them "
                "(it was trained on numbers there)"
            )
    categorical = [j for j, name in enumerate(names) if name in learned]
    return names, columns, learned, categorical


_TYPE_NAMES = {
    "q": False,
    "numerical": False,
    "float": False,
    "int": False,
    "i": False,
    "c": True,
    "categorical": True,
}


def _declared_categorical(feature_types: Optional[Sequence[str]], num_features: int) -> Optional[List[bool]]:
    """Which features ``feature_types`` declares categorical (None when not given)."""
    if feature_types is None:
        return None
    if isinstance(feature_types, str):
        raise TypeError("feature_types must be a list with one entry per feature, e.g. ['q', 'c']")
    types = [str(t) for t in feature_types]
    if len(types) != num_features:
        raise ValueError(f"feature_types has {len(types)} entries but the data has {num_features} features")
    bad = [t for t in types if t not in _TYPE_NAMES]
    if bad:
        raise ValueError(
            f"unknown feature type `{bad[0]}` (expected 'q' or 'numerical' for numbers, "
            "'c' or 'categorical' for category codes)"
        )
    return [_TYPE_NAMES[t] for t in types]


def _vector(values: Any, what: str) -> Optional[np.ndarray]:
    """A 1-D contiguous float32 array (labels, weights, margins), or None."""
    if values is None:
        return None
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what} must be numbers: {e}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _labels(values: Any) -> Tuple[Optional[np.ndarray], int]:
    """Labels as Sylvan reads them: ``(values, label columns)``. A 1-D array (or a single column,
    ``(rows, 1)``) is one label per row; a ``(rows, T)`` array or DataFrame with ``T > 1`` holds
    several targets, passed row-major. None stays None."""
    if values is None:
        return None, 1
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        if arr.dtype == object:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError(f"label must be numbers: {e}") from None
        return np.ascontiguousarray(arr, dtype=np.float32).ravel(), int(arr.shape[1])
    return _vector(arr, "label"), 1


def _take_rows(values: Any, rows: np.ndarray) -> Any:
    """The rows ``rows`` of an array, DataFrame, Table, Series or sparse matrix, keeping its kind."""
    module = _module_of(values)
    if module == "pandas":
        return values.iloc[rows]
    if module == "polars":
        return values[rows.tolist()]
    if module == "pyarrow":
        return values.take(rows)
    if module == "scipy":
        return values.tocsr()[rows]
    return np.asarray(values)[rows]


def _query_ids(qid: Any, num_rows: Optional[int]) -> Optional[np.ndarray]:
    """One uint64 id per row from query ids of any type (integers, strings, ...): equal values get
    equal ids. The rows of a query need not be contiguous. None stays None."""
    if qid is None:
        return None
    if hasattr(qid, "to_numpy") and not isinstance(qid, np.ndarray):
        qid = qid.to_numpy()
    arr = np.asarray(qid)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"qid must be one-dimensional, got shape {arr.shape}")
    if num_rows is not None and len(arr) != num_rows:
        raise ValueError(f"qid has {len(arr)} values but the data has {num_rows} rows")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"qid is missing (NaN) in row {int(np.flatnonzero(np.isnan(arr))[0])}; every row needs one")
    try:
        _, inverse = np.unique(arr, return_inverse=True)
    except TypeError as e:
        raise ValueError(f"qid values must be comparable (all numbers or all strings): {e}") from None
    return np.ascontiguousarray(inverse.ravel(), dtype=np.uint64)


def _group_sizes(group: Any) -> Optional[List[int]]:
    """Sizes of consecutive query groups (XGBoost's ``group``), as a list of ints. None stays None."""
    if group is None:
        return None
    arr = np.asarray(group)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise ValueError("group must be a 1-D list of group sizes (positive integers)")
    if (arr <= 0).any():
        raise ValueError(f"group sizes must be >= 1, got {arr[arr <= 0][0]} for group {int(np.flatnonzero(arr <= 0)[0])}")
    return [int(v) for v in arr]


def _margins(values: Any) -> Optional[np.ndarray]:
    """Base margins as Sylvan reads them: ``rows`` values, or ``(rows, outputs)`` for multi-output
    models (as XGBoost takes them), flattened row-major. None stays None."""
    if values is None:
        return None
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return np.ascontiguousarray(arr, dtype=np.float32).ravel()
    return _vector(arr, "base_margin")


def is_sparse(data: Any) -> bool:
    """Whether ``data`` is a scipy.sparse matrix or array (any format)."""
    return _module_of(data) == "scipy" and hasattr(data, "tocsc") and hasattr(data, "nnz")


def _csc(data: Any) -> Any:
    """A scipy sparse matrix or array as CSC with sorted, distinct row indices (a copy unless it
    already is one), float32 values."""
    m = data.tocsc(copy=False)
    if m.dtype != np.float32:
        m = m.astype(np.float32)
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
        m.sort_indices()
    return m


def _matrix(data: Any) -> np.ndarray:
    """A 2-D float32 array from an array-like. C- and Fortran-ordered float32 arrays are passed
    through untouched (read in place by Rust); other dtypes are converted keeping the layout."""
    arr = np.asarray(data)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"features must be numbers: {e}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"features must be numbers or booleans, got an array of dtype {arr.dtype}")
    if arr.ndim == 1:
        raise ValueError(
            "expected a 2-D array of features, got a 1-D array; reshape with "
            "array.reshape(-1, 1) for one feature or array.reshape(1, -1) for one row"
        )
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D array of features, got {arr.ndim} dimensions")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32, order="K")
    return arr


# ---------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------


class DataIter:
    """Data given in chunks, as XGBoost's ``DataIter``: subclass it and implement :meth:`next`
    and :meth:`reset`, then build ``Dataset(it, max_bin=...)`` (or ``QuantileDMatrix``). The data
    set bins the chunks as it reads them and never holds the float values whole: three passes
    over the chunks (rows counted, cut points, bins; two with ``reference=``, whose cuts it
    takes), each starting with ``reset()``; every pass must give the same rows in the same order.
    Chunks are numeric arrays (NumPy, or scipy.sparse); a DataFrame chunk with categorical columns
    is refused (its codes would differ between chunks).

    Such a data set trains with ``tree_method="hist"`` (row sampling, GOSS and DART included)
    and gives the model the in-memory data set gives. Models walk its rows by bin: predicting on it,
    or evaluating on a set binned with the training set's cuts (``reference=``), is exact for
    models trained on those cuts, and refused for a model whose splits lie elsewhere.
    """

    def next(self, input_data: Callable[..., None]) -> bool:
        """Gives the next chunk by calling ``input_data(data=X, label=y, weight=w,
        base_margin=m)`` (``label`` etc. optional) and returns True, or returns False when there is
        no chunk left."""
        raise NotImplementedError("DataIter.next")

    def reset(self) -> None:
        """Starts again from the first chunk."""
        raise NotImplementedError("DataIter.reset")


def _chunks(it: DataIter) -> Any:
    """The chunks of one pass over ``it``: ``dict(data=..., label=..., ...)`` each."""
    it.reset()
    while True:
        got: Dict[str, Any] = {}

        def input_data(data: Any, label: Any = None, weight: Any = None, base_margin: Any = None, **rest: Any) -> None:
            unknown = [k for k, v in rest.items() if v is not None]
            if unknown:
                raise ValueError(f"DataIter: {', '.join(unknown)} cannot be given in chunks here")
            got.update(data=data, label=label, weight=weight, base_margin=base_margin)

        if not it.next(input_data):
            return
        if "data" not in got:
            raise ValueError("DataIter.next returned True without calling input_data(data=...)")
        yield got


def _from_iterator(it: DataIter, max_bin: int, feature_names: Optional[Sequence[str]],
                   feature_types: Optional[Sequence[str]], reference: Optional["Dataset"]) -> Any:
    """The extension's data set of the chunks of ``it``, binned as they are read (with the cuts of
    ``reference`` when given)."""
    rows, labels, weights, margins = 0, [], [], []
    num_features = None
    for c in _chunks(it):
        x = c["data"]
        if is_frame(x) and categorical_columns(x):
            raise ValueError("DataIter chunks with categorical columns are not supported: encode them as codes "
                             "and declare them with feature_types")
        n, nf = (frame_num_rows(x), len(frame_columns(x))) if is_frame(x) else np.shape(x)[:2]
        num_features = nf if num_features is None else num_features
        rows += n
        for part, store in ((c["label"], labels), (c["weight"], weights), (c["base_margin"], margins)):
            if part is not None:
                store.append(np.asarray(part, dtype=np.float32).reshape(n, -1))
    if num_features is None or rows == 0:
        raise ValueError("DataIter gave no rows")
    declared = _declared_categorical(feature_types, num_features) or [False] * num_features
    binning = _sylvan._ChunkedBinning(rows, [bool(c) for c in declared], int(max_bin),
                                      None if reference is None else reference._handle)
    if binning.needs_cuts():
        for c in _chunks(it):
            # The weights weigh the cut sample, as in the in-memory data set.
            binning.add(Dataset(c["data"], weight=c["weight"], feature_types=feature_types)._handle)
        binning.next_pass()
    for c in _chunks(it):
        binning.add(Dataset(c["data"], feature_types=feature_types)._handle)

    def joined(parts: List[np.ndarray], what: str) -> Optional[np.ndarray]:
        if not parts:
            return None
        if sum(len(p) for p in parts) != rows:
            raise ValueError(f"DataIter: every chunk must give {what}, or none")
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    label = joined(labels, "a label")
    num_targets = 1 if label is None or label.ndim == 1 or label.shape[1] == 1 else label.shape[1]
    names = None if feature_names is None else [str(n) for n in feature_names]
    return binning.finish(
        None if label is None else label.ravel(),
        None if not weights else joined(weights, "a weight").ravel(),
        None if not margins else joined(margins, "a base_margin").ravel(),
        names,
        num_targets=num_targets,
    )


class Dataset:
    """Training or prediction data for Sylvan.

    Parameters
    ----------
    data : array-like, scipy.sparse matrix, pandas/polars DataFrame or pyarrow Table
        The features. A scipy.sparse matrix or array (CSR, CSC or any other format) stays sparse:
        entries it does not store are missing values, as in XGBoost (stored zeros are zeros). NumPy float32 arrays in C or Fortran order are read in place; other arrays are
        converted to float32. NaN (and nulls) are missing values. In a DataFrame or Table,
        categorical columns -- pandas ``category``, string and object columns, polars
        ``Categorical``, ``Enum`` and string columns, pyarrow dictionary and string columns -- are
        categorical features (split by sets of categories); booleans are 0/1.
    label : array-like, optional
        Labels: ``rows`` values, or ``(rows, T)`` (a 2-D array or DataFrame) for ``T`` targets
        (multi-output regression, multi-label classification with ``binary:logistic``; element-wise
        objectives only). A ``(rows, 1)`` array is one target. Every label must be finite; a bad
        one is reported with its row and target (0-based column).
    weight, base_margin : array-like, optional
        Sample weights (non-negative), and starting margins (``rows`` values, or for models with
        several outputs ``(rows, outputs)`` or ``rows * outputs`` values row-major).
    feature_names : list of str, optional
        Names of the features (default: a DataFrame's column names).
    categories : dict, optional
        A fixed mapping ``{column: [category, ...]}`` (e.g. a model's), used instead of learning.
        Categories are matched by name: an incoming category gets the code of its position in the
        list, and a category the mapping lacks is a missing value.
    reference : Dataset, optional
        A training set whose categories this (validation) set uses. With a :class:`DataIter`, a
        Dataset read from a DataIter whose cut points (and ``max_bin``) bin the chunks, as
        XGBoost's ``QuantileDMatrix(..., ref=dtrain)``: the set can then evaluate the models
        trained on ``reference``.
    feature_types : list of str, optional
        The type of every feature, as in XGBoost: ``"q"`` (or ``"numerical"``) for numbers, ``"c"``
        (or ``"categorical"``) for category codes. Numeric features declared ``"c"`` must hold
        integer codes ``0, 1, ...`` (NaN missing), taken as they are. Categorical columns of a
        DataFrame are categorical whatever this says (declaring one ``"q"`` is an error). The
        ``categorical_features`` training parameter declares features by name or index instead.
    enable_categorical : bool, default True
        Whether categorical columns of a DataFrame or Table may be used (as categorical features).
        With False such a column is an error, as in XGBoost; numeric columns are unaffected.
    qid : array-like, optional
        Ranking: one query id per row (XGBoost's ``qid``), of any type (integers, strings ...).
        The rows of a query need not be contiguous (unlike XGBoost, which wants them sorted).
    group : array-like of int, optional
        Ranking: the sizes of consecutive query groups (XGBoost's ``set_group``, LightGBM's
        ``group``); they must add up to the number of rows. Give ``qid`` or ``group``, not both.
    max_bin : int, default 256
        With a :class:`DataIter`: the most bins per feature the chunks are binned into (training
        then uses it; another ``max_bin`` parameter is an error).
    label_lower_bound, label_upper_bound : array-like, optional
        Survival (``survival:aft``): the interval each row's label lies in (XGBoost's names).
        ``lower == upper`` is an exact time, an upper bound of ``+inf`` (or NaN) is right-censored,
        a lower bound of 0 left-censored. Give both or neither; ``0 <= lower <= upper``.
    """

    def __init__(
        self,
        data: Any,
        label: Any = None,
        weight: Any = None,
        base_margin: Any = None,
        feature_names: Optional[Sequence[str]] = None,
        categories: Optional[Mapping[str, List[str]]] = None,
        reference: Optional["Dataset"] = None,
        feature_types: Optional[Sequence[str]] = None,
        enable_categorical: bool = True,
        qid: Any = None,
        group: Any = None,
        label_lower_bound: Any = None,
        label_upper_bound: Any = None,
        max_bin: int = 256,
    ) -> None:
        self._max_bin: Optional[int] = None
        if isinstance(data, DataIter):
            if reference is not None and reference._max_bin is None:
                raise ValueError("a Dataset read from a DataIter takes its cuts from a reference read from a "
                                 "DataIter too (reference=)")
            self._handle = _from_iterator(data, max_bin, feature_names, feature_types, reference)
            self._max_bin = int(max_bin) if reference is None else reference._max_bin
            self.categories = {}
            self._fixed = True
            self._source = None
            self._targets = {}
            return
        if reference is not None and categories is None:
            categories = reference.categories
        self._source = (data, label, weight, base_margin, feature_names, feature_types, enable_categorical)
        self._targets = dict(
            qid=qid, group=group, label_lower_bound=label_lower_bound, label_upper_bound=label_upper_bound
        )
        if qid is not None and group is not None:
            raise ValueError("give qid or group, not both")
        if (label_lower_bound is None) != (label_upper_bound is None):
            raise ValueError("label_lower_bound and label_upper_bound come in pairs: give both")
        num_rows = (
            frame_num_rows(data) if is_frame(data) else data.shape[0] if is_sparse(data)
            else len(data) if hasattr(data, "__len__") else None
        )
        targets = dict(
            qid=None if qid is None else _query_ids(qid, num_rows),
            group=_group_sizes(group),
            label_lower_bound=_vector(label_lower_bound, "label_lower_bound"),
            label_upper_bound=_vector(label_upper_bound, "label_upper_bound"),
        )
        self._fixed = categories is not None
        label_v, num_targets = _labels(label)
        weight_v = _vector(weight, "weight")
        margin_v = _margins(base_margin)
        if isinstance(data, Dataset):
            raise TypeError("data is already a Dataset")
        if is_frame(data):
            names, columns, cats, categorical = frame_to_columns(
                data, categories, learn=categories is None, enable_categorical=enable_categorical
            )
            declared = _declared_categorical(feature_types, len(columns))
            if declared is not None:
                numeric_cats = [names[j] for j in categorical if not declared[j]]
                if numeric_cats:
                    raise ValueError(
                        f"feature_types declares column `{numeric_cats[0]}` numerical ('q'), but it holds "
                        "categories; declare it 'c' or encode it as numbers"
                    )
                categorical = [j for j, c in enumerate(declared) if c]
            if feature_names is not None:
                names = [str(n) for n in feature_names]
            self.categories: Dict[str, List[str]] = cats
            self._handle = _sylvan._Dataset.from_columns(
                columns, label_v, weight_v, margin_v, names, categorical, num_targets=num_targets, **targets
            )
        elif is_sparse(data):
            m = _csc(data)
            names = None if feature_names is None else [str(n) for n in feature_names]
            declared = _declared_categorical(feature_types, m.shape[1])
            categorical = [] if declared is None else [j for j, c in enumerate(declared) if c]
            self.categories = {}
            self._handle = _sylvan._Dataset.from_csc(
                m.shape[0],
                np.ascontiguousarray(m.indptr, dtype=np.int64),
                np.ascontiguousarray(m.indices, dtype=np.int64),
                np.ascontiguousarray(m.data, dtype=np.float32),
                label_v, weight_v, margin_v, names, categorical, num_targets=num_targets, **targets,
            )
        else:
            x = _matrix(data)
            names = None if feature_names is None else [str(n) for n in feature_names]
            declared = _declared_categorical(feature_types, x.shape[1])
            categorical = [] if declared is None else [j for j, c in enumerate(declared) if c]
            self.categories = {}
            self._handle = _sylvan._Dataset.from_matrix(
                x, label_v, weight_v, margin_v, names, categorical, num_targets=num_targets, **targets
            )

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return self._handle.num_rows

    @property
    def num_features(self) -> int:
        """Number of feature columns."""
        return self._handle.num_features

    @property
    def feature_names(self) -> Optional[List[str]]:
        """The feature names, if any."""
        return self._handle.feature_names

    @property
    def feature_types(self) -> List[str]:
        """The type of every feature, as XGBoost's letters: ``"q"`` numerical, ``"c"`` categorical."""
        return list(self._handle.feature_types)

    @property
    def num_targets(self) -> int:
        """Label columns per row (1 unless ``label`` had several columns)."""
        return self._handle.num_targets

    @property
    def num_queries(self) -> Optional[int]:
        """The number of query groups (ranking), or None when none are attached."""
        return self._handle.num_queries

    @property
    def label_bounds(self) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """The label bounds ``(lower, upper)`` (survival), or None when none are attached."""
        b = self._handle.label_bounds
        return None if b is None else (np.asarray(b[0], dtype=np.float32), np.asarray(b[1], dtype=np.float32))

    # XGBoost's DMatrix accessors, for custom objectives and metrics.

    def get_label(self) -> np.ndarray:
        """The labels (float32): ``(rows,)``, or ``(rows, T)`` with several targets; empty when
        unlabelled."""
        labels = np.asarray(self._handle.labels())
        t = self.num_targets
        return labels.reshape(-1, t) if t > 1 and labels.size else labels

    def get_weight(self) -> np.ndarray:
        """The sample weights (float32; empty when there are none, as XGBoost's)."""
        w = self._handle.weights()
        return np.zeros(0, dtype=np.float32) if w is None else np.asarray(w)

    def get_base_margin(self) -> np.ndarray:
        """The base margins (float32, row-major; empty when there are none)."""
        m = self._handle.base_margins()
        return np.zeros(0, dtype=np.float32) if m is None else np.asarray(m)

    def num_row(self) -> int:
        """Number of rows (XGBoost's name)."""
        return self.num_rows

    def num_col(self) -> int:
        """Number of features (XGBoost's name)."""
        return self.num_features

    def slice(self, rindex: Sequence[int]) -> "Dataset":
        """The rows ``rindex`` (0-based, any order, repeats allowed) as a new Dataset, like
        XGBoost's ``DMatrix.slice``: features, labels, weights, base margins, query ids and label
        bounds alike; categorical columns keep this set's category codes."""
        if self._source is None:
            raise ValueError("a Dataset read from a DataIter holds no feature values and cannot be sliced")
        rows = np.asarray(rindex, dtype=np.int64).ravel()
        n = self.num_rows
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"slice: row index out of range for a Dataset of {n} rows")
        data, label, weight, base_margin, names, types, enable = self._source
        qid, group = self._targets["qid"], self._targets["group"]
        if group is not None:  # group sizes do not survive a row selection: ids per row do
            qid = np.repeat(np.arange(len(group)), np.asarray(group, dtype=np.int64))
        take = lambda v: None if v is None else _take_rows(v, rows)  # noqa: E731
        return Dataset(
            _take_rows(data, rows),
            take(label),
            take(weight),
            take(base_margin),
            names,
            categories=self.categories or None,
            feature_types=types,
            enable_categorical=enable,
            qid=take(qid),
            label_lower_bound=take(self._targets["label_lower_bound"]),
            label_upper_bound=take(self._targets["label_upper_bound"]),
        )

    def _with_categories(self, categories: Mapping[str, List[str]]) -> "Dataset":
        """This data set read again with fixed ``categories`` (for a validation set)."""
        data, label, weight, base_margin, names, types, enable = self._source
        return Dataset(
            data, label, weight, base_margin, names, categories=categories, feature_types=types,
            enable_categorical=enable, **self._targets,
        )

    def __repr__(self) -> str:
        return f"<sylvan.Dataset {self.num_rows} rows x {self.num_features} features>"


# ---------------------------------------------------------------------------------------------
# Booster
# ---------------------------------------------------------------------------------------------


def _param_value(value: Any) -> str:
    """A parameter value as the text `Params::set` parses."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        # A list of levels (quantile_alpha=[0.1, 0.5, 0.9]) or of metrics: Params reads "a,b,c".
        return ",".join(_param_value(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


# Parameters whose values are given per feature or as feature groups, with every alias Sylvan
# accepts. Their Python values (lists, tuples, dicts, arrays, Series) are sent as JSON text, which
# ``Params::set`` reads as a list by position, a map by feature name, or a list of groups.
_PER_FEATURE_PARAMS = {
    "monotone_constraints",
    "monotone_constraint",
    "mc",
    "interaction_constraints",
    "interaction_constraint",
    "feature_weights",
}


def _plain(value: Any, name: str) -> Any:
    """A per-feature value as plain JSON data: numbers, strings, and lists of them (NumPy scalars
    and arrays included). Anything else is a ``TypeError`` naming the parameter."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    raise TypeError(f"{name}: cannot use a value of type {type(value).__name__} ({value!r})")


def _per_feature_value(name: str, value: Any) -> str:
    """A ``monotone_constraints`` / ``interaction_constraints`` / ``feature_weights`` value as the
    text Sylvan parses: strings pass unchanged (XGBoost's ``"(1,0,-1)"``, ``"[[0, 1]]"``); a dict
    (by feature name, or index) or a pandas Series (indexed by feature name) becomes a JSON
    object; a list, tuple or array becomes a JSON list (of lists, for feature groups)."""
    if isinstance(value, (str, np.str_)):
        return str(value)
    if _module_of(value) == "pandas" and hasattr(value, "index") and hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return json.dumps({str(k): _plain(v, name) for k, v in value.items()})
    if isinstance(value, (list, tuple, np.ndarray)):
        return json.dumps(_plain(value, name))
    return _param_value(value)


def param_pairs(params: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """``(name, value)`` text pairs for Sylvan from a parameter dict (None values are left out).
    Per-feature parameters (``monotone_constraints``, ``interaction_constraints``,
    ``feature_weights``) may be lists, tuples, arrays, dicts by feature name or strings."""
    return [
        (str(k), _per_feature_value(str(k), v) if str(k) in _PER_FEATURE_PARAMS else _param_value(v))
        for k, v in params.items()
        if v is not None
    ]


def categories_json(categories: Mapping[str, List[str]]) -> str:
    """The category mapping as the JSON the CLI stores (sorted keys, compact)."""
    return json.dumps({k: list(categories[k]) for k in sorted(categories)}, separators=(",", ":"), ensure_ascii=False)


class Booster:
    """A fitted Sylvan model.

    Create one with :func:`train`, or load a model file: ``Booster(model_file="m.json")`` or
    ``Booster.load("m.sylvan")``. Pickling stores the model's binary form.
    """

    def __init__(self, model_file: Optional[os.PathLike] = None, *, _handle: Any = None) -> None:
        if model_file is not None:
            _handle = _sylvan._Booster.load(os.fspath(model_file))
        self._handle = _handle
        # The evaluation log of a run with custom metrics (the model keeps the built-in ones).
        self._history: Optional[Dict[str, Dict[str, List[float]]]] = None

    def __getitem__(self, rounds: Any) -> "Booster":
        """The model of some rounds only, as XGBoost's ``booster[start:end]``: a slice of rounds
        (step 1) or one round's index."""
        self._check()
        n = self.num_boosted_rounds()
        if isinstance(rounds, (int, np.integer)):
            i = int(rounds) + n if rounds < 0 else int(rounds)
            start, end = i, i + 1
        elif isinstance(rounds, slice):
            start, end, step = rounds.indices(n)
            if step != 1:
                raise ValueError(f"a slice of rounds must have step 1, got {step}")
        else:
            raise TypeError(f"index rounds with an int or a slice, not {type(rounds).__name__}")
        if not 0 <= start < end <= n:
            raise IndexError(f"rounds {start}:{end} are out of range for a model of {n} rounds")
        return Booster(_handle=self._handle.slice_rounds(start, end))

    def _set_best(self, iteration: int, score: Optional[float]) -> None:
        """Records the best round and score (early stopping by a callback)."""
        self._handle.set_best_iteration(int(iteration), None if score is None else float(score))

    # -- files --------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: os.PathLike) -> "Booster":
        """Loads a model written by :meth:`save_model` or the ``sylvan`` CLI (JSON or binary)."""
        return cls(_handle=_sylvan._Booster.load(os.fspath(path)))

    def load_model(self, fname: Any) -> "Booster":
        """Replaces this model by the one in file ``fname`` (JSON or binary, detected from the
        content), or in the bytes ``fname`` (``bytes``/``bytearray``/``memoryview``: what
        :meth:`save_raw` returns, binary or JSON), as XGBoost's ``load_model``."""
        if isinstance(fname, (bytes, bytearray, memoryview)):
            raw = bytes(fname)
            if raw.lstrip()[:1] == b"{":
                self._handle = _sylvan._Booster.from_json(raw.decode("utf-8"))
            else:
                self._handle = _sylvan._Booster.from_bytes(raw)
        else:
            self._handle = _sylvan._Booster.load(os.fspath(fname))
        self._history = None
        return self

    def save_model(self, path: os.PathLike) -> None:
        """Saves the model: Sylvan JSON when ``path`` ends in ``.json``, the compact binary form
        otherwise (the CLI uses ``.sylvan``). Written atomically."""
        self._check()
        self._handle.save(os.fspath(path))

    def export_model(self, path: os.PathLike, format: str = "xgboost-json") -> None:
        """Writes the model in another library's format: ``xgboost-json``, ``lightgbm`` (text) or
        ``onnx``. Only the rounds used for prediction (up to the best iteration) are written."""
        self._check()
        if format not in _MODEL_FORMATS:
            raise ValueError(f"unknown model format `{format}` (expected one of {', '.join(_MODEL_FORMATS)})")
        self._handle.export(os.fspath(path), format)

    @classmethod
    def import_model(cls, path: os.PathLike, format: str = "xgboost-json") -> "Booster":
        """Reads an XGBoost JSON or LightGBM text model into a Sylvan booster."""
        return cls(_handle=_sylvan._Booster.import_model(os.fspath(path), format))

    def save_raw(self, raw_format: str = "binary") -> bytearray:
        """The model in memory, as XGBoost's ``save_raw``: the compact binary form
        (``raw_format`` ``"binary"``; XGBoost's ``"ubj"`` and ``"deprecated"`` give it too), or
        Sylvan JSON (``"json"``). :meth:`load_model` and :meth:`from_bytes` read either."""
        self._check()
        if raw_format == "json":
            return bytearray(self._handle.to_json().encode("utf-8"))
        if raw_format not in ("binary", "ubj", "deprecated"):
            raise ValueError(f"raw_format must be 'binary' or 'json' (or XGBoost's 'ubj'), got {raw_format!r}")
        return bytearray(self._handle.to_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Booster":
        """A model from :meth:`save_raw`'s bytes (binary or JSON)."""
        return cls().load_model(bytes(raw))

    def to_json(self) -> str:
        """The model as Sylvan JSON text."""
        self._check()
        return self._handle.to_json()

    def __getstate__(self) -> Dict[str, Any]:
        return {"model": None if self._handle is None else bytes(self.save_raw())}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        raw = state.get("model")
        self._handle = None if raw is None else _sylvan._Booster.from_bytes(raw)
        self._history = None

    def __copy__(self) -> "Booster":
        return self.__deepcopy__(None)

    def __deepcopy__(self, memo: Any) -> "Booster":
        return Booster() if self._handle is None else Booster.from_bytes(self.save_raw())

    def trees_to_dataframe(self) -> Any:
        """Every node of every tree as a row of a pandas DataFrame, with XGBoost's columns:
        ``Tree``, ``Node``, ``ID`` (``"tree-node"``), ``Feature`` (its name, or ``"Leaf"``),
        ``Split`` (rows with ``value < Split`` go to ``Yes``), ``Yes``, ``No``, ``Missing`` (the
        child missing values go to), ``Gain`` (the split's loss reduction, or a leaf's value),
        ``Cover`` (hessian sum) and ``Category`` (a category-set split: the categories that go to
        ``Yes``, by name when the model knows them, else by code; ``Split`` is then NaN)."""
        import pandas as pd

        self._check()
        model = json.loads(self._handle.to_json())
        names = self._feature_labels(self.num_features())
        known = self.categories
        rows = []
        for t, tree in enumerate(model["trees"]):
            sets = tree.get("categories") or {}
            node_set, all_sets = sets.get("node_set", []), sets.get("sets", [])
            for n, left in enumerate(tree["left"]):
                leaf = left < 0
                s = node_set[n] if n < len(node_set) else 0
                category = np.nan
                if not leaf and s > 0:
                    codes = [32 * w + b for w, word in enumerate(all_sets[s - 1]) for b in range(32) if word >> b & 1]
                    labels = known.get(names[tree["feature"][n]])
                    category = [labels[c] if labels and c < len(labels) else c for c in codes]
                right = tree["right"][n]
                yes, no = (np.nan, np.nan) if leaf else (f"{t}-{left}", f"{t}-{right}")
                rows.append(
                    {
                        "Tree": t,
                        "Node": n,
                        "ID": f"{t}-{n}",
                        "Feature": "Leaf" if leaf else names[tree["feature"][n]],
                        "Split": np.nan if leaf or s > 0 else float(tree["threshold"][n]),
                        "Yes": yes,
                        "No": no,
                        "Missing": np.nan if leaf else (yes if tree["default_left"][n] else no),
                        "Gain": float(tree["value"][n]) if leaf else float(tree["gain"][n]),
                        "Cover": float(tree["cover"][n]),
                        "Category": category,
                    }
                )
        columns = ["Tree", "Node", "ID", "Feature", "Split", "Yes", "No", "Missing", "Gain", "Cover", "Category"]
        return pd.DataFrame(rows, columns=columns)

    # -- prediction ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._handle is None:
            raise ValueError("the booster holds no model (train or load one first)")

    def _dataset(self, data: Any) -> Dataset:
        """``data`` as a Dataset for this model: DataFrame columns are matched by name when the
        model has feature names, and categorical columns are re-encoded by category name with the
        model's categories (a category unseen in training is a missing value)."""
        if isinstance(data, Dataset):
            return data
        if is_frame(data):
            names = self.feature_names
            cols = frame_columns(data)
            if names is not None and cols != names:
                missing = [n for n in names if n not in cols]
                if missing:
                    raise ValueError(f"the data lacks the model's feature column(s): {', '.join(missing)}")
                data = _select_columns(data, names)
            return Dataset(data, categories=self.categories)
        return Dataset(data)

    def predict(
        self,
        data: Any,
        output_margin: bool = False,
        pred_leaf: bool = False,
        pred_contribs: bool = False,
        approx_contribs: bool = False,
        pred_interactions: bool = False,
        iteration_range: Optional[Tuple[int, int]] = None,
    ) -> np.ndarray:
        """Predicts for every row of ``data`` (a :class:`Dataset`, array or DataFrame).

        Categorical columns of a DataFrame or Table are matched to the model's categories by name,
        whatever codes or category order their dtype has; a category unseen in training is a
        missing value (it takes each split's default branch, as the CLI does). Arrays give the
        category codes directly.

        Returns a 1-D float32 array for one output per row, else ``(rows, outputs)``: class
        probabilities for ``multi:softprob``, one column per target for a model trained on several
        label columns, one per level for a list of ``quantile_alpha`` (sorted in each row, so they
        never cross) or ``expectile_alpha`` (increasing), raw margins with ``output_margin`` (for
        quantiles unsorted, in the order of the levels), the leaf index of every tree with
        ``pred_leaf``. ``iteration_range=(start, end)`` picks rounds; by default all
        rounds, or up to the best iteration when early stopping chose one.

        Explanations, as XGBoost gives them (float32, in margin space, for the same rounds):

        - ``pred_contribs=True``: SHAP values (exact path-dependent TreeSHAP), shape
          ``(rows, features + 1)`` for one output, ``(rows, outputs, features + 1)`` for several
          (classes, targets, levels). The last column is the bias (expected margin plus base
          margin); each row sums to the margin ``predict(..., output_margin=True)``.
        - ``approx_contribs=True`` (alone or with ``pred_contribs``): Saabas values, same shape.
        - ``pred_interactions=True``: SHAP interaction values, ``(rows, features + 1, features + 1)``
          or ``(rows, outputs, features + 1, features + 1)``; symmetric, and each matrix's rows sum
          to the contributions.

        ``pred_leaf`` with an explanation, ``pred_contribs`` with ``pred_interactions`` and
        ``approx_contribs`` with ``pred_interactions`` (approximate interactions) raise ValueError.
        ``output_margin`` does not change explanations: they are always in margin space.
        """
        self._check()
        output = _predict_output(output_margin, pred_leaf, pred_contribs, approx_contribs, pred_interactions)
        d = self._dataset(data)
        rng = None if iteration_range is None or tuple(iteration_range) == (0, 0) else tuple(iteration_range)
        p = self._handle.predict(d._handle, output, rng)
        if output not in _EXPLANATIONS and p.shape[1] == 1:
            return p[:, 0]
        return p

    def shap_importance(self, data: Any, as_dict: bool = True, iteration_range=None) -> Any:
        """Mean absolute SHAP value of every feature over the rows of ``data`` (summed over the
        outputs of a multi-output model): the importance the ``shap`` package's bar plot shows.

        Returns a dict by feature name (``f0``, ``f1`` ... without names), every feature included,
        in the model's feature order -- or, with ``as_dict=False``, a float64 array of one value per
        feature. The bias column is left out.
        """
        c = self.predict(data, pred_contribs=True, iteration_range=iteration_range)
        values = _mean_abs_shap(c)
        if not as_dict:
            return values
        return {n: float(v) for n, v in zip(self._feature_labels(len(values)), values)}

    def eval(self, data: Dataset, metrics: Sequence[str]) -> Dict[str, float]:
        """Evaluates metrics (XGBoost names: ``rmse``, ``logloss``, ``auc`` ...) on labelled data."""
        self._check()
        if isinstance(metrics, str):
            metrics = [metrics]
        return dict(self._handle.evaluate(data._handle, list(metrics)))

    # -- facts --------------------------------------------------------------------------------

    def feature_importance(self, importance_type: str = "gain") -> np.ndarray:
        """Importance of every feature, one value per feature in the model's order (not
        normalised): ``weight`` (splits on the feature), ``gain`` (mean loss reduction of its
        splits), ``total_gain``, ``cover`` (mean hessian sum of the rows its splits see) or
        ``total_cover`` -- XGBoost's definitions. For importance measured on data see
        :meth:`shap_importance`."""
        self._check()
        return np.asarray(self._handle.feature_importance(importance_type), dtype=np.float64)

    def get_score(self, importance_type: str = "weight") -> Dict[str, float]:
        """Importance by feature name (``f0``, ``f1`` ... without names), used features only, as
        ``xgboost.Booster.get_score``: ``importance_type`` is ``weight`` (the default, as in
        XGBoost), ``gain``, ``total_gain``, ``cover`` or ``total_cover``."""
        imp = self.feature_importance(importance_type)
        return {n: float(v) for n, v in zip(self._feature_labels(len(imp)), imp) if v > 0}

    def _feature_labels(self, n: int) -> List[str]:
        """The feature names, or ``f0``, ``f1`` ... when the model has none."""
        return self.feature_names or [f"f{i}" for i in range(n)]

    def num_boosted_rounds(self) -> int:
        """Number of boosting rounds in the model."""
        self._check()
        return self._handle.num_rounds

    def num_features(self) -> int:
        """Number of features the model expects."""
        self._check()
        return self._handle.num_features

    @property
    def best_iteration(self) -> Optional[int]:
        """The best round found by early stopping (None when it did not run)."""
        self._check()
        return self._handle.best_iteration

    @property
    def best_score(self) -> Optional[float]:
        """The best score found by early stopping (None when it did not run)."""
        self._check()
        return self._handle.best_score

    @property
    def objective(self) -> str:
        """The objective's name."""
        self._check()
        return self._handle.objective

    @property
    def num_groups(self) -> int:
        """Outputs per row: the number of classes for multiclass models, of targets for several
        label columns, of levels for several quantiles or expectiles; else 1."""
        self._check()
        return self._handle.num_groups

    @property
    def num_targets(self) -> int:
        """Label columns the model was trained on (1 unless several targets)."""
        self._check()
        return self._handle.num_targets

    @property
    def feature_names(self) -> Optional[List[str]]:
        """Feature names, if the training data had them."""
        self._check()
        return self._handle.feature_names

    @property
    def feature_types(self) -> List[str]:
        """The type of every feature, as XGBoost's letters: ``"q"`` numerical, ``"c"`` categorical
        (split by sets of categories)."""
        self._check()
        return list(self._handle.feature_types)

    @property
    def categories(self) -> Dict[str, List[str]]:
        """The categories of the categorical columns the model learned from strings, by feature name:
        ``{"color": ["blue", "green", "red"]}`` means code 0 is ``"blue"`` and so on (the
        ``sylvan.categories`` attribute, as stored by Sylvan and its CLI). Features declared
        categorical with numeric codes have no entry."""
        self._check()
        raw = self._handle.attributes().get(CATEGORIES_ATTRIBUTE)
        return json.loads(raw) if raw else {}

    def attributes(self) -> Dict[str, str]:
        """String attributes saved with the model."""
        self._check()
        return dict(self._handle.attributes())

    def set_attr(self, **kwargs: str) -> None:
        """Sets string attributes saved with the model."""
        self._check()
        for k, v in kwargs.items():
            self._handle.set_attribute(str(k), str(v))

    def params(self) -> Dict[str, Any]:
        """The training parameters (Sylvan's names)."""
        self._check()
        return json.loads(self._handle.params_json())

    def eval_history(self) -> Dict[str, Dict[str, List[float]]]:
        """Per evaluation set and metric, the value after every round of training:
        ``{"validation_0": {"rmse": [...]}}``, XGBoost's ``evals_result`` shape. Empty when training
        evaluated nothing, or for a model file that did not store its history."""
        self._check()
        if self._history is not None:
            return {k: {m: list(v) for m, v in d.items()} for k, d in self._history.items()}
        out: Dict[str, Dict[str, List[float]]] = {}
        for _, evals in self._handle.eval_history():
            for name, metric, value in evals:
                out.setdefault(name, {}).setdefault(metric, []).append(value)
        return out

    def evals_result(self) -> Dict[str, Dict[str, List[float]]]:
        """The same as :meth:`eval_history` (the name XGBoost's scikit-learn estimators use)."""
        return self.eval_history()

    def __repr__(self) -> str:
        if self._handle is None:
            return "<sylvan.Booster (empty)>"
        trees = self._handle.num_trees
        parts = [
            self.objective,
            f"{self.num_boosted_rounds()} rounds",
            f"{trees} tree" + ("" if trees == 1 else "s"),
            f"{self.num_features()} features",
        ]
        if self.best_iteration is not None:
            parts.append(f"best iteration {self.best_iteration}")
        return f"<sylvan.Booster {', '.join(parts)}>"

    def num_trees(self) -> int:
        """Trees in the model (rounds x outputs x parallel trees)."""
        self._check()
        return self._handle.num_trees


_EXPLANATIONS = ("contribs", "approx_contribs", "interactions")


def _predict_output(
    output_margin: bool, pred_leaf: bool, pred_contribs: bool, approx_contribs: bool, pred_interactions: bool
) -> str:
    """The extension's output name for XGBoost's prediction flags, refusing combinations that
    conflict."""
    explain = [
        n
        for n, on in (
            ("pred_contribs", pred_contribs),
            ("approx_contribs", approx_contribs),
            ("pred_interactions", pred_interactions),
        )
        if on
    ]
    if pred_leaf and explain:
        raise ValueError(f"pred_leaf cannot be combined with {' and '.join(explain)}: ask for one output at a time")
    if pred_interactions and pred_contribs:
        raise ValueError(
            "pred_contribs and pred_interactions ask for different outputs: pass one of them "
            "(interaction values already sum to the contributions)"
        )
    if pred_interactions and approx_contribs:
        raise ValueError(
            "approximate (Saabas) interaction values are not supported: pass pred_interactions or "
            "approx_contribs, not both"
        )
    if pred_interactions:
        return "interactions"
    if approx_contribs:
        return "approx_contribs"
    if pred_contribs:
        return "contribs"
    if pred_leaf:
        return "leaf"
    return "margin" if output_margin else "value"


def _mean_abs_shap(contribs: np.ndarray) -> np.ndarray:
    """Mean |SHAP| per feature from contributions in XGBoost's shape (``(rows, features + 1)`` or
    ``(rows, outputs, features + 1)``): averaged over rows, summed over outputs, bias left out."""
    c = np.abs(np.asarray(contribs, dtype=np.float64))[..., :-1]
    if c.ndim == 3:
        c = c.sum(axis=1)
    return c.mean(axis=0) if len(c) else np.zeros(c.shape[-1])


def _select_columns(data: Any, names: List[str]) -> Any:
    """The columns ``names`` of a DataFrame or Table, in that order."""
    if _is_pandas_frame(data):
        by_str = {str(c): c for c in data.columns}
        return data[[by_str[n] for n in names]]
    return data.select(names)


def _merged_categories(
    model: Mapping[str, List[str]], data: Mapping[str, List[str]]
) -> Dict[str, List[str]]:
    """The categories of a model extended by those of new data: each column keeps the model's codes,
    and categories the model has not seen get the next codes (in sorted order)."""
    out = {k: list(v) for k, v in model.items()}
    for column, values in data.items():
        known = out.setdefault(column, [])
        seen = set(known)
        known.extend(v for v in values if v not in seen)
    return out


def train(
    params: Mapping[str, Any],
    dtrain: Dataset,
    num_boost_round: int = 10,
    evals: Sequence[Tuple[Dataset, str]] = (),
    early_stopping_rounds: Optional[int] = None,
    evals_result: Optional[Dict[str, Any]] = None,
    verbose_eval: Any = True,
    xgb_model: Optional[Booster] = None,
    *,
    obj: Optional[Callable[[np.ndarray, Dataset], Tuple[Any, Any]]] = None,
    custom_metric: Optional[Callable[[np.ndarray, Dataset], Any]] = None,
    maximize: Optional[bool] = None,
    callbacks: Optional[Sequence[TrainingCallback]] = None,
    checkpoint_dir: Optional[Union[str, os.PathLike]] = None,
    checkpoint_every: int = 1,
    checkpoint_keep: int = 2,
    resume: bool = False,
) -> Booster:
    """Trains a model, like ``xgboost.train``.

    Parameters
    ----------
    params : dict
        Training parameters with XGBoost's names (``objective``, ``eta``, ``max_depth``,
        ``eval_metric`` ...); ``num_boost_round`` wins over ``num_round``/``n_estimators`` here.
    dtrain : Dataset
        The training data.
    num_boost_round : int, default 10
        Boosting rounds.
    evals : list of (Dataset, str), default ()
        Sets evaluated after every round, by name. Validation sets whose categorical columns
        learned their own categories are re-read with the training set's.
    early_stopping_rounds : int, optional
        Stop when the watched metric has not improved for this many rounds; prediction then uses
        the rounds up to the best one (``best_iteration``). Without a custom metric the last set's
        first built-in metric is watched (as the ``sylvan`` CLI does); with ``custom_metric`` (or
        ``maximize``) the last set's last metric, as XGBoost does (an :class:`EarlyStopping`).
    evals_result : dict, optional
        Filled with ``{set: {metric: [value per round]}}``, custom metrics included.
    verbose_eval : bool or int, default True
        Print the metrics as training goes: every round with True, every ``N`` rounds (and the
        last) with an int, never with False (an :class:`EvaluationMonitor`).
    xgb_model : Booster, optional
        A model to continue: its trees are kept and its category codes too (new categories get
        new codes).
    obj : callable, optional
        A custom objective ``obj(preds, dtrain) -> (grad, hess)``: ``preds`` are the training
        margins (float64, ``(rows,)`` or ``(rows, classes)``), the results one value per row (and
        class); weights are the function's to apply. The model keeps ``params``' objective for the
        base score and the transform of predictions, as XGBoost does.
    custom_metric : callable, optional
        ``custom_metric(preds, dmatrix) -> (name, value)`` (or a list of pairs), evaluated on
        every set of ``evals`` after every round, after the built-in metrics: ``preds`` are
        transformed predictions (probabilities ...), or margins when ``obj`` is given.
    maximize : bool, optional
        Whether early stopping maximises the watched metric (default: by its name).
    callbacks : list of TrainingCallback, optional
        Callbacks run around every round (:mod:`sylvan.callback`): early stopping, learning-rate
        schedules, checkpoints, your own.
    checkpoint_dir : str or path, optional
        Write the model so far into this folder every ``checkpoint_every`` rounds (atomically, as
        ``checkpoint-<rounds>.sylvan``, keeping the newest ``checkpoint_keep``), so that a killed
        run can go on with ``resume=True``.
    checkpoint_every : int, default 1
        Rounds between checkpoints.
    checkpoint_keep : int, default 2
        How many of the newest checkpoints the folder keeps.
    resume : bool, default False
        Go on from the newest checkpoint in ``checkpoint_dir`` (same data, parameters and
        ``num_boost_round``): the model is the one the uninterrupted run gives, bit for bit,
        evaluation history and Sylvan's own early stopping (``early_stopping_rounds`` without a
        custom metric) included; Python callbacks start afresh.

    Categorical features: categorical DataFrame/Table columns (see :class:`Dataset`), features
    declared with ``Dataset(feature_types=...)``, and those the ``categorical_features`` parameter
    lists (names or indices; numeric codes). ``max_cat_to_onehot``, ``max_cat_threshold``,
    ``cat_smooth``, ``cat_l2`` and ``min_data_per_group`` tune their splits.

    Training controls (docs/training-controls.md), as XGBoost's ``train`` takes them:
    ``monotone_constraints`` (a list or tuple by feature position, a dict by feature name, or
    XGBoost's string ``"(1,0,-1)"``), ``interaction_constraints`` (a list of lists of feature names
    or indices), ``feature_weights`` (a list or array, one weight per feature, or a dict by name),
    ``booster="dart"`` with ``rate_drop``, ``skip_drop``, ``one_drop``, ``sample_type``,
    ``normalize_type``, and LightGBM's ``data_sample_strategy="goss"`` with ``top_rate`` and
    ``other_rate``. A bad value raises :class:`SylvanError` naming the parameter.

    Training releases the GIL (taken only around calls into Python code: ``obj``,
    ``custom_metric``, callbacks); Ctrl-C stops it and raises ``KeyboardInterrupt``, and an
    exception raised by Python code stops it and is raised.
    """
    if not isinstance(dtrain, Dataset):
        raise TypeError("dtrain must be a sylvan.Dataset")
    if obj is not None and not callable(obj):
        raise TypeError("obj must be callable: obj(preds, dtrain) -> (grad, hess)")
    if custom_metric is not None and not callable(custom_metric):
        raise TypeError("custom_metric must be callable: custom_metric(preds, dmatrix) -> (name, value)")
    callbacks = list(callbacks) if callbacks else []
    for cb in callbacks:
        if not isinstance(cb, TrainingCallback):
            raise TypeError(f"callbacks must be sylvan.callback.TrainingCallback instances, got {type(cb).__name__}")
    if checkpoint_dir is not None and (int(checkpoint_every) < 1 or int(checkpoint_keep) < 1):
        raise ValueError("checkpoint_every and checkpoint_keep must be at least 1")
    if resume:
        if checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder of the checkpoints")
        if xgb_model is not None:
            raise ValueError("give xgb_model or resume=True, not both")
        latest = _sylvan.latest_checkpoint(os.fspath(checkpoint_dir))
        if latest is None:
            raise ValueError(f"resume=True: no checkpoint in {os.fspath(checkpoint_dir)!r}")
        xgb_model = Booster(model_file=latest)
    if xgb_model is not None:
        model_cats = xgb_model.categories
        if model_cats and not dtrain._fixed:
            merged = _merged_categories(model_cats, dtrain.categories)
            if merged != dtrain.categories:
                dtrain = dtrain._with_categories(merged)
    pairs = param_pairs({k: v for k, v in params.items() if k not in ("num_round", "n_estimators", "num_boost_round")})
    pairs.append(("num_round", _param_value(num_boost_round)))
    if dtrain._max_bin is not None and "max_bin" not in params:
        pairs.insert(0, ("max_bin", str(dtrain._max_bin)))
    eval_sets = []
    for item in evals:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Dataset)):
            raise TypeError("evals must be a list of (Dataset, name) pairs")
        d, name = item
        if dtrain.categories and not d._fixed and d is not dtrain and d.categories != dtrain.categories:
            d = d._with_categories(dtrain.categories)
        eval_sets.append((d, str(name)))
    if verbose_eval:
        callbacks.append(EvaluationMonitor(period=1 if verbose_eval is True else int(verbose_eval)))
    if early_stopping_rounds is not None:
        if custom_metric is not None or maximize is not None:
            callbacks.append(EarlyStopping(rounds=early_stopping_rounds, maximize=maximize))
        else:
            pairs.append(("early_stopping_rounds", _param_value(early_stopping_rounds)))
    init = None if xgb_model is None else xgb_model._handle
    hooks = None
    if callbacks or custom_metric is not None:
        categories = dtrain.categories

        def make_booster(handle: Any) -> Booster:
            if categories:
                handle.set_attribute(CATEGORIES_ATTRIBUTE, categories_json(categories))
            return Booster(_handle=handle)

        start = 0 if xgb_model is None else xgb_model.num_boosted_rounds()
        hooks = RoundHooks(callbacks, custom_metric, eval_sets, obj is not None, start, make_booster)
        hooks.before_training()
    handle = _sylvan._Booster.train(
        pairs,
        dtrain._handle,
        [(d._handle, name) for d, name in eval_sets],
        init,
        obj=obj,
        dtrain_object=dtrain,
        hooks=hooks,
        checkpoint=None if checkpoint_dir is None else (
            os.fspath(checkpoint_dir),
            int(checkpoint_every),
            int(checkpoint_keep),
            [(CATEGORIES_ATTRIBUTE, categories_json(dtrain.categories))] if dtrain.categories else [],
        ),
        resume=resume,
    )
    if dtrain.categories:
        handle.set_attribute(CATEGORIES_ATTRIBUTE, categories_json(dtrain.categories))
    booster = Booster(_handle=handle)
    if hooks is not None:
        if custom_metric is not None:
            booster._history = hooks.history
        booster = hooks.after_training(booster)
    if evals_result is not None:
        evals_result.clear()
        evals_result.update(hooks.history if hooks is not None else booster.eval_history())
    return booster


__all__ += ["SylvanError"]
