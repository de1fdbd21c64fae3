"""Identities of training and prediction through the Python package, each checked against an
independent computation (another training that must give the same model, or numpy/scikit-learn).

What is pinned, and with what tolerance:

- Zero weights (exact method): a row of weight 0 changes nothing for the other rows: the leaf every
  kept row falls in (``pred_leaf``), and their predictions, are those of the model trained without
  the zero-weight rows. EXACT equality: a zero weight makes the row's gradient and hessian exactly 0,
  and adding 0.0 to a sum leaves it unchanged bit for bit (one thread, so the order of the other
  rows' additions is the same). Thresholds may move between kept values, so predictions of the
  dropped rows themselves are not compared.
- Integer weights (exact method): weight k is the same model as the row repeated k times: the same
  leaf for every row, and predictions within 1e-5 (absolute, on margins of magnitude < 10):
  ``k * g`` and ``g + ... + g`` round differently in f32/f64, a few ulps per sum.
- base_margin:
  * regression: training on labels y with base_margin m gives the same trees as training on y - m
    with base_score 0 (same leaves; margins differ by m within 1e-5: the labels y - m are rounded to
    f32 once, which moves gradients by ~1e-7);
  * binary and multiclass (base_margin of shape (n, k)): training from base_margin = a model's output
    margins gives the trees of continuing that model's training (same leaves; margins within 1e-5:
    the margins pass through f32 once);
  * prediction with base_margin: output_margin is the trees' sum plus the row's margin, for every row
    and class, within 1e-5 (f32 rounding of the sums).
- iteration_range: margin(a..b) = margin(0..b) - margin(0..a) + base, every row and class, within
  1e-5 (three f32-rounded values).
- Early stopping, minimised (logloss) and maximised (auc) metric, low-level API and scikit-learn
  estimator: the best iteration is the best round of the metric recomputed here by numpy /
  scikit-learn from the predictions of every prefix of rounds, training stops exactly
  early_stopping_rounds rounds after it, and the best iteration survives save/load (JSON, binary,
  estimator load_model) and is what prediction uses by default.
"""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import sylvan
from sylvan import Booster, Dataset, SylvanClassifier

MARGIN_ATOL = 1e-5


@pytest.fixture(scope="module")
def data():
    """400 rows, 5 continuous features (distinct values), a regression label and a binary label."""
    rng = np.random.default_rng(11)
    n = 400
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] - 0.5 * X[:, 1] ** 2 + np.sin(2 * X[:, 2]) + rng.normal(scale=0.3, size=n)).astype(np.float32)
    yb = (y > np.median(y)).astype(np.float32)
    ym = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(np.float32)
    return X, y, yb, ym


EXACT = {"tree_method": "exact", "eta": 0.3, "max_depth": 4, "nthread": 1, "seed": 3}
OBJECTIVES = {
    "reg:squarederror": {"objective": "reg:squarederror"},
    "binary:logistic": {"objective": "binary:logistic"},
    "multi:softprob": {"objective": "multi:softprob", "num_class": 3},
}


def label_for(objective, data):
    _, y, yb, ym = data
    return {"reg:squarederror": y, "binary:logistic": yb, "multi:softprob": ym}[objective]


def leaves(booster, X, **kw):
    return booster.predict(X, pred_leaf=True, **kw).astype(np.int64)


def margins(booster, X, **kw):
    return booster.predict(X, output_margin=True, **kw).astype(np.float64)


def base_of(booster):
    return np.asarray(json.loads(booster.to_json())["base_margin"], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_zero_weight_is_dropping_the_row(data, objective):
    X, *_ = data
    y = label_for(objective, data)
    params = {**EXACT, **OBJECTIVES[objective]}
    n = len(X)
    w = np.ones(n, dtype=np.float32)
    dropped = np.arange(n) % 5 == 2
    w[dropped] = 0.0
    keep = ~dropped
    weighted = sylvan.train(params, Dataset(X, label=y, weight=w), 12)
    without = sylvan.train(params, Dataset(X[keep], label=y[keep]), 12)
    np.testing.assert_array_equal(leaves(weighted, X[keep]), leaves(without, X[keep]))
    np.testing.assert_array_equal(weighted.predict(X[keep]), without.predict(X[keep]))
    np.testing.assert_array_equal(base_of(weighted), base_of(without))


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_integer_weight_is_repeating_the_row(data, objective):
    X, *_ = data
    y = label_for(objective, data)
    params = {**EXACT, **OBJECTIVES[objective]}
    k = (np.arange(len(X)) % 4).astype(np.int64) + 1  # 1, 2, 3, 4
    weighted = sylvan.train(params, Dataset(X, label=y, weight=k.astype(np.float32)), 12)
    repeated = sylvan.train(params, Dataset(np.repeat(X, k, axis=0), label=np.repeat(y, k)), 12)
    np.testing.assert_array_equal(leaves(weighted, X), leaves(repeated, X))
    np.testing.assert_allclose(margins(weighted, X), margins(repeated, X), rtol=0, atol=MARGIN_ATOL)
    # Not vacuous: the weights matter (unit weights give another model).
    unit = sylvan.train(params, Dataset(X, label=y), 12)
    assert not np.array_equal(leaves(unit, X), leaves(weighted, X))


# ---------------------------------------------------------------------------------------------
# base_margin
# ---------------------------------------------------------------------------------------------


def test_regression_base_margin_is_training_on_the_residual(data):
    X, y, *_ = data
    m = np.random.default_rng(4).normal(scale=0.7, size=len(X)).astype(np.float32)
    params = {**EXACT, "objective": "reg:squarederror"}
    with_margin = sylvan.train(params, Dataset(X, label=y, base_margin=m), 12)
    residual = sylvan.train({**params, "base_score": 0.0}, Dataset(X, label=y - m), 12)
    assert base_of(residual).tolist() == [0.0]
    np.testing.assert_array_equal(leaves(with_margin, X), leaves(residual, X))
    np.testing.assert_allclose(
        margins(with_margin, Dataset(X, base_margin=m)) - m, margins(residual, X), rtol=0, atol=MARGIN_ATOL
    )
    # Not vacuous: without the margin the trees differ.
    plain = sylvan.train(params, Dataset(X, label=y), 12)
    assert not np.array_equal(leaves(plain, X), leaves(with_margin, X))


@pytest.mark.parametrize("objective", ["binary:logistic", "multi:softprob"])
def test_base_margin_is_continued_training(data, objective):
    X, *_ = data
    y = label_for(objective, data)
    params = {**EXACT, **OBJECTIVES[objective]}
    first = sylvan.train(params, Dataset(X, label=y), 4)
    start = first.predict(X, output_margin=True)  # (n,) or (n, k): passed to Dataset as is
    continued = sylvan.train(params, Dataset(X, label=y), 6, xgb_model=first)
    from_margin = sylvan.train(params, Dataset(X, label=y, base_margin=start), 6)
    assert continued.num_boosted_rounds() == 10 and from_margin.num_boosted_rounds() == 6
    np.testing.assert_array_equal(leaves(continued, X, iteration_range=(4, 10)), leaves(from_margin, X))
    np.testing.assert_allclose(
        margins(from_margin, Dataset(X, base_margin=start)), margins(continued, X), rtol=0, atol=MARGIN_ATOL
    )


def test_multiclass_prediction_adds_each_rows_margin_to_each_class(data):
    X, *_ = data
    y = label_for("multi:softprob", data)
    b = sylvan.train({**EXACT, **OBJECTIVES["multi:softprob"]}, Dataset(X, label=y), 8)
    n, k = len(X), 3
    bm = np.random.default_rng(8).normal(scale=2.0, size=(n, k)).astype(np.float32)
    trees = margins(b, Dataset(X, base_margin=np.zeros((n, k), np.float32)))
    shifted = margins(b, Dataset(X, base_margin=bm))
    flat = margins(b, Dataset(X, base_margin=bm.ravel()))  # the row-major flat form is the same
    assert shifted.shape == (n, k)
    np.testing.assert_array_equal(shifted, flat)
    np.testing.assert_allclose(shifted, trees + bm, rtol=0, atol=MARGIN_ATOL)
    # Without base_margin the model's base margin (one per class) is added.
    np.testing.assert_allclose(margins(b, X), trees + base_of(b)[None, :], rtol=0, atol=MARGIN_ATOL)
    # Probabilities are the softmax of the shifted margins.
    p = b.predict(Dataset(X, base_margin=bm)).astype(np.float64)
    e = np.exp(shifted - shifted.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), rtol=0, atol=1e-6)
    with pytest.raises(ValueError):
        b.predict(Dataset(X, base_margin=bm[:, :2]))


# ---------------------------------------------------------------------------------------------
# Iteration ranges
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_margin_of_a_range_is_a_difference_of_prefixes(data, objective):
    X, *_ = data
    y = label_for(objective, data)
    b = sylvan.train({**OBJECTIVES[objective], "eta": 0.3, "max_depth": 4, "seed": 3}, Dataset(X, label=y), 10)
    base = base_of(b)
    base = base if len(base) > 1 else base[0]
    for a, e in [(0, 10), (3, 7), (1, 10), (9, 10), (5, 6)]:
        lhs = margins(b, X, iteration_range=(a, e))
        rhs = margins(b, X, iteration_range=(0, e)) - (margins(b, X, iteration_range=(0, a)) if a else base) + base
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=MARGIN_ATOL, err_msg=f"range {a}..{e}")
    # A range is not the whole model.
    assert np.abs(margins(b, X, iteration_range=(3, 7)) - margins(b, X)).max() > 1e-3


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------

ROUNDS, PATIENCE = 200, 4


@pytest.fixture(scope="module")
def split():
    """A noisy binary problem (30% of labels flipped) with distinct training and validation rows,
    so that deep trees overfit and the validation metric turns within a few dozen rounds."""
    rng = np.random.default_rng(21)
    n = 900
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.float32)
    flip = rng.random(n) < 0.3
    y[flip] = 1 - y[flip]
    return X[:600], y[:600], X[600:], y[600:]


def logloss(y, p):
    p = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def reference_best(booster, Xv, yv, metric):
    """The best round recomputed here: the metric of every prefix of rounds from the predictions
    (numpy logloss, scikit-learn AUC); the first best one, as a strictly-better rule keeps it."""
    rounds = booster.num_boosted_rounds()
    values = []
    for r in range(1, rounds + 1):
        p = booster.predict(Xv, iteration_range=(0, r))
        values.append(logloss(yv, p) if metric == "logloss" else roc_auc_score(yv, p))
    values = np.array(values)
    best = int(np.argmin(values) if metric == "logloss" else np.argmax(values))
    return best, values


def check_best_round(booster, Xv, yv, metric):
    best, values = reference_best(booster, Xv, yv, metric)
    assert booster.best_iteration == best, (booster.best_iteration, best, values)
    # Training stopped exactly PATIENCE rounds after the best one, well before ROUNDS.
    assert booster.num_boosted_rounds() == best + 1 + PATIENCE < ROUNDS
    # The recomputed best is clear (not a near-tie that rounding could flip).
    others = np.delete(values, best)
    gap = (others - values[best]) if metric == "logloss" else (values[best] - others)
    assert gap.min() > 1e-9, values
    assert booster.best_score == pytest.approx(values[best], rel=1e-5, abs=1e-6)
    return best


def check_prediction_uses_best(booster, X, best):
    p = booster.predict(X)
    np.testing.assert_array_equal(p, booster.predict(X, iteration_range=(0, best + 1)))
    assert not np.array_equal(p, booster.predict(X, iteration_range=(0, booster.num_boosted_rounds())))


@pytest.mark.parametrize("metric", ["logloss", "auc"])
def test_early_stopping_best_iteration_survives_save_and_load(split, tmp_path, metric):
    Xt, yt, Xv, yv = split
    params = {"objective": "binary:logistic", "eta": 0.3, "max_depth": 6, "eval_metric": metric, "seed": 1}
    result = {}
    b = sylvan.train(params, Dataset(Xt, label=yt), ROUNDS, evals=[(Dataset(Xv, label=yv), "valid")],
                     early_stopping_rounds=PATIENCE, evals_result=result)
    best = check_best_round(b, Xv, yv, metric)
    # The recorded history is the metric recomputed here.
    _, values = reference_best(b, Xv, yv, metric)
    np.testing.assert_allclose(result["valid"][metric], values, rtol=1e-5, atol=1e-6)
    check_prediction_uses_best(b, Xv, best)
    for name in ("m.json", "m.sylvan"):
        b.save_model(tmp_path / name)
        back = Booster.load(tmp_path / name)
        assert (back.best_iteration, back.best_score) == (b.best_iteration, b.best_score), name
        check_prediction_uses_best(back, Xv, best)
        np.testing.assert_array_equal(back.predict(Xv), b.predict(Xv), err_msg=name)
    back = Booster.from_bytes(b.save_raw())
    assert back.best_iteration == best


@pytest.mark.parametrize("metric", ["logloss", "auc"])
def test_estimator_early_stopping_best_iteration(split, tmp_path, metric):
    Xt, yt, Xv, yv = split
    est = SylvanClassifier(n_estimators=ROUNDS, learning_rate=0.3, max_depth=6, random_state=1,
                           eval_metric=metric, early_stopping_rounds=PATIENCE)
    est.fit(Xt, yt.astype(int), eval_set=[(Xv, yv.astype(int))])
    b = est.get_booster()
    best = check_best_round(b, Xv, yv, metric)
    assert est.best_iteration_ == best
    np.testing.assert_array_equal(est.predict_proba(Xv)[:, 1], b.predict(Xv, iteration_range=(0, best + 1)))
    est.save_model(tmp_path / "est.json")
    back = SylvanClassifier()
    back.load_model(tmp_path / "est.json")
    assert back.best_iteration_ == best
    np.testing.assert_array_equal(back.predict_proba(Xv), est.predict_proba(Xv))
