"""A script written for XGBoost runs unchanged on Sylvan with ``import sylvan.compat as xgb``
(issue #23): train, predict, cv, the estimators with eval_set and early stopping, callbacks, a
custom objective and metric, the model in memory and as a table. Both runs must succeed and reach
similar quality (AUC within 0.02, the same early-stopping behaviour class)."""

import json
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    dtrain = xgb.DMatrix(X_train, label=y_train)
    dtest = xgb.DMatrix(X_test, label=y_test)
    params = {"objective": "binary:logistic", "eta": 0.1, "max_depth": 4, "eval_metric": "logloss",
              "nthread": 1}

    evals_result = {}
    bst = xgb.train(params, dtrain, num_boost_round=300, evals=[(dtrain, "train"), (dtest, "eval")],
                    early_stopping_rounds=10, evals_result=evals_result, verbose_eval=False)
    out["train_auc"] = roc_auc_score(y_test, bst.predict(dtest, iteration_range=(0, bst.best_iteration + 1)))
    out["stopped_early"] = bst.num_boosted_rounds() < 300
    out["history_keys"] = sorted(evals_result)

    def logistic(preds, dmat):
        p = 1.0 / (1.0 + np.exp(-preds))
        return p - dmat.get_label(), p * (1.0 - p)

    def error_rate(preds, dmat):
        return "my_error", float(np.mean((preds > 0.0) != dmat.get_label()))

    custom = xgb.train(params, dtrain, 30, evals=[(dtest, "eval")], obj=logistic, custom_metric=error_rate,
                       verbose_eval=False,
                       callbacks=[xgb.callback.LearningRateScheduler(lambda e: 0.3 * 0.95 ** e),
                                  xgb.callback.EarlyStopping(rounds=5, metric_name="my_error", save_best=True)])
    out["custom_auc"] = roc_auc_score(y_test, custom.predict(dtest))

    class CountRounds(xgb.callback.TrainingCallback):
        def __init__(self):
            super().__init__()
            self.rounds = 0

        def after_iteration(self, model, epoch, evals_log):
            self.rounds += 1
            return epoch == 4

    counter = CountRounds()
    xgb.train(params, dtrain, 50, callbacks=[counter], verbose_eval=False)
    out["callback_rounds"] = counter.rounds

    cv = xgb.cv(params, dtrain, num_boost_round=20, nfold=3, metrics=["auc"], seed=0)
    out["cv_columns"] = list(cv.columns)
    out["cv_auc"] = float(cv["test-auc-mean"].iloc[-1])

    clf = xgb.XGBClassifier(n_estimators=300, learning_rate=0.1, max_depth=3, early_stopping_rounds=10,
                            eval_metric="logloss", n_jobs=1)
    clf.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    out["sklearn_auc"] = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    out["sklearn_best"] = clf.best_iteration < 299
    reg = xgb.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1).fit(X_train, y_train)
    out["reg_shape"] = reg.predict(X_test).shape

    raw = bst.save_raw()
    again = xgb.Booster()
    again.load_model(raw)
    out["raw_same"] = bool(np.array_equal(again.predict(dtest), bst.predict(dtest)))
    table = bst.trees_to_dataframe()
    out["table_columns"] = list(table.columns)
    out["score_keys"] = len(bst.get_score(importance_type="gain")) > 0
    """
)


def run(module):
    out = {}
    exec(SCRIPT, {"xgb": module, "out": out})
    return out


def test_an_xgboost_script_runs_unchanged_with_sylvan_compat():
    xgb = pytest.importorskip("xgboost")
    import sylvan.compat

    theirs, ours = run(xgb), run(sylvan.compat)
    for key in ("stopped_early", "history_keys", "callback_rounds", "cv_columns", "sklearn_best", "reg_shape",
                "raw_same", "table_columns", "score_keys"):
        assert ours[key] == theirs[key], (key, ours[key], theirs[key])
    for key in ("train_auc", "custom_auc", "cv_auc", "sklearn_auc"):
        assert ours[key] > theirs[key] - 0.02, (key, ours[key], theirs[key])


def test_trees_to_dataframe_matches_xgboosts_for_the_same_trees(tmp_path):
    xgb = pytest.importorskip("xgboost")
    import pandas as pd
    from sklearn.datasets import load_diabetes

    import sylvan

    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    X[::7, 2] = np.nan
    b = sylvan.train({"max_depth": 3, "eta": 0.3}, sylvan.Dataset(X, label=y), 4, verbose_eval=False)
    b.export_model(tmp_path / "m.json", format="xgboost-json")
    ref = xgb.Booster(model_file=str(tmp_path / "m.json"))
    ours, theirs = b.trees_to_dataframe(), ref.trees_to_dataframe()
    assert list(ours.columns) == list(theirs.columns)
    # XGBoost numbers nodes breadth-first in its files; compare by the path-independent contents.
    key = ["Tree", "Feature", "Split", "Cover"]
    a = ours.sort_values(key).reset_index(drop=True)
    t = theirs.sort_values(key).reset_index(drop=True)
    assert list(a["Feature"]) == list(t["Feature"])
    np.testing.assert_allclose(a["Split"], t["Split"], rtol=1e-6)
    np.testing.assert_allclose(a["Cover"], t["Cover"], rtol=1e-5)
    np.testing.assert_allclose(a["Gain"], t["Gain"], rtol=1e-5, atol=1e-6)
    assert pd.isna(a["Category"]).all()


def test_the_model_in_memory_round_trips_in_both_forms():
    import sylvan

    rng = np.random.default_rng(0)
    X = rng.random((200, 3), dtype=np.float32)
    b = sylvan.train({}, sylvan.Dataset(X, label=X[:, 0]), 3, verbose_eval=False)
    for form in ("binary", "json", "ubj"):
        raw = b.save_raw(form)
        assert isinstance(raw, bytearray)
        np.testing.assert_array_equal(sylvan.Booster().load_model(raw).predict(X), b.predict(X))
    assert json.loads(bytes(b.save_raw("json")))["format"] == "sylvan"
    with pytest.raises(ValueError, match="raw_format"):
        b.save_raw("pickle")
