#!/usr/bin/env python3
"""Foreign-model helper for Sylvan's export/import tests (tests/export.rs).

Usage:
    foreign_models.py predict --library xgboost|lightgbm --model FILE [--model FILE2 ...] --x X.npy
                              --out OUT.json
        Loads each model file written by Sylvan (XGBoost JSON or LightGBM text) with the real library
        and predicts the rows of X (float32, NaN = missing): probabilities for binary:logistic /
        binary, class probabilities for multi:softprob / multiclass, the class index for
        multi:softmax, values for regression.
    foreign_models.py train --library xgboost|lightgbm --x X.npy --y y.npy --params JSON --rounds N
                            --model-out FILE --x-pred X2.npy --out OUT.json
        Trains the library on X, y with the given native parameters, saves the model (XGBoost JSON
        or LightGBM text) and predicts the rows of X2 the same way.

OUT.json: {"library", "version", "shape": [rows, cols], "predictions": [row-major floats]} for the
first model, and "all": the predictions of every model, in order.
"""

import argparse
import json
import sys


def _predict(library, model_file, x):
    import numpy as np

    if library == "xgboost":
        import xgboost as xgb

        bst = xgb.Booster(model_file=model_file)
        dm = xgb.DMatrix(x, missing=np.nan, feature_names=bst.feature_names)
        return np.asarray(bst.predict(dm), dtype=np.float64), xgb.__version__
    import lightgbm as lgb

    bst = lgb.Booster(model_file=model_file)
    return np.asarray(bst.predict(x), dtype=np.float64), lgb.__version__


def _train(library, x, y, params, rounds, model_out):
    import numpy as np

    if library == "xgboost":
        import xgboost as xgb

        bst = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=rounds)
        bst.save_model(model_out)
    else:
        import lightgbm as lgb

        params = dict(params)
        params.setdefault("verbose", -1)
        bst = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=rounds)
        bst.save_model(model_out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["predict", "train"])
    ap.add_argument("--library", choices=["xgboost", "lightgbm"], required=True)
    ap.add_argument("--model", action="append")
    ap.add_argument("--x")
    ap.add_argument("--y")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--model-out")
    ap.add_argument("--x-pred")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import numpy as np

    if a.command == "train":
        x = np.load(a.x, allow_pickle=False)
        y = np.load(a.y, allow_pickle=False)
        _train(a.library, x, y, json.loads(a.params), a.rounds, a.model_out)
        models, xp = [a.model_out], np.load(a.x_pred, allow_pickle=False)
    else:
        models, xp = a.model, np.load(a.x, allow_pickle=False)
    preds = [_predict(a.library, m, xp) for m in models]
    pred, version = preds[0]
    shape = [pred.shape[0], pred.shape[1] if pred.ndim == 2 else 1]
    with open(a.out, "w") as f:
        json.dump(
            {
                "library": a.library,
                "version": version,
                "shape": shape,
                "predictions": [float(v) for v in pred.reshape(-1)],
                "all": [[float(v) for v in p.reshape(-1)] for p, _ in preds],
            },
            f,
        )


if __name__ == "__main__":
    sys.exit(main())
