#!/usr/bin/env python3
"""XGBoost reference for Sylvan's SHAP tests (tests/shap_differential.rs).

Usage:
    shap_reference.py --jobs JOBS.json --out OUT.json

JOBS.json is a list of jobs, run in order with one import of xgboost:
    {"kind": "explain", "model": FILE, "x": X.npy, "categorical": [j, ...],
     "iteration_range": [start, end] or null, "base_margin": BM.npy or null}
        Loads an XGBoost JSON model (Sylvan's export, or one XGBoost trained) and explains the rows
        of X (float32, C order, NaN = missing; the `categorical` columns hold category codes and are
        marked "c" in the DMatrix's feature_types). Returns XGBoost's `pred_contribs`,
        `approx_contribs` and `pred_interactions`, and the margin, over the rounds
        `iteration_range` (all rounds when null). XGBoost refuses a range that does not start at 0
        for contributions ("using model slicing instead"), so such a range is applied by slicing
        the model (`booster[start:end]`), which keeps the base score. With "base_margin" the
        DMatrix gets those per-row margins (rows x outputs, float32), which XGBoost adds to the bias.
    {"kind": "train", "x": X.npy, "y": y.npy, "categorical": [j, ...], "params": {...},
     "rounds": N, "model_out": FILE}
        Trains XGBoost natively on X and y (same DMatrix as above) and saves the model as JSON.

OUT.json: {"version": xgboost version, "results": [one object per job]}. An explain job gives
{"rows", "contribs", "approx", "interactions", "margin"}: each a row-major flat list of floats
(XGBoost's shapes: (rows, features + 1) for one output, (rows, outputs, features + 1) for
several; interactions (rows, [outputs,] features + 1, features + 1); the margin (rows, outputs))
with "<name>_shape" beside it. A train job gives {}.
"""

import argparse
import json
import sys


def _dmatrix(xgb, x, categorical, label=None):
    import numpy as np

    kw = {}
    if categorical:
        kw = {
            "feature_types": ["c" if j in categorical else "q" for j in range(x.shape[1])],
            "enable_categorical": True,
        }
    return xgb.DMatrix(x, label=label, missing=np.nan, **kw)


def _flat(a):
    import numpy as np

    a = np.asarray(a, dtype=np.float32)
    return [float(v) for v in a.reshape(-1)], list(a.shape)


def _explain(xgb, job):
    import numpy as np

    x = np.load(job["x"], allow_pickle=False)
    bst = xgb.Booster(model_file=job["model"])
    d = _dmatrix(xgb, x, set(job.get("categorical") or []))
    if job.get("base_margin"):
        d.set_base_margin(np.load(job["base_margin"], allow_pickle=False))
    kw = {}
    rng = job.get("iteration_range")
    if rng is not None:
        start, end = int(rng[0]), int(rng[1])
        if start == 0:
            kw = {"iteration_range": (0, end)}
        else:
            bst = bst[start:end]
    out = {"rows": int(x.shape[0])}
    for name, extra in (
        ("contribs", {"pred_contribs": True}),
        ("approx", {"pred_contribs": True, "approx_contribs": True}),
        ("interactions", {"pred_interactions": True}),
        ("margin", {"output_margin": True}),
    ):
        values, shape = _flat(bst.predict(d, **extra, **kw))
        out[name] = values
        out[name + "_shape"] = shape
    return out


def _train(xgb, job):
    import numpy as np

    x = np.load(job["x"], allow_pickle=False)
    y = np.load(job["y"], allow_pickle=False)
    d = _dmatrix(xgb, x, set(job.get("categorical") or []), label=y)
    bst = xgb.train(dict(job["params"]), d, int(job["rounds"]))
    bst.save_model(job["model_out"])
    return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import xgboost as xgb

    jobs = json.load(open(args.jobs))
    results = []
    for job in jobs:
        kind = job["kind"]
        if kind == "explain":
            results.append(_explain(xgb, job))
        elif kind == "train":
            results.append(_train(xgb, job))
        else:
            raise SystemExit(f"unknown job kind {kind!r}")
    with open(args.out, "w") as f:
        json.dump({"version": xgb.__version__, "results": results}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
