"""Categorical features through the Python package (issue 17): pandas ``category``, polars
``Categorical``/``Enum`` and pyarrow dictionary columns, numeric codes declared categorical,
re-encoding by category name at prediction, unseen categories, ``enable_categorical``, persistence,
continued training and the scikit-learn estimators.

What is pinned, and how:

- Category columns of every frame library give the same model, bit for bit (trees compared
  exactly), and it is a categorical model (``feature_types``, category-set splits in the trees).
- Codes are the training categories in sorted order of their names (the CLI's rule): the same
  data given as those integer codes in a numeric column declared categorical (``feature_types``,
  ``categorical_features`` by name or by index) trains exactly the same trees, and predicting
  with hand-made codes through a plain array agrees bit for bit with predicting on the frame.
- Re-encoding by name: frames whose category dtype lists the categories in another order, a
  subset, or extra unused ones (pandas, polars Enum, pyarrow dictionaries) predict exactly what the
  training frame predicts for the same rows.
- An unseen category is a missing value (documented choice, the CLI's too): it predicts exactly
  as a null in that column does.
- Accuracy: on generated data with a 200-category column whose effect has no order, the
  categorical model's test RMSE is under half that of the same column given as ordinal codes,
  and close to the noise level (0.2).
"""

import json
import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from sklearn.base import clone

import sylvan
from sylvan import Booster, Dataset, SylvanClassifier, SylvanError, SylvanRegressor

PARAMS = {"objective": "reg:squarederror", "eta": 0.3, "max_depth": 4, "seed": 5, "min_data_per_group": 20}
COLORS = ["red", "green", "blue", "violet", "amber", "teal", "black", "white"]
SORTED = sorted(COLORS)
EFFECT = {"red": 1.0, "green": -1.0, "blue": 0.5, "violet": 2.0, "amber": -2.0, "teal": 0.0, "black": 1.5, "white": -0.5}


def trees_of(booster):
    """The fitted trees and base margin of a booster (what must agree between two trainings)."""
    m = json.loads(booster.to_json())
    return m["trees"], m["base_margin"]


def has_category_splits(booster):
    """Whether some tree of the model splits by a category set."""
    return any(t.get("categories") for t in json.loads(booster.to_json())["trees"])


@pytest.fixture(scope="module")
def frame():
    """A pandas frame: a numeric column, an 8-category ``color`` column (5% missing) whose effect
    has no order, and a label."""
    rng = np.random.default_rng(17)
    n = 1500
    color = rng.choice(COLORS, size=n).astype(object)
    color[rng.random(n) < 0.05] = None
    x = rng.normal(size=n)
    y = x + np.array([EFFECT.get(c, 0.0) if c is not None else 0.3 for c in color]) + rng.normal(scale=0.1, size=n)
    feats = pd.DataFrame({"x": x, "color": pd.Categorical(color, categories=COLORS)})
    return feats, y


def coded(feats, mapping=SORTED):
    """The features as a float matrix with ``color`` replaced by its index in ``mapping`` (NaN for
    missing and for categories not in it): an encoding made here, independent of Sylvan's."""
    index = {c: float(i) for i, c in enumerate(mapping)}
    color = np.array([index.get(c, np.nan) if isinstance(c, str) else np.nan for c in feats["color"]])
    return np.column_stack([feats["x"].to_numpy(np.float64), color]).astype(np.float32)


def variants(feats):
    """The same features as categorical columns of every frame library."""
    pdf = feats
    return {
        "pandas-category": pdf,
        "pandas-string": pdf.assign(color=pdf["color"].astype(object)),
        "polars-categorical": pl.from_pandas(pdf).with_columns(pl.col("color").cast(pl.Categorical)),
        "polars-enum": pl.from_pandas(pdf).with_columns(pl.col("color").cast(pl.Utf8).cast(pl.Enum(COLORS))),
        "pyarrow-dictionary": pa.Table.from_pandas(pdf, preserve_index=False),
        "pyarrow-record-batch": pa.RecordBatch.from_pandas(pdf, preserve_index=False),
    }


# ---------------------------------------------------------------------------------------------
# Inputs and the encoding
# ---------------------------------------------------------------------------------------------


def test_every_frame_library_trains_the_same_categorical_model(frame):
    feats, y = frame
    ref = None
    for name, data in variants(feats).items():
        if name == "pyarrow-dictionary":
            assert pa.types.is_dictionary(data.schema.field("color").type)
        d = Dataset(data, label=y)
        assert d.feature_types == ["q", "c"], name
        assert d.categories == {"color": SORTED}, name
        b = sylvan.train(PARAMS, d, 15)
        assert b.feature_types == ["q", "c"], name
        assert b.categories == {"color": SORTED}, name
        p = b.predict(data)
        if ref is None:
            ref = (trees_of(b), p)
            assert has_category_splits(b)
        assert trees_of(b) == ref[0], name
        np.testing.assert_array_equal(p, ref[1], err_msg=name)
    # The codes are the sorted names: the numeric path with codes made here predicts the same.
    np.testing.assert_array_equal(b.predict(coded(feats)), ref[1])


def test_numeric_codes_declared_categorical_train_the_same_trees(frame):
    feats, y = frame
    ref = sylvan.train(PARAMS, Dataset(feats, label=y), 15)
    X = coded(feats)
    codes = pd.DataFrame({"x": X[:, 0], "color": X[:, 1]})
    declared = {
        "feature_types": sylvan.train(PARAMS, Dataset(X, label=y, feature_types=["q", "c"]), 15),
        "feature_types-long-names": sylvan.train(
            PARAMS, Dataset(codes, label=y, feature_types=["numerical", "categorical"]), 15
        ),
        "param-by-index": sylvan.train({**PARAMS, "categorical_features": [1]}, Dataset(X, label=y), 15),
        "param-by-name": sylvan.train({**PARAMS, "categorical_feature": "color"}, Dataset(codes, label=y), 15),
    }
    for name, b in declared.items():
        assert b.feature_types == ["q", "c"], name
        assert b.categories == {}, name
        assert trees_of(b) == trees_of(ref), name
    # Without a declaration the codes are ordered numbers: another model.
    plain = sylvan.train(PARAMS, Dataset(X, label=y), 15)
    assert plain.feature_types == ["q", "q"] and not has_category_splits(plain)
    assert trees_of(plain) != trees_of(ref)


def test_declared_codes_are_checked():
    X = np.array([[0.5, 1.0], [1.5, 2.0], [2.5, 2.5]], dtype=np.float32)
    with pytest.raises(SylvanError, match=r"f1.*row 2"):
        Dataset(X, label=[1.0, 2.0, 3.0], feature_types=["q", "c"])
    with pytest.raises(SylvanError, match=r"`b`.*row 2"):
        Dataset(pd.DataFrame(X, columns=["a", "b"]), label=[1.0, 2.0, 3.0], feature_types=["q", "c"])
    with pytest.raises(SylvanError, match=r"row 0"):
        sylvan.train({"categorical_features": "0"}, Dataset(X, label=[1.0, 2.0, 3.0]), 2)
    with pytest.raises(SylvanError, match="categorical_features"):
        sylvan.train({"categorical_features": "nope"}, Dataset(X, label=[1.0, 2.0, 3.0]), 2)
    with pytest.raises(ValueError, match="2 features"):
        Dataset(X, feature_types=["c"])
    with pytest.raises(ValueError, match="unknown feature type"):
        Dataset(X, feature_types=["q", "x"])
    with pytest.raises(ValueError, match="holds categories"):
        Dataset(pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])}), feature_types=["q"])
    # Every split method splits categories by sets; the CUDA backend refuses them.
    Xc = np.array([[0.0], [1.0], [2.0], [1.0]] * 10, dtype=np.float32)
    for method in ("hist", "approx", "exact"):
        b = sylvan.train({"tree_method": method}, Dataset(Xc, label=np.arange(40.0), feature_types=["c"]), 2)
        assert b.feature_types == ["c"]
    with pytest.raises(SylvanError, match="cuda"):
        sylvan.train({"device": "cuda"}, Dataset(Xc, label=np.arange(40.0), feature_types=["c"]), 2)


def test_categorical_parameters_reach_sylvan(frame):
    feats, y = frame
    params = {**PARAMS, "max_cat_to_onehot": 16, "max_cat_threshold": 3, "cat_smooth": 5.0, "cat_l2": 1.0}
    b = sylvan.train(params, Dataset(feats, label=y), 5)
    p = b.params()
    assert (p["max_cat_to_onehot"], p["max_cat_threshold"], p["cat_smooth"], p["cat_l2"]) == (16, 3, 5.0, 1.0)
    assert p["min_data_per_group"] == 20
    # One category against the rest (8 categories < max_cat_to_onehot): every set holds one code
    # (sets are bitset words in the JSON).
    sets = [s for t in json.loads(b.to_json())["trees"] if t.get("categories") for s in t["categories"]["sets"]]
    assert sets and all(sum(bin(w).count("1") for w in words) == 1 for words in sets), sets
    default = sylvan.train(PARAMS, Dataset(feats, label=y), 5)
    default_sets = [s for t in json.loads(default.to_json())["trees"] if t.get("categories")
                    for s in t["categories"]["sets"]]
    assert any(sum(bin(w).count("1") for w in words) > 1 for words in default_sets), default_sets


def test_high_cardinality_column_beats_ordinal_codes():
    rng = np.random.default_rng(7)
    n, k = 8000, 200
    names = np.array([f"city{i:03d}" for i in range(k)])
    effect = rng.normal(size=k)
    code = rng.integers(0, k, n)
    x = rng.normal(size=n)
    y = effect[code] + 0.5 * x + rng.normal(scale=0.2, size=n)
    train, test = slice(0, 6000), slice(6000, None)
    params = {"max_depth": 3, "eta": 0.3, "seed": 1}

    def rmse(data):
        b = sylvan.train(params, Dataset(data[train], label=y[train]), 30)
        return float(np.sqrt(np.mean((b.predict(data[test]) - y[test]) ** 2)))

    categorical = rmse(pd.DataFrame({"x": x, "city": pd.Categorical(names[code])}))
    ordinal = rmse(pd.DataFrame({"x": x, "city": code.astype(np.float32)}))
    assert categorical < 0.5 * ordinal, (categorical, ordinal)
    assert categorical < 0.3, categorical  # the noise is 0.2


# ---------------------------------------------------------------------------------------------
# Prediction: re-encoding by name, unseen categories
# ---------------------------------------------------------------------------------------------


def test_prediction_reencodes_by_category_name(frame):
    feats, y = frame
    b = sylvan.train(PARAMS, Dataset(feats, label=y), 15)
    full = b.predict(feats)
    rng = np.random.default_rng(3)
    # Rows holding only three of the categories (and missing values), shuffled: on its own such
    # a frame would number its categories differently.
    few = ["violet", "amber", "red"]
    rows = rng.permutation(np.flatnonzero(feats["color"].isin(few).to_numpy() | feats["color"].isna().to_numpy()))
    sub = feats.iloc[rows].reset_index(drop=True)
    expected = full[rows]
    plain = sub.assign(color=sub["color"].astype(object))
    frames = {
        "pandas-reversed": sub.assign(color=pd.Categorical(plain["color"], categories=COLORS[::-1])),
        "pandas-subset": sub.assign(color=pd.Categorical(plain["color"], categories=few)),
        "pandas-extra": sub.assign(color=pd.Categorical(plain["color"], categories=["zebra", *few, "gray"])),
        "polars-enum-reordered": pl.from_pandas(plain).with_columns(
            pl.col("color").cast(pl.Enum(["zebra", "red", "amber", "violet"]))
        ),
        "polars-categorical": pl.from_pandas(plain).with_columns(pl.col("color").cast(pl.Categorical)),
        "pyarrow-dictionary-reordered": pa.Table.from_pandas(
            sub.assign(color=pd.Categorical(plain["color"], categories=["red", "zebra", "violet", "amber"])),
            preserve_index=False,
        ),
    }
    for name, data in frames.items():
        np.testing.assert_array_equal(b.predict(data), expected, err_msg=name)
    # The pandas codes of the reordered frame are not the model's codes: feeding those codes
    # directly predicts something else, so the agreement above is the re-encoding's doing.
    raw = frames["pandas-reversed"]["color"].cat.codes.to_numpy().astype(np.float32)
    wrong = np.column_stack([sub["x"].to_numpy(np.float32), np.where(raw < 0, np.nan, raw)])
    assert not np.array_equal(b.predict(wrong), expected)
    # Validation sets are re-encoded too: evaluating the subset frame gives the RMSE of `expected`.
    result = {}
    sylvan.train(PARAMS, Dataset(feats, label=y), 15, evals=[(Dataset(frames["pandas-subset"], label=y[rows]), "v")],
                 evals_result=result)
    rmse = float(np.sqrt(np.mean((expected.astype(np.float64) - y[rows].astype(np.float32)) ** 2)))
    assert result["v"]["rmse"][-1] == pytest.approx(rmse, rel=1e-5)


def test_unseen_category_is_a_missing_value(frame):
    feats, y = frame
    b = sylvan.train(PARAMS, Dataset(feats, label=y), 15)
    rows = np.arange(40)
    plain = feats.iloc[rows].assign(color=feats["color"].iloc[rows].astype(object))
    unseen = plain.assign(color=["mauve", "ochre"] * 20)
    missing = plain.assign(color=None)
    as_missing = b.predict(missing)
    assert np.isfinite(as_missing).all()
    inputs = {
        "pandas-object": unseen,
        "pandas-category": unseen.assign(color=unseen["color"].astype("category")),
        "polars": pl.from_pandas(unseen).with_columns(pl.col("color").cast(pl.Categorical)),
        "pyarrow": pa.Table.from_pandas(unseen.assign(color=unseen["color"].astype("category")), preserve_index=False),
    }
    for name, data in inputs.items():
        np.testing.assert_array_equal(b.predict(data), as_missing, err_msg=name)
    # The numeric path with NaN codes agrees, independently of the frame reader.
    np.testing.assert_array_equal(b.predict(coded(unseen)), as_missing)
    # And missing is not what known categories predict: the rule is visible.
    assert not np.array_equal(b.predict(plain), as_missing)
    est = SylvanRegressor(n_estimators=10).fit(feats, y)
    np.testing.assert_array_equal(est.predict(unseen), est.predict(missing))


# ---------------------------------------------------------------------------------------------
# enable_categorical
# ---------------------------------------------------------------------------------------------


def test_enable_categorical_false_refuses_categorical_columns(frame):
    feats, y = frame
    for name, data in variants(feats).items():
        with pytest.raises(ValueError, match=r"enable_categorical.*`color`"):
            Dataset(data, label=y, enable_categorical=False)
    for est in (SylvanRegressor(n_estimators=3, enable_categorical=False),
                SylvanClassifier(n_estimators=3, enable_categorical=False)):
        target = y if isinstance(est, SylvanRegressor) else (y > 0).astype(int)
        with pytest.raises(ValueError, match="enable_categorical"):
            est.fit(feats, target)
        # Numeric data is unaffected.
        est.fit(coded(feats), target)
        assert est.get_booster().feature_types == ["q", "q"]
    # Declared numeric codes are an explicit choice and stay allowed.
    d = Dataset(coded(feats), label=y, feature_types=["q", "c"], enable_categorical=False)
    assert d.feature_types == ["q", "c"]


# ---------------------------------------------------------------------------------------------
# Persistence and continued training
# ---------------------------------------------------------------------------------------------


def test_save_load_keeps_types_and_categories(frame, tmp_path):
    feats, y = frame
    b = sylvan.train(PARAMS, Dataset(feats, label=y), 10)
    reordered = feats.assign(color=pd.Categorical(feats["color"].astype(object), categories=COLORS[::-1]))
    p = b.predict(feats)
    loaded = {}
    for name in ("m.json", "m.sylvan"):
        b.save_model(tmp_path / name)
        loaded[name] = Booster.load(tmp_path / name)
    loaded["raw"] = Booster.from_bytes(b.save_raw())
    loaded["pickle"] = pickle.loads(pickle.dumps(b))
    for name, back in loaded.items():
        assert back.feature_types == ["q", "c"], name
        assert back.categories == {"color": SORTED}, name
        assert trees_of(back) == trees_of(b), name
        np.testing.assert_array_equal(back.predict(reordered), p, err_msg=name)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert json.loads(saved["attributes"]["sylvan.categories"]) == {"color": SORTED}
    # The estimators too.
    est = SylvanClassifier(n_estimators=10).fit(feats, y > 0)
    est.save_model(tmp_path / "c.sylvan")
    back = SylvanClassifier()
    back.load_model(tmp_path / "c.sylvan")
    np.testing.assert_array_equal(back.predict_proba(reordered), est.predict_proba(feats))


def test_continued_training_keeps_the_category_codes(frame):
    feats, y = frame
    first = sylvan.train(PARAMS, Dataset(feats, label=y), 5)
    # New data without "blue" and "amber" (which on its own would renumber the rest) and with a
    # new category "mauve".
    rows = np.flatnonzero(~feats["color"].isin(["blue", "amber"]).to_numpy())[:600]
    more = feats.iloc[rows].assign(color=feats["color"].iloc[rows].astype(object))
    more.loc[more.index[:100], "color"] = "mauve"
    more_y = y[rows]
    d = Dataset(more, label=more_y)
    assert d.categories["color"] != SORTED
    both = sylvan.train(PARAMS, d, 5, xgb_model=first)
    assert both.num_boosted_rounds() == 10
    assert both.categories == {"color": SORTED + ["mauve"]}
    # The first five rounds are the first model, reading the same codes.
    np.testing.assert_array_equal(both.predict(feats, iteration_range=(0, 5)), first.predict(feats))
    # The estimator continues the same way.
    est = SylvanRegressor(n_estimators=5, learning_rate=0.3, max_depth=4, random_state=5, min_data_per_group=20)
    est.fit(feats, y)
    est2 = clone(est).fit(more, more_y, xgb_model=est, eval_set=[(more, more_y)])
    assert est2.get_booster().categories == {"color": SORTED + ["mauve"]}
    np.testing.assert_array_equal(est2.predict(feats, iteration_range=(0, 5)), est.predict(feats))


# ---------------------------------------------------------------------------------------------
# scikit-learn estimators
# ---------------------------------------------------------------------------------------------


def test_estimators_on_categorical_frames(frame):
    feats, y = frame
    labels = np.where(y > np.median(y), "high", "low")
    clf = SylvanClassifier(n_estimators=20, enable_categorical=True, max_cat_to_onehot=2, min_data_per_group=20)
    assert clf.get_params()["enable_categorical"] is True
    clf.fit(feats, labels, eval_set=[(feats.iloc[:300], labels[:300])])
    b = clf.get_booster()
    assert b.feature_types == ["q", "c"] and b.categories == {"color": SORTED}
    assert b.params()["max_cat_to_onehot"] == 2
    assert clf.score(feats, labels) > 0.9
    # The same model through polars and pyarrow inputs.
    for data in (pl.from_pandas(feats), pa.Table.from_pandas(feats, preserve_index=False)):
        other = clone(clf).fit(data, labels)
        np.testing.assert_array_equal(other.predict_proba(data), clone(clf).fit(feats, labels).predict_proba(feats))

    reg = SylvanRegressor(n_estimators=20, min_data_per_group=20).fit(feats, y)
    assert reg.score(feats, y) > 0.95
    # Numeric codes declared categorical through the estimators: XGBoost's feature_types, or
    # LightGBM's categorical_features; both the model of the category column.
    X = coded(feats)
    for kwargs in ({"feature_types": ["q", "c"]}, {"categorical_features": [1]}):
        r = SylvanRegressor(n_estimators=20, min_data_per_group=20, **kwargs).fit(X, y)
        assert r.get_booster().feature_types == ["q", "c"], kwargs
        assert trees_of(r.get_booster()) == trees_of(reg.get_booster()), kwargs
        np.testing.assert_array_equal(r.predict(X), reg.predict(feats))
