#!/usr/bin/env python3
"""XGBoost reference for Sylvan's multi-output tests (tests/multi_output_differential.rs).

Usage:
    multi_output_reference.py train IN.json OUT.json
        IN holds {"params": {...XGBoost names..., "num_round": N}, "train": SET, "test": SET,
        "model": optional path to save the trained model (JSON)}; SET is {"x": [[...], ...],
        "label": [...] or [[...], ...] (one row of targets per row)}. OUT gets {"version",
        "pred_test" and "margin_test" (rows x outputs, nested lists)}.
    multi_output_reference.py predict MODEL.json IN.json OUT.json
        Loads a model file and writes {"pred": ..., "margin": ...} (rows x outputs) for IN's
        {"x": [[...]]}.
"""

import json
import sys

import numpy as np
import xgboost as xgb


def dmatrix(s):
    x = np.array([[np.nan if v is None else v for v in r] for r in s["x"]], dtype=np.float32)
    d = xgb.DMatrix(x)
    if "label" in s:
        d.set_label(np.asarray(s["label"], dtype=np.float32))
    return d


def rows(a, n):
    return np.asarray(a, dtype=np.float64).reshape(n, -1).tolist()


def train(inp, out):
    spec = json.load(open(inp))
    params = dict(spec["params"])
    rounds = int(params.pop("num_round"))
    dtrain, dtest = dmatrix(spec["train"]), dmatrix(spec["test"])
    b = xgb.train(params, dtrain, rounds)
    if spec.get("model"):
        b.save_model(spec["model"])
    n = dtest.num_row()
    json.dump(
        {
            "version": xgb.__version__,
            "pred_test": rows(b.predict(dtest), n),
            "margin_test": rows(b.predict(dtest, output_margin=True), n),
        },
        open(out, "w"),
    )


def predict(model, inp, out):
    b = xgb.Booster()
    b.load_model(model)
    d = dmatrix(json.load(open(inp)))
    n = d.num_row()
    json.dump(
        {"pred": rows(b.predict(d), n), "margin": rows(b.predict(d, output_margin=True), n)},
        open(out, "w"),
    )


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "predict":
        predict(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]}")
