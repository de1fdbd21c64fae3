#!/usr/bin/env python3
"""One XGBoost or LightGBM run for benches/perf.rs (the benchmark of issue #7).

Usage: perf_anchors.py --lib xgboost|lightgbm --task binary|regression|multiclass --dir DIR [--params JSON]
       perf_anchors.py --lib xgboost|lightgbm --task explain --dir DIR --params JSON
                       [--model XGBOOST.json] [--rows N] [--interaction-rows M]

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
  `Booster.predict`; both give probabilities (one column per class for multiclass) or values. After
  an untimed call (it warms caches and thread pools), the fastest of PREDICT_CALLS (3) timed calls.
peak_rss_mb is this process's VmHWM (/proc/self/status; ru_maxrss would include the benchmark's own
memory, carried over the fork), for cross-checking the benchmark's own reading.

--task explain (issue #20's `explain` workload, benches/common_bench/perf_explain.rs): SHAP
contributions of X_test.npy's rows, one JSON object {"lib", "version", "predict_seconds",
"contributions_seconds", "contributions_rows", "interactions_seconds", "interaction_rows",
"max_abs_diff_vs_sylvan", "train_seconds", "peak_rss_mb"}:
- XGBoost loads --model (Sylvan's model as XGBoost JSON) with nthread from --params and times
  `pred_contribs` on the first --rows rows (default all; the benchmark scales the time to all rows)
  after an untimed call on 100 rows, `pred_interactions` on the first --interaction-rows rows (after
  an untimed call on 10 rows), and the plain prediction of all rows (second of two calls). When
  DIR/sylvan_contribs.npy exists (Sylvan's contributions of the first rows) it reports the largest
  absolute difference from its own contributions of those rows.
- LightGBM trains its own model on X_train.npy / y_train.npy with the parameters mirrored below
  (binary objective) and times `pred_contrib` on all rows (after an untimed call on 100 rows) and
  the plain prediction (second of two calls); it has no interaction values.

Parameters (XGBoost names in JSON; the benchmark passes all of them):
    XGBoost:  objective (binary:logistic | reg:squarederror | multi:softprob + num_class),
              tree_method=hist, num_round, eta, max_depth, max_bin, lambda, min_child_weight, nthread;
              some workloads add grow_policy=lossguide + max_leaves (max_depth 0 = unlimited),
              categorical_features + max_cat_to_onehot + max_cat_threshold, monotone_constraints.
    LightGBM, mirroring them as anchors.py does: objective binary | regression | multiclass
              (+ num_class), num_iterations=num_round, learning_rate=eta, max_depth and
              num_leaves = 2^max_depth - 1 (255 for depth 8; with grow_policy=lossguide
              num_leaves = max_leaves and max_depth 0 -> -1), max_bin, lambda_l2=lambda,
              min_sum_hessian_in_leaf=min_child_weight, min_data_in_leaf=0, num_threads=nthread.
Categorical features: the indices in `categorical_features` (for real data the benchmark takes them
from perf_real_data.py); XGBoost gets them as feature types `c` with enable_categorical, LightGBM as
categorical_feature.
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
    for k in ("max_depth", "max_bin", "nthread", "num_class", "max_cat_to_onehot", "max_cat_threshold", "max_leaves"):
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
    pred, predict_seconds = best_prediction(lambda: booster.inplace_predict(x_test, missing=np.nan))
    return xgb.__version__, train_seconds, predict_seconds, pred, p


def lightgbm_params(task, params):
    """LightGBM's mirror of the benchmark's XGBoost-named parameters."""
    depth = int(params["max_depth"])
    if params.get("grow_policy") == "lossguide":
        # Best-first growth is LightGBM's own: num_leaves = max_leaves, max_depth 0 (unlimited) -> -1.
        leaves, depth = int(params["max_leaves"]), depth if depth > 0 else -1
    else:
        leaves = min(2**depth - 1, 131072)
    p = {
        "objective": {"binary": "binary", "regression": "regression", "multiclass": "multiclass"}[task],
        "learning_rate": float(params["eta"]),
        "max_depth": depth,
        "num_leaves": leaves,
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
    return p


def run_lightgbm(task, params, data):
    import lightgbm as lgb

    x_train, y_train, x_test = data
    p = lightgbm_params(task, params)
    cats = categorical(params)
    dtrain = lgb.Dataset(x_train, label=y_train, params=dict(p), categorical_feature=cats if cats else "auto")
    start = time.perf_counter()
    booster = lgb.train(p, dtrain, num_boost_round=int(params["num_round"]))
    train_seconds = time.perf_counter() - start
    del dtrain
    pred, predict_seconds = best_prediction(lambda: booster.predict(x_test, num_threads=p["num_threads"]))
    return lgb.__version__, train_seconds, predict_seconds, pred, p


PREDICT_CALLS = 3


def best_prediction(predict):
    """One untimed call (caches, thread pool), as for Sylvan, then the fastest of PREDICT_CALLS
    timed calls: (the prediction, its seconds)."""
    pred = predict()
    best = float("inf")
    for _ in range(PREDICT_CALLS):
        start = time.perf_counter()
        pred = predict()
        best = min(best, time.perf_counter() - start)
    return pred, best


def timed(f):
    """(seconds, result) of one call of f."""
    start = time.perf_counter()
    r = f()
    return time.perf_counter() - start, r


def explain_xgboost(args, params):
    import numpy as np
    import xgboost as xgb

    nthread = int(params["nthread"])
    x = np.load(os.path.join(args.dir, "X_test.npy"), allow_pickle=False)
    rows = min(args.rows or len(x), len(x))
    bst = xgb.Booster(model_file=args.model)
    bst.set_param({"nthread": nthread})
    dm = lambda a: xgb.DMatrix(a, missing=np.nan, nthread=nthread)  # noqa: E731
    d_all, d_rows = dm(x), dm(x[:rows])
    bst.predict(d_all)
    predict_seconds, _ = timed(lambda: bst.predict(d_all))
    bst.predict(dm(x[:100]), pred_contribs=True)
    contrib_seconds, contribs = timed(lambda: bst.predict(d_rows, pred_contribs=True))
    m = min(args.interaction_rows, len(x))
    d_few = dm(x[:m])
    bst.predict(dm(x[:10]), pred_interactions=True)
    inter_seconds, _ = timed(lambda: bst.predict(d_few, pred_interactions=True))
    diff = None
    ours = os.path.join(args.dir, "sylvan_contribs.npy")
    if os.path.exists(ours):
        s = np.load(ours, allow_pickle=False)
        k = min(len(s), rows)
        diff = float(np.max(np.abs(s[:k].astype(np.float64) - contribs[:k].reshape(k, -1))))
    return {
        "version": xgb.__version__,
        "predict_seconds": predict_seconds,
        "contributions_seconds": contrib_seconds,
        "contributions_rows": rows,
        "interactions_seconds": inter_seconds,
        "interaction_rows": m,
        "max_abs_diff_vs_sylvan": diff,
    }


def explain_lightgbm(args, params):
    import lightgbm as lgb
    import numpy as np

    load = lambda name: np.load(os.path.join(args.dir, name), allow_pickle=False)  # noqa: E731
    x_train, y_train, x = load("X_train.npy"), load("y_train.npy"), load("X_test.npy")
    p = lightgbm_params("binary", params)
    train_seconds, booster = timed(
        lambda: lgb.train(p, lgb.Dataset(x_train, label=y_train, params=dict(p)), num_boost_round=int(params["num_round"]))
    )
    nt = p["num_threads"]
    booster.predict(x, num_threads=nt)
    predict_seconds, _ = timed(lambda: booster.predict(x, num_threads=nt))
    booster.predict(x[:100], pred_contrib=True, num_threads=nt)
    contrib_seconds, _ = timed(lambda: booster.predict(x, pred_contrib=True, num_threads=nt))
    return {
        "version": lgb.__version__,
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "contributions_seconds": contrib_seconds,
        "contributions_rows": len(x),
        "num_leaves": p["num_leaves"],
    }


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
    ap.add_argument("--task", required=True, choices=("binary", "regression", "multiclass", "explain"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--params", required=True, help="JSON object with XGBoost's names (values may be strings)")
    ap.add_argument("--model", help="explain, xgboost: the model (XGBoost JSON) to explain")
    ap.add_argument("--rows", type=int, default=0, help="explain, xgboost: time the first N rows only (0: all)")
    ap.add_argument("--interaction-rows", type=int, default=200, help="explain, xgboost: rows of interaction values")
    args = ap.parse_args()
    params = json.loads(args.params)
    run = {"xgboost": run_xgboost, "lightgbm": run_lightgbm}[args.lib]
    try:
        __import__(args.lib)
    except ImportError as exc:
        print(json.dumps({"lib": args.lib, "error": f"{type(exc).__name__}: {exc}"}))
        return 0

    if args.task == "explain":
        r = {"xgboost": explain_xgboost, "lightgbm": explain_lightgbm}[args.lib](args, params)
        r.update({"lib": args.lib, "peak_rss_mb": vm_hwm_mb()})
        print(json.dumps(r))
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
