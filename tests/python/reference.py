#!/usr/bin/env python3
"""Reference trainer for Sylvan's differential tests (tests/differential.rs).

Trains XGBoost (or LightGBM) on a data set that the Rust test wrote as .npy files and writes what
the test compares against to <dir>/result.json.

Usage:
    reference.py --check
        Prints the versions of xgboost/lightgbm/numpy as JSON and exits 0 when xgboost can be
        imported, 3 when it cannot (the Rust side then skips or fails, see SYLVAN_REQUIRE_REFERENCE).
    reference.py --task NAME --dir DIR --params JSON [--library xgboost|lightgbm] [--out FILE]
        DIR holds X_train.npy (float32, rows x features, NaN = missing), y_train.npy (float32),
        X_test.npy, y_test.npy, and optionally w_train.npy (float32 sample weights, passed to
        DMatrix(weight=...) / lightgbm.Dataset(weight=...)). JSON is an object of XGBoost parameter names (strings or numbers)
        plus "num_round". NAME only labels the output (binary, regression, multiclass, ...).
        "monotone_constraints" (a list, "(1,0,-1)" or "[1, 0, -1]") and "interaction_constraints"
        (a list of index lists, or its JSON text) go to XGBoost in its text forms and to LightGBM as
        lists; "feature_weights" (by position) goes to XGBoost's DMatrix.set_info(feature_weights=...).
        Sylvan-only parameters (use_quantized_grad) are dropped before XGBoost sees them.
        "categorical_features" (a list of column indices) marks categorical columns (their values
        are category codes, NaN missing): XGBoost gets DMatrix(feature_types=..., enable_categorical=
        True), LightGBM Dataset(categorical_feature=...). LightGBM-only categorical settings
        (cat_smooth, cat_l2, min_data_per_group) are dropped for XGBoost; max_cat_to_onehot and
        max_cat_threshold go to both.
    reference.py --batch FILE
        FILE holds a JSON list of {"library", "task", "dir", "params", "out"}: the same as one call
        each, in one Python process (the libraries are imported once).

result.json:
    library, version, task, params (as passed to the library), num_round, train_seconds,
    pred_shape [rows, cols], predictions (row-major, probabilities for binary:logistic and
    multi:softprob, values for regression), metrics (computed here with numpy: auc, logloss,
    error, rmse, mae, accuracy, mlogloss as they apply), root_split (first tree's root:
    feature, threshold, default_left, gain, or null for a single leaf), root_feature_cuts (the
    quantile cut points XGBoost used for the root's feature, when it exposes them), base_score.
    XGBoost's rule is "go left when x < threshold"; LightGBM's is "x <= threshold".
"""

import argparse
import json
import os
import sys
import time


def _versions():
    out = {}
    for name in ("xgboost", "lightgbm", "numpy"):
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "unknown")
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            out[name] = None
            out[name + "_error"] = f"{type(exc).__name__}: {exc}"
    return out


def _load(directory):
    import numpy as np

    def load(name):
        return np.load(os.path.join(directory, name), allow_pickle=False)

    x_train, y_train = load("X_train.npy"), load("y_train.npy")
    x_test, y_test = load("X_test.npy"), load("y_test.npy")
    w_train = load("w_train.npy") if os.path.exists(os.path.join(directory, "w_train.npy")) else None
    if w_train is not None and w_train.shape != y_train.shape:
        raise SystemExit(f"bad weight shape: {w_train.shape}, labels {y_train.shape}")
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise SystemExit(f"bad feature shapes: train {x_train.shape}, test {x_test.shape}")
    if y_train.shape != (x_train.shape[0],) or y_test.shape != (x_test.shape[0],):
        raise SystemExit(f"bad label shapes: {y_train.shape}, {y_test.shape}")
    return x_train, y_train, x_test, y_test, w_train


# ----------------------------------------------------------------------------------------------
# Metrics (numpy only, so they do not depend on either library's own evaluation code)


def auc(y, p):
    """Area under the ROC curve, ties in p given their average rank."""
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p), dtype=np.float64)
    n = len(p)
    # average ranks over runs of equal scores
    boundaries = np.flatnonzero(np.diff(ps)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [n]))
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0  # 1-based average rank
    pos = y > 0.5
    n_pos = pos.sum()
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def metrics_for(objective, y, pred):
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    out = {}
    if objective.startswith("binary:"):
        p = np.clip(pred, 1e-15, 1 - 1e-15)
        out["auc"] = auc(y, pred)
        out["logloss"] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        out["error"] = float(np.mean((pred > 0.5) != (y > 0.5)))
    elif objective.startswith("multi:"):
        labels = y.astype(np.int64)
        if pred.ndim == 1:  # multi:softmax gives class ids
            cls = pred.astype(np.int64)
        else:
            cls = pred.argmax(axis=1)
            p = np.clip(pred[np.arange(len(labels)), labels], 1e-15, 1.0)
            out["mlogloss"] = float(-np.mean(np.log(p)))
        out["accuracy"] = float(np.mean(cls == labels))
    else:
        err = pred - y
        out["rmse"] = float(np.sqrt(np.mean(err * err)))
        out["mae"] = float(np.mean(np.abs(err)))
    return out


# ----------------------------------------------------------------------------------------------
# XGBoost


# Sylvan's own parameters, which XGBoost does not have (it sums f64 gradients, like
# use_quantized_grad=false).
SYLVAN_ONLY = (
    "num_round",
    "use_quantized_grad",
    "boosting",
    "categorical_features",
    "cat_smooth",
    "cat_l2",
    "min_data_per_group",
)


def _categorical(params, num_features):
    """The categorical column indices the params list (a list, or a comma-separated string)."""
    cats = params.get("categorical_features", [])
    if isinstance(cats, str):
        cats = [c for c in cats.split(",") if c.strip()]
    cats = sorted(int(c) for c in cats)
    if any(c < 0 or c >= num_features for c in cats):
        raise SystemExit(f"categorical_features {cats} out of range for {num_features} features")
    return cats


def _feature_list(value, cast):
    """A per-feature value given as a list, XGBoost's tuple text "(1,0,-1)" or JSON text "[1, 0]"."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("(") and text.endswith(")"):
            text = "[" + text[1:-1] + "]"
        elif not text.startswith("["):
            text = "[" + text + "]"
        value = json.loads(text)
    return [cast(v) for v in value]


def _feature_groups(value):
    """interaction_constraints as a list of lists of feature indices (from a list or JSON text)."""
    if isinstance(value, str):
        value = json.loads(value)
    return [[int(f) for f in group] for group in value]


def _xgb_params(params):
    p = {k: v for k, v in params.items() if k not in SYLVAN_ONLY}
    p.setdefault("tree_method", "hist")
    # Constraints go to XGBoost in its own text forms: "(1,0,-1)" and "[[0, 1], [2]]".
    if "monotone_constraints" in p:
        p["monotone_constraints"] = "(" + ",".join(str(v) for v in _feature_list(p["monotone_constraints"], int)) + ")"
    if "interaction_constraints" in p:
        p["interaction_constraints"] = json.dumps(_feature_groups(p["interaction_constraints"]))
    # Feature weights are data, not a parameter, in XGBoost (DMatrix.set_info).
    p.pop("feature_weights", None)
    return p


def run_xgboost(task, params, data):
    import numpy as np
    import xgboost as xgb

    x_train, y_train, x_test, y_test, w_train = data
    num_round = int(params.get("num_round", 10))
    p = _xgb_params(params)
    cats = _categorical(params, x_train.shape[1])
    typed = {}
    if cats:
        typed = {
            "feature_types": ["c" if j in cats else "q" for j in range(x_train.shape[1])],
            "enable_categorical": True,
        }
    dtrain = xgb.DMatrix(x_train, label=y_train, weight=w_train, missing=np.nan, **typed)
    dtest = xgb.DMatrix(x_test, label=y_test, missing=np.nan, **typed)
    if "feature_weights" in params:
        dtrain.set_info(feature_weights=np.asarray(_feature_list(params["feature_weights"], float), dtype=np.float32))
    start = time.perf_counter()
    booster = xgb.train(p, dtrain, num_boost_round=num_round)
    train_seconds = time.perf_counter() - start
    pred = booster.predict(dtest)

    model = json.loads(booster.save_raw(raw_format="json"))
    learner = model["learner"]
    # A dart booster keeps its trees in a nested gbtree (XGBoost 3.2).
    gbtree = learner["gradient_booster"].get("gbtree", learner["gradient_booster"])
    tree0 = gbtree["model"]["trees"][0]
    root = None
    if tree0["left_children"][0] != -1:
        root = {
            "feature": int(tree0["split_indices"][0]),
            "threshold": float(tree0["split_conditions"][0]),
            "default_left": bool(tree0["default_left"][0]),
            "gain": float(tree0["loss_changes"][0]),
            "rule": "x < threshold",
        }
    cuts = None
    if root is not None:
        try:
            indptr, values = dtrain.get_quantile_cut()
            f = root["feature"]
            cuts = [float(v) for v in values[indptr[f] : indptr[f + 1]]]
        except Exception as exc:  # noqa: BLE001 - older versions lack get_quantile_cut
            cuts = None
            print(f"note: no quantile cuts ({exc})", file=sys.stderr)
    return {
        "library": "xgboost",
        "version": xgb.__version__,
        "task": task,
        "params": p,
        "num_round": num_round,
        "train_seconds": train_seconds,
        "pred_shape": [int(pred.shape[0]), int(pred.shape[1]) if pred.ndim == 2 else 1],
        "predictions": [float(v) for v in np.asarray(pred, dtype=np.float64).ravel()],
        "metrics": metrics_for(p.get("objective", "reg:squarederror"), y_test, pred),
        "root_split": root,
        "root_feature_cuts": cuts,
        "base_score": learner["learner_model_param"].get("base_score"),
        "trees": [
            {
                "left_children": [int(v) for v in t["left_children"]],
                "right_children": [int(v) for v in t["right_children"]],
                "split_indices": [int(v) for v in t["split_indices"]],
                "split_conditions": [float(v) for v in t["split_conditions"]],
                "default_left": [bool(v) for v in t["default_left"]],
                "base_weights": [float(v) for v in t["base_weights"]],
                "loss_changes": [float(v) for v in t["loss_changes"]],
                "sum_hessian": [float(v) for v in t["sum_hessian"]],
            }
            for t in gbtree["model"]["trees"]
        ],
    }


# ----------------------------------------------------------------------------------------------
# LightGBM, configured to mirror the XGBoost parameters as closely as LightGBM allows


LGB_OBJECTIVES = {
    "binary:logistic": "binary",
    "reg:squarederror": "regression",
    "reg:absoluteerror": "regression_l1",
    "reg:quantileerror": "quantile",
    "count:poisson": "poisson",
    "reg:gamma": "gamma",
    "reg:tweedie": "tweedie",
    "multi:softprob": "multiclass",
    "multi:softmax": "multiclass",
}


def lgb_params_from_xgb(params):
    """Maps XGBoost names to LightGBM's. Depth-limited trees get num_leaves = 2^max_depth and
    max_depth: LightGBM grows leaf-wise, but with both limits a tree can hold every leaf of
    XGBoost's full depth-wise tree and be no deeper. min_data_in_leaf=0 and
    min_sum_hessian_in_leaf=min_child_weight mirror XGBoost, which limits only the hessian sum.
    base_score is not mapped: LightGBM starts from its own boost_from_average estimate."""
    objective = params.get("objective", "reg:squarederror")
    if objective not in LGB_OBJECTIVES:
        raise SystemExit(f"no LightGBM objective for {objective}")
    depth = int(params.get("max_depth", 6))
    p = {
        "objective": LGB_OBJECTIVES[objective],
        "learning_rate": float(params.get("eta", params.get("learning_rate", 0.3))),
        "max_depth": depth,
        "num_leaves": max(2, min(2**depth, 131072)),
        "max_bin": int(params.get("max_bin", 256)),
        "lambda_l2": float(params.get("lambda", 1.0)),
        "lambda_l1": float(params.get("alpha", 0.0)),
        "min_gain_to_split": float(params.get("gamma", 0.0)),
        "min_sum_hessian_in_leaf": float(params.get("min_child_weight", 1.0)),
        "min_data_in_leaf": 0,
        "num_threads": int(params.get("nthread", 0)),
        "seed": int(params.get("seed", 0)),
        "deterministic": True,
        "verbose": -1,
    }
    if "num_class" in params and objective.startswith("multi:"):
        p["num_class"] = int(params["num_class"])
    if objective == "reg:quantileerror":
        p["alpha"] = float(params.get("quantile_alpha", 0.5))
    if objective == "reg:tweedie":
        p["tweedie_variance_power"] = float(params.get("tweedie_variance_power", 1.5))
    if objective == "count:poisson":
        p["poisson_max_delta_step"] = 0.7  # XGBoost's max_delta_step default for count:poisson
    for name in ("max_cat_to_onehot", "max_cat_threshold", "min_data_per_group"):
        if name in params:
            p[name] = int(params[name])
    for name in ("cat_smooth", "cat_l2"):
        if name in params:
            p[name] = float(params[name])
    if "monotone_constraints" in params:
        p["monotone_constraints"] = _feature_list(params["monotone_constraints"], int)
    if "interaction_constraints" in params:
        p["interaction_constraints"] = _feature_groups(params["interaction_constraints"])
    if params.get("data_sample_strategy") == "goss":  # GOSS: the same names in LightGBM
        p["data_sample_strategy"] = "goss"
        p["top_rate"] = float(params.get("top_rate", 0.2))
        p["other_rate"] = float(params.get("other_rate", 0.1))
    return p


def run_lightgbm(task, params, data):
    import lightgbm as lgb
    import numpy as np

    x_train, y_train, x_test, y_test, w_train = data
    num_round = int(params.get("num_round", 10))
    p = lgb_params_from_xgb(params)
    cats = _categorical(params, x_train.shape[1])
    dtrain = lgb.Dataset(
        x_train,
        label=y_train,
        weight=w_train,
        params={"max_bin": p["max_bin"], "verbose": -1},
        categorical_feature=cats if cats else "auto",
    )
    start = time.perf_counter()
    booster = lgb.train(p, dtrain, num_boost_round=num_round)
    train_seconds = time.perf_counter() - start
    pred = booster.predict(x_test)
    dump = booster.dump_model()
    t0 = dump["tree_info"][0]["tree_structure"]
    root = None
    if "split_feature" in t0:
        root = {
            "feature": int(t0["split_feature"]),
            # A categorical root's threshold is a list of categories ("1||4||7").
            "threshold": float(t0["threshold"]) if t0.get("decision_type") != "==" else None,
            "default_left": bool(t0.get("default_left", True)),
            "gain": float(t0.get("split_gain", 0.0)),
            "rule": "x <= threshold",
        }
    return {
        "library": "lightgbm",
        "version": lgb.__version__,
        "task": task,
        "params": p,
        "num_round": num_round,
        "train_seconds": train_seconds,
        "pred_shape": [int(pred.shape[0]), int(pred.shape[1]) if pred.ndim == 2 else 1],
        "predictions": [float(v) for v in np.asarray(pred, dtype=np.float64).ravel()],
        "metrics": metrics_for(params.get("objective", "reg:squarederror"), y_test, pred),
        "root_split": root,
        "root_feature_cuts": None,
        "base_score": None,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="report versions; exit 3 without xgboost")
    ap.add_argument("--task", default="task")
    ap.add_argument("--dir")
    ap.add_argument("--params", help="JSON object of XGBoost parameters plus num_round")
    ap.add_argument("--library", choices=("xgboost", "lightgbm"), default="xgboost")
    ap.add_argument("--out", help="result file (default DIR/result.json)")
    ap.add_argument("--batch", help="JSON list of jobs (library, task, dir, params, out)")
    args = ap.parse_args(argv)

    if args.check:
        v = _versions()
        print(json.dumps(v))
        return 0 if v.get("xgboost") and v.get("numpy") else 3
    if args.batch:
        with open(args.batch) as f:
            jobs = json.load(f)
        for job in jobs:
            _run_one(job["library"], job["task"], job["dir"], job["params"], job["out"])
        return 0
    if not args.dir or args.params is None:
        ap.error("--dir and --params are required (or --check)")
    params = json.loads(args.params)
    if not isinstance(params, dict):
        ap.error("--params must be a JSON object")
    _run_one(args.library, args.task, args.dir, params, args.out or os.path.join(args.dir, "result.json"))
    return 0


def _run_one(library, task, directory, params, out):
    data = _load(directory)
    run = run_xgboost if library == "xgboost" else run_lightgbm
    result = run(task, params, data)
    with open(out, "w") as f:
        json.dump(result, f)
    summary = {k: result[k] for k in ("library", "version", "task", "train_seconds", "metrics", "root_split")}
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
