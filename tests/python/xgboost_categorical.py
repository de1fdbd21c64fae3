#!/usr/bin/env python3
"""XGBoost helper for Sylvan's categorical export/import tests (tests/export_xgboost_categorical.rs).

Usage:
    xgboost_categorical.py --jobs JOBS.json --out OUT.json

JOBS.json is a list of jobs, run in order with one import of xgboost:
    {"kind": "predict", "model": FILE, "x": X.npy, "categorical": [j, ...], "pandas": false}
        Loads the XGBoost JSON model that Sylvan wrote and predicts the rows of X (float32, NaN =
        missing). Without "pandas": a NumPy DMatrix whose `feature_types` mark the categorical
        columns "c" (the values are category codes; codes the model never saw are passed as they
        are). With "pandas": true, a DataFrame whose categorical columns hold the category NAMES
        stored in the model's `sylvan.categories` attribute, with the pandas categories in
        reversed order, so that the codes pandas hands over differ from the model's and XGBoost must
        re-encode them by name through the model's `cats` entry.
    {"kind": "train", "x": X.npy, "y": y.npy, "categorical": [j, ...], "params": {...},
     "rounds": N, "model_out": FILE, "x_pred": X2.npy, "names": "codes" | "strings"}
        Trains XGBoost natively on a pandas DataFrame whose categorical columns have the category
        dtype (categories 0..k-1 as integers, or the strings "v0".."v{k-1}" in code order, so that
        XGBoost's codes are the codes in X), saves the model as JSON, and predicts the rows of X2
        through a NumPy DMatrix of codes (as above).

OUT.json: {"version": xgboost version, "results": [{"predictions": [row-major floats]}, ...]}.
Predictions are probabilities for binary:logistic and values for regression.
"""

import argparse
import json
import sys


def _types(ncols, categorical):
    return ["c" if j in categorical else "q" for j in range(ncols)]


def _numpy_matrix(xgb, x, categorical, names):
    import numpy as np

    return xgb.DMatrix(
        x,
        missing=np.nan,
        feature_names=names,
        feature_types=_types(x.shape[1], categorical),
        enable_categorical=True,
    )


def _frame(x, categorical, names_of):
    """A DataFrame of X: categorical column j as a pandas Categorical built by `names_of(j)`
    (returns (values, categories)), the other columns as float32."""
    import pandas as pd

    cols = {}
    for j in range(x.shape[1]):
        name = "f%d" % j
        if j in categorical:
            values, categories = names_of(j)
            cols[name] = pd.Categorical(values, categories=categories)
        else:
            cols[name] = x[:, j]
    return pd.DataFrame(cols)


def _predict(xgb, job):
    import numpy as np

    x = np.load(job["x"], allow_pickle=False)
    bst = xgb.Booster(model_file=job["model"])
    categorical = set(job["categorical"])
    if not job.get("pandas"):
        return bst.predict(_numpy_matrix(xgb, x, categorical, bst.feature_names))

    stored = json.loads(bst.attr("sylvan.categories"))
    names = bst.feature_names

    def names_of(j):
        known = stored[names[j]]
        values = [None if np.isnan(v) else known[int(v)] for v in x[:, j]]
        return values, list(reversed(known))

    frame = _frame(x, categorical, names_of)
    frame.columns = names
    return bst.predict(xgb.DMatrix(frame, enable_categorical=True))


def _train(xgb, job):
    import numpy as np

    x = np.load(job["x"], allow_pickle=False)
    y = np.load(job["y"], allow_pickle=False)
    categorical = set(job["categorical"])
    strings = job.get("names") == "strings"

    def names_of(j):
        col = x[:, j]
        k = int(np.nanmax(col)) + 1
        labels = ["v%d" % c for c in range(k)] if strings else list(range(k))
        values = [None if np.isnan(v) else labels[int(v)] for v in col]
        return values, labels

    frame = _frame(x, categorical, names_of)
    bst = xgb.train(job["params"], xgb.DMatrix(frame, label=y, enable_categorical=True), num_boost_round=job["rounds"])
    bst.save_model(job["model_out"])
    xp = np.load(job["x_pred"], allow_pickle=False)
    return bst.predict(_numpy_matrix(xgb, xp, categorical, bst.feature_names))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import numpy as np
    import xgboost as xgb

    with open(a.jobs) as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        pred = _predict(xgb, job) if job["kind"] == "predict" else _train(xgb, job)
        results.append({"predictions": [float(v) for v in np.asarray(pred, dtype=np.float64).reshape(-1)]})
    with open(a.out, "w") as f:
        json.dump({"version": xgb.__version__, "results": results}, f)


if __name__ == "__main__":
    sys.exit(main())
