"""Functional tests of the sylvan Python package: inputs, categories, errors, persistence, export,
early stopping, scikit-learn integration, interruption, and agreement with the ``sylvan`` CLI.

Models trained from the same data through different inputs (layouts, dtypes, frame libraries, the
CLI) must be identical (trees compared exactly, predictions bit for bit). Categories are checked
against a hand-made encoding (sorted strings, unseen = missing) read through the numeric path,
exactly. Tolerances: exported models reloaded or run by onnxruntime within 1e-6/1e-5 (f32 threshold
and leaf values written as text or f32); evaluation metrics recomputed in numpy within 1e-5 relative
(f32 scores, another summation order). Identities of weights, base_margin, iteration ranges and early
stopping are in test_identities.py. With SYLVAN_REQUIRE_REFERENCE=1 a skip is a failure (conftest.py).
"""

import _thread
import json
import os
import pickle
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sylvan
from sylvan import Booster, Dataset, SylvanClassifier, SylvanError, SylvanRegressor

PARAMS = {"objective": "reg:squarederror", "eta": 0.2, "max_depth": 4, "seed": 7}


def trees_of(booster):
    """The fitted trees and base margin of a booster (what must agree between two trainings)."""
    m = json.loads(booster.to_json())
    return m["trees"], m["base_margin"]


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(42)
    n = 800
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[rng.random(n) < 0.05, 2] = np.nan
    y = (X[:, 0] * 2 + np.sin(X[:, 1]) + np.nan_to_num(X[:, 2]) * 0.5 + rng.normal(scale=0.1, size=n)).astype(
        np.float32
    )
    return X, y


@pytest.fixture(scope="module")
def mixed_frame():
    """A DataFrame with numeric, boolean and string columns (with missing values) and a label."""
    rng = np.random.default_rng(3)
    n = 600
    color = rng.choice(["red", "green", "blue", "violet"], size=n).astype(object)
    color[rng.random(n) < 0.05] = None
    x = rng.normal(size=n)
    flag = rng.random(n) < 0.3
    count = rng.integers(0, 20, size=n)
    effect = {"red": 1.0, "green": -1.0, "blue": 0.5, "violet": 2.0, None: 0.0}
    y = x + np.array([effect[c] for c in color]) + flag * 0.7 + count * 0.05
    return pd.DataFrame({"x": x, "color": color, "flag": flag, "count": count, "y": y})


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def test_numpy_layouts_and_dtypes_give_the_same_model(regression_data):
    X, y = regression_data
    ref = sylvan.train(PARAMS, Dataset(X, label=y), 15)
    variants = {
        "fortran": np.asfortranarray(X),
        "float64": X.astype(np.float64),
        "float64-fortran": np.asfortranarray(X.astype(np.float64)),
        "strided": np.repeat(X, 2, axis=1)[:, ::2],
        "list": X.tolist(),
    }
    for name, Xv in variants.items():
        b = sylvan.train(PARAMS, Dataset(Xv, label=y), 15)
        assert trees_of(b) == trees_of(ref), name
        np.testing.assert_array_equal(b.predict(Xv), ref.predict(X), err_msg=name)


def test_dataframes_and_tables_give_the_same_model(regression_data):
    X, y = regression_data
    names = ["a", "b", "c", "d"]
    pdf = pd.DataFrame(X, columns=names)
    inputs = {
        "numpy": X,
        "pandas": pdf,
        "pandas-float64": pdf.astype(np.float64),
        "polars": pl.from_pandas(pdf),
        "pyarrow": pa.Table.from_pandas(pdf, preserve_index=False),
    }
    ref = sylvan.train(PARAMS, Dataset(X, label=y), 15)
    for name, data in inputs.items():
        b = sylvan.train(PARAMS, Dataset(data, label=y), 15)
        assert trees_of(b) == trees_of(ref), name
        np.testing.assert_array_equal(b.predict(data), ref.predict(X), err_msg=name)
        if name != "numpy":
            assert b.feature_names == names


def test_categorical_columns_from_every_frame_library(mixed_frame):
    df = mixed_frame
    feats = df.drop(columns="y")
    variants = {
        "pandas-object": feats,
        "pandas-category": feats.assign(color=feats["color"].astype("category")),
        "pandas-string": feats.assign(color=feats["color"].astype("string")),
        "polars": pl.from_pandas(feats),
        "polars-categorical": pl.from_pandas(feats).with_columns(pl.col("color").cast(pl.Categorical)),
        "pyarrow": pa.Table.from_pandas(feats, preserve_index=False),
        "pyarrow-dictionary": pa.Table.from_pandas(feats.assign(color=feats["color"].astype("category")),
                                                   preserve_index=False),
    }
    ref = None
    for name, data in variants.items():
        d = Dataset(data, label=df["y"])
        assert d.categories == {"color": ["blue", "green", "red", "violet"]}, name
        b = sylvan.train(PARAMS, d, 20)
        assert b.categories == d.categories
        p = b.predict(data)
        if ref is None:
            ref = (trees_of(b), p)
        assert trees_of(b) == ref[0], name
        np.testing.assert_array_equal(p, ref[1], err_msg=name)
    # The category matters: a model that sees it beats one that does not.
    assert np.mean((ref[1] - df["y"]) ** 2) < 0.1


# The training frame's categories, numbered in sorted order of the strings (Dataset's documented rule).
TRAINING_CODES = {"blue": 0.0, "green": 1.0, "red": 2.0, "violet": 3.0}


def coded_by_hand(feats):
    """The features as a plain float matrix with ``color`` coded by TRAINING_CODES and anything else
    (missing, unseen) NaN: an encoding independent of Sylvan's category code, for the numeric path."""
    color = np.array([TRAINING_CODES.get(c, np.nan) if isinstance(c, str) else np.nan for c in feats["color"]])
    return np.column_stack(
        [feats["x"].to_numpy(np.float64), color, feats["flag"].to_numpy(np.float64), feats["count"].to_numpy(np.float64)]
    ).astype(np.float32)


def test_prediction_uses_the_models_categories_and_column_names(mixed_frame):
    df = mixed_frame
    feats = df.drop(columns="y")
    b = sylvan.train(PARAMS, Dataset(feats, label=df["y"]), 20)
    full = b.predict(feats)
    # The model's codes are the sorted strings; the numeric path with hand-made codes agrees.
    assert b.categories == {"color": sorted(TRAINING_CODES)}
    np.testing.assert_array_equal(b.predict(coded_by_hand(feats)), full)

    # A prediction frame holding a subset of the categories ("violet" and "green", which on their
    # own would be coded 1 and 0, the codes of "green" and "blue" in training), rows shuffled, and
    # unseen categories ("mauve", "teal", documented to be missing values).
    rng = np.random.default_rng(5)
    subset = np.flatnonzero(feats["color"].isin(["violet", "green"]).to_numpy())
    rows = rng.permutation(subset)[:60]
    unseen_rows = rng.permutation(np.flatnonzero(feats["color"].notna().to_numpy()))[:6]
    pred = pd.concat(
        [feats.iloc[rows], feats.iloc[unseen_rows].assign(color=["mauve", "teal"] * 3)], ignore_index=True
    )
    as_missing = pd.concat([feats.iloc[rows], feats.iloc[unseen_rows].assign(color=None)], ignore_index=True)
    expected = np.concatenate([full[rows], b.predict(as_missing)[len(rows):]])
    # The reference for the unseen rows is independent of the category code too.
    np.testing.assert_array_equal(expected, b.predict(coded_by_hand(pred)))
    # The model tells the categories apart: the codes the subset would learn on its own (green 0,
    # violet 1) predict differently, so a mapping learned from the prediction frame would show.
    wrong = coded_by_hand(pred)
    wrong[:, 1] = np.select([wrong[:, 1] == 1.0, wrong[:, 1] == 3.0], [0.0, 1.0], np.nan)
    assert not np.array_equal(b.predict(wrong), expected)
    variants = {
        "pandas-object": pred,
        # Categorical dtype whose categories are a subset in another order than sorted.
        "pandas-category": pred.assign(
            color=pd.Categorical(pred["color"], categories=["violet", "teal", "mauve", "green"])
        ),
        "polars": pl.from_pandas(pred),
        "polars-categorical": pl.from_pandas(pred).with_columns(pl.col("color").cast(pl.Categorical)),
        "pyarrow-dictionary": pa.Table.from_pandas(
            pred.assign(color=pd.Categorical(pred["color"], categories=["teal", "violet", "mauve", "green"])),
            preserve_index=False,
        ),
    }
    for name, data in variants.items():
        np.testing.assert_array_equal(b.predict(data), expected, err_msg=name)
    # The scikit-learn estimator maps the same way.
    est = SylvanRegressor(n_estimators=20).fit(feats, df["y"])
    est_pred = est.predict(pred)
    np.testing.assert_array_equal(est_pred[: len(rows)], est.predict(feats)[rows])
    np.testing.assert_array_equal(est_pred[len(rows):], est.predict(as_missing)[len(rows):])

    # Columns in another order (and extra columns) are matched by name.
    np.testing.assert_array_equal(b.predict(df[["y", "count", "flag", "color", "x"]]), full)
    with pytest.raises(ValueError, match="lacks"):
        b.predict(feats.drop(columns="x"))


def test_validation_sets_reuse_the_training_categories(mixed_frame):
    df = mixed_frame
    feats = df.drop(columns="y")
    dtrain = Dataset(feats, label=df["y"])
    # The validation subset lacks "blue": on its own it would learn other codes.
    valid = df[df["color"] != "blue"]
    dvalid = Dataset(valid.drop(columns="y"), label=valid["y"])
    assert dvalid.categories != dtrain.categories
    # The same rows coded by hand with the training codes, read through the numeric path.
    dcoded = Dataset(coded_by_hand(valid), label=valid["y"])
    result = {}
    b = sylvan.train(PARAMS, dtrain, 10, evals=[(dvalid, "frame"), (dcoded, "coded")], evals_result=result)
    assert result["frame"]["rmse"] == result["coded"]["rmse"]
    # And the last round's value is the RMSE of the predictions, computed here in f64.
    p = b.predict(coded_by_hand(valid)).astype(np.float64)
    rmse = float(np.sqrt(np.mean((p - valid["y"].to_numpy(np.float32).astype(np.float64)) ** 2)))
    # Tolerance: Sylvan's metric reads f32 scores and sums in its own order; 1e-5 relative covers that.
    assert result["frame"]["rmse"][-1] == pytest.approx(rmse, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_errors_are_python_exceptions(regression_data, tmp_path):
    X, y = regression_data
    d = Dataset(X, label=y)
    with pytest.raises(SylvanError, match="eta"):
        sylvan.train({"eta": 5}, d)
    with pytest.raises(ValueError, match="no_such_param"):
        sylvan.train({"no_such_param": 1}, d)
    with pytest.raises(ValueError, match="max_depth"):
        sylvan.train({"max_depth": "deep"}, d)
    with pytest.raises(ValueError, match="row 3"):
        Dataset(X, label=np.where(np.arange(len(y)) == 3, np.nan, y))
    with pytest.raises(ValueError, match="infinite"):
        Dataset(np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X))
    with pytest.raises(ValueError):
        Dataset(X, label=y[:-1])
    with pytest.raises(ValueError):
        Dataset(X, weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="2-D"):
        Dataset(X[:, 0])
    with pytest.raises(TypeError):
        Dataset(np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[ns]"))
    with pytest.raises(ValueError, match="labels"):
        sylvan.train(PARAMS, Dataset(X))
    with pytest.raises(ValueError, match="classes|label"):
        sylvan.train({"objective": "binary:logistic"}, Dataset(X, label=y * 10))
    b = sylvan.train(PARAMS, d, 3)
    with pytest.raises(ValueError, match="features"):
        b.predict(X[:, :3])
    with pytest.raises(OSError):
        Booster.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not a model")
    with pytest.raises(ValueError, match="model"):
        Booster.load(bad)
    with pytest.raises(ValueError, match="format"):
        b.export_model(tmp_path / "m.bin", format="catboost")
    with pytest.raises(ValueError, match="iteration_range"):
        b.predict(X, iteration_range=(2, 9))
    with pytest.raises(TypeError):
        sylvan.train(PARAMS, X)
    with pytest.raises(TypeError, match="categorical"):
        mixed = pd.DataFrame({"c": ["a", "b"] * 10})
        bc = sylvan.train(PARAMS, Dataset(mixed, label=np.arange(20.0)), 2)
        bc.predict(pd.DataFrame({"c": np.arange(20.0)}))
    with pytest.raises(TypeError, match="no categories"):
        bn = sylvan.train(PARAMS, Dataset(pd.DataFrame({"c": np.arange(20.0)}), label=np.arange(20.0)), 2)
        bn.predict(pd.DataFrame({"c": ["a", "b"] * 10}))
    with pytest.raises(TypeError, match="no categories"):
        rn = SylvanRegressor(n_estimators=2).fit(pd.DataFrame({"c": np.arange(20.0)}), np.arange(20.0))
        rn.predict(pd.DataFrame({"c": ["a", "b"] * 10}))
    with pytest.raises(ValueError):
        SylvanRegressor(max_bin=1).fit(X, y)
    with pytest.raises(ValueError, match="eval_set"):
        SylvanRegressor(early_stopping_rounds=3).fit(X, y)


# ---------------------------------------------------------------------------------------------
# Persistence and export
# ---------------------------------------------------------------------------------------------


def test_save_load_json_and_binary(regression_data, tmp_path):
    X, y = regression_data
    b = sylvan.train(PARAMS, Dataset(pd.DataFrame(X, columns=list("abcd")), label=y), 10)
    p = b.predict(X)
    for name in ("m.json", "m.sylvan"):
        b.save_model(tmp_path / name)
        back = Booster.load(tmp_path / name)
        np.testing.assert_array_equal(back.predict(X), p)
        assert back.feature_names == list("abcd")
        assert Booster(model_file=tmp_path / name).num_boosted_rounds() == 10
    assert json.loads((tmp_path / "m.json").read_text())["format"] == "sylvan"
    assert (tmp_path / "m.sylvan").read_bytes().startswith(b"SYLVAN")
    np.testing.assert_array_equal(Booster.from_bytes(b.save_raw()).predict(X), p)


def test_export_formats(regression_data, tmp_path):
    X, y = regression_data
    b = sylvan.train(PARAMS, Dataset(X, label=y), 10)
    p = b.predict(X)
    b.export_model(tmp_path / "m.xgb.json", format="xgboost-json")
    xgb = json.loads((tmp_path / "m.xgb.json").read_text())
    assert xgb["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] == "10"
    np.testing.assert_allclose(Booster.import_model(tmp_path / "m.xgb.json").predict(X), p, rtol=1e-6, atol=1e-6)
    b.export_model(tmp_path / "m.txt", format="lightgbm")
    assert (tmp_path / "m.txt").read_text().startswith("tree")
    np.testing.assert_allclose(
        Booster.import_model(tmp_path / "m.txt", format="lightgbm").predict(X), p, rtol=1e-6, atol=1e-6
    )
    b.export_model(tmp_path / "m.onnx", format="onnx")
    assert (tmp_path / "m.onnx").stat().st_size > 100
    # Without onnxruntime this skips, which SYLVAN_REQUIRE_REFERENCE=1 turns into a failure (conftest.py).
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(np.asarray(out).ravel(), p, rtol=1e-5, atol=1e-5)


def test_pickle_roundtrip(regression_data):
    X, y = regression_data
    for est in (SylvanRegressor(n_estimators=15), SylvanClassifier(n_estimators=15)):
        target = y if isinstance(est, SylvanRegressor) else (y > 0).astype(int)
        est.fit(X, target)
        back = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(back.predict(X), est.predict(X))
        assert back.get_params() == est.get_params()
    b = sylvan.train(PARAMS, Dataset(X, label=y), 5)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(b)).predict(X), b.predict(X))


def test_estimator_save_and_load_model(mixed_frame, tmp_path):
    df = mixed_frame
    est = SylvanRegressor(n_estimators=10).fit(df.drop(columns="y"), df["y"])
    est.save_model(tmp_path / "r.json")
    back = SylvanRegressor()
    back.load_model(tmp_path / "r.json")
    np.testing.assert_array_equal(back.predict(df.drop(columns="y")), est.predict(df.drop(columns="y")))


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


def test_regressor_and_classifiers_learn():
    X, y = load_diabetes(return_X_y=True)
    r = SylvanRegressor(n_estimators=50, learning_rate=0.1, max_depth=3).fit(X, y)
    assert r.score(X, y) > 0.7
    assert r.n_features_in_ == 10
    assert r.feature_importances_.shape == (10,) and abs(r.feature_importances_.sum() - 1) < 1e-5

    X, y = load_breast_cancer(return_X_y=True)
    c = SylvanClassifier(n_estimators=30).fit(X, y)
    assert c.score(X, y) > 0.97
    assert list(c.classes_) == [0, 1]
    assert c.predict_proba(X).shape == (len(y), 2)

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    m = SylvanClassifier(n_estimators=20).fit(X, names)
    proba = m.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert m.score(X, names) > 0.95
    assert set(m.predict(X)) <= set(names)
    assert m.get_booster().objective == "multi:softprob"


def test_parameters_reach_sylvan():
    est = SylvanRegressor(
        n_estimators=7, learning_rate=0.05, max_depth=3, reg_lambda=2.0, reg_alpha=0.5, gamma=0.1,
        min_child_weight=2, subsample=0.8, colsample_bytree=0.9, max_bin=64, tree_method="hist",
        grow_policy="lossguide", max_leaves=8, random_state=5, n_jobs=1, eval_metric=["rmse", "mae"],
    )
    X, y = load_diabetes(return_X_y=True)
    est.fit(X, y, eval_set=[(X, y)])
    p = est.get_booster().params()
    assert (p["num_round"], p["eta"], p["max_depth"], p["lambda"], p["alpha"], p["gamma"]) == (7, 0.05, 3, 2.0, 0.5, 0.1)
    assert (p["min_child_weight"], p["subsample"], p["colsample_bytree"], p["max_bin"]) == (2, 0.8, 0.9, 64)
    assert (p["grow_policy"], p["max_leaves"], p["seed"], p["nthread"]) == ("lossguide", 8, 5, 1)
    assert est.get_booster().num_boosted_rounds() == 7
    assert set(est.evals_result_["validation_0"]) == {"rmse", "mae"}


def test_early_stopping():
    X, y = load_diabetes(return_X_y=True)
    Xt, yt, Xv, yv = X[:300], y[:300], X[300:], y[300:]
    est = SylvanRegressor(n_estimators=300, learning_rate=0.3, early_stopping_rounds=5).fit(
        Xt, yt, eval_set=[(Xv, yv)]
    )
    b = est.get_booster()
    hist = est.evals_result_["validation_0"]["rmse"]
    assert len(hist) == b.num_boosted_rounds() < 300
    # The best round is the first lowest RMSE, and training stopped 5 rounds after it.
    assert est.best_iteration_ == int(np.argmin(hist))
    assert b.num_boosted_rounds() == est.best_iteration_ + 6
    assert est.best_score_ == pytest.approx(min(hist))
    # Prediction uses the rounds up to the best one.
    np.testing.assert_array_equal(est.predict(Xv), b.predict(Xv, iteration_range=(0, est.best_iteration_ + 1)))


def test_determinism_and_thread_count(regression_data):
    X, y = regression_data
    a = SylvanRegressor(n_estimators=20, subsample=0.7, colsample_bytree=0.8, random_state=1, n_jobs=1).fit(X, y)
    b = SylvanRegressor(n_estimators=20, subsample=0.7, colsample_bytree=0.8, random_state=1, n_jobs=2).fit(X, y)
    c = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.predict(X), c.predict(X))


def test_pipeline_gridsearch_cross_val():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SylvanClassifier(n_estimators=10))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.9
    grid = GridSearchCV(SylvanClassifier(n_estimators=10), {"max_depth": [2, 4], "learning_rate": [0.1, 0.3]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["max_depth"] in (2, 4)
    assert grid.score(X, y) > 0.9


def test_estimators_on_categorical_frames(mixed_frame):
    df = mixed_frame
    feats = df.drop(columns="y")
    r = SylvanRegressor(n_estimators=30).fit(feats, df["y"])
    assert list(r.feature_names_in_) == ["x", "color", "flag", "count"]
    assert r.score(feats, df["y"]) > 0.9
    rp = SylvanRegressor(n_estimators=30).fit(pl.from_pandas(feats), df["y"])
    np.testing.assert_array_equal(rp.predict(pl.from_pandas(feats)), r.predict(feats))
    labels = np.where(df["y"] > df["y"].median(), "high", "low")
    c = SylvanClassifier(n_estimators=20).fit(feats, labels, eval_set=[(feats, labels)])
    assert c.score(feats, labels) > 0.8
    assert "logloss" in c.evals_result_["validation_0"]
    with pytest.raises(ValueError, match="feature names"):
        r.predict(feats[["color", "x", "flag", "count"]])


# ---------------------------------------------------------------------------------------------
# Interruption
# ---------------------------------------------------------------------------------------------


def test_ctrl_c_interrupts_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 10)).astype(np.float32)
    y = X @ rng.normal(size=10).astype(np.float32)
    d = Dataset(X, label=y)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sylvan.train({"max_depth": 8, "eta": 0.01}, d, num_boost_round=100000)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 30
    # The library is still usable afterwards.
    assert sylvan.train(PARAMS, d, 2).num_boosted_rounds() == 2


# ---------------------------------------------------------------------------------------------
# The same model as the sylvan CLI (the Rust API)
# ---------------------------------------------------------------------------------------------


CLI = os.environ.get("SYLVAN_CLI")


@pytest.mark.skipif(not CLI, reason="set SYLVAN_CLI to the sylvan binary (ci.sh does)")
@pytest.mark.parametrize("objective", ["reg:squarederror", "binary:logistic"])
def test_same_model_as_the_cli(mixed_frame, tmp_path, objective):
    df = mixed_frame.copy()
    if objective == "binary:logistic":
        df["y"] = (df["y"] > df["y"].median()).astype(np.int64)
    df["color"] = df["color"].astype("category")
    data = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), data)
    params = {"objective": objective, "eta": 0.15, "max_depth": 5, "subsample": 0.8, "seed": 11}
    sets = [x for k, v in params.items() for x in ("--set", f"{k}={v}")]
    cli_model = tmp_path / "cli.json"
    subprocess.run(
        [CLI, "train", "--data", str(data), "--label", "y", "--model-out", str(cli_model), "--quiet",
         "--set", "num_round=25", *sets],
        check=True, capture_output=True,
    )
    # Python, from the same file read back through pandas.
    read = pd.read_parquet(data)
    booster = sylvan.train(params, Dataset(read.drop(columns="y"), label=read["y"]), 25)
    cli = Booster.load(cli_model)
    assert trees_of(booster) == trees_of(cli)
    assert booster.categories == cli.categories
    np.testing.assert_array_equal(booster.predict(read), cli.predict(read))
    # The CLI predicts with the Python model exactly as Python does.
    py_model = tmp_path / "py.sylvan"
    booster.save_model(py_model)
    out = tmp_path / "pred.parquet"
    subprocess.run(
        [CLI, "predict", "--model", str(py_model), "--data", str(data), "--out", str(out)],
        check=True, capture_output=True,
    )
    cli_pred = pq.read_table(out).column("prediction").to_numpy()
    np.testing.assert_array_equal(cli_pred.astype(np.float32), booster.predict(read))
    # And the scikit-learn estimator trains the same model.
    est_cls = SylvanRegressor if objective.startswith("reg") else SylvanClassifier
    est = est_cls(n_estimators=25, learning_rate=0.15, max_depth=5, subsample=0.8, random_state=11)
    est.fit(read.drop(columns="y"), read["y"])
    assert trees_of(est.get_booster()) == trees_of(cli)


def test_training_and_prediction_release_the_gil():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 10)).astype(np.float32)
    y = X @ rng.normal(size=10).astype(np.float32)
    d = Dataset(X, label=y)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        b = sylvan.train({"max_depth": 6}, d, num_boost_round=60)
        for _ in range(5):
            b.predict(d)
    finally:
        done.set()
        t.join()
    assert len(ticks) > 10


def test_margins_and_leaves(regression_data):
    X, y = regression_data
    yb = (y > 0).astype(int)
    c = SylvanClassifier(n_estimators=8).fit(X, yb)
    margin = c.predict(X, output_margin=True)
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), c.predict_proba(X)[:, 1], rtol=1e-5)
    leaves = c.apply(X)
    assert leaves.shape == (len(X), 8) and leaves.dtype == np.int64
