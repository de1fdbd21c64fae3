"""sylvan.cv against a hand-written fold loop and XGBoost's cv; Dataset.slice (issue #23)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.model_selection import KFold, StratifiedKFold

import sylvan
from sylvan import Dataset
from sylvan.callback import EarlyStopping, LearningRateScheduler, TrainingCallback

PARAMS = {"objective": "binary:logistic", "eta": 0.3, "max_depth": 3, "eval_metric": ["logloss", "auc"]}


def by_hand(params, d, rounds, folds, **kw):
    """The metrics of every fold, trained one after another with sylvan.train."""
    per_fold = []
    for tr, te in folds:
        res = {}
        sylvan.train(params, d.slice(tr), rounds, evals=[(d.slice(tr), "train"), (d.slice(te), "test")],
                     evals_result=res, verbose_eval=False, **kw)
        per_fold.append(res)
    return per_fold


@pytest.mark.parametrize("seed", [0, 3])
def test_cv_is_the_mean_and_std_of_a_hand_written_fold_loop(seed):
    X, y = make_classification(900, 8, n_informative=4, random_state=seed)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    folds = list(KFold(4, shuffle=True, random_state=seed).split(X))
    got = sylvan.cv(PARAMS, d, 12, folds=folds)
    hand = by_hand(PARAMS, d, 12, folds)
    assert list(got.columns) == [f"{s}-{m}-{a}" for s in ("train", "test") for m in ("logloss", "auc")
                                 for a in ("mean", "std")]
    for s in ("train", "test"):
        for m in ("logloss", "auc"):
            values = np.asarray([h[s][m] for h in hand])
            np.testing.assert_allclose(got[f"{s}-{m}-mean"], values.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(got[f"{s}-{m}-std"], values.std(axis=0), rtol=1e-9, atol=1e-15)
    # A splitter object and the folds it makes give the same result; so does any thread count.
    same = sylvan.cv({**PARAMS, "nthread": 1}, d, 12, folds=KFold(4, shuffle=True, random_state=seed))
    pd.testing.assert_frame_equal(got, same)


def test_cv_folds_are_xgboosts_and_stratification_is_scikit_learns():
    xgb = pytest.importorskip("xgboost")
    X, y = load_breast_cancer(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    # Unstratified folds: XGBoost's shuffle (NumPy's global generator seeded with `seed`).
    seen = []

    class Rows(TrainingCallback):
        pass

    from sylvan.cross_validation import _fold_rows

    ours = _fold_rows(d, 5, False, None, 7, True)
    np.random.seed(7)
    idx = np.random.permutation(len(y))
    parts = np.array_split(idx, 5)
    for k, (tr, te) in enumerate(ours):
        np.testing.assert_array_equal(te, parts[k])
        assert len(tr) + len(te) == len(y)
    strat = _fold_rows(d, 3, True, None, 2, True)
    for (a, b), (c, e) in zip(strat, StratifiedKFold(3, shuffle=True, random_state=2).split(X, y)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, e)
    # The table has XGBoost's columns for the same call.
    theirs = xgb.cv({"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "nthread": 1},
                    xgb.DMatrix(X, label=y), 3, nfold=3, seed=1)
    mine = sylvan.cv({"objective": "binary:logistic", "eval_metric": ["logloss", "auc"]}, d, 3, nfold=3, seed=1)
    assert list(mine.columns) == list(theirs.columns)
    assert mine.shape == theirs.shape
    assert (mine["test-auc-mean"] > 0.95).all()


def test_cv_early_stopping_ends_the_table_at_the_best_round(capsys):
    X, y = make_classification(1200, 10, flip_y=0.3, random_state=4)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))
    res = sylvan.cv({"objective": "binary:logistic", "eta": 0.5, "max_depth": 6}, d, 300, nfold=3,
                    early_stopping_rounds=5, verbose_eval=True, seed=4)
    printed = capsys.readouterr().out.splitlines()
    means = res["test-logloss-mean"].to_numpy()
    assert len(res) < 300 and int(np.argmin(means)) == len(res) - 1
    assert len(printed) == len(res) + 5  # every round trained, the 5 after the best included
    assert printed[0].startswith("[0]\ttrain-logloss:") and "+" in printed[0]
    with pytest.raises(ValueError, match="save_best"):
        sylvan.cv(PARAMS, d, 5, callbacks=[EarlyStopping(2, save_best=True)])


def test_cv_takes_custom_objectives_metrics_and_schedules():
    X, y = load_diabetes(return_X_y=True)
    d = Dataset(X.astype(np.float32), label=y.astype(np.float32))

    def squared(preds, dtrain):
        return preds - dtrain.get_label(), np.ones_like(preds)

    def mae(preds, data):
        return "mae", float(np.mean(np.abs(preds - data.get_label())))

    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    params = {"eta": 0.5, "max_depth": 3}
    got = sylvan.cv(params, d, 6, folds=folds, obj=squared, custom_metric=mae,
                    callbacks=[LearningRateScheduler([0.5, 0.4, 0.3, 0.2, 0.1, 0.1])], as_pandas=False)
    hand = by_hand(params, d, 6, folds, obj=squared, custom_metric=mae,
                   callbacks=[LearningRateScheduler([0.5, 0.4, 0.3, 0.2, 0.1, 0.1])])
    assert list(got) == ["train-rmse-mean", "train-rmse-std", "train-mae-mean", "train-mae-std",
                         "test-rmse-mean", "test-rmse-std", "test-mae-mean", "test-mae-std"]
    np.testing.assert_allclose(got["test-mae-mean"], np.mean([h["test"]["mae"] for h in hand], axis=0), rtol=1e-12)

    def boom(preds, data):
        raise KeyError("in a fold")

    with pytest.raises(KeyError, match="in a fold"):
        sylvan.cv(params, d, 3, custom_metric=boom)


def test_slicing_a_dataset_keeps_every_part_and_the_category_codes():
    df = pd.DataFrame({"x": np.arange(8, dtype=np.float32), "c": pd.Categorical(list("abcabcab"))})
    d = Dataset(df, label=np.arange(8, dtype=np.float32), weight=np.linspace(1, 2, 8), qid=[0, 0, 1, 1, 2, 2, 3, 3])
    part = d.slice([7, 1, 3])
    assert part.num_rows == 3 and part.categories == d.categories
    np.testing.assert_array_equal(part.get_label(), [7, 1, 3])
    np.testing.assert_allclose(part.get_weight(), np.linspace(1, 2, 8)[[7, 1, 3]])
    assert part.num_queries == 3  # queries 3, 0 and 1
    b = sylvan.train({"max_depth": 2}, d, 3, verbose_eval=False)
    np.testing.assert_array_equal(b.predict(part), b.predict(d)[[7, 1, 3]])
    with pytest.raises(IndexError):
        d.slice([8])
    grouped = Dataset(np.arange(6, dtype=np.float32).reshape(6, 1), label=np.zeros(6), group=[2, 4])
    assert grouped.slice([0, 5, 2]).num_queries == 2
