"""Size ranges (fairopt/balanced/bounded.py and BalancedKMeans(size_min=, size_max=)).

Independent facts: scipy's linprog (HiGHS) on the transport LP with bounded column sums, brute
force over every labelling of tiny instances, and k-means-constrained's own assignment step.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from fairopt.balanced.ballot import BalancedKMeans, centroids
from fairopt.balanced.bounded import bounded_assignment
from fairopt.distances import sq_distances
from fairopt.exceptions import ValidationError

pytest.importorskip("ortools")


def linprog_cost(D, lo, hi):
    """min <D, F> s.t. rows sum to 1, lo <= column sums <= hi, 0 <= F <= 1 (HiGHS)."""
    n, k = D.shape
    rows = sp.kron(sp.eye(n), np.ones((1, k)))
    cols = sp.kron(np.ones((1, n)), sp.eye(k))
    res = linprog(D.ravel(), A_ub=sp.vstack([cols, -cols]), b_ub=np.r_[hi, -lo], A_eq=rows, b_eq=np.ones(n),
                  bounds=(0, 1), method="highs")
    assert res.status == 0
    return res.fun


def brute_force_cost(D, lo, hi):
    n, k = D.shape
    best = np.inf
    for labels in itertools.product(range(k), repeat=n):
        counts = np.bincount(labels, minlength=k)
        if np.all(counts >= lo) and np.all(counts <= hi):
            best = min(best, D[np.arange(n), labels].sum())
    return best


def check(labels, D, lo, hi):
    counts = np.bincount(labels, minlength=D.shape[1])
    assert np.all(counts >= lo) and np.all(counts <= hi)


@pytest.mark.parametrize("seed", range(8))
def test_matches_linprog(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(10, 60)), int(rng.integers(2, 6))
    D = sq_distances(rng.normal(size=(n, 2)), rng.normal(size=(k, 2)))
    lo = rng.integers(0, n // k + 1, size=k)
    hi = np.maximum(lo, rng.integers(n // k, n, size=k))
    labels, cost = bounded_assignment(D, lo, hi)
    check(labels, D, lo, hi)
    assert cost == pytest.approx(D[np.arange(n), labels].sum(), rel=1e-12)
    assert cost == pytest.approx(linprog_cost(D, lo, hi), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("lo,hi", [([0, 0, 0], [2, 2, 7]), ([1, 2, 0], [3, 3, 3]), ([2, 2, 2], [2, 2, 3]), ([0, 3, 0], [7, 7, 1])])
def test_matches_brute_force(lo, hi):
    rng = np.random.default_rng(sum(lo) + sum(hi))
    D = rng.random((7, 3))
    labels, cost = bounded_assignment(D, np.array(lo), np.array(hi))
    check(labels, D, lo, hi)
    assert cost == pytest.approx(brute_force_cost(D, np.array(lo), np.array(hi)), rel=1e-12)


def test_estimator_with_ranges_is_a_fixed_point_of_the_bounded_assignment():
    X = np.random.default_rng(3).normal(size=(90, 2))
    est = BalancedKMeans(4, size_min=15, size_max=30, random_state=0).fit(X)
    lo, hi = np.full(4, 15), np.full(4, 30)
    check(est.labels_, sq_distances(X, est.cluster_centers_), lo, hi)
    assert est.converged_ and np.array_equal(est.sizes_, np.bincount(est.labels_, minlength=4))
    np.testing.assert_allclose(est.cluster_centers_, centroids(X, est.labels_, 4))
    D = sq_distances(X, est.cluster_centers_)
    assert D[np.arange(90), est.labels_].sum() == pytest.approx(linprog_cost(D, lo, hi), rel=1e-9)
    assert np.all(np.diff(est.history_) <= 1e-9 * est.history_[0])  # never increases


def test_no_worse_than_k_means_constrained_step():
    kmc = pytest.importorskip("k_means_constrained")
    from k_means_constrained.k_means_constrained_ import _labels_constrained

    X = np.random.default_rng(4).normal(size=(120, 2))
    start = X[:5].copy()
    theirs = _labels_constrained(X, start, 10, 40, np.zeros(120))[0]
    check(theirs, sq_distances(X, start), 10, 40)
    D = sq_distances(X, start)
    assert bounded_assignment(D, np.full(5, 10), np.full(5, 40))[1] <= D[np.arange(120), theirs].sum() + 1e-9
    fit = kmc.KMeansConstrained(5, size_min=10, size_max=40, init=start, n_init=1).fit(X)
    their_cost = ((X - centroids(X, fit.labels_, 5)[fit.labels_]) ** 2).sum()
    ours = BalancedKMeans(5, size_min=10, size_max=40, init=centroids(X, fit.labels_, 5)).fit(X)
    assert ours.inertia_ <= their_cost + 1e-9  # from their centres we only go down


def test_empty_cluster_keeps_its_centre():
    X = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + 0.01 * np.random.default_rng(5).normal(size=(20, 2))
    far = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0]])
    est = BalancedKMeans(3, size_min=0, size_max=20, init=far).fit(X)
    assert np.bincount(est.labels_, minlength=3)[2] == 0
    np.testing.assert_allclose(est.cluster_centers_[2], far[2])


@pytest.mark.parametrize("kwargs,msg", [
    ({"size_min": 20, "size_max": 10}, "must not exceed"),
    ({"size_min": 20}, "no partition"),
    ({"size_max": 5}, "no partition"),
    ({"size_min": [1, 2]}, "one per cluster"),
    ({"size_min": -1}, "non-negative"),
    ({"size_min": 1, "sizes": [10, 10, 10]}, "not both"),
    ({"size_min": 1, "method": "sinkhorn"}, "method='exact'"),
])
def test_range_validation(kwargs, msg):
    with pytest.raises(ValidationError, match=msg):
        BalancedKMeans(3, **kwargs).fit(np.random.default_rng(0).normal(size=(30, 2)))


def test_cli_size_ranges(tmp_path, capsys):
    from fairopt.cli.main import main

    X = np.random.default_rng(6).normal(size=(40, 2))
    path = tmp_path / "pts.csv"
    np.savetxt(path, X, delimiter=",", header="x,y", comments="")
    out = tmp_path / "run.json"
    assert main(["balanced", "--csv", str(path), "--features", "x,y", "--k", "3", "--size-min", "8",
                 "--size-max", "16", "--json", str(out)]) == 0
    assert "within [8, 16]" in capsys.readouterr().out
    import json

    counts = np.bincount(np.asarray(json.loads(out.read_text())["extra"]["labels"]), minlength=3)
    assert counts.sum() == 40 and counts.min() >= 8 and counts.max() <= 16
    assert main(["balanced", "--csv", str(path), "--features", "x,y", "--k", "3", "--size-max", "10"]) == 2
    assert "no partition" in capsys.readouterr().err
