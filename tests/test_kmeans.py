"""Weighted k-means: seeding, Lloyd monotonicity, and cost against scikit-learn."""
import dataclasses

import numpy as np
import pytest

from fairopt.exceptions import ValidationError
from fairopt.kmeans import (
    KMeansResult,
    kmeans_cost,
    kmeans_plusplus,
    lloyd,
    weighted_kmeans,
)


def _blobs(seed, n=600, k=6, d=3):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    X = centres[rng.integers(k, size=n)] + 1.5 * rng.normal(size=(n, d))
    w = rng.exponential(size=n)
    return X, w


def test_cost_matches_sklearn_on_weighted_data():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    ratios = []
    for seed in range(5):
        X, w = _blobs(seed)
        ours = weighted_kmeans(X, w, 6, n_init=5, random_state=seed)
        ref = sklearn_cluster.KMeans(6, n_init=5, random_state=seed).fit(X, sample_weight=w)
        ratios.append(ours.cost / ref.inertia_)
    ratios = np.array(ratios)
    assert (ratios < 1.03).all(), ratios
    assert ratios.mean() < 1.005, ratios  # not systematically worse


def test_lloyd_cost_never_increases():
    X, w = _blobs(7, n=400, k=8)
    start = kmeans_plusplus(X, w, 8, np.random.default_rng(0))
    costs = [lloyd(X, w, start, max_iter=t, tol=0.0)[2] for t in range(1, 15)]
    assert np.all(np.diff(costs) <= 1e-9 * costs[0]), costs


def test_kmeans_plusplus_is_deterministic_and_picks_weighted_points():
    X, w = _blobs(3, n=200)
    w[::2] = 0.0
    a = kmeans_plusplus(X, w, 5, np.random.default_rng(42))
    b = kmeans_plusplus(X, w, 5, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    # every centre is a data point of positive weight
    D = ((a[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert (D.min(axis=1) == 0).all()
    assert (w[D.argmin(axis=1)] > 0).all()


def test_weights_equal_repeated_points():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    reps = rng.integers(1, 4, size=60)
    start = X[:4]
    c1, _, cost1, _ = lloyd(X, reps.astype(float), start, tol=0.0)
    c2, _, cost2, _ = lloyd(np.repeat(X, reps, axis=0), np.ones(reps.sum()), start, tol=0.0)
    np.testing.assert_allclose(c1, c2, atol=1e-10)
    assert cost1 == pytest.approx(cost2, rel=1e-10)


def test_empty_cluster_is_reseeded():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 20])
    w = np.ones(40)
    start = np.array([[0.0, 0.0], [100.0, 100.0], [200.0, 200.0]])  # two centres get no point
    centres, labels, cost, _ = lloyd(X, w, start)
    assert np.bincount(labels, minlength=3).min() > 0
    assert cost < kmeans_cost(X, start[:1])


def test_result_is_consistent():
    X, w = _blobs(1, n=300, k=4)
    res = weighted_kmeans(X, w, 4, n_init=3, random_state=0)
    assert isinstance(res, KMeansResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.cost = 0.0
    assert res.centres.shape == (4, 3) and res.labels.shape == (300,)
    D = ((X[:, None, :] - res.centres[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(res.labels, D.argmin(axis=1))
    assert res.cost == pytest.approx(kmeans_cost(X, res.centres, res.labels, w), rel=1e-12)
    assert res.cost == pytest.approx(kmeans_cost(X, res.centres, weights=w), rel=1e-12)
    assert res.n_iter >= 1


def test_seed_and_generator():
    X, w = _blobs(2, n=200)
    a = weighted_kmeans(X, w, 5, n_init=2, random_state=3)
    b = weighted_kmeans(X, w, 5, n_init=2, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a.centres, b.centres)


def test_zero_weight_points_are_labelled_but_ignored():
    X, w = _blobs(4, n=200)
    w[100:] = 0.0
    res = weighted_kmeans(X, w, 3, n_init=2, random_state=0)
    ref = weighted_kmeans(X[:100], w[:100], 3, n_init=2, random_state=0)
    np.testing.assert_allclose(res.centres, ref.centres)
    assert res.labels.shape == (200,)


def test_k_equals_n_costs_zero():
    X = np.random.default_rng(0).normal(size=(6, 2))
    assert weighted_kmeans(X, None, 6, n_init=1, random_state=0).cost == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"k": 11}, "larger than the number of points"), ({"k": 2, "weights": -np.ones(10)}, "non-negative"),
     ({"k": 2, "n_init": 0}, "n_init"), ({"k": 2, "tol": -1.0}, "tol")],
)
def test_validation(kwargs, match):
    X = np.zeros((10, 2))
    with pytest.raises(ValidationError, match=match):
        weighted_kmeans(X, **kwargs)
