"""Writes scikit-learn's bundled breast cancer data (569 rows, 30 features) to Parquet.

Creates, next to this script:
  breast_cancer.parquet        all rows
  breast_cancer_train.parquet  a seeded 80% split
  breast_cancer_valid.parquet  the other 20%

The label column is `malignant` (1 = malignant, 0 = benign); feature names are scikit-learn's with
spaces replaced by underscores. Run: python examples/make_breast_cancer.py
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_breast_cancer


def main() -> None:
    here = Path(__file__).resolve().parent
    data = load_breast_cancer()
    columns = {name.replace(" ", "_"): data.data[:, j].astype(np.float64) for j, name in enumerate(data.feature_names)}
    # scikit-learn codes benign as 1; the label here is 1 for malignant.
    columns["malignant"] = (data.target == 0).astype(np.int8)
    table = pa.table(columns)
    pq.write_table(table, here / "breast_cancer.parquet", compression="zstd")
    order = np.random.default_rng(0).permutation(table.num_rows)
    cut = int(0.8 * table.num_rows)
    pq.write_table(table.take(np.sort(order[:cut])), here / "breast_cancer_train.parquet", compression="zstd")
    pq.write_table(table.take(np.sort(order[cut:])), here / "breast_cancer_valid.parquet", compression="zstd")
    print(f"wrote {table.num_rows} rows x {table.num_columns} columns")


if __name__ == "__main__":
    main()
