#!/usr/bin/env python3
"""LightGBM helper for Sylvan's categorical export/import tests (tests/export_lightgbm_categorical.rs).

Usage:
    lightgbm_categorical.py JOBS.json OUT.json

JOBS.json is a list of jobs, run in order in one Python process; OUT.json gets one result per job,
{"version": lightgbm.__version__, "predictions": [row-major floats]}:

    {"job": "predict", "model": FILE, "x": X.npy}
        Loads a LightGBM text model written by Sylvan and predicts the rows of X (float32, NaN =
        missing) from the numpy array: probabilities for binary, values for regression.
    {"job": "predict_pandas", "model": FILE, "x": X.npy, "names": {"COLUMN_INDEX": [names]}}
        The same rows as a pandas DataFrame with the model's feature names, in which each column of
        "names" is a `category` column holding the names of its codes (NaN stays missing, and -1
        becomes a name the model never saw). Each column's categories are only the names present,
        in reverse order, so LightGBM must remap them through the model's `pandas_categorical`
        line.
    {"job": "train", "x": X.npy, "y": y.npy, "params": {...}, "categorical": [indices],
     "rounds": N, "model_out": FILE, "x_pred": X2.npy}
        Trains LightGBM natively with `categorical_feature`, saves the text model and predicts the
        rows of X2.
"""

import json
import sys


def _predict(job):
    import lightgbm as lgb
    import numpy as np

    bst = lgb.Booster(model_file=job["model"])
    x = np.load(job["x"], allow_pickle=False)
    return bst.predict(x)


def _predict_pandas(job):
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    bst = lgb.Booster(model_file=job["model"])
    x = np.load(job["x"], allow_pickle=False)
    names = {int(k): v for k, v in job["names"].items()}
    columns = {}
    for j, feature in enumerate(bst.feature_name()):
        if j in names:
            values = [
                None if np.isnan(v) else ("never seen" if v == -1 else names[j][int(v)])
                for v in x[:, j]
            ]
            present = sorted({v for v in values if v is not None}, reverse=True)
            columns[feature] = pd.Categorical(values, categories=present)
        else:
            columns[feature] = x[:, j]
    return bst.predict(pd.DataFrame(columns))


def _train(job):
    import lightgbm as lgb
    import numpy as np

    x = np.load(job["x"], allow_pickle=False)
    y = np.load(job["y"], allow_pickle=False)
    params = dict(job["params"])
    params.setdefault("verbose", -1)
    data = lgb.Dataset(x, label=y, categorical_feature=job["categorical"])
    bst = lgb.train(params, data, num_boost_round=job["rounds"])
    bst.save_model(job["model_out"])
    return bst.predict(np.load(job["x_pred"], allow_pickle=False))


def main():
    import lightgbm as lgb
    import numpy as np

    jobs_file, out_file = sys.argv[1], sys.argv[2]
    with open(jobs_file) as f:
        jobs = json.load(f)
    run = {"predict": _predict, "predict_pandas": _predict_pandas, "train": _train}
    results = []
    for job in jobs:
        pred = np.asarray(run[job["job"]](job), dtype=np.float64)
        results.append({"version": lgb.__version__, "predictions": [float(v) for v in pred.reshape(-1)]})
    with open(out_file, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    sys.exit(main())
