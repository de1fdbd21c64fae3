"""Explanations from Python (issue #20): SHAP contributions, interaction values and Saabas values in
XGBoost's shapes, importance of every type and mean |SHAP|, evaluation history, the matplotlib plots
and the ``shap`` package's plots fed with Sylvan's contributions.

Tolerances: contributions (and interaction rows) must sum to the margin within 1e-5 of the
largest |margin| (plus 1e-5): they are float32 sums of a few dozen terms. Against XGBoost the same
model is exported to XGBoost JSON and loaded by ``xgboost.Booster``; both compute TreeSHAP from the
same trees and covers in float32, so every value must agree within 1e-5 of the largest |value| of
the array (plus 1e-6). Importance from XGBoost's ``get_score`` on the exported model must agree
within a relative 1e-5 (gain and cover are stored as float32 there).
With SYLVAN_REQUIRE_REFERENCE=1 a skip is a failure (conftest.py).
"""

import json
import sys

import numpy as np
import pytest

import sylvan
from sylvan import Dataset, SylvanClassifier, SylvanRanker, SylvanRegressor

PARAMS = {"eta": 0.3, "max_depth": 4, "nthread": 2, "seed": 1}
ROUNDS = 12
NF = 5


def features(n, seed, nan=False):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, NF)).astype(np.float32)
    if nan:
        X[rng.random((n, NF)) < 0.15] = np.nan
    return X


def regression(n=400, seed=0):
    X = features(n, seed, nan=True)
    Z = np.nan_to_num(X)
    y = 2 * np.sin(Z[:, 0]) + Z[:, 1] * Z[:, 2] + 0.5 * Z[:, 3] + 0.1 * np.random.default_rng(seed).standard_normal(n)
    return X, y.astype(np.float32)


def binary(n=400, seed=1):
    X = features(n, seed)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0.2).astype(np.float32)
    return X, y


def multiclass(n=450, seed=2):
    X = features(n, seed)
    y = np.digitize(X[:, 0] + 0.5 * X[:, 3], [-0.7, 0.7]).astype(np.float32)
    return X, y


MODELS = {
    "regression_nan": ({"objective": "reg:squarederror"}, regression),
    "binary": ({"objective": "binary:logistic"}, binary),
    "multiclass": ({"objective": "multi:softprob", "num_class": 3}, multiclass),
}


def trained(kind, rounds=ROUNDS):
    extra, make = MODELS[kind]
    X, y = make()
    b = sylvan.train({**PARAMS, **extra}, Dataset(X, label=y), num_boost_round=rounds)
    return b, X


def assert_close_scaled(got, want, what, rel=1e-5, floor=1e-6):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    worst = np.max(np.abs(got - want))
    bound = rel * np.max(np.abs(want)) + floor
    assert worst <= bound, f"{what}: max difference {worst:.3g} > {bound:.3g}"


def xgboost_copy(b, tmp_path):
    xgb = pytest.importorskip("xgboost")
    path = tmp_path / "m.json"
    b.export_model(path, format="xgboost-json")
    return xgb, xgb.Booster(model_file=str(path))


# -- Shapes and identities ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
def test_contributions_sum_to_the_margin_in_xgboost_shapes(kind):
    b, X = trained(kind)
    k = b.num_groups
    c = b.predict(X, pred_contribs=True)
    assert c.dtype == np.float32
    assert c.shape == ((len(X), NF + 1) if k == 1 else (len(X), k, NF + 1))
    margin = b.predict(X, output_margin=True)
    assert_close_scaled(c.sum(axis=-1), margin, f"{kind}: contributions vs margin", floor=1e-5)
    # Contributions are margin space whatever output_margin says.
    np.testing.assert_array_equal(b.predict(X, pred_contribs=True, output_margin=True), c)


@pytest.mark.parametrize("kind", list(MODELS))
def test_saabas_values_sum_to_the_margin_and_both_spellings_agree(kind):
    b, X = trained(kind)
    a = b.predict(X, approx_contribs=True)
    np.testing.assert_array_equal(b.predict(X, pred_contribs=True, approx_contribs=True), a)
    assert a.dtype == np.float32 and a.shape == b.predict(X, pred_contribs=True).shape
    assert_close_scaled(a.sum(axis=-1), b.predict(X, output_margin=True), f"{kind}: Saabas vs margin", floor=1e-5)


@pytest.mark.parametrize("kind", list(MODELS))
def test_interactions_are_symmetric_and_rows_sum_to_contributions(kind):
    b, X = trained(kind)
    X = X[:60]
    k = b.num_groups
    inter = b.predict(X, pred_interactions=True)
    assert inter.dtype == np.float32
    assert inter.shape == ((60, NF + 1, NF + 1) if k == 1 else (60, k, NF + 1, NF + 1))
    np.testing.assert_allclose(inter, np.swapaxes(inter, -1, -2), rtol=0, atol=1e-5 * np.abs(inter).max() + 1e-6)
    assert_close_scaled(inter.sum(axis=-1), b.predict(X, pred_contribs=True), f"{kind}: interaction rows", floor=1e-5)


def test_iteration_range_explains_those_rounds_only():
    b, X = trained("multiclass")
    c = b.predict(X, pred_contribs=True, iteration_range=(2, 7))
    assert_close_scaled(
        c.sum(axis=-1), b.predict(X, output_margin=True, iteration_range=(2, 7)), "rounds 2..7", floor=1e-5
    )
    assert not np.allclose(c, b.predict(X, pred_contribs=True))
    # (0, 0) means every round, as in XGBoost.
    every = b.predict(X, pred_contribs=True)
    np.testing.assert_array_equal(b.predict(X, pred_contribs=True, iteration_range=(0, 0)), every)


def test_conflicting_flags_are_refused():
    b, X = trained("binary", rounds=2)
    with pytest.raises(ValueError, match="pred_leaf"):
        b.predict(X, pred_leaf=True, pred_contribs=True)
    with pytest.raises(ValueError, match="pred_contribs and pred_interactions"):
        b.predict(X, pred_contribs=True, pred_interactions=True)
    with pytest.raises(ValueError, match="approximate"):
        b.predict(X, approx_contribs=True, pred_interactions=True)
    with pytest.raises(sylvan.SylvanError, match="prediction output"):
        b._handle.predict(Dataset(X)._handle, "shapley", None)


# -- Against XGBoost --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
def test_explanations_match_xgboost_on_the_exported_model(kind, tmp_path):
    b, X = trained(kind)
    xgb, theirs = xgboost_copy(b, tmp_path)
    d = xgb.DMatrix(X)
    assert_close_scaled(theirs.predict(d, output_margin=True), b.predict(X, output_margin=True), f"{kind}: margin")
    assert_close_scaled(b.predict(X, pred_contribs=True), theirs.predict(d, pred_contribs=True), f"{kind}: contribs")
    assert_close_scaled(
        b.predict(X, approx_contribs=True),
        theirs.predict(d, pred_contribs=True, approx_contribs=True),
        f"{kind}: approx_contribs",
    )
    few = X[:80]
    assert_close_scaled(
        b.predict(few, pred_interactions=True),
        theirs.predict(xgb.DMatrix(few), pred_interactions=True),
        f"{kind}: interactions",
    )


def test_explanations_match_xgboost_with_an_iteration_range(tmp_path):
    b, X = trained("regression_nan")
    xgb, theirs = xgboost_copy(b, tmp_path)
    d = xgb.DMatrix(X)
    # XGBoost explains a range of rounds through a sliced model (its contributions refuse a start).
    assert_close_scaled(
        b.predict(X, pred_contribs=True, iteration_range=(0, 5)),
        theirs.predict(d, pred_contribs=True, iteration_range=(0, 5)),
        "contribs, rounds 0..5",
    )
    assert_close_scaled(
        b.predict(X, pred_contribs=True, iteration_range=(3, 9)),
        theirs[3:9].predict(d, pred_contribs=True),
        "contribs, rounds 3..9",
    )


def test_categorical_contributions_match_xgboost(tmp_path):
    rng = np.random.default_rng(5)
    X = features(500, 5)
    X[:, 1] = rng.integers(0, 7, len(X))
    y = (X[:, 0] + np.isin(X[:, 1], [1, 4, 5]) * 1.5 > 0.5).astype(np.float32)
    params = {**PARAMS, "objective": "binary:logistic", "max_cat_to_onehot": 1}
    b = sylvan.train(params, Dataset(X, label=y, feature_types=["q", "c", "q", "q", "q"]), num_boost_round=ROUNDS)
    xgb, theirs = xgboost_copy(b, tmp_path)
    d = xgb.DMatrix(X, feature_types=["q", "c", "q", "q", "q"], enable_categorical=True)
    assert_close_scaled(b.predict(X, pred_contribs=True), theirs.predict(d, pred_contribs=True), "categorical contribs")


# -- Importance -------------------------------------------------------------------------------------


TYPES = ["weight", "gain", "total_gain", "cover", "total_cover"]


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_importance_type_matches_xgboost_get_score(kind, tmp_path):
    b, _ = trained(kind)
    _, theirs = xgboost_copy(b, tmp_path)
    for t in TYPES:
        ours, want = b.get_score(importance_type=t), theirs.get_score(importance_type=t)
        assert sorted(ours) == sorted(want), t
        np.testing.assert_allclose([ours[f] for f in want], list(want.values()), rtol=1e-5, err_msg=t)
    assert b.get_score() == b.get_score(importance_type="weight")  # XGBoost's default
    with pytest.raises(sylvan.SylvanError, match="importance_type"):
        b.get_score(importance_type="shap")


def test_shap_importance_is_mean_absolute_contribution():
    b, X = trained("multiclass")
    c = b.predict(X, pred_contribs=True).astype(np.float64)
    want = np.abs(c[..., :-1]).sum(axis=1).mean(axis=0)
    got = b.shap_importance(X, as_dict=False)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    d = b.shap_importance(X)
    assert list(d) == [f"f{i}" for i in range(NF)]
    np.testing.assert_allclose(list(d.values()), want, rtol=1e-12)


def test_estimator_importance_types_are_normalised_scores():
    X, y = binary()
    for t in TYPES:
        clf = SylvanClassifier(n_estimators=8, max_depth=3, importance_type=t).fit(X, y)
        imp = clf.feature_importances_
        raw = clf.get_booster().feature_importance(t)
        np.testing.assert_allclose(imp, raw / raw.sum(), rtol=1e-6)
        assert imp.sum() == pytest.approx(1.0, rel=1e-6)


# -- Estimators -------------------------------------------------------------------------------------


def test_estimators_give_contributions_with_either_spelling():
    X, y = multiclass()
    clf = SylvanClassifier(n_estimators=8, max_depth=3).fit(X, y)
    c = clf.predict(X, pred_contrib=True)
    assert c.shape == (len(X), 3, NF + 1)
    np.testing.assert_array_equal(clf.predict(X, pred_contribs=True), c)
    np.testing.assert_array_equal(clf.get_booster().predict(X, pred_contribs=True), c)
    assert clf.predict(X[:20], pred_interactions=True).shape == (20, 3, NF + 1, NF + 1)
    saabas = clf.get_booster().predict(X, approx_contribs=True)
    np.testing.assert_array_equal(clf.predict(X, approx_contribs=True), saabas)

    Xr, yr = regression()
    reg = SylvanRegressor(n_estimators=8).fit(Xr, yr)
    c = reg.predict(Xr, pred_contrib=True)
    assert c.shape == (len(Xr), NF + 1)
    assert_close_scaled(c.sum(axis=1), reg.predict(Xr, output_margin=True), "regressor", floor=1e-5)

    Xb, yb = binary()
    c = SylvanClassifier(n_estimators=5).fit(Xb, yb).predict(Xb, pred_contrib=True)
    assert c.shape == (len(Xb), NF + 1)

    qid = np.repeat(np.arange(40), 10)
    rank = SylvanRanker(n_estimators=5).fit(Xb, yb, qid=qid)
    assert rank.predict(Xb, pred_contrib=True).shape == (len(Xb), NF + 1)


def test_dataframe_contributions_follow_the_model_columns():
    pd = pytest.importorskip("pandas")
    X, y = regression()
    names = [f"x{i}" for i in range(NF)]
    df = pd.DataFrame(X, columns=names)
    reg = SylvanRegressor(n_estimators=6).fit(df, y)
    c = reg.predict(df, pred_contrib=True)
    np.testing.assert_array_equal(reg.get_booster().predict(df[names[::-1]], pred_contribs=True), c)
    assert list(reg.get_booster().shap_importance(df)) == names


def test_evaluation_history_in_xgboost_shape():
    X, y = binary()
    result = {}
    b = sylvan.train(
        {**PARAMS, "objective": "binary:logistic", "eval_metric": ["logloss", "error"]},
        Dataset(X[:300], label=y[:300]),
        num_boost_round=7,
        evals=[(Dataset(X[:300], label=y[:300]), "train"), (Dataset(X[300:], label=y[300:]), "valid")],
        evals_result=result,
    )
    assert b.evals_result() == b.eval_history() == result
    assert set(result) == {"train", "valid"}
    assert all(len(v) == 7 for m in result.values() for v in m.values())
    clf = SylvanClassifier(n_estimators=6, eval_metric="logloss").fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])])
    assert clf.evals_result() == clf.evals_result_
    assert len(clf.evals_result()["validation_0"]["logloss"]) == 6


# -- Plots ------------------------------------------------------------------------------------------


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def node_boxes(ax):
    return [t for t in ax.texts if t.get_gid() == "sylvan-node"]


def test_plot_importance_draws_one_bar_per_used_feature(plt):
    b, _ = trained("binary")
    ax = sylvan.plot_importance(b)
    score = b.get_score()
    assert isinstance(ax, plt.Axes)
    assert len(ax.patches) == len(score)
    assert len(ax.texts) == len(score)
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == max(score, key=score.get)
    assert ax.get_title() == "Feature importance"

    ax = sylvan.plot_importance(b, importance_type="gain", max_num_features=2, show_values=False, color="red")
    assert len(ax.patches) == 2 and not ax.texts
    _, ax2 = plt.subplots()
    assert sylvan.plot_importance(b.shap_importance(trained("binary")[1]), ax=ax2, title="mean |SHAP|") is ax2
    assert len(ax2.patches) == NF and ax2.get_title() == "mean |SHAP|"
    clf = SylvanClassifier(n_estimators=4).fit(*binary())
    assert len(sylvan.plot_importance(clf, values_format="{v:.1f}").patches) == len(clf.get_booster().get_score())
    with pytest.raises(ValueError, match="empty"):
        sylvan.plot_importance({})
    with pytest.raises(TypeError, match="Booster"):
        sylvan.plot_importance(42)


def test_plot_metric_draws_one_line_per_evaluation_set(plt):
    X, y = binary()
    result = {}
    b = sylvan.train(
        {**PARAMS, "objective": "binary:logistic", "eval_metric": ["logloss", "auc"]},
        Dataset(X[:300], label=y[:300]),
        num_boost_round=9,
        evals=[(Dataset(X[:300], label=y[:300]), "train"), (Dataset(X[300:], label=y[300:]), "valid")],
        evals_result=result,
    )
    ax = sylvan.plot_metric(result)
    assert isinstance(ax, plt.Axes)
    assert len(ax.get_lines()) == 2
    assert ax.get_ylabel() == "logloss"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), result["valid"]["logloss"])
    ax = sylvan.plot_metric(b, metric="auc", dataset_names=["valid"])
    assert len(ax.get_lines()) == 1 and ax.get_ylabel() == "auc"
    clf = SylvanClassifier(n_estimators=5).fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])])
    assert len(sylvan.plot_metric(clf).get_lines()) == 1
    with pytest.raises(ValueError, match="`rmse`"):
        sylvan.plot_metric(result, metric="rmse")
    with pytest.raises(ValueError, match="test"):
        sylvan.plot_metric(result, dataset_names=["test"])
    with pytest.raises(ValueError, match="no evaluation results"):
        sylvan.plot_metric(sylvan.train({"objective": "binary:logistic"}, Dataset(X, label=y), num_boost_round=2))


def test_plot_tree_draws_every_node(plt):
    b, _ = trained("regression_nan")
    tree = json.loads(b.to_json())["trees"][3]
    ax = sylvan.plot_tree(b, tree_index=3, show_info=["gain", "cover"], precision=4)
    assert isinstance(ax, plt.Axes)
    boxes = node_boxes(ax)
    num_nodes = len(tree["left"])
    num_leaves = sum(1 for v in tree["left"] if v < 0)
    assert len(boxes) == num_nodes
    assert sum(t.get_text().startswith("leaf = ") for t in boxes) == num_leaves
    assert sum(" < " in t.get_text() for t in boxes) == num_nodes - num_leaves
    assert all("cover: " in t.get_text() for t in boxes)
    edges = [t.get_text() for t in ax.texts if t.get_gid() == "sylvan-edge"]
    assert len(edges) == 2 * (num_nodes - num_leaves)
    assert sum("missing" in e for e in edges) == num_nodes - num_leaves
    with pytest.raises(IndexError, match="tree_index"):
        sylvan.plot_tree(b, tree_index=b.num_boosted_rounds())
    with pytest.raises(ValueError, match="show_info"):
        sylvan.plot_tree(b, show_info=["colour"])


def test_plot_tree_names_categories(plt):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    colors = np.array(["blue", "green", "red", "white"])[rng.integers(0, 4, 400)]
    x = rng.uniform(size=400).astype(np.float32)
    y = ((colors == "red") | (colors == "white")).astype(np.float32) + 0.1 * x
    df = pd.DataFrame({"color": pd.Categorical(colors), "x": x})
    reg = SylvanRegressor(n_estimators=2, max_depth=2, max_cat_to_onehot=1).fit(df, y)
    texts = [t.get_text() for t in node_boxes(sylvan.plot_tree(reg))]
    assert texts[0].startswith("color in {"), texts
    shown = texts[0][len("color in {") : -1].split(", ")
    assert shown and set(shown) <= {"blue", "green", "red", "white"}, texts[0]


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    b, _ = trained("binary", rounds=2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    plots = (
        lambda: sylvan.plot_importance(b),
        lambda: sylvan.plot_tree(b),
        lambda: sylvan.plot_metric({"a": {"m": [1.0]}}),
    )
    for plot in plots:
        with pytest.raises(ImportError, match="pip install matplotlib"):
            plot()


# -- The shap package --------------------------------------------------------------------------------


def test_contributions_feed_the_shap_package(plt):
    shap = pytest.importorskip("shap")
    X, y = regression()
    names = [f"x{i}" for i in range(NF)]
    b = sylvan.train({**PARAMS, "objective": "reg:squarederror"}, Dataset(X, label=y, feature_names=names), ROUNDS)
    c = b.predict(X, pred_contribs=True)
    e = shap.Explanation(values=c[:, :-1], base_values=c[:, -1], data=X, feature_names=names)
    np.testing.assert_allclose(e.values.sum(axis=1) + e.base_values, b.predict(X), rtol=0, atol=1e-4)
    shap.plots.beeswarm(e, show=False)
    plt.close("all")
    shap.plots.waterfall(e[0], show=False)
    plt.close("all")
    shap.plots.bar(e, show=False)
    # Multiclass: one Explanation per class.
    bm, Xm = trained("multiclass")
    cm = bm.predict(Xm, pred_contribs=True)
    e1 = shap.Explanation(values=cm[:, 1, :-1], base_values=cm[:, 1, -1], data=Xm)
    np.testing.assert_allclose(
        e1.values.sum(axis=1) + e1.base_values, bm.predict(Xm, output_margin=True)[:, 1], rtol=0, atol=1e-4
    )
