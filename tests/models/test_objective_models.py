"""LP (2) with distance costs (k-median) and the k-center threshold LP, against independent scipy LPs.

The independent formulations are built here with explicit loops over phi only (W(c) expanded
as sum_x phi(x, c)); the k-center radius is checked against brute force (every candidate
distance in increasing order, the first feasible one) and the rounded labels against numpy.
"""
from __future__ import annotations

import numpy as np
import pytest
from fairopt.models import fair_assignment as lp2
from fairopt.models import fair_kcenter
from scipy.optimize import linprog

import fairopt
from fairopt.exceptions import ValidationError
from fairopt.problem import make_fair_problem
from fairopt.solvers.core import solve


def _instance(seed, n=12, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * np.array([2.0, 1.0])
    C = X[rng.choice(n, k, replace=False)] + 0.2 * rng.normal(size=(k, 2))
    groups = np.where(X[:, 0] > np.median(X[:, 0]), "a", "b")
    return X, C, groups


def _independent(X, C, groups, delta, cost=None, allowed=None):
    """linprog on phi (n*k): sum_c phi = 1, beta W(c) <= W_i(c) <= alpha W(c); None when infeasible."""
    n, k = X.shape[0], C.shape[0]
    labels = sorted(set(groups.tolist()))
    A_eq = np.zeros((n, n * k))
    rows = []
    for x in range(n):
        A_eq[x, x * k:(x + 1) * k] = 1.0
    for g in labels:
        mask = groups == g
        r = mask.mean()
        beta, alpha = r * (1 - delta), min(r / (1 - delta), 1.0)
        for c in range(k):
            up, lo = np.zeros(n * k), np.zeros(n * k)
            for x in range(n):
                up[x * k + c] = float(mask[x]) - alpha
                lo[x * k + c] = beta - float(mask[x])
            rows += [up, lo]
    c = np.zeros(n * k) if cost is None else cost.ravel()
    bounds = [(0, None if allowed is None or allowed.ravel()[j] else 0) for j in range(n * k)]
    res = linprog(c, A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=A_eq, b_eq=np.ones(n), bounds=bounds,
                  method="highs")
    return res.fun if res.status == 0 else None


def _dist(X, C):
    return np.array([[np.sqrt(sum((X[x, j] - C[c, j]) ** 2 for j in range(X.shape[1]))) for c in range(len(C))]
                     for x in range(len(X))])


@pytest.mark.parametrize("seed,delta", [(0, 0.0), (1, 0.1), (2, 0.3)])
def test_kmedian_lp2_matches_independent_linprog_on_every_path(seed, delta):
    X, C, groups = _instance(seed)
    expected = _independent(X, C, groups, delta, cost=_dist(X, C))
    for method, solver in (("colgen", "highs"), ("direct", "highs"), ("pyomo", "glpk"), ("cvxpy", "clarabel")):
        fa = fairopt.fair_assignment(X, C, groups, delta=delta, method=method, solver=solver, objective="kmedian")
        assert fa.objective == pytest.approx(expected, rel=1e-6), method
        phi = fa.assignment.toarray()
        # The reported objective is the distance cost of the returned phi.
        assert fa.objective == pytest.approx(float((phi * _dist(X, C)).sum()), rel=1e-6), method


def test_kmedian_costs_are_not_kmeans_costs():
    X, C, groups = _instance(3)
    med = fairopt.fair_assignment(X, C, groups, delta=0.1, objective="kmedian")
    mea = fairopt.fair_assignment(X, C, groups, delta=0.1)
    assert med.objective == pytest.approx(_independent(X, C, groups, 0.1, cost=_dist(X, C)), rel=1e-7)
    assert mea.objective == pytest.approx(_independent(X, C, groups, 0.1, cost=_dist(X, C) ** 2), rel=1e-7)
    m = lp2.to_matrices(X, C, groups, 0.5, 0.5, objective="kmedian")
    assert np.allclose(m.c[: 12 * 3], _dist(X, C).ravel())


def _brute_force_tau(X, C, groups, delta):
    D = _dist(X, C)
    for tau in np.unique(D):
        if _independent(X, C, groups, delta, allowed=D <= tau) is not None:
            return tau
    raise AssertionError("no feasible radius")


@pytest.mark.parametrize("seed,delta", [(0, 0.0), (1, 0.1), (4, 0.2), (5, 0.0)])
def test_kcenter_tau_matches_brute_force_and_the_rounding_stays_within_it(seed, delta):
    X, C, groups = _instance(seed, n=10)
    fa = fairopt.fair_assignment(X, C, groups, delta=delta, objective="kcenter")
    assert fa.objective == pytest.approx(_brute_force_tau(X, C, groups, delta), rel=1e-12)
    phi = fa.assignment.toarray()
    D = _dist(X, C)
    assert np.allclose(phi.sum(axis=1), 1.0) and (D[phi > 1e-9] <= fa.objective * (1 + 1e-12)).all()
    problem = make_fair_problem(X, groups, delta=delta)
    labels = fairopt.round_assignment(X, C, fa.assignment, groups, problem.alpha, problem.beta, objective="kcenter")
    assert D[np.arange(10), labels].max() <= fa.objective * (1 + 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_model_in_three_languages_is_feasible_at_tau_and_not_below(seed):
    X, C, groups = _instance(seed, n=10)
    problem = make_fair_problem(X, groups, delta=0.1)
    tau = fairopt.fair_assignment(X, C, groups, delta=0.1, objective="kcenter").objective
    below = np.nextafter(tau, 0.0)
    assert _independent(X, C, groups, 0.1, allowed=_dist(X, C) <= below) is None
    for build, solver in ((fair_kcenter.to_matrices, "highs"), (fair_kcenter.build_pyomo, "highs"),
                          (fair_kcenter.build_cvxpy, "clarabel")):
        at = solve(build(X, C, problem.groups, problem.alpha, problem.beta, tau), solver=solver)
        under = solve(build(X, C, problem.groups, problem.alpha, problem.beta, below), solver=solver)
        assert (at.status, under.status) == ("optimal", "infeasible"), build.__name__


def test_kcenter_refuses_the_paths_it_does_not_have():
    X, C, groups = _instance(0)
    with pytest.raises(ValidationError, match="objective='kcenter'.*method='pyomo'"):
        fairopt.fair_assignment(X, C, groups, delta=0.1, objective="kcenter", method="pyomo")
    with pytest.raises(ValidationError, match="objective must be one of"):
        fairopt.fair_assignment(X, C, groups, delta=0.1, objective="k-median")
