"""scipy.sparse input (issue #23): absent entries are missing values, as in XGBoost; CSR, CSC,
COO and the dense array with NaN where nothing is stored give the same model and predictions."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression

import sylvan
from sylvan import Dataset, SylvanClassifier, SylvanRegressor


def sparse_problem(seed, n=600, nf=12, density=0.3):
    rng = np.random.default_rng(seed)
    X, y = make_regression(n, nf, n_informative=6, noise=0.5, random_state=seed)
    keep = rng.random(X.shape) < density
    X = np.where(keep, np.round(X, 1), 0.0)  # rounded: ties; zeros where nothing is stored
    m = sp.csr_matrix(X)
    m.eliminate_zeros()
    dense = np.where(keep & (X != 0), X, np.nan).astype(np.float32)
    # A few stored zeros (they are values, not missing).
    return m, dense, y.astype(np.float32)


@pytest.mark.parametrize("method", ["hist", "approx", "exact"])
@pytest.mark.parametrize("seed", [0, 1])
def test_csr_csc_coo_and_dense_with_nan_give_the_same_model(method, seed):
    m, dense, y = sparse_problem(seed)
    params = {"tree_method": method, "max_depth": 4, "eta": 0.3}
    models = [
        sylvan.train(params, Dataset(x, label=y), 8, verbose_eval=False)
        for x in (dense, m, m.tocsc(), m.tocoo(), sp.csr_array(m))
    ]
    ref = models[0].to_json()
    for b in models[1:]:
        assert b.to_json() == ref
    for x in (m, m.tocsc(), dense):
        np.testing.assert_array_equal(models[0].predict(Dataset(x)), models[0].predict(Dataset(dense)))


def test_stored_zeros_are_values_and_unsorted_duplicated_entries_are_summed():
    rows = np.array([0, 0, 1, 2, 2, 3])
    cols = np.array([0, 0, 1, 0, 1, 1])
    vals = np.array([1.0, 2.0, 0.0, 5.0, 4.0, 1.0], dtype=np.float32)
    coo = sp.coo_matrix((vals, (rows, cols)), shape=(4, 2))
    d = Dataset(coo, label=np.arange(4, dtype=np.float32))
    dense = np.array([[3.0, np.nan], [np.nan, 0.0], [5.0, 4.0], [np.nan, 1.0]], dtype=np.float32)
    a = sylvan.train({"max_depth": 2, "min_child_weight": 0}, d, 3, verbose_eval=False)
    b = sylvan.train({"max_depth": 2, "min_child_weight": 0}, Dataset(dense, label=np.arange(4, dtype=np.float32)), 3,
                     verbose_eval=False)
    assert a.to_json() == b.to_json()


def test_estimators_fit_and_predict_sparse_input():
    X, y = make_classification(500, 20, n_informative=5, random_state=2)
    X[np.abs(X) < 0.8] = 0.0
    m = sp.csr_matrix(X)
    dense = np.where(X != 0, X, np.nan)
    clf = SylvanClassifier(n_estimators=10, max_depth=3).fit(m, y, eval_set=[(m, y)])
    ref = SylvanClassifier(n_estimators=10, max_depth=3).fit(dense, y)
    np.testing.assert_array_equal(clf.predict_proba(m.tocsc()), ref.predict_proba(dense))
    reg = SylvanRegressor(n_estimators=5).fit(m, y.astype(float))
    assert reg.predict(m).shape == (500,)
    part = Dataset(m, label=y.astype(np.float32)).slice([3, 1, 4])
    np.testing.assert_array_equal(clf.get_booster().predict(part), clf.get_booster().predict(Dataset(m))[[3, 1, 4]])
