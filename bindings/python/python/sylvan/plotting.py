"""Plots of a model, drawn with matplotlib: :func:`plot_importance`, :func:`plot_metric` and
:func:`plot_tree`, with the arguments of ``xgboost.plot_importance``, ``lightgbm.plot_metric`` and
``lightgbm.plot_tree``. Each returns the matplotlib ``Axes`` it drew on.

matplotlib is an optional dependency (``pip install matplotlib``), imported only when a plot is
drawn; without it these functions raise ``ImportError`` saying so. The trees are drawn by
matplotlib itself (boxes and arrows), so no graphviz is needed.

SHAP plots: the ``shap`` package draws Sylvan's contributions directly (see
:meth:`sylvan.Booster.predict` and the package README)::

    c = booster.predict(X, pred_contribs=True)          # (rows, features + 1)
    e = shap.Explanation(values=c[:, :-1], base_values=c[:, -1], data=X, feature_names=names)
    shap.plots.beeswarm(e); shap.plots.waterfall(e[0])
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .core import Booster

__all__ = ["plot_importance", "plot_metric", "plot_tree"]

_NO_MATPLOTLIB = "sylvan's plots need matplotlib, which is not installed: pip install matplotlib"


def _pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        from matplotlib import pyplot
    except ImportError as e:
        raise ImportError(_NO_MATPLOTLIB) from e
    return pyplot


def _new_axes(ax: Any, figsize: Optional[Tuple[float, float]], dpi: Optional[int]) -> Any:
    """``ax``, or the axes of a new figure (matplotlib is imported either way, so a missing
    matplotlib is reported before any work is done)."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(1, 1, figsize=figsize, dpi=dpi)
    return ax


def _booster_of(model: Any, what: str) -> Booster:
    """The :class:`Booster` of a booster or a fitted estimator."""
    if isinstance(model, Booster):
        return model
    if hasattr(model, "get_booster"):
        return model.get_booster()
    raise TypeError(f"{what} must be a sylvan.Booster or a fitted Sylvan estimator, got {type(model).__name__}")


def _set_labels(ax: Any, title: Optional[str], xlabel: Optional[str], ylabel: Optional[str]) -> None:
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)


# ---------------------------------------------------------------------------------------------
# Importance
# ---------------------------------------------------------------------------------------------


def plot_importance(
    booster: Any,
    ax: Any = None,
    height: float = 0.2,
    xlim: Optional[Tuple[float, float]] = None,
    ylim: Optional[Tuple[float, float]] = None,
    title: Optional[str] = "Feature importance",
    xlabel: Optional[str] = "Importance score",
    ylabel: Optional[str] = "Features",
    importance_type: str = "weight",
    max_num_features: Optional[int] = None,
    grid: bool = True,
    show_values: bool = True,
    values_format: str = "{v}",
    figsize: Optional[Tuple[float, float]] = None,
    dpi: Optional[int] = None,
    **kwargs: Any,
) -> Any:
    """A horizontal bar chart of feature importance, as ``xgboost.plot_importance``.

    ``booster`` is a :class:`sylvan.Booster`, a fitted estimator, or a dict ``{feature: value}``
    (for instance :meth:`Booster.shap_importance`'s mean |SHAP| or :meth:`Booster.get_score`).
    ``importance_type`` is ``weight`` (the default, splits per feature), ``gain``, ``total_gain``,
    ``cover`` or ``total_cover``; features the model never splits on are left out. Bars are sorted
    with the most important on top; ``max_num_features`` keeps that many. ``show_values`` writes each
    value beside its bar with ``values_format`` (``"{v:.2f}"``). Further keyword arguments go to
    ``Axes.barh``. Returns the Axes.
    """
    if isinstance(booster, Mapping):
        importance = {str(k): float(v) for k, v in booster.items()}
    else:
        importance = _booster_of(booster, "booster").get_score(importance_type=importance_type)
    if not importance:
        raise ValueError(
            "the importance is empty: the model has no splits (every tree is a single leaf), "
            "so there is nothing to plot"
        )
    if max_num_features is not None and (not isinstance(max_num_features, (int, np.integer)) or max_num_features < 1):
        raise ValueError(f"max_num_features must be a positive integer, got {max_num_features!r}")
    ax = _new_axes(ax, figsize, dpi)
    items = sorted(importance.items(), key=lambda kv: kv[1])
    if max_num_features is not None:
        items = items[-int(max_num_features) :]
    labels, values = zip(*items)
    ylocs = np.arange(len(values))
    ax.barh(ylocs, values, align="center", height=height, **kwargs)
    if show_values:
        for x, y in zip(values, ylocs):
            ax.text(x + 1 if x >= 1 else x * 1.01, y, values_format.format(v=x), va="center")
    ax.set_yticks(ylocs)
    ax.set_yticklabels(labels)
    ax.set_xlim(xlim if xlim is not None else (0, max(values) * 1.1 if max(values) > 0 else 1))
    ax.set_ylim(ylim if ylim is not None else (-1, len(values)))
    _set_labels(ax, title, xlabel, ylabel)
    ax.grid(grid)
    return ax


# ---------------------------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------------------------


def _evals_of(source: Any) -> Dict[str, Dict[str, List[float]]]:
    """The evaluation history ``{set: {metric: [values]}}`` of a dict, booster or estimator."""
    if isinstance(source, Mapping):
        return {str(k): dict(v) for k, v in source.items()}
    if isinstance(source, Booster):
        return source.eval_history()
    if hasattr(source, "evals_result"):
        return source.evals_result()
    raise TypeError(
        "plot_metric takes an evaluation history dict {set: {metric: [values]}}, a sylvan.Booster or a "
        f"fitted Sylvan estimator, got {type(source).__name__}"
    )


def plot_metric(
    booster: Any,
    metric: Optional[str] = None,
    dataset_names: Optional[Sequence[str]] = None,
    ax: Any = None,
    xlim: Optional[Tuple[float, float]] = None,
    ylim: Optional[Tuple[float, float]] = None,
    title: Optional[str] = "Metric during training",
    xlabel: Optional[str] = "Iterations",
    ylabel: Optional[str] = "@metric@",
    figsize: Optional[Tuple[float, float]] = None,
    dpi: Optional[int] = None,
    grid: bool = True,
) -> Any:
    """The learning curve of one metric: its value after every round, one line per evaluation set,
    as ``lightgbm.plot_metric``.

    ``booster`` is an evaluation history ``{set: {metric: [values]}}`` (``evals_result`` of
    :func:`sylvan.train`, XGBoost's shape), a :class:`sylvan.Booster` (its
    :meth:`~sylvan.Booster.eval_history`) or a fitted estimator (its ``evals_result()``). ``metric``
    defaults to the first one recorded; ``dataset_names`` picks sets (default: all). ``@metric@`` in
    ``ylabel`` becomes the metric's name. Returns the Axes.
    """
    evals = _evals_of(booster)
    if not evals or not any(evals.values()):
        raise ValueError(
            "no evaluation results to plot: train with evaluation sets (evals=... in sylvan.train, "
            "eval_set=... in fit); a model file saved without its history has none"
        )
    names = list(evals) if dataset_names is None else [str(n) for n in dataset_names]
    unknown = [n for n in names if n not in evals]
    if unknown:
        raise ValueError(f"no evaluation results for data set(s) {', '.join(unknown)} (recorded: {', '.join(evals)})")
    if not names:
        raise ValueError("dataset_names is empty: name at least one evaluation set")
    if metric is None:
        metric = next(iter(evals[names[0]]), None)
        if metric is None:
            raise ValueError(f"data set `{names[0]}` has no recorded metric")
    missing = [n for n in names if metric not in evals[n]]
    if missing:
        known = sorted({m for n in names for m in evals[n]})
        raise ValueError(f"metric `{metric}` was not recorded for {', '.join(missing)} (recorded: {', '.join(known)})")
    ax = _new_axes(ax, figsize, dpi)
    longest = 0
    for name in names:
        values = list(evals[name][metric])
        longest = max(longest, len(values))
        ax.plot(range(len(values)), values, label=name)
    ax.legend(loc="best")
    if xlim is not None:
        ax.set_xlim(xlim)
    else:
        ax.set_xlim(0, max(longest - 1, 1))
    if ylim is not None:
        ax.set_ylim(ylim)
    _set_labels(ax, title, xlabel, None if ylabel is None else ylabel.replace("@metric@", metric))
    ax.grid(grid)
    return ax


# ---------------------------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------------------------

# show_info names (Sylvan's and LightGBM's) -> the tree field they show.
_INFO_FIELDS = {
    "gain": "gain",
    "split_gain": "gain",
    "cover": "cover",
    "internal_weight": "cover",
    "leaf_weight": "cover",
    "value": "value",
    "internal_value": "value",
}


def _category_codes(words: Sequence[int]) -> List[int]:
    """The codes in a category set stored as 32-bit words (bit ``c % 32`` of word ``c // 32``)."""
    return [32 * w + b for w, word in enumerate(words) for b in range(32) if (int(word) >> b) & 1]


def _node_labels(
    tree: Mapping[str, Any],
    names: List[str],
    categories: Mapping[str, List[str]],
    show_info: Sequence[str],
    precision: int,
) -> List[str]:
    """The text of every node: the split (``feature < threshold`` or ``feature in {...}``) of an
    inner node, ``leaf = value`` of a leaf, and the ``show_info`` fields."""
    fmt = lambda v: f"{float(v):.{precision}g}"  # noqa: E731
    cats = tree.get("categories") or {}
    node_set, sets = cats.get("node_set", []), cats.get("sets", [])
    labels = []
    for i, left in enumerate(tree["left"]):
        if left < 0:
            text = f"leaf = {fmt(tree['value'][i])}"
        else:
            f = int(tree["feature"][i])
            name = names[f] if f < len(names) else f"f{f}"
            k = node_set[i] if i < len(node_set) else 0
            if k > 0:
                codes = _category_codes(sets[k - 1])
                known = categories.get(name)
                shown = [known[c] if known is not None and c < len(known) else str(c) for c in codes]
                if len(shown) > 6:
                    shown = shown[:6] + [f"... ({len(codes)} in all)"]
                text = f"{name} in {{{', '.join(shown)}}}"
            else:
                text = f"{name} < {fmt(tree['threshold'][i])}"
        for info in show_info:
            field = _INFO_FIELDS[info]
            if field == "gain" and left < 0:
                continue
            text += f"\n{info}: {fmt(tree[field][i])}"
        labels.append(text)
    return labels


def _layout(left: Sequence[int], right: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Positions of the nodes: leaves one unit apart in left-to-right order, each inner node above
    the middle of its children, depth downwards. Iterative, so deep trees do not hit Python's
    recursion limit."""
    n = len(left)
    x, depth = np.zeros(n), np.zeros(n)
    next_leaf = 0.0
    stack: List[Tuple[int, bool]] = [(0, False)]
    while stack:
        i, children_done = stack.pop()
        if left[i] < 0:
            x[i] = next_leaf
            next_leaf += 1.0
        elif children_done:
            x[i] = (x[left[i]] + x[right[i]]) / 2.0
        else:
            depth[left[i]] = depth[right[i]] = depth[i] + 1
            stack += [(i, True), (right[i], False), (left[i], False)]
    return x, depth


def plot_tree(
    booster: Any,
    tree_index: int = 0,
    ax: Any = None,
    show_info: Optional[Sequence[str]] = None,
    precision: int = 3,
    figsize: Optional[Tuple[float, float]] = None,
    dpi: Optional[int] = None,
    fontsize: Optional[float] = None,
) -> Any:
    """Draws one tree with matplotlib (no graphviz): a box per node, the root on top, arrows to the
    children, as ``lightgbm.plot_tree``/``xgboost.plot_tree`` show it.

    An inner node shows its split, ``feature < threshold`` (rows below go left, along the ``yes``
    arrow) or ``feature in {categories}`` (listed categories go left; category names when the model
    learned them from strings); the arrow missing values follow is marked ``missing``. A leaf shows
    its value (margin space, learning rate included). ``show_info`` adds fields to the boxes:
    ``gain`` / ``split_gain``, ``cover`` / ``internal_weight`` (hessian sum), ``value`` /
    ``internal_value``. Numbers have ``precision`` significant digits. ``tree_index`` counts trees
    in the model's order (for several outputs, round by round, an output after another). Returns
    the Axes.
    """
    b = _booster_of(booster, "booster")
    show_info = [] if show_info is None else [str(s) for s in show_info]
    bad = [s for s in show_info if s not in _INFO_FIELDS]
    if bad:
        raise ValueError(f"unknown show_info entry `{bad[0]}` (expected some of {', '.join(_INFO_FIELDS)})")
    trees = json.loads(b.to_json())["trees"]
    if not isinstance(tree_index, (int, np.integer)) or not 0 <= tree_index < len(trees):
        raise IndexError(f"tree_index {tree_index!r} is out of range: the model has {len(trees)} trees")
    tree = trees[int(tree_index)]
    left, right = [int(v) for v in tree["left"]], [int(v) for v in tree["right"]]
    names = b.feature_names or [f"f{i}" for i in range(b.num_features())]
    labels = _node_labels(tree, names, b.categories, show_info, int(precision))
    x, depth = _layout(left, right)
    if ax is None and figsize is None:
        # Room for every leaf box side by side, and for every level.
        figsize = (max(6.0, 1.7 * (x.max() + 1)), max(3.0, 1.4 * (depth.max() + 1)))
    ax = _new_axes(ax, figsize, dpi)
    y = -depth
    box = dict(boxstyle="round,pad=0.3", linewidth=1.0)
    for i, text in enumerate(labels):
        leaf = left[i] < 0
        ax.text(
            x[i],
            y[i],
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            bbox=dict(box, facecolor="#e8f4e8" if leaf else "#e8eef8", edgecolor="#4a7f4a" if leaf else "#4a5f8f"),
            gid="sylvan-node",
        )
        if leaf:
            continue
        for child, answer in ((left[i], "yes"), (right[i], "no")):
            goes_missing = bool(tree["default_left"][i]) == (answer == "yes")
            ax.annotate(
                "",
                xy=(x[child], y[child]),
                xytext=(x[i], y[i]),
                arrowprops=dict(arrowstyle="->", color="0.35", shrinkA=12, shrinkB=12),
            )
            # Beside the arrow, near its middle: left of a left arrow, right of a right one.
            ax.text(
                0.55 * x[i] + 0.45 * x[child],
                0.55 * y[i] + 0.45 * y[child],
                f"{answer}, missing" if goes_missing else answer,
                ha="right" if answer == "yes" else "left",
                va="center",
                fontsize=(fontsize * 0.85) if fontsize else None,
                color="0.25",
                gid="sylvan-edge",
            )
    ax.set_xlim(x.min() - 0.75, x.max() + 0.75)
    ax.set_ylim(y.min() - 0.6, 0.6)
    ax.set_axis_off()
    return ax
