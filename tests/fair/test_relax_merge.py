"""Relax and Merge (Algorithm 1) on the papers' datasets: facts recomputed with numpy.

For disjoint groups the hub-guided circulation promises an integral assignment whose cost is
at most the fractional cost and whose additive violation is at most 2; LP (2) itself must hold
exactly. The slow marker runs the whole (dataset, k, delta) grid at 1000 points; the default
run covers every dataset, every k and every delta once, on fewer points.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import fairopt
from fairopt import datasets
from fairopt.baselines import nips19

SINGLE = {
    "bank": ["marital"], "adult": ["race"], "creditcard": ["MARRIAGE"], "breastcancer": None, "biodeg": None,
    "moons": None, "hypercube": None, "balanced_complex": None, "complex": None, "balanced_cluto": None,
    "cluto": None,
}
KS = (4, 6, 10)
DELTAS = (0.0, 0.1, 0.2)


def _bounds(groups, delta):
    _, inv = np.unique(groups, return_inverse=True)
    r = np.bincount(inv) / inv.size
    return inv, r / (1 - delta), r * (1 - delta)


def check_fair_kmeans(X, groups, fk, delta):
    """Assert the facts the method promises, recomputed here without fairopt.metrics."""
    n, k = X.shape[0], fk.n_clusters
    g, alpha, beta = _bounds(groups, delta)
    labels = fk.labels_
    assert labels.shape == (n,) and labels.dtype.kind in "iu"
    assert labels.min() >= 0 and labels.max() < k
    # k-means cost of the labels to the centres
    C = fk.cluster_centers_
    cost = float(((X - C[labels]) ** 2).sum())
    assert cost == pytest.approx(fk.cost_, rel=1e-9)
    # LP (2) holds for the fractional assignment: rows sum to 1, fairness per centre and group
    phi = fk.assignment_.toarray()
    assert phi.min() >= -1e-9
    np.testing.assert_allclose(phi.sum(axis=1), 1.0, atol=1e-7)
    W = phi.sum(axis=0)
    Wi = np.stack([phi[g == i].sum(axis=0) for i in range(alpha.size)])  # (m, k)
    tol = 1e-7 * np.maximum(W, 1.0)
    assert np.all(Wi <= alpha[:, None] * W + tol)
    assert np.all(Wi >= beta[:, None] * W - tol)
    D = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    frac = float((phi * D).sum())
    assert frac == pytest.approx(fk.fractional_cost_, rel=1e-7)
    # rounding: cost never above the fractional cost, additive violation at most 2
    assert cost <= frac * (1 + 1e-9)
    counts = np.zeros((alpha.size, k))
    np.add.at(counts, (g, labels), 1.0)
    sizes = counts.sum(axis=0)
    viol = max(0.0, float(np.max(beta[:, None] * sizes - counts)), float(np.max(counts - alpha[:, None] * sizes)))
    assert viol <= 2 + 1e-9
    assert viol == pytest.approx(fk.violation_, abs=1e-9)
    return frac


def _cells():
    # Every dataset once, cycling through the k and delta values so that each occurs.
    combos = list(itertools.product(KS, DELTAS))
    return [(name, *combos[(3 * i) % len(combos)]) for i, name in enumerate(SINGLE)]


@pytest.mark.parametrize("name,k,delta", _cells())
def test_relax_merge_disjoint_slice(data_home, name, k, delta):
    X, G = datasets.load(name, data_home=data_home, max_points=300, random_state=0, attributes=SINGLE[name])
    fk = fairopt.FairKMeans(n_clusters=k, delta=delta, n_candidates=300, n_init=4, random_state=0).fit(X, G)
    check_fair_kmeans(X, G, fk, delta)
    assert fk.status_ == "optimal"


@pytest.mark.slow
@pytest.mark.parametrize("name,k,delta", list(itertools.product(SINGLE, KS, DELTAS)))
def test_relax_merge_disjoint_full_grid(data_home, name, k, delta):
    X, G = datasets.load(name, data_home=data_home, max_points=1000, random_state=0, attributes=SINGLE[name])
    fk = fairopt.FairKMeans(n_clusters=k, delta=delta, random_state=0).fit(X, G)
    check_fair_kmeans(X, G, fk, delta)


@pytest.mark.parametrize("name,attrs", [("bank", ["marital", "default"]), ("adult", ["race", "sex"])])
def test_relax_merge_overlapping_groups(data_home, name, attrs):
    X, G = datasets.load(name, data_home=data_home, max_points=300, random_state=0, attributes=attrs)
    assert G.shape == (300, 2)
    k, delta = 4, 0.1
    fk = fairopt.FairKMeans(n_clusters=k, delta=delta, n_candidates=300, n_init=4, random_state=0).fit(X, G)
    labels = fk.labels_
    assert labels.shape == (300,) and set(np.unique(labels)) <= set(range(k))
    cost = float(((X - fk.cluster_centers_[labels]) ** 2).sum())
    assert cost == pytest.approx(fk.cost_, rel=1e-9)
    # violation recomputed over both attributes (groups overlap: every point is in two groups)
    viol = 0.0
    sizes = np.bincount(labels, minlength=k)
    for t in range(2):
        g, alpha, beta = _bounds(G[:, t], delta)
        counts = np.zeros((alpha.size, k))
        np.add.at(counts, (g, labels), 1.0)
        viol = max(viol, float(np.max(beta[:, None] * sizes - counts)), float(np.max(counts - alpha[:, None] * sizes)))
    assert viol == pytest.approx(max(fk.violation_, 0.0), abs=1e-9)
    # Bera et al. 2019 iterative rounding: additive violation at most 4*Delta + 3 with Delta = 2
    # groups per point.
    assert viol <= 4 * 2 + 3
    # the fractional assignment is fair for both attributes
    phi = fk.assignment_.toarray()
    W = phi.sum(axis=0)
    for t in range(2):
        g, alpha, beta = _bounds(G[:, t], delta)
        Wi = np.stack([phi[g == i].sum(axis=0) for i in range(alpha.size)])
        assert np.all(Wi <= alpha[:, None] * W + 1e-7 * np.maximum(W, 1))
        assert np.all(Wi >= beta[:, None] * W - 1e-7 * np.maximum(W, 1))


@pytest.mark.parametrize("name,k", [("balanced_complex", 4), ("hypercube", 6), ("moons", 4), ("bank", 6)])
def test_relax_merge_not_worse_than_nips19(data_home, name, k):
    """The paper's claim (its Figures 1-2): lower fractional cost than Bera et al.'s centres."""
    attrs = SINGLE[name]
    X, G = datasets.load(name, data_home=data_home, max_points=400, random_state=0, attributes=attrs)
    fk = fairopt.FairKMeans(n_clusters=k, delta=0.0, n_init=5, random_state=0).fit(X, G)
    base = nips19(X, G, k, delta=0.0, n_init=5, random_state=0)
    # Relax and Merge optimises the fair objective; the baseline's centres ignore fairness.
    assert fk.fractional_cost_ <= base.fractional_cost * 1.02


def test_relaxed_cost_is_a_lower_bound_on_candidate_centres(tiny_instance):
    """LP (2) over all candidates lets every candidate be a centre: its optimum is at most LP (2)
    on any k of them, in particular on the merged centres when they are among the candidates."""
    X, G = tiny_instance
    fk = fairopt.FairKMeans(n_clusters=3, delta=0.0, candidates="points", random_state=0).fit(X, G)
    sub = fairopt.fair_assignment(X, X[[0, 4, 8]], G, delta=0.0)
    assert fk.relaxed_cost_ <= sub.objective + 1e-9


def test_same_random_state_same_result(data_home):
    X, G = datasets.load("moons", data_home=data_home)
    a = fairopt.FairKMeans(n_clusters=4, delta=0.1, random_state=3).fit(X, G)
    b = fairopt.FairKMeans(n_clusters=4, delta=0.1, random_state=3).fit(X, G)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_)
    assert a.cost_ == b.cost_


def test_move_candidates_centroids():
    from scipy import sparse

    from fairopt.fair.relax_merge import move_candidates

    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    S = np.zeros((3, 2))
    phi = sparse.csr_matrix(np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0, 1.0, 0]]))
    moved, W = move_candidates(X, S, phi)
    np.testing.assert_allclose(W, [1.5, 1.5])  # the empty candidate is dropped
    np.testing.assert_allclose(moved[0], [(0 + 0.5 * 2) / 1.5, 0.0])
    np.testing.assert_allclose(moved[1], [(0.5 * 2) / 1.5, 4.0 / 1.5])


def test_refinement_is_monotone_and_helps_when_few_candidates_load(data_home):
    """hypercube at delta = 0: the relaxed LP loads fewer candidates than k, so the paper's merge
    leaves idle centres; the optional fair Lloyd refinement never increases the LP (2) cost and
    here lowers it."""
    X, G = datasets.load("hypercube", data_home=data_home, max_points=400, random_state=0)
    plain = fairopt.FairKMeans(n_clusters=8, delta=0.0, n_init=3, random_state=0).fit(X, G)
    refined = fairopt.FairKMeans(n_clusters=8, delta=0.0, n_init=3, n_refine=8, random_state=0).fit(X, G)
    hist = refined.result_.extra["refine_history"]
    assert hist[0] == pytest.approx(plain.fractional_cost_, rel=1e-9)
    assert all(b <= a * (1 + 1e-9) for a, b in zip(hist, hist[1:]))
    assert refined.fractional_cost_ <= hist[-1] * (1 + 1e-9)
    assert refined.fractional_cost_ < plain.fractional_cost_ * (1 - 1e-4)
    check_fair_kmeans(X, G, refined, 0.0)
