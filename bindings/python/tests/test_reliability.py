"""Issue #24 from Python: checkpoints that resume to the uninterrupted model, a Booster shared by
threads (the GIL released while predicting), and flat memory over many predictions and trainings."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import sylvan


def problem(seed, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) > 0.3).astype(np.float32)
    return X, y


@pytest.mark.parametrize("extra,early", [
    ({"subsample": 0.7, "colsample_bynode": 0.6}, None),
    ({"booster": "dart", "rate_drop": 0.2}, None),
    ({"eta": 0.9}, 3),
])
def test_resuming_from_a_checkpoint_gives_the_uninterrupted_model(tmp_path, extra, early):
    X, y = problem(0)
    Xv, yv = problem(1, 800)
    d, v = sylvan.Dataset(X, label=y), sylvan.Dataset(Xv, label=yv)
    params = {"objective": "binary:logistic", "max_depth": 4, **extra}
    run = dict(num_boost_round=15, evals=[(v, "valid")], early_stopping_rounds=early, verbose_eval=False)
    whole = sylvan.train(params, d, checkpoint_dir=tmp_path / "whole", checkpoint_keep=100, **run)
    saved = sorted(os.listdir(tmp_path / "whole"))
    assert saved[0] == "checkpoint-00000001.sylvan" and len(saved) == whole.num_boosted_rounds()
    for cut in (1, len(saved) // 2, len(saved)):
        # A killed run: only the checkpoints up to `cut` rounds exist.
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        for name in saved[:cut]:
            (folder / name).write_bytes((tmp_path / "whole" / name).read_bytes())
        resumed = sylvan.train(params, d, checkpoint_dir=folder, resume=True, **run)
        assert resumed.save_raw() == whole.save_raw(), f"resumed after {cut} rounds"
    with pytest.raises(ValueError, match="no checkpoint"):
        sylvan.train(params, d, checkpoint_dir=tmp_path / "empty", resume=True, **run)
    with pytest.raises(ValueError, match="at least 1"):
        sylvan.train(params, d, checkpoint_dir=tmp_path / "x", checkpoint_every=0, **run)


def test_eight_threads_share_one_booster():
    X, y = problem(2)
    booster = sylvan.train({"objective": "binary:logistic", "max_depth": 6}, sylvan.Dataset(X, label=y), 30,
                           verbose_eval=False)
    expected = booster.predict(X)
    contribs = booster.predict(X, pred_contribs=True)
    failures, calls = [], [0] * 8
    stop = time.monotonic() + 3.0

    def predict(t):
        while time.monotonic() < stop:
            if (t + calls[t]) % 2:
                ok = np.array_equal(booster.predict(X, pred_contribs=True), contribs)
            else:
                ok = np.array_equal(booster.predict(X), expected)
            if not ok:
                failures.append(t)
            calls[t] += 1

    def train_another():
        Xo, yo = problem(3)
        while time.monotonic() < stop:
            sylvan.train({"max_depth": 3}, sylvan.Dataset(Xo, label=yo), 10, verbose_eval=False)

    threads = [threading.Thread(target=predict, args=(t,)) for t in range(8)]
    threads.append(threading.Thread(target=train_another))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and min(calls) >= 1, (failures, calls)


def test_memory_stays_flat_over_many_predictions_and_trainings():
    script = textwrap.dedent(
        """
        import numpy as np, sylvan
        def rss():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) * 1024
        rng = np.random.default_rng(0)
        X = rng.normal(size=(2000, 8)).astype(np.float32)
        y = (X[:, 0] > 0).astype(np.float32)
        d = sylvan.Dataset(X, label=y)
        b = sylvan.train({"objective": "binary:logistic"}, d, 20, verbose_eval=False)
        row = X[:1]
        def work(predictions, trainings):
            for _ in range(predictions):
                b.predict(row)
            for _ in range(trainings):
                sylvan.train({"max_depth": 4}, d, 10, verbose_eval=False)
        work(2_000, 5)  # warm-up: caches, thread pools, allocator arenas
        before = rss()
        work(100_000, 50)
        print(rss() - before)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    growth = int(out.split()[-1])
    print(f"RSS growth over 100,000 single-row predictions and 50 trainings: {growth / 2**20:.1f} MB")
    assert growth < 16 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the address-space limit is read from /proc")
def test_a_training_that_cannot_fit_raises_memory_error_before_allocating():
    # The process's address space is limited to what it has mapped plus 600 MB; 500 classes of
    # 200,000 rows need 1.7 GB of margins and gradient pairs, so training must refuse at once.
    script = textwrap.dedent(
        """
        import resource, numpy as np, sylvan
        with open("/proc/self/status") as f:
            mapped = next(int(l.split()[1]) for l in f if l.startswith("VmSize")) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mapped + 600_000_000, resource.RLIM_INFINITY))
        X = np.random.default_rng(0).normal(size=(200_000, 5)).astype(np.float32)
        d = sylvan.Dataset(X, label=(np.arange(200_000) % 500).astype(np.float32))
        try:
            sylvan.train({"objective": "multi:softprob", "num_class": 500}, d, 2, verbose_eval=False)
            print("trained")
        except MemoryError as e:
            print("MemoryError:", e)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run.stdout.strip()
    assert out.startswith("MemoryError: not enough memory: training needs an estimated"), out
    assert "margins" in out and "ulimit -v" in out, out
