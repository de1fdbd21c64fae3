"""Training controls through the Python package (docs/training-controls.md): monotone and
interaction constraints, feature weights, DART and GOSS, in the scikit-learn estimators and in the
low-level ``train``.

What is checked, exactly:
- monotone constraints: the prediction never falls (+1) / never rises (-1) along a grid of the
  constrained feature, with the other features held at the values of several rows; every accepted
  form (dict by name on a DataFrame, list, tuple, XGBoost's string, NumPy array, pandas Series)
  gives the same model bit for bit; an unconstrained model on the same data is not monotone (so
  the data makes the constraint matter);
- interaction constraints: every root-to-leaf path of every tree (read from the model JSON) uses
  features of one allowed group (or a single ungrouped feature), by name or by index;
- feature weights: a feature of weight 0 is never split on (``fit(feature_weights=...)`` as in
  XGBoost, the constructor, the ``train`` params); both places at once is an error;
- DART and GOSS train, predict finite values, survive a save/load round trip, and learn;
- bad values raise an error naming the parameter; get_params/set_params/clone carry the controls.
"""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import sylvan
from sylvan import Dataset, SylvanClassifier, SylvanError, SylvanRegressor

GRID = 60
BASE_ROWS = 8


@pytest.fixture(scope="module")
def frame():
    """debt (true effect rises, with wiggles), age (true effect falls, with wiggles), income and
    noise; the label is their sum plus noise, so an unconstrained model is not monotone."""
    rng = np.random.default_rng(11)
    n = 2000
    debt = rng.uniform(0, 1, n)
    age = rng.uniform(0, 1, n)
    income = rng.normal(size=n)
    noise = rng.normal(size=n)
    y = 2 * debt + np.sin(14 * debt) - 2 * age + 0.8 * np.sin(11 * age) + income * age + 0.3 * rng.normal(size=n)
    X = pd.DataFrame({"debt": debt, "age": age, "income": income, "noise": noise}).astype(np.float32)
    return X, y.astype(np.float32)


def grid_along(X, column, rows=BASE_ROWS):
    """Rows holding the values of ``rows`` rows of X, each repeated along a grid of ``column``
    (from its minimum to its maximum); returns the frame and its shape (rows, GRID)."""
    base = X.iloc[np.linspace(0, len(X) - 1, rows).astype(int)]
    values = np.linspace(X[column].min(), X[column].max(), GRID, dtype=np.float32)
    g = base.loc[base.index.repeat(GRID)].reset_index(drop=True)
    g[column] = np.tile(values, rows)
    return g


def steps(model, X, column):
    """The differences of the prediction between neighbouring grid points, (rows, GRID - 1)."""
    g = grid_along(X, column)
    p = np.asarray(model.predict(g), dtype=np.float64).reshape(BASE_ROWS, GRID)
    return np.diff(p, axis=1)


def trees(booster):
    return json.loads(booster.to_json())["trees"]


def path_feature_sets(tree):
    """The set of features split on along every root-to-leaf path of a Sylvan JSON tree."""
    out = []

    def walk(node, used):
        if tree["left"][node] < 0:
            out.append(used)
            return
        used = used | {int(tree["feature"][node])}
        walk(tree["left"][node], used)
        walk(tree["right"][node], used)

    walk(0, frozenset())
    return out


def split_features(booster):
    used = set()
    for t in trees(booster):
        used |= {int(f) for f, left in zip(t["feature"], t["left"]) if left >= 0}
    return used


# -- monotone constraints -----------------------------------------------------------------------


def test_monotone_dict_by_name_on_a_dataframe(frame):
    X, y = frame
    params = dict(n_estimators=40, max_depth=5, learning_rate=0.3, random_state=0)
    model = SylvanRegressor(monotone_constraints={"debt": 1, "age": -1}, **params).fit(X, y)
    assert (steps(model, X, "debt") >= 0).all()
    assert (steps(model, X, "age") <= 0).all()
    # The constrained features still matter: the prediction moves along them.
    assert steps(model, X, "debt").sum(axis=1).min() > 0
    assert steps(model, X, "age").sum(axis=1).max() < 0
    free = SylvanRegressor(**params).fit(X, y)
    assert (steps(free, X, "debt") < 0).any() and (steps(free, X, "age") > 0).any(), (
        "the data should make the unconstrained model non-monotone"
    )


def test_monotone_forms_agree(frame):
    X, y = frame
    params = dict(n_estimators=10, max_depth=4, random_state=0)
    ref = SylvanRegressor(monotone_constraints={"debt": 1, "age": -1}, **params).fit(X, y)
    forms = [
        [1, -1, 0, 0],
        (1, -1),
        "(1,-1,0,0)",
        np.array([1, -1, 0, 0]),
        pd.Series({"debt": 1, "age": -1}),
        {"0": 1, "1": -1},
    ]
    for form in forms:
        m = SylvanRegressor(monotone_constraints=form, **params).fit(X, y)
        assert trees(m.get_booster()) == trees(ref.get_booster()), f"form {form!r}"
    # NumPy input (no names): by position, or by index.
    m = SylvanRegressor(monotone_constraints=[1, -1], **params).fit(X.to_numpy(), y)
    assert trees(m.get_booster()) == trees(ref.get_booster())


def test_monotone_classifier_and_low_level_train(frame):
    X, y = frame
    yb = (y > np.median(y)).astype(int)
    clf = SylvanClassifier(n_estimators=30, max_depth=4, monotone_constraints={"debt": 1}).fit(X, yb)
    assert (steps(_Proba(clf), X, "debt") >= 0).all()
    d = Dataset(X, label=y)
    for mc in ({"age": -1}, [0, -1], "(0,-1)"):
        bst = sylvan.train({"max_depth": 5, "monotone_constraints": mc}, d, num_boost_round=20)
        assert (steps(bst, X, "age") <= 0).all(), f"form {mc!r}"


class _Proba:
    """The positive class probability as ``predict``."""

    def __init__(self, clf):
        self.clf = clf

    def predict(self, X):
        return self.clf.predict_proba(X)[:, 1]


# -- interaction constraints --------------------------------------------------------------------


@pytest.mark.parametrize(
    "groups, allowed",
    [
        ([["debt", "age"], ["income", "noise"]], [{0, 1}, {2, 3}]),
        ([[0, 2], [1, 3]], [{0, 2}, {1, 3}]),
        ([["debt", "age", "income"]], [{0, 1, 2}]),
    ],
)
def test_interaction_paths_stay_in_one_group(frame, groups, allowed):
    X, y = frame
    model = SylvanRegressor(n_estimators=15, max_depth=6, interaction_constraints=groups, random_state=1).fit(X, y)
    booster = model.get_booster()
    for t, tree in enumerate(trees(booster)):
        for used in path_feature_sets(tree):
            ok = any(used <= g for g in allowed) or len(used) <= 1
            assert ok, f"tree {t}: a path uses {sorted(used)}, outside every group {allowed}"
    # The same through train().
    bst = sylvan.train({"max_depth": 6, "interaction_constraints": groups}, Dataset(X, label=y), num_boost_round=5)
    for tree in trees(bst):
        assert all(any(u <= g for g in allowed) or len(u) <= 1 for u in path_feature_sets(tree))


def test_unconstrained_paths_do_mix(frame):
    """The check above has teeth: without constraints some path mixes the groups."""
    X, y = frame
    model = SylvanRegressor(n_estimators=15, max_depth=6, random_state=1).fit(X, y)
    mixed = [u for t in trees(model.get_booster()) for u in path_feature_sets(t) if not (u <= {0, 1} or u <= {2, 3})]
    assert mixed


# -- feature weights ----------------------------------------------------------------------------


def test_zero_feature_weight_is_never_used(frame):
    X, y = frame
    params = dict(n_estimators=20, max_depth=4, colsample_bynode=0.5, random_state=3)
    for w in ([1.0, 0.0, 1.0, 1.0], np.array([1, 0, 1, 1])):
        model = SylvanRegressor(**params).fit(X, y, feature_weights=w)
        used = split_features(model.get_booster())
        assert 1 not in used and used, f"weights {w!r}: features used {used}"
    model = SylvanRegressor(feature_weights={"age": 0}, **params).fit(X, y)
    assert 1 not in split_features(model.get_booster())
    bst = sylvan.train(
        {"max_depth": 4, "colsample_bytree": 0.8, "feature_weights": [1, 0, 2, 1]}, Dataset(X, label=y), 10
    )
    assert 1 not in split_features(bst)
    # Without the weights the feature is used (so the test has teeth).
    assert 1 in split_features(SylvanRegressor(**params).fit(X, y).get_booster())


def test_feature_weights_errors(frame):
    X, y = frame
    with pytest.raises(ValueError, match="feature_weights"):
        SylvanRegressor(n_estimators=2).fit(X, y, feature_weights=[1, 1])
    with pytest.raises(ValueError, match="feature_weights"):
        SylvanRegressor(n_estimators=2).fit(X, y, feature_weights=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="feature_weights"):
        SylvanRegressor(n_estimators=2, feature_weights=[1, 1, 1, 1]).fit(X, y, feature_weights=[1, 1, 1, 1])


# -- DART and GOSS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        dict(booster="dart", rate_drop=0.2, skip_drop=0.3),
        dict(booster="dart", rate_drop=0.1, one_drop=True, sample_type="weighted", normalize_type="forest"),
        dict(data_sample_strategy="goss", top_rate=0.3, other_rate=0.2),
        dict(data_sample_strategy="goss"),
    ],
)
def test_dart_and_goss_train_and_predict(frame, extra, tmp_path):
    X, y = frame
    model = SylvanRegressor(n_estimators=30, max_depth=4, random_state=5, **extra).fit(X, y)
    p = model.predict(X)
    assert p.shape == (len(X),) and np.isfinite(p).all()
    base_rmse = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    rmse = float(np.sqrt(np.mean((p - y) ** 2)))
    assert rmse < 0.7 * base_rmse, f"{extra}: rmse {rmse} vs {base_rmse} for the mean"
    params = model.get_booster().params()
    for k, v in extra.items():
        assert params[k] == v, f"{k}: {params[k]!r}"
    path = tmp_path / "m.json"
    model.save_model(path)
    again = SylvanRegressor()
    again.load_model(path)
    np.testing.assert_array_equal(again.predict(X), p)
    yb = (y > np.median(y)).astype(int)
    clf = SylvanClassifier(n_estimators=10, max_depth=3, **extra).fit(X, yb)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    bst = sylvan.train({"max_depth": 3, **extra}, Dataset(X, label=y), num_boost_round=5)
    assert np.isfinite(bst.predict(X)).all()


# -- errors and scikit-learn plumbing -----------------------------------------------------------


@pytest.mark.parametrize(
    "param, value",
    [
        ("monotone_constraints", [2, 0, 0, 0]),
        ("monotone_constraints", {"no_such_feature": 1}),
        ("monotone_constraints", [1, 0, 0, 0, 0, 0]),
        ("monotone_constraints", "(1,x)"),
        ("interaction_constraints", [["debt", "no_such_feature"]]),
        ("interaction_constraints", [0, 1]),
        ("feature_weights", [1, -2, 1, 1]),
        ("booster", "gblinear"),
        ("rate_drop", 1.5),
        ("skip_drop", -0.1),
        ("sample_type", "sometimes"),
        ("normalize_type", "all"),
        ("data_sample_strategy", "random"),
        ("top_rate", 2.0),
        ("other_rate", 0.0),
    ],
)
def test_bad_values_name_the_parameter(frame, param, value):
    X, y = frame
    extra = {"data_sample_strategy": "goss"} if param in ("top_rate", "other_rate") else {}
    with pytest.raises(ValueError, match=param):
        SylvanRegressor(n_estimators=2, **{param: value}, **extra).fit(X, y)
    with pytest.raises(ValueError, match=param):
        sylvan.train({param: value, **extra}, Dataset(X, label=y), num_boost_round=2)


def test_goss_refuses_subsample(frame):
    X, y = frame
    with pytest.raises(SylvanError, match="subsample"):
        SylvanRegressor(n_estimators=2, data_sample_strategy="goss", subsample=0.5).fit(X, y)


def test_cuda_refuses_the_controls(frame):
    X, y = frame
    for extra in (
        {"monotone_constraints": [1]},
        {"interaction_constraints": [[0, 1]]},
        {"booster": "dart"},
        {"data_sample_strategy": "goss"},
    ):
        (name,) = [k for k in extra if k != "device"]
        with pytest.raises(SylvanError, match=name):
            sylvan.train({"device": "cuda", **extra}, Dataset(X, label=y), num_boost_round=1)


def test_get_set_params_and_clone():
    m = SylvanRegressor(
        monotone_constraints={"debt": 1},
        interaction_constraints=[["debt", "age"]],
        feature_weights=[1, 0, 1, 1],
        booster="dart",
        rate_drop=0.1,
        data_sample_strategy="goss",
        top_rate=0.3,
    )
    p = m.get_params()
    assert p["monotone_constraints"] == {"debt": 1}
    assert p["interaction_constraints"] == [["debt", "age"]]
    assert p["booster"] == "dart" and p["rate_drop"] == 0.1 and p["top_rate"] == 0.3
    c = clone(m)
    assert c.get_params() == p
    c.set_params(monotone_constraints="(1,0)", booster="gbtree", other_rate=0.2)
    assert c.monotone_constraints == "(1,0)" and c.booster == "gbtree" and c.other_rate == 0.2
    assert m.booster == "dart"
    for name in (
        "monotone_constraints",
        "interaction_constraints",
        "feature_weights",
        "booster",
        "rate_drop",
        "skip_drop",
        "one_drop",
        "sample_type",
        "normalize_type",
        "data_sample_strategy",
        "top_rate",
        "other_rate",
    ):
        assert name in SylvanClassifier().get_params()
