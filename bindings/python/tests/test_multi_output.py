"""Several outputs per row from Python (issue #19): several label columns (multi-output regression,
multi-label classification), several quantile levels, expectiles, and ``multi_strategy``.

Tolerances: the 2-target regression is compared with ``xgboost.XGBRegressor`` trained with the same
settings (hist, 256 bins, same eta/depth/rounds, lambda 1, 2 threads) on generated data (4000
training rows, 2000 held out). The two libraries cut the features slightly differently (XGBoost's
quantile sketch vs Sylvan's cut points: the first trees have the same splits at thresholds that
differ in the 4th digit), and after a few dozen rounds the greedy paths drift apart, so one data
set's held-out RMSE differs by chance: over 10 seeds the relative difference per target had mean
-0.1% (no bias) and standard deviation 0.3-0.7% with one_output_per_tree, 0.75-1.4% with
multi_output_tree (worst single seed +3.1%). The test therefore requires the relative difference
averaged over 5 data sets to be within 1% for every target (the bias the issue bounds), and every
single data set within 4% (a gross error). Predictions of saved and reloaded models must agree bit
for bit.
With SYLVAN_REQUIRE_REFERENCE=1 a skip is a failure (conftest.py).
"""

import pickle

import numpy as np
import pandas as pd
import pytest

import sylvan
from sylvan import Booster, Dataset, SylvanClassifier, SylvanError, SylvanRegressor

COMMON = {"eta": 0.1, "max_depth": 4, "max_bin": 256, "lambda": 1.0, "nthread": 2, "tree_method": "hist"}
ROUNDS = 100


def two_targets(n, seed):
    """Features and two targets of different shapes and scales, with noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 6)).astype(np.float32)
    y0 = 2.0 * np.sin(X[:, 0]) + X[:, 1] + 0.3 * rng.standard_normal(n)
    # No pure XOR-like term (x2 * x3 alone has no marginal effect, so greedy trees pick its first
    # splits almost at random and two libraries' models differ by far more than their quality).
    y1 = 3.0 * X[:, 2] + X[:, 3] ** 2 + X[:, 2] * X[:, 3] - 2.0 * np.abs(X[:, 0]) + 10.0 + 0.5 * rng.standard_normal(n)
    return X, np.column_stack([y0, y1]).astype(np.float32)


def rmse_per_target(pred, y):
    return np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - y) ** 2, axis=0))


# -- Dataset and parameters ------------------------------------------------------------------------


def test_label_matrix_becomes_several_targets_and_a_single_column_stays_one():
    X, Y = two_targets(200, 0)
    assert Dataset(X, label=Y).num_targets == 2
    assert Dataset(X, label=pd.DataFrame(Y, columns=["a", "b"])).num_targets == 2
    assert Dataset(pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), label=Y).num_targets == 2
    one = Dataset(X, label=Y[:, :1])
    assert one.num_targets == 1
    b = sylvan.train({"objective": "reg:squarederror"}, one, num_boost_round=5)
    assert b.num_groups == 1 and b.num_targets == 1
    assert b.predict(X).shape == (200,)
    # The (n, 1) column trains exactly the model of the 1-D labels.
    b1 = sylvan.train({"objective": "reg:squarederror"}, Dataset(X, label=Y[:, 0]), num_boost_round=5)
    np.testing.assert_array_equal(b.predict(X), b1.predict(X))


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_train_predicts_rows_by_targets(strategy):
    X, Y = two_targets(500, 1)
    b = sylvan.train(
        {"objective": "reg:squarederror", "multi_strategy": strategy, **COMMON}, Dataset(X, label=Y), num_boost_round=20
    )
    assert b.num_groups == 2 and b.num_targets == 2
    p = b.predict(X)
    assert p.shape == (500, 2) and p.dtype == np.float32
    assert b.predict(X, output_margin=True).shape == (500, 2)
    # Each column fits its own target better than the other one.
    r = rmse_per_target(p, Y)
    swapped = rmse_per_target(p[:, ::-1], Y)
    assert np.all(r < swapped), (r, swapped)
    # Metrics over several targets average all elements (XGBoost's way).
    rmse = b.eval(Dataset(X, label=Y), ["rmse"])["rmse"]
    assert rmse == pytest.approx(float(np.sqrt(np.mean((p.astype(np.float64) - Y) ** 2))), rel=1e-5)


@pytest.mark.parametrize(
    "alpha", [[0.1, 0.5, 0.9], (0.1, 0.5, 0.9), np.array([0.1, 0.5, 0.9]), "[0.1, 0.5, 0.9]", "0.1,0.5,0.9"]
)
def test_quantile_levels_as_list_tuple_array_or_text(alpha):
    p = sylvan.core.param_pairs({"objective": "reg:quantileerror", "quantile_alpha": alpha})
    import json

    checked = json.loads(sylvan._sylvan.check_params(p))
    assert checked["quantile_alpha"] == [0.1, 0.5, 0.9]


def test_expectile_levels_and_multi_strategy_pass_through():
    import json

    p = sylvan.core.param_pairs(
        {"objective": "reg:expectileerror", "expectile_alpha": [0.2, 0.8], "multi_strategy": "multi_output_tree"}
    )
    checked = json.loads(sylvan._sylvan.check_params(p))
    assert checked["expectile_alpha"] == [0.2, 0.8]
    assert checked["multi_strategy"] == "multi_output_tree"
    one = json.loads(sylvan._sylvan.check_params(sylvan.core.param_pairs({"quantile_alpha": 0.3})))
    assert one["quantile_alpha"] == 0.3


# -- Quantiles and expectiles ----------------------------------------------------------------------


def quantile_data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 3)).astype(np.float32)
    # Heteroscedastic: the spread grows with x0, so the quantile curves fan out.
    y = (3.0 * X[:, 1] + (0.2 + 2.0 * X[:, 0]) * rng.standard_normal(n)).astype(np.float32)
    return X, y


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_multi_quantile_never_crosses_even_when_extrapolating(strategy):
    X, y = quantile_data(4000, 2)
    alphas = [0.9, 0.1, 0.5, 0.25]  # any order: the columns follow the levels
    params = {"objective": "reg:quantileerror", "quantile_alpha": alphas, "multi_strategy": strategy, **COMMON}
    b = sylvan.train(params, Dataset(X, label=y), num_boost_round=60)
    assert b.num_groups == 4
    rng = np.random.default_rng(3)
    # Many rows, most far outside the training range (extrapolation), some missing values.
    Xt = rng.uniform(-50.0, 50.0, size=(50_000, 3)).astype(np.float32)
    Xt[rng.random(Xt.shape) < 0.05] = np.nan
    Xt = np.vstack([Xt, X])
    p = b.predict(Xt)
    assert p.shape == (len(Xt), 4)
    order = np.argsort(alphas)
    assert np.all(np.diff(p[:, order], axis=1) >= 0), "predicted quantiles cross"
    # On the training rows each column covers about its level.
    cover = (y[:, None] <= b.predict(X)).mean(axis=0)
    np.testing.assert_allclose(cover, alphas, atol=0.04)


def test_regressor_quantile_list_and_margin_order():
    X, y = quantile_data(3000, 4)
    reg = SylvanRegressor(objective="reg:quantileerror", quantile_alpha=[0.1, 0.5, 0.9], n_estimators=50, n_jobs=2)
    reg.fit(X, y)
    p = reg.predict(X)
    assert p.shape == (3000, 3) and p.dtype == np.float64
    assert np.all(np.diff(p, axis=1) >= 0)
    m = reg.predict(X, output_margin=True)
    assert m.shape == (3000, 3)
    # The sorted values are the raw outputs rearranged within each row.
    np.testing.assert_array_equal(np.sort(m, axis=1).astype(np.float32), p.astype(np.float32))
    assert reg.get_params()["quantile_alpha"] == [0.1, 0.5, 0.9]


def test_expectiles_are_ordered():
    X, y = quantile_data(3000, 5)
    reg = SylvanRegressor(
        objective="reg:expectileerror", expectile_alpha=[0.2, 0.5, 0.8], n_estimators=60, max_depth=4, n_jobs=2
    )
    reg.fit(X, y)
    p = reg.predict(X)
    assert p.shape == (3000, 3)
    assert np.all(np.diff(p, axis=1) >= 0), "expectiles cross"
    # Calibration: the tau-expectile m solves tau E[(y - m)+] = (1 - tau) E[(m - y)+], so the level
    # implied by the training residuals, E[(m - y)+] / E[|y - m|], is close to each tau.
    r = y[:, None] - p
    implied = np.maximum(-r, 0).mean(axis=0) / np.abs(r).mean(axis=0)
    np.testing.assert_allclose(implied, [0.2, 0.5, 0.8], atol=0.08)
    # Spread grows with x0 (heteroscedastic data): the 0.2..0.8 band is wider there.
    width = p[:, 2] - p[:, 0]
    assert width[X[:, 0] > 0.8].mean() > 2.0 * width[X[:, 0] < 0.2].mean()
    # One level: one output per row.
    single = SylvanRegressor(objective="reg:expectileerror", expectile_alpha=0.8, n_estimators=20).fit(X, y)
    assert single.predict(X).shape == (3000,)


# -- Several targets against XGBoost ---------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_two_targets_match_xgboost_rmse(strategy):
    xgb = pytest.importorskip("xgboost")
    kw = dict(
        n_estimators=ROUNDS,
        learning_rate=COMMON["eta"],
        max_depth=COMMON["max_depth"],
        max_bin=256,
        reg_lambda=1.0,
        n_jobs=2,
        tree_method="hist",
        multi_strategy=strategy,
    )
    rels = []
    for seed in range(5):
        X, Y = two_targets(4000, 100 + seed)
        Xt, Yt = two_targets(2000, 200 + seed)
        ours = SylvanRegressor(**kw).fit(X, Y)
        theirs = xgb.XGBRegressor(**kw).fit(X, Y)
        p_ours, p_theirs = ours.predict(Xt), theirs.predict(Xt)
        assert p_ours.shape == p_theirs.shape == (2000, 2)
        r_ours, r_theirs = rmse_per_target(p_ours, Yt), rmse_per_target(p_theirs, Yt)
        rels.append((r_ours - r_theirs) / r_theirs)
        print(f"{strategy} seed {seed}: sylvan RMSE {r_ours}, xgboost RMSE {r_theirs}, relative {rels[-1]}")
    rels = np.array(rels)
    assert np.all(np.abs(rels.mean(axis=0)) <= 0.01), (strategy, rels)
    assert np.all(np.abs(rels) <= 0.04), (strategy, rels)


def test_multi_output_tree_shares_splits():
    X, Y = two_targets(1000, 8)
    params = {"objective": "reg:squarederror", **COMMON}
    one = sylvan.train({**params, "multi_strategy": "one_output_per_tree"}, Dataset(X, label=Y), num_boost_round=10)
    shared = sylvan.train({**params, "multi_strategy": "multi_output_tree"}, Dataset(X, label=Y), num_boost_round=10)
    # Stored as one tree per output per round either way.
    assert one.num_boosted_rounds() == shared.num_boosted_rounds() == 10
    leaves = shared.predict(X, pred_leaf=True).reshape(len(X), 10, 2)
    # The outputs of a round share the tree structure: a row lands in the same leaf for both.
    np.testing.assert_array_equal(leaves[:, :, 0], leaves[:, :, 1])
    assert not np.array_equal(one.predict(X), shared.predict(X))


def test_regressor_two_targets_with_eval_set_and_early_stopping():
    X, Y = two_targets(2000, 9)
    Xv, Yv = two_targets(500, 10)
    reg = SylvanRegressor(n_estimators=300, learning_rate=0.3, early_stopping_rounds=5, n_jobs=2)
    reg.fit(X, Y, eval_set=[(Xv, Yv)])
    assert len(reg.evals_result_["validation_0"]["rmse"]) < 300
    assert reg.predict(Xv).shape == (500, 2)
    assert reg.score(Xv, Yv) > 0.8
    with pytest.raises(ValueError, match=r"eval_set\[0\].*2 columns"):
        reg.fit(X, Y, eval_set=[(Xv, Yv[:, 0])])
    # A DataFrame y.
    reg2 = SylvanRegressor(n_estimators=10).fit(pd.DataFrame(X), pd.DataFrame(Y, columns=["u", "v"]))
    assert reg2.predict(X).shape == (2000, 2)


def test_categorical_frame_weights_and_base_margin_with_two_targets():
    X, Y = two_targets(600, 23)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    df["c"] = pd.Categorical(np.where(X[:, 0] > 0, "a", "b"))
    reg = SylvanRegressor(n_estimators=10).fit(df, Y, sample_weight=np.ones(600), eval_set=[(df, Y)])
    assert reg.predict(df).shape == (600, 2)
    assert reg.get_booster().categories == {"c": ["a", "b"]}
    # Base margins (rows, outputs) start each output from its own column (identity link: a shift of
    # the margins shifts the predictions by the same amount, per column).
    bm = np.column_stack([np.full(600, 1.0), np.full(600, -2.0)]).astype(np.float32)
    b = sylvan.train({"objective": "reg:squarederror"}, Dataset(X, label=Y, base_margin=bm), num_boost_round=3)
    shift = np.array([0.5, 4.0], dtype=np.float32)
    diff = b.predict(Dataset(X, base_margin=bm + shift)) - b.predict(Dataset(X, base_margin=bm))
    np.testing.assert_allclose(diff, np.broadcast_to(shift, diff.shape), atol=1e-5)


# -- Multi-label classification --------------------------------------------------------------------


def multilabel(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    Y = np.column_stack(
        [X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] * X[:, 4] > 0]
    ).astype(np.int64)
    flip = rng.random(Y.shape) < 0.03
    return X, np.where(flip, 1 - Y, Y)


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_multilabel_classifier_shapes_and_accuracy(strategy):
    X, Y = multilabel(3000, 11)
    Xt, Yt = multilabel(1000, 12)
    clf = SylvanClassifier(n_estimators=100, max_depth=4, multi_strategy=strategy, n_jobs=2).fit(X, Y)
    assert clf.n_outputs_ == 3 and clf.n_classes_ == 2
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(Xt)
    assert proba.shape == (1000, 3) and np.all((proba > 0) & (proba < 1))
    pred = clf.predict(Xt)
    assert pred.shape == (1000, 3) and pred.dtype == Yt.dtype
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(np.int64))
    acc = (pred == Yt).mean(axis=0)
    assert np.all(acc > 0.9), acc
    assert clf.get_booster().objective == "binary:logistic"
    assert clf.score(Xt, Yt) == pytest.approx(np.mean(np.all(pred == Yt, axis=1)))


def test_multilabel_shapes_match_xgboost():
    xgb = pytest.importorskip("xgboost")
    X, Y = multilabel(500, 13)
    ours = SylvanClassifier(n_estimators=20, tree_method="hist").fit(X, Y)
    theirs = xgb.XGBClassifier(n_estimators=20, tree_method="hist").fit(X, Y)
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape
    assert ours.predict(X).shape == theirs.predict(X).shape
    assert (ours.predict(X) == theirs.predict(X)).mean() > 0.95


def test_multilabel_boolean_labels_and_single_column():
    X, Y = multilabel(800, 14)
    clf = SylvanClassifier(n_estimators=20).fit(X, Y.astype(bool))
    assert clf.predict(X).dtype == bool
    # One column is ordinary binary classification.
    one = SylvanClassifier(n_estimators=20)
    with pytest.warns(Warning, match="column-vector y"):
        one.fit(X, Y[:, :1])
    assert one.predict_proba(X).shape == (800, 2) and one.predict(X).shape == (800,)


def test_classifier_refuses_multiclass_multioutput():
    X, Y = multilabel(300, 15)
    Y[0, 0] = 2
    with pytest.raises(ValueError, match="multi-label indicators"):
        SylvanClassifier(n_estimators=5).fit(X, Y)
    with pytest.raises(ValueError, match="binary:logistic per label"):
        SylvanClassifier(n_estimators=5, objective="multi:softprob").fit(X, multilabel(300, 15)[1])


# -- Persistence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".sylvan"])
def test_save_load_round_trip(tmp_path, suffix):
    X, Y = two_targets(600, 16)
    Xq, yq = quantile_data(600, 17)
    models = [
        sylvan.train({"objective": "reg:squarederror", "multi_strategy": "multi_output_tree", **COMMON},
                     Dataset(X, label=Y), num_boost_round=10),
        sylvan.train({"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.5, 0.9], **COMMON},
                     Dataset(Xq, label=yq), num_boost_round=10),
        sylvan.train({"objective": "reg:expectileerror", "expectile_alpha": [0.2, 0.8], **COMMON},
                     Dataset(Xq, label=yq), num_boost_round=10),
    ]
    for i, (b, data) in enumerate(zip(models, [X, Xq, Xq])):
        path = tmp_path / f"m{i}{suffix}"
        b.save_model(path)
        back = Booster.load(path)
        assert back.num_groups == b.num_groups
        np.testing.assert_array_equal(back.predict(data), b.predict(data))
        np.testing.assert_array_equal(back.predict(data, output_margin=True), b.predict(data, output_margin=True))
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(b)).predict(data), b.predict(data))
    assert Booster.load(tmp_path / f"m0{suffix}").num_targets == 2
    assert Booster.load(tmp_path / f"m0{suffix}").params()["quantile_alpha"] == 0.5
    assert Booster.load(tmp_path / f"m1{suffix}").params()["quantile_alpha"] == [0.1, 0.5, 0.9]


def test_estimators_save_load_round_trip(tmp_path):
    X, Y = multilabel(600, 18)
    clf = SylvanClassifier(n_estimators=15).fit(X, Y)
    clf.save_model(tmp_path / "clf.json")
    back = SylvanClassifier()
    back.load_model(tmp_path / "clf.json")
    assert back.n_outputs_ == 3 and back.n_classes_ == 2
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    X2, Y2 = two_targets(600, 19)
    reg = SylvanRegressor(n_estimators=15, multi_strategy="multi_output_tree").fit(X2, Y2)
    reg.save_model(tmp_path / "reg.sylvan")
    back = SylvanRegressor()
    back.load_model(tmp_path / "reg.sylvan")
    np.testing.assert_array_equal(back.predict(X2), reg.predict(X2))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X2), reg.predict(X2))


def test_xgboost_json_export_of_two_targets_loads_in_xgboost(tmp_path):
    xgb = pytest.importorskip("xgboost")
    X, Y = two_targets(500, 20)
    b = sylvan.train({"objective": "reg:squarederror", **COMMON}, Dataset(X, label=Y), num_boost_round=10)
    b.export_model(tmp_path / "m.json", format="xgboost-json")
    theirs = xgb.Booster(model_file=str(tmp_path / "m.json"))
    np.testing.assert_allclose(theirs.predict(xgb.DMatrix(X)), b.predict(X), rtol=1e-5, atol=1e-5)


# -- Bad inputs ------------------------------------------------------------------------------------


def test_nan_in_second_label_column_is_named():
    X, Y = two_targets(50, 21)
    Y[7, 1] = np.nan
    with pytest.raises(SylvanError, match=r"row 7.*target 1"):
        Dataset(X, label=Y)
    with pytest.raises(SylvanError, match=r"row 7.*target 1"):
        Dataset(pd.DataFrame(X), label=pd.DataFrame(Y))
    with pytest.raises(ValueError, match="NaN"):
        SylvanRegressor(n_estimators=5).fit(X, Y)


def test_bad_combinations_name_the_parameter():
    X, Y = two_targets(200, 22)
    d = Dataset(X, label=Y)
    with pytest.raises(SylvanError, match="num_target"):
        sylvan.train({"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.9]}, d, num_boost_round=2)
    with pytest.raises(SylvanError, match="num_target"):
        sylvan.train({"objective": "multi:softprob", "num_class": 3}, d, num_boost_round=2)
    with pytest.raises(SylvanError, match="expectile_alpha"):
        sylvan.train({"objective": "reg:expectileerror", "expectile_alpha": [0.8, 0.2]},
                     Dataset(X, label=Y[:, 0]), num_boost_round=2)
    with pytest.raises(SylvanError, match="multi_strategy"):
        sylvan.train({"multi_strategy": "multi_output_tree", "tree_method": "exact"}, d, num_boost_round=2)
    with pytest.raises(SylvanError, match="multi_strategy"):
        sylvan.train({"multi_strategy": "sideways"}, d, num_boost_round=2)
    with pytest.raises(SylvanError, match="quantile_alpha"):
        sylvan.train({"objective": "reg:quantileerror", "quantile_alpha": [0.1, 1.5]},
                     Dataset(X, label=Y[:, 0]), num_boost_round=2)
    with pytest.raises(SylvanError, match="labels"):
        sylvan._sylvan._Dataset.from_matrix(X, Y.ravel()[:-1].copy(), num_targets=2)
