#!/usr/bin/env python3
"""How much a workload's test metric moves when nothing that matters changes (issue #22).

Usage: metric_spread.py --dir DIR --label COL --task binary|regression|multiclass
                        [--sylvan PATH] [--runs N] [--set k=v ...]

DIR is a workload folder the perf benchmark kept (SYLVAN_KEEP_TMP=1): train.parquet and
test.parquet. Sylvan (the CLI, default command) and XGBoost (hist, in process) are trained N times
(default 6) with the learning rate nudged by a relative 1e-4 or less (0.1, 0.10001, 0.09999,
0.1001, 0.0999, 0.10002 for eta 0.1): models that should be equally good. Prints each run's test
metric (AUC, RMSE or accuracy), then per tool the mean and standard deviation, and the difference
of the means. The benchmark's targets compare one run of each tool: on data where one run's metric
moves by more than the tolerance (few distinct values, heavy label noise), this shows whether a
miss is a difference between the tools or the spread of one run.

Parameters: the benchmark's defaults (100 rounds, depth 8, 255 bins, lambda 1, min_child_weight 1,
2 threads), overridden by --set (XGBoost names; grow_policy=lossguide etc. are passed to both).
"""
import argparse
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow.parquet as pq
import xgboost as xgb

NUDGES = [1.0, 1.0001, 0.9999, 1.001, 0.999, 1.0002, 0.9998, 1.002]


def metric(task, y, pred):
    if task == "binary":
        from sklearn.metrics import roc_auc_score

        return roc_auc_score(y, pred)
    if task == "multiclass":
        return float(np.mean(np.argmax(pred, axis=1) == y))
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--task", required=True, choices=["binary", "regression", "multiclass"])
    ap.add_argument("--sylvan", default="sylvan")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    params = dict(eta="0.1", max_depth="8", max_bin="255", nthread="2", num_round="100")
    params["lambda"], params["min_child_weight"] = "1", "1"
    params["objective"] = {"binary": "binary:logistic", "regression": "reg:squarederror",
                           "multiclass": "multi:softprob"}[a.task]
    params.update(kv.split("=", 1) for kv in a.set)
    train, test = pq.read_table(f"{a.dir}/train.parquet"), pq.read_table(f"{a.dir}/test.parquet")
    cols = [c for c in train.column_names if c != a.label]
    as_x = lambda t: np.column_stack([t.column(c).to_numpy(zero_copy_only=False) for c in cols]).astype(np.float32)
    x_train, y_train = as_x(train), train.column(a.label).to_numpy().astype(np.float32)
    x_test, y_test = as_x(test), test.column(a.label).to_numpy().astype(np.float32)
    if a.task == "multiclass":
        params.setdefault("num_class", str(int(y_train.max()) + 1))
    eta = float(params["eta"])
    scores = {"sylvan": [], "xgboost": []}
    with tempfile.TemporaryDirectory() as tmp:
        for nudge in NUDGES[: a.runs]:
            p = dict(params, eta=repr(eta * nudge))
            sets = [arg for k, v in p.items() for arg in ("--set", f"{k}={v}")]
            model = f"{tmp}/m.sylvan"
            subprocess.run([a.sylvan, "train", "--data", f"{a.dir}/train.parquet", "--label", a.label,
                            "--model-out", model, "--quiet", *sets], check=True)
            out = f"{tmp}/pred.parquet"
            subprocess.run([a.sylvan, "predict", "--model", model, "--data", f"{a.dir}/test.parquet",
                            "--out", out], check=True, stdout=subprocess.DEVNULL)
            pred = np.column_stack([c.to_numpy() for c in pq.read_table(out).columns])
            pred = pred[:, 0] if pred.shape[1] == 1 else pred
            scores["sylvan"].append(metric(a.task, y_test, pred))
            xp = dict({k: v for k, v in p.items() if k != "num_round"}, tree_method="hist")
            booster = xgb.train(xp, xgb.DMatrix(x_train, y_train), int(p["num_round"]))
            scores["xgboost"].append(metric(a.task, y_test, booster.predict(xgb.DMatrix(x_test))))
            print(f"eta {p['eta']}: sylvan {scores['sylvan'][-1]:.5f} xgboost {scores['xgboost'][-1]:.5f}", flush=True)
    for tool, s in scores.items():
        print(f"{tool}: mean {statistics.mean(s):.5f} sd {statistics.stdev(s) if len(s) > 1 else 0:.5f} "
              f"min {min(s):.5f} max {max(s):.5f}")
    print(f"mean difference (sylvan - xgboost): {statistics.mean(scores['sylvan']) - statistics.mean(scores['xgboost']):+.5f}")


if __name__ == "__main__":
    sys.exit(main())
