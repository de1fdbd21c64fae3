#!/usr/bin/env python3
"""XGBoost reference for Sylvan's survival tests (tests/survival_differential.rs, tests/export_survival.rs).

Usage:
    survival_reference.py train IN.json OUT.json
        IN holds {"params": {...XGBoost names..., "num_round": N}, "train": SET, "test": SET};
        SET is {"x": [[...], ...], "label": [...]} for survival:cox (negative = right-censored) or
        {"x": ..., "lower": [...], "upper": [...]} for survival:aft, where an upper bound of -1
        stands for +inf (JSON has no infinity). OUT gets {"version", "pred_test" (exp(margin)),
        "margin_test", "metrics_test" {name: value} from XGBoost's own evaluation on the test set}.
    survival_reference.py predict MODEL.json IN.json OUT.json
        Loads a model file and writes {"pred": [...], "margin": [...]} for IN's {"x": [[...]]}.
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
    if "lower" in s:
        lo = np.asarray(s["lower"], dtype=np.float32)
        hi = np.asarray(s["upper"], dtype=np.float32)
        hi = np.where(hi < 0, np.inf, hi).astype(np.float32)
        d.set_float_info("label_lower_bound", lo)
        d.set_float_info("label_upper_bound", hi)
    return d


def train(inp, out):
    spec = json.load(open(inp))
    params = dict(spec["params"])
    rounds = int(params.pop("num_round"))
    dtrain, dtest = dmatrix(spec["train"]), dmatrix(spec["test"])
    b = xgb.train(params, dtrain, rounds)
    metrics = {}
    for m in spec.get("metrics", []):
        b.set_param({"eval_metric": m})
        text = b.eval(dtest, name="test")
        metrics[m] = float(text.split(":")[-1])
    json.dump(
        {
            "version": xgb.__version__,
            "pred_test": b.predict(dtest).tolist(),
            "margin_test": b.predict(dtest, output_margin=True).tolist(),
            "metrics_test": metrics,
        },
        open(out, "w"),
    )


def predict(model, inp, out):
    b = xgb.Booster()
    b.load_model(model)
    d = dmatrix(json.load(open(inp)))
    json.dump(
        {"pred": b.predict(d).tolist(), "margin": b.predict(d, output_margin=True).tolist()},
        open(out, "w"),
    )


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "predict":
        predict(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]}")
