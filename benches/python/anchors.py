#!/usr/bin/env python3
"""XGBoost and LightGBM anchors for benches/higgs_train.rs.

Usage: anchors.py --dir DIR [--params JSON] [--only xgboost|lightgbm] [--repeat N]

DIR holds X_train.npy, y_train.npy, X_test.npy, y_test.npy (float32; labels 0/1) written by the
benchmark. Trains each library on the same data with the same settings and prints one JSON object
on the last line of stdout:
    {"xgboost": {"version", "train_seconds", "auc", "params"}, "lightgbm": {...}}
A library that cannot be imported is reported as {"error": "..."}. With --repeat N each library
trains N times and train_seconds is the fastest run (all_seconds lists every run).

What the time includes (the same for Sylvan, see the benchmark): from an in-memory float matrix
already wrapped in the library's data object (xgboost.DMatrix / lightgbm.Dataset, both created
before the clock starts; neither bins at creation) to a trained model: quantile binning (XGBoost
builds its histogram index on the first iteration; LightGBM constructs its Dataset lazily inside
lgb.train) plus all boosting rounds. Loading the .npy files, prediction and AUC are not timed.

Parameters (XGBoost names in JSON; defaults are the benchmark's):
    XGBoost:  objective=binary:logistic, tree_method=hist, num_round=100, eta=0.1, max_depth=8,
              max_bin=255, lambda=1, min_child_weight=1, nthread=2.
    LightGBM, chosen to mirror it: objective=binary, num_iterations=num_round,
              learning_rate=eta, max_depth=8 and num_leaves=255 (a depth-8 tree has at most 256
              leaves; LightGBM grows leaf-wise, so with these limits it can grow the same trees),
              max_bin=255, lambda_l2=lambda, min_sum_hessian_in_leaf=min_child_weight, and
              min_data_in_leaf=0 (XGBoost has no row-count limit, only the hessian sum; LightGBM's
              default of 20 would prune more), num_threads=nthread. min_data_in_bin and the
              row-/column-wise histogram choice are left at LightGBM's defaults (its automatic
              choice is timed).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
from reference import auc  # noqa: E402  (numpy AUC shared with the differential tests)

DEFAULTS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "num_round": 100,
    "eta": 0.1,
    "max_depth": 8,
    "max_bin": 255,
    "lambda": 1.0,
    "min_child_weight": 1.0,
    "nthread": 2,
}


def run_xgboost(params, x_train, y_train, x_test, y_test, repeat):
    import numpy as np
    import xgboost as xgb

    p = {k: v for k, v in params.items() if k != "num_round"}
    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan, nthread=int(params["nthread"]))
    dtest = xgb.DMatrix(x_test, missing=np.nan, nthread=int(params["nthread"]))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        booster = xgb.train(p, dtrain, num_boost_round=int(params["num_round"]))
        times.append(time.perf_counter() - start)
    pred = booster.predict(dtest)
    return {"version": xgb.__version__, "train_seconds": min(times), "all_seconds": times,
            "auc": auc(y_test, pred), "params": p}


def run_lightgbm(params, x_train, y_train, x_test, y_test, repeat):
    import lightgbm as lgb

    depth = int(params["max_depth"])
    p = {
        "objective": "binary",
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
    times = []
    for _ in range(repeat):
        # A new (unconstructed) Dataset each time, so that every run bins the data.
        dtrain = lgb.Dataset(x_train, label=y_train, params=dict(p))
        start = time.perf_counter()
        booster = lgb.train(p, dtrain, num_boost_round=int(params["num_round"]))
        times.append(time.perf_counter() - start)
    pred = booster.predict(x_test, num_threads=int(params["nthread"]))
    return {"version": lgb.__version__, "train_seconds": min(times), "all_seconds": times,
            "auc": auc(y_test, pred), "params": p}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--params", default="{}", help="JSON object overriding the defaults (XGBoost names)")
    ap.add_argument("--only", choices=("xgboost", "lightgbm"))
    ap.add_argument("--repeat", type=int, default=1, help="train N times, report the fastest")
    args = ap.parse_args()

    import numpy as np

    params = dict(DEFAULTS)
    params.update(json.loads(args.params))
    load = lambda name: np.load(os.path.join(args.dir, name), allow_pickle=False)  # noqa: E731
    x_train, y_train = load("X_train.npy"), load("y_train.npy")
    x_test, y_test = load("X_test.npy"), load("y_test.npy")

    results = {}
    for name, run in (("xgboost", run_xgboost), ("lightgbm", run_lightgbm)):
        if args.only and args.only != name:
            continue
        try:
            results[name] = run(params, x_train, y_train, x_test, y_test, max(1, args.repeat))
        except ImportError as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"{name}: {json.dumps(results[name].get('train_seconds', results[name].get('error')))}", file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
