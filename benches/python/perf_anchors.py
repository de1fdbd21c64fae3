#!/usr/bin/env python3
"""One XGBoost or LightGBM run for benches/perf.rs (the benchmark of issue #7).

Usage: perf_anchors.py --lib xgboost|lightgbm --task binary|regression|multiclass --dir DIR [--params JSON]

DIR holds X_train.npy, y_train.npy, X_test.npy, y_test.npy (float32, C order; NaN = missing) written
by the benchmark. The benchmark starts this script once per library per run, so that each run is a
process of its own whose peak memory it can read (wait4). One JSON object on the last line of stdout:
    {"lib", "version", "load_seconds", "train_seconds", "predict_seconds", "metric_name", "metric",
     "peak_rss_mb", "params"}
or {"lib", "error"} when the library cannot be imported.

What is timed, each apart:
- load_seconds: np.load of the four .npy files.
- train_seconds: from the NumPy arrays in memory to a trained model, like anchors.py: XGBoost
  builds its DMatrix (no binning at creation) before the clock and bins on the first iteration;
  LightGBM's Dataset is constructed lazily inside lgb.train, so binning is inside the clock for both.
- predict_seconds: the test set, in memory: XGBoost `inplace_predict` on the NumPy array, LightGBM
  `Booster.predict`; both give probabilities (one column per class for multiclass) or values. The
  second of two calls is timed (the first warms caches and thread pools).
peak_rss_mb is this process's VmHWM (/proc/self/status; ru_maxrss would include the benchmark's own
memory, carried over the fork), for cross-checking the benchmark's own reading.

Parameters (XGBoost names in JSON; the benchmark passes all of them):
    XGBoost:  objective (binary:logistic | reg:squarederror | multi:softprob + num_class),
              tree_method=hist, num_round, eta, max_depth, max_bin, lambda, min_child_weight, nthread.
    LightGBM, mirroring them as anchors.py does: objective binary | regression | multiclass
              (+ num_class), num_iterations=num_round, learning_rate=eta, max_depth and
              num_leaves = 2^max_depth - 1 (255 for depth 8), max_bin, lambda_l2=lambda,
              min_sum_hessian_in_leaf=min_child_weight, min_data_in_leaf=0, num_threads=nthread.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
from reference import auc  # noqa: E402  (numpy AUC shared with the differential tests)


def metric(task, y, pred):
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if task == "binary":
        return "auc", float(auc(y, pred))
    if task == "regression":
        return "rmse", float(np.sqrt(np.mean((pred.reshape(-1) - y) ** 2)))
    # The first largest probability wins, as in the Rust benchmark.
    return "accuracy", float(np.mean(np.argmax(pred.reshape(len(y), -1), axis=1) == y.astype(np.int64)))


def categorical(params):
    """The categorical column indices listed by `categorical_features` ("0,1,2"; [] when none)."""
    value = params.get("categorical_features", "")
    if isinstance(value, list):
        return [int(v) for v in value]
    return [int(v) for v in str(value).split(",") if v.strip()]


def monotone_list(value):
    """XGBoost's "(1,0,-1)" text as a list of ints (LightGBM's form)."""
    return [int(v) for v in str(value).strip("()[] ").split(",") if v.strip()]


def run_xgboost(task, params, data):
    import numpy as np
    import xgboost as xgb

    x_train, y_train, x_test = data
    p = {k: v for k, v in params.items() if k not in ("num_round", "categorical_features")}
    for k in ("max_depth", "max_bin", "nthread", "num_class", "max_cat_to_onehot", "max_cat_threshold"):
        if k in p:
            p[k] = int(p[k])
    for k in ("eta", "lambda", "min_child_weight"):
        p[k] = float(p[k])
    cats = categorical(params)
    typed = {}
    if cats:
        # Native categorical mode: the codes of these columns are categories.
        typed = {
            "feature_types": ["c" if j in cats else "q" for j in range(x_train.shape[1])],
            "enable_categorical": True,
        }
    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan, nthread=p["nthread"], **typed)
    start = time.perf_counter()
    booster = xgb.train(p, dtrain, num_boost_round=int(params["num_round"]))
    train_seconds = time.perf_counter() - start
    del dtrain
    # One untimed prediction first (caches, thread pool), as for Sylvan; then the timed one.
    booster.inplace_predict(x_test, missing=np.nan)
    start = time.perf_counter()
    pred = booster.inplace_predict(x_test, missing=np.nan)
    predict_seconds = time.perf_counter() - start
    return xgb.__version__, train_seconds, predict_seconds, pred, p


def run_lightgbm(task, params, data):
    import lightgbm as lgb

    x_train, y_train, x_test = data
    depth = int(params["max_depth"])
    p = {
        "objective": {"binary": "binary", "regression": "regression", "multiclass": "multiclass"}[task],
        "learning_rate": float(params["eta"]),
        "max_depth": depth,
        "num_leaves": min(2**depth - 1, 131072),
        "max_bin": int(params["max_bin"]),
        "lambda_l2": float(params["lambda"]),
        "min_sum_hessian_in_leaf": float(params["min_child_weight"]),
        "min_data_in_leaf": 0,
        "num_threads": int(params["nthread"]),
        "verbose": -1,
    }
    if task == "multiclass":
        p["num_class"] = int(params["num_class"])
    if "monotone_constraints" in params:
        p["monotone_constraints"] = monotone_list(params["monotone_constraints"])
    for k in ("max_cat_to_onehot", "max_cat_threshold"):
        if k in params:
            p[k] = int(params[k])
    cats = categorical(params)
    dtrain = lgb.Dataset(x_train, label=y_train, params=dict(p), categorical_feature=cats if cats else "auto")
    start = time.perf_counter()
    booster = lgb.train(p, dtrain, num_boost_round=int(params["num_round"]))
    train_seconds = time.perf_counter() - start
    del dtrain
    booster.predict(x_test, num_threads=p["num_threads"])
    start = time.perf_counter()
    pred = booster.predict(x_test, num_threads=p["num_threads"])
    predict_seconds = time.perf_counter() - start
    return lgb.__version__, train_seconds, predict_seconds, pred, p


def vm_hwm_mb():
    """This process's peak RSS since exec, in MB (Linux); NaN where /proc is not there."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, choices=("xgboost", "lightgbm"))
    ap.add_argument("--task", required=True, choices=("binary", "regression", "multiclass"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--params", required=True, help="JSON object with XGBoost's names (values may be strings)")
    args = ap.parse_args()
    params = json.loads(args.params)
    run = {"xgboost": run_xgboost, "lightgbm": run_lightgbm}[args.lib]
    try:
        __import__(args.lib)
    except ImportError as exc:
        print(json.dumps({"lib": args.lib, "error": f"{type(exc).__name__}: {exc}"}))
        return 0

    import numpy as np

    start = time.perf_counter()
    load = lambda name: np.load(os.path.join(args.dir, name), allow_pickle=False)  # noqa: E731
    x_train, y_train = load("X_train.npy"), load("y_train.npy")
    x_test, y_test = load("X_test.npy"), load("y_test.npy")
    load_seconds = time.perf_counter() - start

    version, train_seconds, predict_seconds, pred, used = run(args.task, params, (x_train, y_train, x_test))
    metric_name, value = metric(args.task, y_test, pred)
    result = {
        "lib": args.lib,
        "version": version,
        "load_seconds": load_seconds,
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "metric_name": metric_name,
        "metric": value,
        "peak_rss_mb": vm_hwm_mb(),
        "params": used,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
