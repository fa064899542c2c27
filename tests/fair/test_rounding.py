"""Rounding (fairopt/rounding.py): integral labels, cost <= fractional cost, bounded violation.

Everything is recomputed here with numpy from the returned labels: the k-means cost, the counts
W(c) and W_i(c), and the additive violation max(beta_i W(c) - W_i(c), W_i(c) - alpha_i W(c), 0).
Bounds checked: circulation (disjoint groups) keeps W, W_i within floor/ceil of phi's, so the
violation is < 1 + max beta <= 2; iterative rounding (Bera et al. 2019) keeps them within
2 Delta of floor/ceil, so the violation is < (1 + max alpha)(2 Delta + 1) <= 4 Delta + 2.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import fairopt
from fairopt.fair.rounding import round_assignment, round_circulation, round_iterative
from fairopt.groups import encode_groups
from fairopt.problem import resolve_bounds

FLOW = ["ortools", "highs", "networkx"]


# ----------------------------------------------------------------------------- recomputation
def sqdist(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def labels_cost(X, C, labels):
    return float(((X - C[labels]) ** 2).sum())


def frac_cost(X, C, phi):
    return float((np.asarray(phi.toarray() if sp.issparse(phi) else phi) * sqdist(X, C)).sum())


def masses(phi, member):
    """W (k,) and W_i (k, m) of an assignment (n, k), member a dense (n, m) 0/1 array."""
    phi = np.asarray(phi.toarray() if sp.issparse(phi) else phi, dtype=float)
    return phi.sum(axis=0), phi.T @ member


def onehot(labels, k):
    out = np.zeros((labels.size, k))
    out[np.arange(labels.size), labels] = 1.0
    return out


def violation(labels, member, alpha, beta, k):
    W = np.zeros(k)
    np.add.at(W, labels, 1.0)
    Wi = np.zeros((k, member.shape[1]))
    for i in range(member.shape[1]):
        np.add.at(Wi[:, i], labels[member[:, i] > 0], 1.0)
    ex = np.maximum(beta[None, :] * W[:, None] - Wi, Wi - alpha[None, :] * W[:, None])
    return max(float(ex.max()), 0.0)


def member_matrix(groups):
    cols = np.asarray(groups).reshape(len(groups), -1)
    blocks = [(cols[:, [t]] == np.unique(cols[:, t])[None, :]).astype(float) for t in range(cols.shape[1])]
    return np.hstack(blocks)


def lp_instance(seed, n=120, k=4, m=3, delta=0.05, overlap=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 1.0]
    g = rng.integers(0, m, n)
    if overlap:
        g = np.c_[g, rng.integers(0, 2, n)]
    C = X[rng.choice(n, k, replace=False)]
    fa = fairopt.fair_assignment(X, C, g, delta=delta, method="direct")
    gs = encode_groups(g, n)
    alpha, beta = resolve_bounds(gs, np.ones(n), delta=delta)
    return X, C, g, gs, alpha, beta, fa.assignment


def check_circulation_result(X, C, phi, member, labels, alpha, beta):
    n, k = X.shape[0], C.shape[0]
    assert labels.shape == (n,) and labels.dtype.kind == "i"
    assert labels.min() >= 0 and labels.max() < k
    assert labels_cost(X, C, labels) <= frac_cost(X, C, phi) * (1 + 1e-9)
    W, Wi = masses(phi, member)
    W2, Wi2 = masses(onehot(labels, k), member)
    # Within floor/ceil of phi's masses (1e-6 snapping tolerance of the network).
    assert np.all(W2 >= np.floor(W + 1e-6)) and np.all(W2 <= np.ceil(W - 1e-6))
    assert np.all(Wi2 >= np.floor(Wi + 1e-6)) and np.all(Wi2 <= np.ceil(Wi - 1e-6))
    v0 = violation_of_phi(phi, member, alpha, beta)
    assert violation(labels, member, alpha, beta, k) <= 2.0 + v0


def violation_of_phi(phi, member, alpha, beta):
    W, Wi = masses(phi, member)
    ex = np.maximum(beta[None, :] * W[:, None] - Wi, Wi - alpha[None, :] * W[:, None])
    return max(float(ex.max()), 0.0)


# ----------------------------------------------------------------------------- circulation
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_circulation_solvers_integral_cheaper_fair_and_agree(seed):
    X, C, g, gs, alpha, beta, phi = lp_instance(seed)
    member = member_matrix(g)
    costs = []
    for method in FLOW:
        labels = round_circulation(X, C, phi, g, 3, flow_solver=method)
        check_circulation_result(X, C, phi, member, labels, alpha, beta)
        costs.append(labels_cost(X, C, labels))
    assert costs[1] == pytest.approx(costs[0], rel=1e-9) and costs[2] == pytest.approx(costs[0], rel=1e-9)


def test_circulation_on_a_heavily_fractional_phi():
    # Not an LP optimum: every point split at random among its 3 nearest centres. The rounding
    # facts hold for any phi (cost and floor/ceil), whatever phi's own fairness.
    rng = np.random.default_rng(7)
    n, k, m = 500, 8, 4
    X = rng.normal(size=(n, 3))
    C = X[rng.choice(n, k, replace=False)]
    g = rng.integers(0, m, n)
    near = np.argsort(sqdist(X, C), axis=1)[:, :3]
    f = rng.dirichlet(np.ones(3), size=n)
    phi = sp.csr_matrix((f.ravel(), (np.repeat(np.arange(n), 3), near.ravel())), shape=(n, k))
    member = member_matrix(g)
    a, b = np.ones(m), np.zeros(m)
    costs = []
    for method in FLOW:
        labels = round_circulation(X, C, phi, g, m, flow_solver=method)
        check_circulation_result(X, C, phi, member, labels, a, b)
        costs.append(labels_cost(X, C, labels))
    assert np.allclose(costs, costs[0], rtol=1e-9)
    # Offering every centre can only help.
    full = round_circulation(X, C, phi, g, m, flow_solver="highs", arcs="all")
    assert labels_cost(X, C, full) <= costs[0] * (1 + 1e-9)


def test_circulation_is_the_brute_force_optimum_on_a_tiny_instance():
    # All labelings within the floor/ceil boxes of phi, enumerated: the circulation with every
    # centre offered (arcs="all") finds the cheapest one.
    rng = np.random.default_rng(11)
    n, k, m = 9, 2, 2
    X = rng.normal(size=(n, 2))
    C = rng.normal(size=(k, 2))
    g = np.array([0, 1] * 4 + [0])
    phi = rng.dirichlet(np.ones(k), size=n)
    member = member_matrix(g)
    W, Wi = masses(phi, member)
    D = sqdist(X, C)
    best = np.inf
    for lab in itertools.product(range(k), repeat=n):
        lab = np.array(lab)
        W2, Wi2 = masses(onehot(lab, k), member)
        if np.all(W2 >= np.floor(W)) and np.all(W2 <= np.ceil(W)) and np.all(Wi2 >= np.floor(Wi)) and np.all(Wi2 <= np.ceil(Wi)):
            best = min(best, D[np.arange(n), lab].sum())
    for method in FLOW:
        labels = round_circulation(X, C, phi, g, m, flow_solver=method, arcs="all")
        assert labels_cost(X, C, labels) == pytest.approx(best, rel=1e-12)


def test_integral_phi_is_returned_unchanged():
    rng = np.random.default_rng(4)
    n, k = 50, 3
    X = rng.normal(size=(n, 2))
    C = X[:k]
    lab = rng.integers(0, k, n)
    g = rng.integers(0, 2, n)
    for method in FLOW:
        assert np.array_equal(round_circulation(X, C, onehot(lab, k), g, 2, flow_solver=method), lab)


# ----------------------------------------------------------------------------- iterative
def check_iterative_result(X, C, phi, member, labels, alpha, beta, weights=None):
    n, k = X.shape[0], C.shape[0]
    delta = int(member.sum(axis=1).max())
    assert labels.shape == (n,) and labels.min() >= 0 and labels.max() < k
    w = np.ones(n) if weights is None else weights
    assert float((w * ((X - C[labels]) ** 2).sum(axis=1)).sum()) <= frac_cost(X, C, phi) * (1 + 1e-9)
    if weights is None:
        W, Wi = masses(phi, member)
        W2, Wi2 = masses(onehot(labels, k), member)
        # Every row ends within 2 Delta of floor/ceil of phi's mass.
        assert np.all(W2 >= np.floor(W + 1e-6) - 2 * delta) and np.all(W2 <= np.ceil(W - 1e-6) + 2 * delta)
        assert np.all(Wi2 >= np.floor(Wi + 1e-6) - 2 * delta) and np.all(Wi2 <= np.ceil(Wi - 1e-6) + 2 * delta)
        bound = (1 + alpha.max()) * (2 * delta + 1)
        assert bound <= 4 * delta + 2
        assert violation(labels, member, alpha, beta, k) < bound + violation_of_phi(phi, member, alpha, beta) + 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iterative_on_overlapping_groups(seed):
    X, C, g, gs, alpha, beta, phi = lp_instance(seed, n=150, k=5, overlap=True)
    labels = round_iterative(X, C, phi, gs.membership)
    check_iterative_result(X, C, phi, member_matrix(g), labels, alpha, beta)


def test_iterative_on_a_heavily_fractional_phi_with_three_attributes():
    rng = np.random.default_rng(3)
    n, k = 300, 6
    X = rng.normal(size=(n, 2))
    C = X[rng.choice(n, k, replace=False)]
    g = np.c_[rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 4, n)]
    phi = rng.dirichlet(np.ones(k) * 0.5, size=n)
    gs = encode_groups(g, n)
    member = member_matrix(g)
    labels = round_iterative(X, C, phi, gs.membership)
    m = member.shape[1]
    check_iterative_result(X, C, phi, member, labels, np.ones(m), np.zeros(m))


def test_iterative_with_weights_never_costs_more():
    X, C, g, gs, alpha, beta, _ = lp_instance(5, n=80, k=3, overlap=True)
    w = np.random.default_rng(5).integers(1, 4, X.shape[0]).astype(float)
    fa = fairopt.fair_assignment(X, C, g, delta=0.1, weights=w, method="direct")
    labels = round_iterative(X, C, fa.assignment, gs.membership, weights=w)
    check_iterative_result(X, C, fa.assignment, member_matrix(g), labels, alpha, beta, weights=w)


def test_iterative_on_disjoint_groups_is_within_its_bound():
    X, C, g, gs, alpha, beta, phi = lp_instance(8)
    labels = round_iterative(X, C, phi, gs.membership)
    check_iterative_result(X, C, phi, member_matrix(g), labels, alpha, beta)


# ----------------------------------------------------------------------------- dispatcher
def test_round_assignment_dispatches_by_groups():
    X, C, g, gs, alpha, beta, phi = lp_instance(1)
    lab = round_assignment(X, C, phi, gs, alpha, beta)
    assert labels_cost(X, C, lab) == pytest.approx(labels_cost(X, C, round_circulation(X, C, phi, g, 3, flow_solver="highs")), rel=1e-9)
    X, C, g, gs, alpha, beta, phi = lp_instance(1, overlap=True)
    assert np.array_equal(round_assignment(X, C, phi, gs, alpha, beta), round_iterative(X, C, phi, gs.membership))
    with pytest.raises(ValueError, match="disjoint"):
        round_assignment(X, C, phi, gs, alpha, beta, method="circulation")


# ----------------------------------------------------------------------------- real data
def _real(data_home, attributes, n=300, k=5, delta=0.1):
    X, g = fairopt.datasets.load("bank", data_home=data_home, max_points=n, random_state=0, attributes=attributes)
    X = X / X.std(axis=0)
    C = X[np.random.default_rng(0).choice(X.shape[0], k, replace=False)]
    gs = encode_groups(g, X.shape[0])
    alpha, beta = resolve_bounds(gs, np.ones(X.shape[0]), delta=delta)
    fa = fairopt.fair_assignment(X, C, g, delta=delta, method="direct")
    return X, C, g, gs, alpha, beta, fa.assignment


def test_bank_marital_circulation(data_home):
    X, C, g, gs, alpha, beta, phi = _real(data_home, ["marital"])
    member = member_matrix(g)
    costs = []
    for method in FLOW:
        labels = round_circulation(X, C, phi, gs.group_of_point(), gs.n_groups, flow_solver=method)
        check_circulation_result(X, C, phi, member, labels, alpha, beta)
        costs.append(labels_cost(X, C, labels))
    assert np.allclose(costs, costs[0], rtol=1e-9)


def test_bank_marital_and_default_iterative(data_home):
    X, C, g, gs, alpha, beta, phi = _real(data_home, ["marital", "default"])
    labels = round_assignment(X, C, phi, gs, alpha, beta)
    check_iterative_result(X, C, phi, member_matrix(g), labels, alpha, beta)
