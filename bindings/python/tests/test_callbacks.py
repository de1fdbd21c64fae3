"""Custom objectives and metrics, training callbacks, live printing (issue #23).

Custom objectives written in Python against the built-in ones (same gradients, so the same trees),
on scikit-learn's bundled data and generated data; a custom metric driving early stopping against
the built-in one; the callbacks' logic against XGBoost's own classes fed the same evaluation logs
(tolerance: exact, they are the same arithmetic).
"""

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification

import sylvan
from sylvan import Dataset, SylvanClassifier, SylvanError, SylvanRegressor
from sylvan.callback import (
    EarlyStopping,
    EvaluationMonitor,
    LearningRateScheduler,
    TrainingCallback,
    TrainingCheckPoint,
)


def trees_of(booster):
    m = json.loads(booster.to_json())
    return m["trees"], m["base_margin"]


def squared_error(preds, dtrain):
    return preds - dtrain.get_label(), np.ones_like(preds)


def logistic(preds, dtrain):
    p = 1.0 / (1.0 + np.exp(-preds))
    return p - dtrain.get_label(), p * (1.0 - p)


def softprob(preds, dtrain):
    e = np.exp(preds - preds.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(preds.shape[1])[dtrain.get_label().astype(int)]
    return p - onehot, np.maximum(2.0 * p * (1.0 - p), 1e-16)


def split(X, y, frac=0.75):
    n = int(len(y) * frac)
    return (X[:n], y[:n]), (X[n:], y[n:])


@pytest.mark.parametrize("seed", [0, 1])
def test_a_custom_squared_error_gives_the_builtin_trees(seed):
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(y))
    d = Dataset(X[rows], label=y[rows].astype(np.float32))
    params = {"objective": "reg:squarederror", "eta": 0.3, "max_depth": 4, "subsample": 0.8, "seed": seed}
    builtin = sylvan.train(params, d, 20, verbose_eval=False)
    custom = sylvan.train(params, d, 20, obj=squared_error, verbose_eval=False)
    assert trees_of(custom) == trees_of(builtin)
    assert custom.objective == "reg:squarederror"


@pytest.mark.parametrize("tree_method", ["hist", "exact", "approx"])
def test_a_custom_logistic_loss_gives_the_builtin_model(tree_method):
    X, y = load_breast_cancer(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    params = {"objective": "binary:logistic", "eta": 0.3, "max_depth": 3, "tree_method": tree_method}
    builtin = sylvan.train(params, d, 15, verbose_eval=False)
    custom = sylvan.train(params, d, 15, obj=logistic, verbose_eval=False)
    # The same gradients up to the last bit of exp: predictions agree to float32 precision.
    np.testing.assert_allclose(custom.predict(d), builtin.predict(d), rtol=0, atol=1e-5)
    structure = lambda b: [(t["feature"], t["threshold"]) for t in trees_of(b)[0]]  # noqa: E731
    assert structure(custom) == structure(builtin)


def test_a_custom_multiclass_loss_takes_and_returns_rows_by_classes():
    X, y = load_iris(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    params = {"objective": "multi:softprob", "num_class": 3, "eta": 0.3, "max_depth": 3}
    shapes = []

    def obj(preds, dtrain):
        shapes.append(preds.shape)
        return softprob(preds, dtrain)

    builtin = sylvan.train(params, d, 10, verbose_eval=False)
    custom = sylvan.train(params, d, 10, obj=obj, verbose_eval=False)
    assert shapes[0] == (150, 3)
    np.testing.assert_allclose(custom.predict(d), builtin.predict(d), atol=1e-5)


def test_a_custom_objective_with_weights_is_the_functions_business():
    X, y = make_classification(600, 6, random_state=3)
    w = np.random.default_rng(3).uniform(0.2, 3.0, size=600).astype(np.float32)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32), weight=w)

    def weighted_logistic(preds, dtrain):
        g, h = logistic(preds, dtrain)
        return g * dtrain.get_weight(), h * dtrain.get_weight()

    params = {"objective": "binary:logistic", "max_depth": 3}
    builtin = sylvan.train(params, d, 10, verbose_eval=False)
    custom = sylvan.train(params, d, 10, obj=weighted_logistic, verbose_eval=False)
    np.testing.assert_allclose(custom.predict(d), builtin.predict(d), atol=1e-5)


def test_bad_objectives_and_metrics_raise_clear_errors():
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    with pytest.raises(ValueError, match="one per row"):
        sylvan.train({}, d, 3, obj=lambda p, t: (p[:10], p[:10]), verbose_eval=False)
    with pytest.raises(ValueError, match=r"pair \(grad, hess\)"):
        sylvan.train({}, d, 3, obj=lambda p, t: p, verbose_eval=False)
    with pytest.raises(ValueError, match="non-finite"):
        sylvan.train({}, d, 3, obj=lambda p, t: (p * np.nan, p), verbose_eval=False)

    def boom(preds, dtrain):
        raise ZeroDivisionError("from the objective")

    with pytest.raises(ZeroDivisionError, match="from the objective"):
        sylvan.train({}, d, 3, obj=boom)
    with pytest.raises(TypeError, match="name, value"):
        sylvan.train({}, d, 3, evals=[(d, "t")], custom_metric=lambda p, t: 1.0, verbose_eval=False)
    with pytest.raises(TypeError, match="callable"):
        sylvan.train({}, d, 3, obj="squared")
    with pytest.raises(TypeError, match="TrainingCallback"):
        sylvan.train({}, d, 3, callbacks=[object()])


def test_a_custom_metric_drives_early_stopping_like_the_builtin_one():
    X, y = make_classification(3000, 10, n_informative=4, flip_y=0.2, random_state=5)
    (Xa, ya), (Xb, yb) = split(X.astype(np.float32), y.astype(np.float32))
    dtrain, dvalid = Dataset(Xa, label=ya), Dataset(Xb, label=yb)
    params = {"objective": "binary:logistic", "eta": 0.3, "max_depth": 6, "eval_metric": "logloss"}

    def my_logloss(preds, data):
        y = data.get_label()
        p = np.clip(preds, 1e-7, 1 - 1e-7)
        return "my_logloss", float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    res_b, res_c = {}, {}
    builtin = sylvan.train(params, dtrain, 300, evals=[(dvalid, "valid")], early_stopping_rounds=5,
                           evals_result=res_b, verbose_eval=False)
    custom = sylvan.train(params, dtrain, 300, evals=[(dvalid, "valid")], early_stopping_rounds=5,
                          evals_result=res_c, custom_metric=my_logloss, verbose_eval=False)
    assert builtin.best_iteration is not None and builtin.best_iteration < 290
    assert custom.best_iteration == builtin.best_iteration
    assert custom.num_boosted_rounds() == builtin.num_boosted_rounds()
    np.testing.assert_allclose(res_c["valid"]["my_logloss"], res_c["valid"]["logloss"], rtol=1e-5)
    assert custom.best_score == pytest.approx(builtin.best_score, rel=1e-5)
    assert list(res_c["valid"]) == ["logloss", "my_logloss"]
    assert custom.evals_result() == res_c
    # Prediction uses the rounds up to the best one, as with the built-in early stopping.
    np.testing.assert_array_equal(custom.predict(dvalid), builtin.predict(dvalid))


def test_custom_metrics_see_margins_with_a_custom_objective_and_may_return_several_values():
    X, y = load_breast_cancer(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    seen = []

    def metrics(preds, data):
        seen.append((preds.min(), preds.max()))
        return [("lo", float(preds.min())), ("hi", float(preds.max()))]

    res = {}
    sylvan.train({"objective": "binary:logistic"}, d, 3, evals=[(d, "train")], obj=logistic,
                 custom_metric=metrics, evals_result=res, verbose_eval=False)
    assert min(lo for lo, _ in seen) < 0.0  # margins, not probabilities
    assert list(res["train"]) == ["logloss", "lo", "hi"]
    seen.clear()
    sylvan.train({"objective": "binary:logistic"}, d, 3, evals=[(d, "train")], custom_metric=metrics,
                 verbose_eval=False)
    assert all(0.0 <= lo and hi <= 1.0 for lo, hi in seen)  # probabilities


class Recorder(TrainingCallback):
    """Records the calls it gets; stops after round ``stop_at``."""

    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at

    def before_training(self, model):
        self.calls.append(("before_training", model.num_boosted_rounds()))
        return model

    def before_iteration(self, model, epoch, evals_log):
        self.calls.append(("before", epoch))
        return False

    def after_iteration(self, model, epoch, evals_log):
        self.calls.append(("after", epoch, model.num_boosted_rounds(), len(evals_log.get("t", {}).get("rmse", []))))
        return epoch == self.stop_at

    def after_training(self, model):
        self.calls.append(("after_training", model.num_boosted_rounds()))
        return model


def test_a_callback_sees_every_round_and_stops_training():
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    rec = Recorder(stop_at=3)
    b = sylvan.train({}, d, 50, evals=[(d, "t")], callbacks=[rec], verbose_eval=False)
    assert b.num_boosted_rounds() == 4
    assert rec.calls == [("before_training", 0)] + [
        c for e in range(4) for c in (("before", e), ("after", e, e + 1, e + 1))
    ] + [("after_training", 4)]
    # Continued training numbers the rounds after the initial model's.
    rec = Recorder()
    sylvan.train({}, d, 2, evals=[(d, "t")], callbacks=[rec], xgb_model=b, verbose_eval=False)
    assert rec.calls[0] == ("before_training", 4)
    assert ("after", 1, 6, 2) in rec.calls  # epochs from 0, as in XGBoost


def test_the_model_a_callback_sees_predicts_as_the_model_so_far():
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    predictions = {}

    class Peek(TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            predictions[epoch] = model.predict(d)
            model.set_attr(last_epoch=str(epoch))
            return False

    b = sylvan.train({"eta": 0.3}, d, 6, callbacks=[Peek()], verbose_eval=False)
    for epoch, p in predictions.items():
        np.testing.assert_array_equal(p, b.predict(d, iteration_range=(0, epoch + 1)))
    assert b.attributes()["last_epoch"] == "5"

    class TooEarly(TrainingCallback):
        def before_training(self, model):
            model.predict(d)
            return model

    with pytest.raises(SylvanError, match="after_iteration"):
        sylvan.train({}, d, 2, callbacks=[TooEarly()], verbose_eval=False)

    class Other(TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            model.set_param("max_depth", 3)

    with pytest.raises(SylvanError, match="only learning_rate"):
        sylvan.train({}, d, 2, callbacks=[Other()], verbose_eval=False)


def test_a_learning_rate_schedule_is_the_model_trained_in_steps():
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    rates = [0.3, 0.2, 0.2, 0.1, 0.1]
    b = sylvan.train({"eta": 0.5}, d, 5, callbacks=[LearningRateScheduler(rates)], verbose_eval=False)
    # As in XGBoost, after round e the rate becomes rates[e] for the rounds that follow.
    step = sylvan.train({"eta": 0.5}, d, 1, verbose_eval=False)
    for e in range(4):
        step = sylvan.train({"eta": rates[e]}, d, 1, xgb_model=step, verbose_eval=False)
    np.testing.assert_array_equal(b.predict(d), step.predict(d))
    fn = sylvan.train({"eta": 0.5}, d, 5, callbacks=[LearningRateScheduler(lambda e: rates[e])], verbose_eval=False)
    np.testing.assert_array_equal(fn.predict(d), b.predict(d))
    with pytest.raises(SylvanError, match="learning_rate"):
        sylvan.train({}, d, 3, callbacks=[LearningRateScheduler([0.1, -1.0, 0.1])], verbose_eval=False)
    with pytest.raises(TypeError):
        LearningRateScheduler(0.1)


def test_verbose_eval_prints_as_training_goes(capsys):
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    lines = []

    class Watch(TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            lines.append(capsys.readouterr().out)
            return False

    res = {}
    sylvan.train({}, d, 7, evals=[(d, "train")], verbose_eval=3, callbacks=[Watch()], evals_result=res)
    # The monitor runs after the user's callbacks: each round's line is out by the next round.
    printed = "".join(lines) + capsys.readouterr().out
    rmse = res["train"]["rmse"]
    assert printed.splitlines() == [f"[{e}]\ttrain-rmse:{rmse[e]:.5f}" for e in (0, 3, 6)]
    sylvan.train({}, d, 2, evals=[(d, "train")], verbose_eval=False)
    assert capsys.readouterr().out == ""


def test_early_stopping_save_best_and_slicing():
    X, y = make_classification(2000, 8, flip_y=0.25, random_state=11)
    (Xa, ya), (Xb, yb) = split(X.astype(np.float32), y.astype(np.float32))
    dtrain, dvalid = Dataset(Xa, label=ya), Dataset(Xb, label=yb)
    params = {"objective": "binary:logistic", "eta": 0.5, "max_depth": 6, "eval_metric": ["error", "logloss"]}
    es = EarlyStopping(rounds=4, metric_name="logloss", data_name="v", save_best=True)
    b = sylvan.train(params, dtrain, 200, evals=[(dtrain, "t"), (dvalid, "v")], callbacks=[es], verbose_eval=False)
    assert b.num_boosted_rounds() == es.best_iteration + 1
    assert b.best_iteration == es.best_iteration
    full = sylvan.train(params, dtrain, es.best_iteration + 5, verbose_eval=False)
    np.testing.assert_array_equal(full[: es.best_iteration + 1].predict(dvalid), b.predict(dvalid))
    np.testing.assert_array_equal(full[2:4].predict(dvalid, output_margin=True),
                                  full.predict(dvalid, output_margin=True, iteration_range=(2, 4)))
    np.testing.assert_array_equal(full[-1].predict(dvalid), full[full.num_boosted_rounds() - 1].predict(dvalid))
    with pytest.raises(IndexError):
        full[5:3]
    with pytest.raises(ValueError, match="step 1"):
        full[::2]
    with pytest.raises(ValueError, match="no evaluation set"):
        sylvan.train(params, dtrain, 3, evals=[(dvalid, "v")], callbacks=[EarlyStopping(2, data_name="x")],
                     verbose_eval=False)


def test_checkpoints_are_whole_models(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    b = sylvan.train({}, d, 6, callbacks=[TrainingCheckPoint(tmp_path, interval=2)], verbose_eval=False)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["model_1.json", "model_3.json", "model_5.json"]
    np.testing.assert_array_equal(sylvan.Booster.load(tmp_path / "model_3.json").predict(d),
                                  b.predict(d, iteration_range=(0, 4)))


def test_estimators_take_callable_objectives_metrics_and_callbacks():
    X, y = load_breast_cancer(return_X_y=True)
    (Xa, ya), (Xb, yb) = split(X, y)

    def logistic_sklearn(y_true, y_pred):
        p = 1.0 / (1.0 + np.exp(-y_pred))
        return p - y_true, p * (1.0 - p)

    builtin = SylvanClassifier(n_estimators=15, max_depth=3).fit(Xa, ya)
    custom = SylvanClassifier(n_estimators=15, max_depth=3, objective=logistic_sklearn).fit(Xa, ya)
    np.testing.assert_allclose(custom.predict_proba(Xb), builtin.predict_proba(Xb), atol=1e-5)

    def mean_abs_error(y_true, y_pred, sample_weight=None):
        return float(np.average(np.abs(y_true - y_pred), weights=sample_weight))

    rec = Recorder()
    reg = SylvanRegressor(n_estimators=500, learning_rate=0.3, eval_metric=mean_abs_error,
                          early_stopping_rounds=5, callbacks=[rec])
    Xd, yd = load_diabetes(return_X_y=True)
    (Xa, ya), (Xb, yb) = split(Xd, yd)
    reg.fit(Xa, ya, eval_set=[(Xb, yb)])
    history = reg.evals_result()["validation_0"]["mean_abs_error"]
    assert reg.best_iteration == int(np.argmin(history))
    assert len(history) == reg.best_iteration + 6
    assert rec.calls[0][0] == "before_training"

    def weighted_squared(y_true, y_pred, weight):
        w = np.ones_like(y_true) if weight is None else weight
        return (y_pred - y_true) * w, w

    a = SylvanRegressor(n_estimators=10).fit(Xa, ya)
    b = SylvanRegressor(n_estimators=10, objective=weighted_squared).fit(Xa, ya)
    np.testing.assert_array_equal(a.predict(Xb), b.predict(Xb))


def feed(callback, log_values, model=None):
    """Feeds ``callback`` a growing evaluation log, round by round; returns the round it stopped at
    (None if it never did)."""
    log = {}
    for epoch, row in enumerate(log_values):
        for (data, metric), v in row.items():
            log.setdefault(data, {}).setdefault(metric, []).append(v)
        if callback.after_iteration(model, epoch, log):
            return epoch
    return None


class NullModel:
    """What XGBoost's EarlyStopping writes on (attributes), and ours."""

    def __init__(self):
        self.attrs = {}

    def set_attr(self, **kw):
        self.attrs.update(kw)

    def attr(self, k):
        return self.attrs.get(k)

    def _set_best(self, it, score):
        self.attrs["best"] = (it, score)

    def num_boosted_rounds(self):
        return 0


@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_decides_as_xgboosts(seed):
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(seed)
    n = 60
    values = np.round(np.cumsum(rng.normal(-0.01, 0.05, size=n)), 2)  # ties happen
    auc = np.round(rng.uniform(0.6, 0.9, size=n), 2)
    rows = [{("train", "rmse"): 1.0, ("valid", "rmse"): float(v), ("valid", "auc"): float(a)}
            for v, a in zip(values, auc)]
    for kwargs in [dict(rounds=3), dict(rounds=5, metric_name="rmse"), dict(rounds=2, data_name="train"),
                   dict(rounds=4, min_delta=0.02), dict(rounds=3, maximize=True, metric_name="rmse")]:
        ours, theirs = EarlyStopping(**kwargs), xgb.callback.EarlyStopping(**kwargs)
        null = NullModel()
        ours.before_training(null)
        model = xgb.train({}, xgb.DMatrix(np.array([[0.0], [1.0]]), label=[0.0, 1.0]), num_boost_round=0)
        theirs.before_training(model)
        assert feed(ours, rows, null) == feed(theirs, rows, model), kwargs
        assert ours.best_iteration == int(model.attr("best_iteration")), kwargs
        assert ours.best_score == float(model.attr("best_score")), kwargs


def test_the_evaluation_monitor_prints_xgboosts_lines():
    xgb = pytest.importorskip("xgboost")
    rows = [{("train", "rmse"): 1.0 / (e + 1), ("valid", "auc"): 0.5 + e / 100} for e in range(7)]
    ours_lines = []
    ours = EvaluationMonitor(period=3, logger=ours_lines.append)
    feed(ours, rows)
    ours.after_training(None)
    theirs_lines = []
    theirs = xgb.callback.EvaluationMonitor(period=3, logger=lambda msg: theirs_lines.append(msg.rstrip("\n")))
    feed(theirs, rows)
    theirs.after_training(None)
    assert ours_lines == theirs_lines and len(ours_lines) == 3
