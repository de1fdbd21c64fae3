#!/usr/bin/env python3
"""Distributed training benchmark: time and bytes exchanged per tree on 1, 2 and 4 MPI ranks.

Run by hand (not in CI), on a quiet machine, with the release binary built with MPI:

    cargo build --release --features mpi
    /var/tmp/sylvan-venv/bin/python benches/distributed/run.py            # 1M rows x 28 features
    /var/tmp/sylvan-venv/bin/python benches/distributed/run.py --rows 200000 --rounds 5   # quick

It writes a HIGGS-shaped data set (float features, about 2% missing, a binary label) to one
Parquet file with 64 row groups, then for every rank count and depth trains with
`mpirun -np R sylvan train --data data.parquet --no-eval --print-traffic` (ranks read row-group
ranges of the one file; 1 rank is a plain process). The binary prints, on rank 0, the seconds and
bytes per tree after the first round; the table shows them, plus a check that every model file is
byte-identical to the one-process model. Ranks share this machine's cores, so times on several
ranks measure overhead, not speed-up: the bytes are what carries over to a real cluster
(docs/distributed.md turns them into an estimate).
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "release" / "sylvan"
    if not path.exists():
        sys.exit(f"{path} not found: run `cargo build --release --features mpi` first")
    return path


def write_data(path, rows, features, seed=0):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    w = rng.normal(size=features)
    score = x @ w + 0.5 * x[:, 0] * x[:, 1] - np.abs(x[:, 2]) + rng.normal(size=rows)
    y = (score > 0).astype(np.float32)
    x[rng.random(size=x.shape) < 0.02] = np.nan
    table = pa.table({**{f"f{j}": x[:, j] for j in range(features)}, "label": y})
    pq.write_table(table, path, row_group_size=max(1, rows // 64))


def train(bin_path, data, model, ranks, depth, rounds, nthread):
    args = [
        str(bin_path), "train", "--data", str(data), "--label", "label", "--model-out", str(model),
        "--no-eval", "--quiet", "--print-traffic",
        "--set", "objective=binary:logistic", "--set", "tree_method=hist",
        "--set", f"max_depth={depth}", "--set", f"num_round={rounds}", "--set", f"nthread={nthread}",
    ]
    if ranks > 1:
        args = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + args
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out.stderr}")
    line = next((l for l in out.stdout.splitlines() if l.startswith("traffic:")), None)
    if line is None:
        sys.exit(f"no traffic line in:\n{out.stdout}")
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    return {k: float(v) for k, v in fields.items()}, wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=28)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--depths", default="6,8")
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--nthread", type=int, default=0, help="threads per rank (0: all cores)")
    p.add_argument("--json", help="also write the results as JSON here")
    a = p.parse_args()

    bin_path = binary()
    env_ok = os.environ.get("OMPI_ALLOW_RUN_AS_ROOT")
    if os.geteuid() == 0 and not env_ok:
        os.environ["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        os.environ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    work = Path(tempfile.mkdtemp(prefix="sylvan-dist-bench-"))
    data = work / "data.parquet"
    write_data(data, a.rows, a.features)
    load = os.getloadavg()[0]
    print(f"load average before the runs: {load:.2f}")
    print(f"data: {a.rows} rows x {a.features} features, 64 row groups; {a.rounds} rounds, hist, "
          f"binary:logistic; {os.cpu_count()} cores; nthread={a.nthread}")
    print()
    header = f"{'depth':>5} {'ranks':>5} {'ms/tree':>9} {'kB sent/tree':>13} {'kB recv/tree':>13} " \
             f"{'calls/tree':>10} {'setup kB':>9} {'wall s':>7}  model"
    print(header)
    print("-" * len(header))
    results = []
    for depth in [int(d) for d in a.depths.split(",")]:
        reference = None
        for ranks in [int(r) for r in a.ranks.split(",")]:
            model = work / f"model-d{depth}-r{ranks}.json"
            t, wall = train(bin_path, data, model, ranks, depth, a.rounds, a.nthread)
            digest = hashlib.sha256(model.read_bytes()).hexdigest()
            reference = reference or digest
            same = "identical" if digest == reference else "DIFFERS"
            print(f"{depth:>5} {ranks:>5} {t['s_per_tree'] * 1e3:>9.2f} {t['bytes_sent_per_tree'] / 1e3:>13.1f} "
                  f"{t['bytes_received_per_tree'] / 1e3:>13.1f} {t['calls_per_tree']:>10.1f} "
                  f"{t['first_round_bytes_sent'] / 1e3:>9.1f} "
                  f"{wall:>7.2f}  {same}")
            results.append({"depth": depth, "ranks": ranks, "wall_s": wall, "identical": digest == reference, **t})
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": a.rows, "features": a.features, "rounds": a.rounds,
                                            "cores": os.cpu_count(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
