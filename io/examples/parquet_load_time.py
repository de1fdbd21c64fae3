"""Writes a 1,000,000 x 28 float32 Parquet file (HIGGS-shaped, random) and times pyarrow reading it.

Usage: python io/examples/parquet_load_time.py OUT.parquet [REPEATS]
Then:  cargo run --release -p sylvan-io --example load_time -- OUT.parquet [REPEATS]
"""

import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rng = np.random.default_rng(0)
    cols = {f"f{j}": rng.standard_normal(1_000_000, dtype=np.float32) for j in range(27)}
    cols["label"] = (rng.random(1_000_000) < 0.5).astype(np.float32)
    pq.write_table(pa.table(cols), path)
    for threads in (True, False):
        best_read = best_numpy = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            table = pq.read_table(path, use_threads=threads)
            read = time.perf_counter() - t
            # then to contiguous numpy columns, the form a trainer needs
            arrays = [c.to_numpy() for c in table.columns]
            best_read = min(best_read, read)
            best_numpy = min(best_numpy, time.perf_counter() - t)
        print(
            f"pyarrow use_threads={threads} best of {repeats}: read_table {best_read:.3f}s, "
            f"+ to_numpy {best_numpy:.3f}s ({len(arrays)} columns)"
        )


if __name__ == "__main__":
    main()
