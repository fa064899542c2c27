"""LP (2) (models/fair_assignment.py) and fairopt.fair_assignment.

The optimum is compared with an independent formulation: scipy's linprog on a matrix built here
with explicit loops, over phi only (W(c) expanded as sum_x phi(x, c)), with groups and bounds
computed here from the raw labels.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from fairopt.models import fair_assignment as lp2
from scipy.optimize import linprog

import fairopt
from fairopt.problem import make_fair_problem


def independent_lp2(X, C, groups, delta, weights=None):
    """Optimum of LP (2) by linprog, built from scratch with loops (tiny instances only)."""
    n, k = X.shape[0], C.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    cols = np.asarray(groups).reshape(n, -1)
    members = []  # one boolean mask per group, attribute by attribute, sorted values
    for t in range(cols.shape[1]):
        for v in sorted(set(cols[:, t].tolist())):
            members.append(np.array([cols[x, t] == v for x in range(n)]))
    var = lambda x, c: x * k + c
    cost = np.zeros(n * k)
    for x in range(n):
        for c in range(k):
            cost[var(x, c)] = sum((X[x, j] - C[c, j]) ** 2 for j in range(X.shape[1]))
    A_eq = np.zeros((n, n * k))
    for x in range(n):
        for c in range(k):
            A_eq[x, var(x, c)] = 1.0
    rows = []
    for mask in members:
        r = w[mask].sum() / w.sum()
        beta, alpha = r * (1 - delta), min(r / (1 - delta), 1.0)
        for c in range(k):
            up, lo = np.zeros(n * k), np.zeros(n * k)
            for x in range(n):
                # W_i(c) - alpha W(c) <= 0 and beta W(c) - W_i(c) <= 0 with W(c) = sum_x phi(x, c)
                up[var(x, c)] = float(mask[x]) - alpha
                lo[var(x, c)] = beta - float(mask[x])
            rows += [up, lo]
    res = linprog(cost, A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=A_eq, b_eq=w,
                  bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


def instance(seed, n=12, k=3, kind="disjoint"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * np.array([2.0, 1.0])
    C = X[rng.choice(n, k, replace=False)] + 0.2 * rng.normal(size=(k, 2))
    side = X[:, 0] > np.median(X[:, 0])
    if kind == "disjoint":
        groups = np.where(side, "a", "b")
    elif kind == "three":
        groups = np.digitize(X[:, 1], np.quantile(X[:, 1], [0.3, 0.7]))
    else:  # overlapping: two attributes, so each point is in two groups
        groups = np.column_stack([side.astype(int), np.where(rng.random(n) < 0.4, "u", "v")])
    w = rng.uniform(0.2, 3.0, size=n)
    return X, C, groups, w


CASES = [(0, "disjoint", False), (1, "disjoint", True), (2, "three", False), (3, "three", True),
         (4, "overlapping", False), (5, "overlapping", True), (6, "overlapping", True)]


@pytest.mark.parametrize("seed,kind,weighted", CASES)
def test_objective_matches_independent_linprog(seed, kind, weighted):
    X, C, groups, w = instance(seed, kind=kind)
    w = w if weighted else None
    delta = 0.1
    expected = independent_lp2(X, C, groups, delta, w)
    fa = fairopt.fair_assignment(X, C, groups, delta=delta, weights=w, method="direct")
    assert fa.status == "optimal"
    assert fa.objective == pytest.approx(expected, rel=1e-6)
    # ... and the returned assignment is feasible and costs what it reports.
    phi = fa.assignment.toarray()
    weights = np.ones(len(X)) if w is None else w
    np.testing.assert_allclose(phi.sum(axis=1), weights, atol=1e-7)
    np.testing.assert_allclose(fa.cluster_mass, phi.sum(axis=0))
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    assert float((D * phi).sum()) == pytest.approx(fa.objective, rel=1e-7)
    P = make_fair_problem(X, groups, weights=w, delta=delta)
    Wi = P.groups.membership.T @ phi
    Wc = phi.sum(axis=0)
    assert np.all(Wi <= P.alpha[:, None] * Wc + 1e-7) and np.all(Wi >= P.beta[:, None] * Wc - 1e-7)


def test_instances_are_constrained():
    """In these cases fairness costs something (so the comparison above is not vacuous)."""
    binding = 0
    for seed, kind, weighted in CASES:
        X, C, groups, w = instance(seed, kind=kind)
        free = independent_lp2(X, C, groups, 0.999999, w if weighted else None)
        fair = independent_lp2(X, C, groups, 0.1, w if weighted else None)
        binding += fair > free * (1 + 1e-6)
    assert binding >= len(CASES) - 1


@pytest.mark.parametrize("seed,kind", [(0, "disjoint"), (5, "overlapping"), (3, "three")])
def test_methods_agree(seed, kind):
    X, C, groups, w = instance(seed, n=15, k=4, kind=kind)
    objs = {}
    for method in ("auto", "direct", "pyomo", "cvxpy"):
        fa = fairopt.fair_assignment(X, C, groups, delta=0.05, weights=w, method=method)
        assert fa.status == "optimal" and fa.assignment.shape == (15, 4)
        objs[method] = fa.objective
    for method, obj in objs.items():
        assert obj == pytest.approx(objs["direct"], rel=1e-6), method


def test_mapping_bounds():
    X, C, groups, _ = instance(1, n=14, k=3)  # groups "a"/"b", 7 each
    by_map = fairopt.fair_assignment(X, C, groups, alpha={"a": 0.6, "b": 0.6}, beta={"a": 0.4, "b": 0.4}, method="direct")
    by_array = fairopt.fair_assignment(X, C, groups, alpha=[0.6, 0.6], beta=[0.4, 0.4], method="direct")
    by_scalar = fairopt.fair_assignment(X, C, groups, alpha=0.6, beta=0.4, method="pyomo")
    assert by_map.objective == pytest.approx(by_array.objective, rel=1e-9)
    assert by_map.objective == pytest.approx(by_scalar.objective, rel=1e-6)
    phi = by_map.assignment.toarray()
    share_a = phi[groups == "a"].sum(axis=0) / phi.sum(axis=0).clip(1e-12)
    used = phi.sum(axis=0) > 1e-9
    assert np.all(share_a[used] <= 0.6 + 1e-7) and np.all(share_a[used] >= 0.4 - 1e-7)
    # A mapping alpha alone leaves beta at 0: looser, so never more expensive.
    only_alpha = fairopt.fair_assignment(X, C, groups, alpha={"a": 0.6, "b": 0.6}, method="cvxpy")
    assert only_alpha.objective <= by_map.objective * (1 + 1e-6)


def test_overlapping_mapping_by_label():
    X, C, groups, _ = instance(4, kind="overlapping")
    P = make_fair_problem(X, groups, delta=0.2)
    labels = P.groups.labels  # e.g. ["0=0", "0=1", "1=u", "1=v"]
    fa = fairopt.fair_assignment(X, C, groups, alpha=dict(zip(labels, P.alpha)), beta=dict(zip(labels, P.beta)), method="direct")
    ref = fairopt.fair_assignment(X, C, groups, delta=0.2, method="direct")
    assert fa.objective == pytest.approx(ref.objective, rel=1e-9)


def test_delta_zero_mirrors_population():
    """delta = 0: every used cluster has exactly the data's group shares (Section 2)."""
    X, C, groups, w = instance(2, n=12, k=3, kind="three")
    fa = fairopt.fair_assignment(X, C, groups, delta=0.0, weights=w, method="direct")
    P = make_fair_problem(X, groups, weights=w, delta=0.0)
    phi = fa.assignment.toarray()
    Wc = phi.sum(axis=0)
    shares = (P.groups.membership.T @ phi)[:, Wc > 1e-9] / Wc[Wc > 1e-9]
    ratios = P.groups.group_weights(w) / w.sum()
    np.testing.assert_allclose(shares, np.repeat(ratios[:, None], shares.shape[1], axis=1), atol=1e-7)


def test_unconstrained_is_nearest_centre():
    X, C, groups, w = instance(7, n=20, k=5)
    fa = fairopt.fair_assignment(X, C, groups, alpha=1.0, beta=0.0, weights=w, method="direct")
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    assert fa.objective == pytest.approx(float((w * D.min(axis=1)).sum()), rel=1e-9)


def test_same_names_in_all_three_formulations():
    import pyomo.environ as pyo

    X, C, groups, w = instance(0, n=6, k=2)
    P = make_fair_problem(X, groups, weights=w, delta=0.1)
    args = (P.points, C, P.groups, P.alpha, P.beta, P.weights)
    m = lp2.build_pyomo(*args)
    pyomo_vars = {v.local_name for v in m.component_objects(pyo.Var)}
    pyomo_cons = [c.local_name for c in m.component_objects(pyo.Constraint)]
    prob = lp2.build_cvxpy(*args)
    M = lp2.to_matrices(*args)
    assert pyomo_vars == {v.name() for v in prob.variables()} == set(M.var_blocks) == {"phi", "W"}
    assert pyomo_cons == [c.label for c in prob.constraints] == list(M.row_blocks)
    assert pyomo_cons == ["mass", "total", "fair_upper", "fair_lower"]
    assert M.var_blocks == {"phi": (6, 2), "W": (2,)}
    assert M.row_blocks == {"mass": (6,), "total": (2,), "fair_upper": (2, 2), "fair_lower": (2, 2)}
    assert m.cost.is_minimizing()
    # Column x*k + c of the matrices is phi(x, c): the cost vector is D in row-major order.
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(M.c[:12], D.ravel())
    np.testing.assert_allclose([pyo.value(m.dist[x, c]) for x in range(6) for c in range(2)], D.ravel())


def test_matrix_rows_are_the_paper_constraints():
    """A^T applied to a random phi gives the sums of LP (2), block by block."""
    X, C, groups, w = instance(5, n=8, k=3, kind="overlapping")
    P = make_fair_problem(X, groups, weights=w, delta=0.1)
    M = lp2.to_matrices(P.points, C, P.groups, P.alpha, P.beta, P.weights)
    rng = np.random.default_rng(0)
    phi, W = rng.random((8, 3)), rng.random(3)
    rows = M.split_rows(M.A @ np.concatenate([phi.ravel(), W]))
    G = P.groups.membership.toarray()
    np.testing.assert_allclose(rows["mass"], phi.sum(axis=1))
    np.testing.assert_allclose(rows["total"], phi.sum(axis=0) - W)
    np.testing.assert_allclose(rows["fair_upper"], G.T @ phi - np.outer(P.alpha, W))
    np.testing.assert_allclose(rows["fair_lower"], G.T @ phi - np.outer(P.beta, W))
    assert sp.issparse(M.A)
