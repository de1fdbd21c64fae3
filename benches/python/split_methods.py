#!/usr/bin/env python3
"""XGBoost anchors for benches/split_methods.rs: one training run per tree_method.

Usage: split_methods.py --dir DIR [--params JSON] [--methods exact,approx,hist]

DIR holds X_train.npy, y_train.npy, X_test.npy, y_test.npy (float32; labels 0/1) written by the
benchmark. For each method, trains XGBoost with tree_method set to it and the other settings from
--params, and prints one JSON object on the last line of stdout:
    {"xgboost_version": "...", "methods": {"exact": {"train_seconds", "auc", "params", ...}, ...}}
A method that fails is reported as {"error": "..."}; if xgboost cannot be imported, every method is.
LightGBM is left out: it has no exact split finding.

What the time includes is the same as in anchors.py (whose run_xgboost this uses): from a fresh
xgboost.DMatrix, created before the clock starts for every method, to a trained model. For hist and
approx that includes building the quantile cuts (approx re-sketches every iteration), for exact the
column-sorted pages built on the first iteration. Loading the .npy files, prediction and AUC are not
timed.

Parameters (XGBoost names in JSON; defaults are the benchmark's): objective=binary:logistic,
num_round=50, eta=0.1, max_depth=6, max_bin=256, lambda=1, min_child_weight=1, nthread=2.
XGBoost's exact method ignores max_bin; approx uses it as the sketch's number of bins.
"""

import argparse
import json
import os
import sys

from anchors import run_xgboost  # the benchmark's directory is on sys.path as the script's own

DEFAULTS = {
    "objective": "binary:logistic",
    "num_round": 50,
    "eta": 0.1,
    "max_depth": 6,
    "max_bin": 256,
    "lambda": 1.0,
    "min_child_weight": 1.0,
    "nthread": 2,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--params", default="{}", help="JSON object overriding the defaults (XGBoost names)")
    ap.add_argument("--methods", default="exact,approx,hist", help="comma-separated tree_method values")
    args = ap.parse_args()

    import numpy as np

    params = dict(DEFAULTS)
    params.update(json.loads(args.params))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    load = lambda name: np.load(os.path.join(args.dir, name), allow_pickle=False)  # noqa: E731
    x_train, y_train = load("X_train.npy"), load("y_train.npy")
    x_test, y_test = load("X_test.npy"), load("y_test.npy")

    try:
        import xgboost

        version = xgboost.__version__
    except ImportError as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"xgboost_version": None, "methods": {m: {"error": error} for m in methods}}))
        return 0

    results = {}
    for method in methods:
        p = dict(params, tree_method=method)
        try:
            results[method] = run_xgboost(p, x_train, y_train, x_test, y_test, 1)
        except Exception as exc:  # a benchmark reports a failed method and goes on with the others
            results[method] = {"error": f"{type(exc).__name__}: {exc}"}
        r = results[method]
        print(f"xgboost {method}: {json.dumps(r.get('train_seconds', r.get('error')))}", file=sys.stderr)
    print(json.dumps({"xgboost_version": version, "methods": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
