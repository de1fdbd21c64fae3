"""A Dataset read from a DataIter, binned as it is read (issue #23): the same model as the in-memory
Dataset, and a peak memory below the float copy's size on a million rows."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import sylvan
from sylvan import DataIter, Dataset, SylvanError


class Chunks(DataIter):
    """Rows of X (and y, w) in chunks of `size`."""

    def __init__(self, X, y=None, w=None, size=1000):
        self.X, self.y, self.w, self.size, self.at = X, y, w, size, 0

    def reset(self):
        self.at = 0

    def next(self, input_data):
        if self.at >= self.X.shape[0]:
            return False
        s = slice(self.at, self.at + self.size)
        self.at += self.size
        input_data(data=self.X[s], label=None if self.y is None else self.y[s], weight=None if self.w is None else self.w[s])
        return True


def problem(seed, n=4000, nf=6):
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, nf)), 2).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 > 0.8).astype(np.float32)
    w = rng.uniform(0.2, 2.0, n).astype(np.float32)
    return X, y, w


@pytest.mark.parametrize("seed,size,extra", [
    (0, 777, {}),
    (1, 1, {"grow_policy": "lossguide", "max_leaves": 16, "max_depth": 0}),
    (2, 4000, {"max_bin": 32, "colsample_bytree": 0.5}),
])
def test_an_iterator_dataset_trains_the_in_memory_model(seed, size, extra):
    X, y, w = problem(seed)
    n = 300 if size == 1 else len(y)
    X, y, w = X[:n], y[:n], w[:n]
    max_bin = extra.get("max_bin", 256)
    memory = Dataset(X, label=y, weight=w)
    chunked = Dataset(Chunks(X, y, w, size), max_bin=max_bin)
    assert chunked.num_rows == n and chunked.num_features == X.shape[1]
    params = {"objective": "binary:logistic", "max_depth": 4, **extra}
    a = sylvan.train(params, memory, 8, evals=[(memory, "train")], verbose_eval=False)
    b = sylvan.train(params, chunked, 8, evals=[(chunked, "train")], verbose_eval=False)
    assert a.to_json() == b.to_json()
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


@pytest.mark.parametrize("extra", [
    {"subsample": 0.7, "seed": 5},
    {"data_sample_strategy": "goss"},
    {"booster": "dart", "rate_drop": 0.3},
])
def test_row_sampling_prediction_and_binned_evaluation_sets_match_the_in_memory_run(extra):
    X, y, w = problem(4)
    Xv, yv, _ = problem(5, n=1500)
    params = {"objective": "binary:logistic", "max_depth": 4, "max_bin": 64, **extra}
    memory, valid = Dataset(X, label=y, weight=w), Dataset(Xv, label=yv)
    chunked = Dataset(Chunks(X, y, w, 900), max_bin=64)
    chunked_valid = Dataset(Chunks(Xv, yv, size=400), reference=chunked)
    ra, rb = {}, {}
    a = sylvan.train(params, memory, 10, evals=[(memory, "train"), (valid, "valid")], evals_result=ra,
                     verbose_eval=False)
    b = sylvan.train(params, chunked, 10, evals=[(chunked, "train"), (chunked_valid, "valid")], evals_result=rb,
                     verbose_eval=False)
    assert a.to_json() == b.to_json()
    assert ra == rb
    # Predicting on the binned sets walks their bins: the values' predictions, bit for bit.
    np.testing.assert_array_equal(b.predict(chunked_valid), a.predict(Xv))
    np.testing.assert_array_equal(b.predict(chunked, pred_contribs=True), a.predict(memory, pred_contribs=True))
    # XGBoost's spelling.
    import sylvan.compat as xgb

    q = xgb.QuantileDMatrix(Chunks(Xv, yv, size=400), ref=chunked)
    np.testing.assert_array_equal(b.predict(q), a.predict(Xv))


def test_sparse_chunks_and_what_an_iterator_dataset_refuses():
    X, y, _ = problem(3)
    X = np.where(np.isnan(X), 0.0, X)
    csr = sp.csr_matrix(X)
    a = sylvan.train({}, Dataset(csr, label=y), 4, verbose_eval=False)
    b = sylvan.train({}, Dataset(Chunks(csr, y, size=999)), 4, verbose_eval=False)
    assert a.to_json() == b.to_json()
    d = Dataset(Chunks(X, y, size=500), max_bin=64)
    with pytest.raises(SylvanError, match="max_bin"):
        sylvan.train({"max_bin": 32}, d, 2, verbose_eval=False)
    with pytest.raises(SylvanError, match="cut points"):
        sylvan.train({}, Dataset(X, label=y), 2, evals=[(d, "v")], verbose_eval=False)
    with pytest.raises(SylvanError, match="cut points"):
        other = Dataset(Chunks(X, y, size=500), max_bin=32)
        sylvan.train({"max_bin": 64}, d, 2, evals=[(other, "v")], verbose_eval=False)
    with pytest.raises(ValueError, match="reference"):
        Dataset(Chunks(X, y, size=500), reference=Dataset(X, label=y))
    with pytest.raises(SylvanError, match="cut points"):
        # A model trained on other values cannot walk these bins.
        sylvan.train({}, Dataset(X * 1.1 + 0.05, label=y), 2, verbose_eval=False).predict(d)
    with pytest.raises(ValueError, match="sliced"):
        d.slice([0, 1])

    class Ragged(Chunks):
        def next(self, input_data):
            more = super().next(input_data)
            self.size += 1  # a different split on every pass: fine while the rows stay the same
            return more

    class Shrinking(Chunks):
        passes = 0

        def reset(self):
            super().reset()
            self.passes += 1
            if self.passes == 3:
                self.X, self.y = self.X[:-5], self.y[:-5]

    Dataset(Ragged(X, y, size=700))
    with pytest.raises(SylvanError, match="same rows"):
        Dataset(Shrinking(X, y, size=700))
    with pytest.raises(ValueError, match="no rows"):
        Dataset(Chunks(X[:0], y[:0]))


def test_a_million_rows_from_an_iterator_stay_below_the_float_copy():
    script = textwrap.dedent(
        """
        import resource, numpy as np, sylvan
        N, NF, CH = 1_000_000, 50, 50_000

        class Gen(sylvan.DataIter):
            def __init__(self):
                self.i = 0
            def reset(self):
                self.i = 0
            def next(self, input_data):
                if self.i >= N:
                    return False
                x = np.random.default_rng(self.i).random((CH, NF), dtype=np.float32)
                input_data(data=x, label=(x[:, 0] + x[:, 1] > 1).astype(np.float32))
                self.i += CH
                return True

        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        # The baseline holds the libraries and one chunk's work.
        x = np.random.default_rng(0).random((CH, NF), dtype=np.float32)
        sylvan.Dataset(x, label=np.zeros(CH, dtype=np.float32))
        del x
        base = peak()
        d = sylvan.Dataset(Gen(), max_bin=256)
        print(peak() - base, N * NF * 4)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    growth, floats = int(out[0]), int(out[1])
    print(f"peak growth building a 1M x 50 iterator Dataset: {growth / 2**20:.0f} MB (floats: {floats / 2**20:.0f} MB)")
    assert growth < floats
