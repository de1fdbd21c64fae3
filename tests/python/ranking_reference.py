#!/usr/bin/env python3
"""Reference rankers for Sylvan's ranking tests (tests/ranking_differential.rs, tests/export_ranking.rs).

Usage:
    ranking_reference.py --check
        Prints the versions as JSON; exit 0 when xgboost and lightgbm import, 3 otherwise.
    ranking_reference.py --dir DIR --jobs JSON
        DIR holds meta.json ({"features": F, "train_rows": N, "test_rows": M}) and little-endian
        raw files X_train.f32 (N x F, row-major), y_train.f32, qid_train.u64, X_test.f32,
        y_test.f32 (queries contiguous in both: XGBoost's DMatrix(qid=) needs sorted groups).
        JSON is a list of {"library": "xgboost"|"lightgbm", "name": NAME, "params": {...},
        "num_round": R, "save": optional model path (XGBoost JSON / LightGBM text)}. Each job trains on the train set and predicts raw margins on the test
        set; DIR/NAME.json gets {"library", "version", "params", "predictions", "train_seconds"}.
    ranking_reference.py --predict-xgboost MODEL --dir DIR
        Loads an XGBoost JSON model and writes its raw margins on X_test.f32 to DIR/xgb_pred.json.
    ranking_reference.py --predict-lightgbm MODEL --dir DIR
        Loads a LightGBM text model and writes its raw scores on X_test.f32 to DIR/lgb_pred.json.
"""

import argparse
import json
import os
import sys
import time


def _check():
    out = {}
    ok = True
    for name in ("xgboost", "lightgbm", "numpy"):
        try:
            out[name] = __import__(name).__version__
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            out[name] = None
            out[name + "_error"] = f"{type(exc).__name__}: {exc}"
            ok = False
    print(json.dumps(out))
    return 0 if ok else 3


def _load(directory):
    import numpy as np

    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    f_ = meta["features"]

    def raw(name, dtype, shape):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            return None
        return np.fromfile(path, dtype=dtype).reshape(shape)

    n, m = meta.get("train_rows", 0), meta["test_rows"]
    return {
        "x_train": raw("X_train.f32", "<f4", (n, f_)),
        "y_train": raw("y_train.f32", "<f4", (n,)),
        "qid_train": raw("qid_train.u64", "<u8", (n,)),
        "x_test": raw("X_test.f32", "<f4", (m, f_)),
    }


def _group_sizes(qid):
    import numpy as np

    change = np.flatnonzero(np.diff(qid)) + 1
    bounds = np.concatenate([[0], change, [len(qid)]])
    return np.diff(bounds)


def _run(directory, jobs):
    import numpy as np

    d = _load(directory)
    for job in jobs:
        lib, params, rounds = job["library"], dict(job["params"]), int(job["num_round"])
        start = time.perf_counter()
        if lib == "xgboost":
            import xgboost as xgb

            dtrain = xgb.DMatrix(d["x_train"], label=d["y_train"], qid=d["qid_train"])
            booster = xgb.train(params, dtrain, num_boost_round=rounds)
            pred = booster.predict(xgb.DMatrix(d["x_test"]), output_margin=True)
            version = xgb.__version__
        elif lib == "lightgbm":
            import lightgbm as lgb

            params.setdefault("verbose", -1)
            train = lgb.Dataset(d["x_train"], label=d["y_train"], group=_group_sizes(d["qid_train"]))
            booster = lgb.train(params, train, num_boost_round=rounds)
            pred = booster.predict(d["x_test"], raw_score=True)
            version = lgb.__version__
        else:
            raise SystemExit(f"unknown library {lib}")
        seconds = time.perf_counter() - start
        if job.get("save"):
            booster.save_model(job["save"])
        out = {
            "library": lib,
            "version": version,
            "params": params,
            "train_seconds": seconds,
            "predictions": [float(v) for v in np.asarray(pred, dtype=np.float64).ravel()],
        }
        with open(os.path.join(directory, job["name"] + ".json"), "w") as f:
            json.dump(out, f)


def _predict(directory, model, lib):
    import numpy as np

    d = _load(directory)
    if lib == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(model)
        pred = booster.predict(xgb.DMatrix(d["x_test"]), output_margin=True)
        name = "xgb_pred.json"
        extra = {"objective": json.loads(booster.save_config())["learner"]["objective"]["name"]}
    else:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=model)
        pred = booster.predict(d["x_test"], raw_score=True)
        name = "lgb_pred.json"
        extra = {}
    out = {"predictions": [float(v) for v in np.asarray(pred, dtype=np.float64).ravel()], **extra}
    with open(os.path.join(directory, name), "w") as f:
        json.dump(out, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--dir")
    ap.add_argument("--jobs")
    ap.add_argument("--predict-xgboost")
    ap.add_argument("--predict-lightgbm")
    a = ap.parse_args()
    if a.check:
        return _check()
    if a.predict_xgboost:
        _predict(a.dir, a.predict_xgboost, "xgboost")
        return 0
    if a.predict_lightgbm:
        _predict(a.dir, a.predict_lightgbm, "lightgbm")
        return 0
    _run(a.dir, json.loads(a.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
