"""The estimators as scikit-learn estimators: its own checks, clone, Pipeline, GridSearchCV, predict/transform."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import fairopt
from fairopt.base import checks_not_applicable
from fairopt.metrics import additive_violation
from fairopt.problem import make_fair_problem


@pytest.fixture(scope="module")
def blobs():
    X, g = fairopt.datasets.make_fair_blobs(n=80, k=3, random_state=0)
    return X * [1.0, 30.0] + [0.0, 500.0], np.where(g == 0, "red", "blue")  # unscaled, string groups


def _quiet_check(est, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_estimator(est, **kw)


@pytest.mark.parametrize("method", ["exact", "sinkhorn"])
def test_balanced_kmeans_passes_every_sklearn_check(method):
    # check_estimator raises on the first failed check; none is expected to fail.
    results = _quiet_check(fairopt.BalancedKMeans(method=method, random_state=0), on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
    assert len(results) > 40


@pytest.mark.parametrize("est", [fairopt.FairKMeans(3, n_init=2, random_state=0),
                                 fairopt.StrictlyFairKMeans(3, random_state=0)], ids=lambda e: type(e).__name__)
def test_fair_estimators_pass_the_checks_that_apply(est):
    skip = checks_not_applicable(est)
    results = _quiet_check(est, on_fail=None, expected_failed_checks=skip)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == set()
    # The listed ones do fail for the stated reason (the list is not stale).
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(skip)


def test_unfitted_and_bad_input_errors(blobs):
    X, g = blobs
    for est in (fairopt.FairKMeans(3), fairopt.BalancedKMeans(3), fairopt.StrictlyFairKMeans(3)):
        with pytest.raises(NotFittedError):
            est.predict(X)
        with pytest.raises(NotFittedError):
            est.transform(X)
    bk = fairopt.BalancedKMeans(3, random_state=0)
    with pytest.raises(ValueError, match="Complex data not supported"):
        bk.fit(X + 1j)
    import scipy.sparse as sp
    with pytest.raises(TypeError, match="dense data is required"):
        bk.fit(sp.csr_matrix(X))
    obj = X.astype(object)
    obj[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="argument must be"):
        bk.fit(obj)
    fitted = bk.fit(X)
    with pytest.raises(ValueError, match="X has 1 features, but BalancedKMeans is expecting 2 features"):
        fitted.predict(X[:, :1])
    with pytest.raises(fairopt.ValidationError, match="requires y to be passed.*fit\\(X, groups\\)"):
        fairopt.FairKMeans(3).fit(X)
    with pytest.raises(fairopt.ValidationError, match="got both"):
        fairopt.FairKMeans(3).fit(X, g, sensitive_features=g)


def test_params_clone_repr_pickle():
    fk = fairopt.FairKMeans(4, delta=0.2, solver="highs", random_state=3)
    assert repr(fk) == "FairKMeans(delta=0.2, n_clusters=4, random_state=3)"
    params = fk.get_params()
    assert params["n_clusters"] == 4 and params["delta"] == 0.2 and params["n_init"] == 10
    twin = clone(fk)
    assert twin is not fk and twin.get_params() == params
    assert fk.set_params(n_init=2) is fk and fk.n_init == 2
    with pytest.raises(TypeError):
        fairopt.FairKMeans(4, 0.2)  # parameters after n_clusters are keyword-only
    assert repr(fairopt.BalancedKMeans(5, method="sinkhorn")) == "BalancedKMeans(method='sinkhorn', n_clusters=5)"
    assert repr(fairopt.SparseBarycenter(7)) == "SparseBarycenter(n_support=7)"
    assert clone(fairopt.SparseBarycenter(7, n_init=3)).get_params()["n_init"] == 3
    assert pickle.loads(pickle.dumps(fairopt.StrictlyFairKMeans(2, anchor="best"))).anchor == "best"


def test_predict_transform_score_against_numpy(blobs):
    X, g = blobs
    fk = fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0).fit(X, g)
    D = ((X[:, None, :] - fk.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_allclose(fk.transform(X), np.sqrt(D))
    np.testing.assert_array_equal(fk.predict(X), D.argmin(1))  # nearest centre (not fair)
    assert fk.score(X) == pytest.approx(-D.min(1).sum())
    # Fair placement of the training points at the fitted centres: the same LP (2) and rounding as fit.
    fair = fk.predict(X, g)
    P = make_fair_problem(X, g, delta=0.2)
    assert additive_violation(fair, P.groups.membership, P.alpha, P.beta, k=3) <= 2 + 1e-9
    assert -fk.score(X, g) == pytest.approx(D[np.arange(len(X)), fair].sum())
    assert -fk.score(X, g) == pytest.approx(fk.cost_, rel=1e-6)
    np.testing.assert_array_equal(fk.predict(X, sensitive_features=g), fair)
    # New points with their groups: each group's count per cluster stays within the bounds up to 2.
    Xn, gn = fairopt.datasets.make_fair_blobs(n=40, k=3, random_state=1)
    Xn, gn = Xn * [1.0, 30.0] + [0.0, 500.0], np.where(gn == 0, "red", "blue")
    lab = fk.predict(Xn, gn)
    Pn = make_fair_problem(Xn, gn, delta=0.2)
    counts = np.zeros((3, 2))
    np.add.at(counts, (lab, Pn.groups.group_of_point()), 1)
    W = counts.sum(1, keepdims=True)
    excess = np.maximum(counts - Pn.alpha * W, 0) + np.maximum(Pn.beta * W - counts, 0)
    assert excess.max() <= 2 + 1e-9
    assert fk.fit_transform(X, g).shape == (80, 3)


def test_strictly_fair_predict_keeps_every_cluster_balanced():
    rng = np.random.default_rng(0)
    X, g = rng.normal(size=(60, 2)), np.repeat(["a", "b", "c"], 20)
    sf = fairopt.StrictlyFairKMeans(4, random_state=0).fit(X, g)
    Xn, gn = rng.normal(size=(30, 2)), np.tile(["a", "b", "c"], 10)
    lab = sf.predict(Xn, gn)
    counts = np.zeros((4, 3), dtype=int)
    np.add.at(counts, (lab, np.searchsorted(["a", "b", "c"], gn)), 1)
    assert (counts == counts[:, :1]).all()  # every cluster holds as many a's as b's as c's
    with pytest.raises(fairopt.ValidationError, match="equal size"):
        sf.predict(Xn[:-1], gn[:-1])


def test_pipeline_passes_groups_three_ways(blobs):
    X, g = blobs
    Z = (X - X.mean(0)) / X.std(0)  # StandardScaler by hand
    ref = fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0).fit(Z, g)

    pipe = make_pipeline(StandardScaler(), fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0))
    np.testing.assert_array_equal(pipe.fit(X, g).predict(X, groups=g), ref.predict(Z, g))     # y position
    np.testing.assert_array_equal(pipe[-1].labels_, ref.labels_)
    pipe = clone(pipe).fit(X, fairkmeans__sensitive_features=g)                               # step__param
    np.testing.assert_allclose(pipe[-1].cluster_centers_, ref.cluster_centers_)
    with sklearn.config_context(enable_metadata_routing=True):                                # routing
        est = fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0)
        est.set_fit_request(sensitive_features=True).set_predict_request(sensitive_features=True)
        routed = make_pipeline(StandardScaler(), est).fit(X, sensitive_features=g)
        np.testing.assert_array_equal(routed.predict(X, sensitive_features=g), ref.predict(Z, g))
    np.testing.assert_allclose(pipe.transform(X), ref.transform(Z))


def test_grid_search_with_cost_scorer(blobs):
    X, g = blobs
    grid = {"delta": [0.05, 0.4]}
    base = fairopt.FairKMeans(3, n_init=2, random_state=0)
    cv = KFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(base, grid, scoring=fairopt.cost_scorer, cv=cv).fit(X, g)
    # Recompute one cell by hand: fit on the training fold, fair cost of the held-out fold.
    train, test = next(cv.split(X))
    est = clone(base).set_params(delta=0.4).fit(X[train], g[train])
    lab = est.predict(X[test], g[test])
    cost = ((X[test] - est.cluster_centers_[lab]) ** 2).sum()
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(-cost)
    best = int(np.argmax(search.cv_results_["mean_test_score"]))
    assert search.best_params_ == {"delta": grid["delta"][best]}
    # The default scorer is the estimator's own score: the same numbers.
    plain = GridSearchCV(base, grid, cv=cv).fit(X, g)
    np.testing.assert_allclose(plain.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"])
    # BalancedKMeans: cost of predict, groups ignored.
    bs = GridSearchCV(fairopt.BalancedKMeans(3, random_state=0), {"n_init": [1, 2]}, scoring=fairopt.cost_scorer,
                      cv=cv).fit(X)
    assert np.all(bs.cv_results_["mean_test_score"] < 0)


def test_cost_scorer_on_a_pipeline_scores_in_the_last_steps_space(blobs):
    X, g = blobs
    pipe = make_pipeline(StandardScaler(), fairopt.FairKMeans(3, delta=0.2, n_init=2, random_state=0)).fit(X, g)
    Z = (X - X.mean(0)) / X.std(0)
    lab = pipe.predict(X, groups=g)
    expected = -((Z - pipe[-1].cluster_centers_[lab]) ** 2).sum()
    assert fairopt.cost_scorer(pipe, X, g) == pytest.approx(expected)
    bk = fairopt.BalancedKMeans(3, random_state=0).fit(X)
    assert fairopt.cost_scorer(bk, X) == pytest.approx(-((X - bk.cluster_centers_[bk.predict(X)]) ** 2).sum())
