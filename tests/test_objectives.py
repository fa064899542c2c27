"""fairopt.objectives, fairopt.kmedian and fairopt.farthest_point against numpy, scipy and brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from fairopt.exceptions import ValidationError
from fairopt.farthest_point import gonzalez
from fairopt.kmedian import geometric_medians, swap_local_search, weighted_kmedian
from fairopt.objectives import arc_cost, fractional_cost, objective_cost, validate_objective


def _points(seed, n=40, d=3):
    return np.random.default_rng(seed).normal(size=(n, d)) * np.array([3.0, 1.0, 0.5])[:d]


def test_arc_costs_match_numpy():
    X, C = _points(0), _points(1, n=5)
    diff = X[:, None, :] - C[None, :, :]
    sq = (diff ** 2).sum(axis=2)
    assert np.allclose(arc_cost("kmeans").matrix(X, C), sq)
    assert np.allclose(arc_cost("kmedian").matrix(X, C), np.sqrt(sq))
    assert np.array_equal(arc_cost("kcenter").matrix(X, X)[np.arange(40), np.arange(40)], np.zeros(40))
    assert np.allclose(arc_cost("kmedian").pairs(X[:5], C), np.sqrt(sq[np.arange(5), np.arange(5)]))


def test_objective_costs_match_numpy():
    X, C = _points(2), _points(3, n=4)
    labels = np.random.default_rng(0).integers(0, 4, size=40)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=40)
    dist = np.linalg.norm(X - C[labels], axis=1)
    assert objective_cost(X, C, labels, "kmeans", w) == pytest.approx(float(w @ dist ** 2))
    assert objective_cost(X, C, labels, "kmedian", w) == pytest.approx(float(w @ dist))
    assert objective_cost(X, C, labels, "kcenter") == pytest.approx(float(dist.max()))
    phi = sp.csr_matrix((w, (np.arange(40), labels)), shape=(40, 4))
    assert fractional_cost(X, C, phi, "kmedian") == pytest.approx(float(w @ dist))


def test_unknown_objective_is_refused_with_the_choices():
    with pytest.raises(ValidationError, match="objective must be one of .*'kmedian'.*got 'kmedoids'"):
        validate_objective("kmedoids")


def test_geometric_medians_match_a_direct_minimisation():
    rng = np.random.default_rng(4)
    X = _points(4, n=60)
    phi = sp.csr_matrix(np.where(rng.random((60, 3)) < 0.4, rng.random((60, 3)), 0.0))
    Y, costs = geometric_medians(X, phi)
    for s in range(3):
        col = phi[:, s].toarray().ravel()

        def f(y, col=col):
            return float(col @ np.linalg.norm(X - y, axis=1))

        ref = minimize(f, X.mean(axis=0), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        assert costs[s] == pytest.approx(f(Y[s]), rel=1e-12)
        assert costs[s] <= ref.fun * (1 + 1e-7)


def test_swap_local_search_reaches_the_brute_force_optimum_on_a_tiny_instance():
    X = _points(5, n=14, d=2)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=14)
    best = min(itertools.combinations(range(14), 3), key=lambda c: w @ D[:, list(c)].min(axis=1))
    opt = float(w @ D[:, list(best)].min(axis=1))
    _, cost, _ = swap_local_search(D, w, np.array([0, 1, 2]))
    # Single swaps are a 5-approximation in general; on 14 points they find the optimum.
    assert opt <= cost <= 5 * opt
    assert cost == pytest.approx(opt)


def test_weighted_kmedian_cost_is_its_labels_cost_and_beats_its_medoids():
    X = _points(6, n=200)
    res = weighted_kmedian(X, None, 5, random_state=0)
    dist = np.linalg.norm(X[:, None] - res.centres[None], axis=2)
    assert np.array_equal(res.labels, dist.argmin(axis=1))
    assert res.cost == pytest.approx(dist.min(axis=1).sum(), rel=1e-9)
    discrete = weighted_kmedian(X, None, 5, polish=False, random_state=0)
    assert res.cost <= discrete.cost * (1 + 1e-12)


def test_weighted_kmedian_validates_its_parameters():
    with pytest.raises(ValidationError, match="n_init must be a positive integer; got 0"):
        weighted_kmedian(_points(0), k=2, n_init=0)
    with pytest.raises(ValidationError, match="k=50 is larger than the number of points n=40"):
        weighted_kmedian(_points(0), k=50)


def test_gonzalez_is_within_twice_the_discrete_optimum():
    X = _points(7, n=16, d=2)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    opt = min(D[:, list(c)].min(axis=1).max() for c in itertools.combinations(range(16), 3))
    for seed in range(4):
        res = gonzalez(X, 3, np.random.default_rng(seed))
        assert res.radius == pytest.approx(np.linalg.norm(X - res.centres[res.labels], axis=1).max())
        assert res.radius <= 2 * opt + 1e-12
