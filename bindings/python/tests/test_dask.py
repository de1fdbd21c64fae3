"""Distributed training on a Dask cluster (sylvan.dask): the model trained over 2 and 3 worker
processes equals, byte for byte, the one-process model on the computed data (binary, regression,
multiclass; hist and approx; missing values and a categorical column), predictions are identical,
and a failing rank (an exception, a worker process that dies, a worker that stalls) makes training
raise instead of hang. The data has 240,000 rows so that every rank holds several partitions; few
rounds keep it quick. Skips when dask or distributed is missing (CI installs them).
"""

import time

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import sylvan  # noqa: E402
import sylvan.dask as sdask  # noqa: E402
from sylvan import SylvanError  # noqa: E402

ROWS = 240_000
PARTITIONS = 9


def make_frame(seed=0, rows=ROWS):
    """Numeric columns with missing values and a pandas category column (known categories, some
    never used, so the codes must come from what the data holds)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)])
    colours = np.array(["red", "green", "blue", "amber", "violet"])
    cat = pd.Categorical(colours[rng.integers(0, 5, rows)], categories=["unused", *sorted(colours)])
    df["colour"] = cat
    df.loc[rng.random(rows) < 0.02, "colour"] = np.nan
    signal = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + (df["colour"].cat.codes.to_numpy() % 3)
    return df, signal.astype(np.float32), rng


def labels(kind, signal, rng):
    if kind == "regression":
        return signal + rng.normal(scale=0.1, size=len(signal)).astype(np.float32)
    if kind == "binary":
        return (signal > np.median(signal)).astype(np.float32)
    return np.digitize(signal, np.quantile(signal, [0.33, 0.66])).astype(np.float32)


OBJECTIVES = {
    "regression": {"objective": "reg:squarederror"},
    "binary": {"objective": "binary:logistic"},
    "multiclass": {"objective": "multi:softprob", "num_class": 3},
}


@pytest.fixture(scope="module", params=[2, 3], ids=["2-workers", "3-workers"])
def client(request):
    with distributed.LocalCluster(
        n_workers=request.param, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    return make_frame()


@pytest.mark.parametrize("kind", sorted(OBJECTIVES))
@pytest.mark.parametrize("method", ["hist", "approx"])
def test_the_cluster_model_is_the_one_process_model(client, data, kind, method):
    df, signal, rng = data
    y = labels(kind, signal, np.random.default_rng(1))
    params = {**OBJECTIVES[kind], "tree_method": method, "max_depth": 4, "eta": 0.3, "seed": 3}
    ddf = dd.from_pandas(df, npartitions=PARTITIONS, sort=False)
    dy = dd.from_pandas(pd.Series(y, index=df.index), npartitions=PARTITIONS, sort=False)
    dist = sdask.train(client, params, ddf, dy, num_boost_round=3)
    local = sylvan.train(params, sylvan.Dataset(df, label=y), num_boost_round=3)
    assert dist.categories == local.categories == {"colour": ["amber", "blue", "green", "red", "violet"]}
    assert dist.save_raw() == local.save_raw()
    got = sdask.predict(client, dist, ddf).compute()
    want = local.predict(df)
    np.testing.assert_array_equal(np.asarray(got).reshape(want.shape), want)


def test_arrays_weights_and_sharded_evaluation_sets(client, data):
    df, signal, _ = data
    X = df.drop(columns="colour").to_numpy()
    y = labels("regression", signal, np.random.default_rng(2))
    w = np.random.default_rng(3).random(len(y)).astype(np.float32) + 0.5
    chunks = (ROWS // PARTITIONS + 1, -1)
    dX, dy, dw = da.from_array(X, chunks=chunks), da.from_array(y, chunks=chunks[0]), da.from_array(w, chunks=chunks[0])
    Xv, yv = X[:60_000], y[:60_000] * 1.1
    dXv, dyv = da.from_array(Xv, chunks=(10_000, -1)), da.from_array(yv, chunks=10_000)
    params = {"objective": "reg:squarederror", "max_depth": 3, "eval_metric": ["rmse", "mae"]}
    history = {}
    dist = sdask.train(client, params, dX, dy, sample_weight=dw, evals=[(dXv, dyv, "valid")],
                       num_boost_round=6, early_stopping_rounds=2, evals_result=history)
    local_history = {}
    local = sylvan.train(params, sylvan.Dataset(X, label=y, weight=w), num_boost_round=6,
                         evals=[(sylvan.Dataset(Xv, label=yv), "valid")], early_stopping_rounds=2,
                         evals_result=local_history)
    assert dist.save_raw() == local.save_raw()
    assert history == local_history and set(history["valid"]) == {"rmse", "mae"}
    np.testing.assert_array_equal(sdask.predict(client, dist, dX).compute(), local.predict(X))


def test_estimators_match_the_scikit_learn_ones(client, data):
    df, signal, _ = data
    y = labels("multiclass", signal, np.random.default_rng(4)).astype(int)
    ddf = dd.from_pandas(df, npartitions=PARTITIONS, sort=False)
    dy = dd.from_pandas(pd.Series(y, index=df.index), npartitions=PARTITIONS, sort=False)
    clf = sdask.SylvanClassifier(n_estimators=3, max_depth=3)
    clf.client = client
    clf.fit(ddf, dy)
    ref = sylvan.SylvanClassifier(n_estimators=3, max_depth=3).fit(df, y)
    assert clf.get_booster().save_raw() == ref.get_booster().save_raw()
    np.testing.assert_array_equal(clf.predict_proba(ddf).compute().to_numpy(), ref.predict_proba(df))
    np.testing.assert_array_equal(clf.predict(ddf).compute().to_numpy(), ref.predict(df))
    yb = (y == 2).astype(int)
    dyb = dd.from_pandas(pd.Series(yb, index=df.index), npartitions=PARTITIONS, sort=False)
    reg = sdask.SylvanRegressor(n_estimators=2, max_depth=3)
    reg.client = client
    reg.fit(ddf, dyb.astype(np.float32))
    ref = sylvan.SylvanRegressor(n_estimators=2, max_depth=3).fit(df, yb.astype(np.float32))
    assert reg.get_booster().save_raw() == ref.get_booster().save_raw()
    binary = sdask.SylvanClassifier(n_estimators=2, max_depth=3)
    binary.client = client
    binary.fit(ddf, dyb)
    ref = sylvan.SylvanClassifier(n_estimators=2, max_depth=3).fit(df, yb)
    np.testing.assert_array_equal(binary.predict_proba(ddf).compute().to_numpy(), ref.predict_proba(df))


def test_refused_methods_and_misaligned_labels_fail_cleanly(client, data):
    df, signal, _ = data
    y = labels("regression", signal, np.random.default_rng(5))
    ddf = dd.from_pandas(df, npartitions=PARTITIONS, sort=False)
    dy = dd.from_pandas(pd.Series(y, index=df.index), npartitions=PARTITIONS, sort=False)
    with pytest.raises(SylvanError, match="exact"):
        sdask.train(client, {"tree_method": "exact", "collective_timeout": 60}, ddf, dy, num_boost_round=1)
    with pytest.raises(ValueError, match="partitions do not line up"):
        sdask.train(client, {}, ddf, dd.from_pandas(pd.Series(y), npartitions=4, sort=False), num_boost_round=1)
    with pytest.raises(SylvanError, match="eta"):
        sdask.train(client, {"eta": 5}, ddf, dy, num_boost_round=1)


def test_blocks_are_contiguous_balanced_and_placed_where_the_rows_are():
    assert sdask.contiguous_blocks([10, 10, 10, 10], 2) == [(0, 2), (2, 4)]
    assert sdask.contiguous_blocks([0, 5, 0, 5, 0], 2) == [(0, 2), (2, 5)]
    blocks = sdask.contiguous_blocks([100, 1, 1, 1, 100], 3)
    assert blocks[0] == (0, 1) and blocks[-1][1] == 5 and all(a < b for a, b in blocks)
    with pytest.raises(ValueError):
        sdask.contiguous_blocks([5, 0], 2)
    holders = [["a"], ["b"], ["b"], ["a"]]
    assert sdask.assign_workers([(0, 2), (2, 4)], [1, 1, 1, 1], holders, ["a", "b"]) in (["a", "b"], ["b", "a"])
    assert sdask.assign_workers([(0, 1), (1, 3)], [1, 5, 5, 1], holders, ["a", "b", "c"]) == ["a", "b"]
    # Two blocks whose rows sit on one worker: one gets it, the other a free worker.
    assert sorted(sdask.assign_workers([(0, 1), (1, 2)], [1, 1], [["a"], ["a"]], ["a", "c"])) == ["a", "c"]


def _fault_run(fault, timeout=30):
    df, signal, _ = make_frame(seed=9, rows=50_000)
    y = labels("regression", signal, np.random.default_rng(6))
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        ddf = dd.from_pandas(df, npartitions=6, sort=False)
        dy = dd.from_pandas(pd.Series(y, index=df.index), npartitions=6, sort=False)
        start = time.monotonic()
        with pytest.raises(SylvanError) as err:
            sdask.train(c, {"max_depth": 3, "collective_timeout": timeout}, ddf, dy, num_boost_round=50,
                        _fault_injection=fault)
        return str(err.value), time.monotonic() - start


def test_an_exception_on_one_rank_fails_every_rank():
    message, _ = _fault_run(("raise", 1))
    assert "rank 1" in message and "injected fault" in message, message


def test_a_worker_that_dies_fails_the_training():
    message, _ = _fault_run(("exit", 1))
    assert "rank 1" in message, message


def test_a_stalled_worker_times_out_naming_it():
    message, _ = _fault_run(("stall", 1, 30.0), timeout=3)
    assert "no answer from rank(s) 1" in message and "collective_timeout" in message, message
