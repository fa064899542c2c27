"""The column-generation path for LP (2) (fairopt/fast_assignment.py, pricing.py, lp2_master.py).

Every optimum is checked against the dense model of models/fair_assignment.py solved by HiGHS,
and every returned assignment against the constraints of LP (2) recomputed here with numpy.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.assignment.colgen import ColgenResult, solve_colgen
from fairopt.assignment.multilevel import hierarchy, lift_solution
from fairopt.assignment.pricing import signatures
from fairopt.exceptions import SolverStatusError
from fairopt.problem import make_fair_problem


def make_instance(seed, n=120, k=30, d=2, kind="disjoint", delta=0.0, weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
    X[: n // 3] += 4.0  # a second blob, so clusters are not all alike
    if kind == "disjoint":
        groups = rng.integers(0, 3, size=n)
    elif kind == "binary":  # two groups: the master keeps one group's rows with both bounds
        groups = rng.integers(0, 2, size=n)
    else:  # two attributes: every point in two groups
        groups = np.stack([rng.integers(0, 3, size=n), rng.integers(0, 2, size=n)], axis=1)
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    C = X[rng.choice(n, k, replace=k > n)] + 0.1 * rng.normal(size=(k, d))
    return make_fair_problem(X, groups, weights=w, delta=delta), C


def dense_optimum(P, C):
    res = fairopt.solve(lp2.to_matrices(P.points, C, P.groups, P.alpha, P.beta, P.weights), "highs")
    assert res.status == "optimal"
    return res.objective


def colgen(P, C, **kw):
    return solve_colgen(P.points, P.weights, P.groups.membership, P.alpha, P.beta, C, **kw)


def assert_feasible(P, C, res: ColgenResult, tol=1e-7):
    phi = sp.csr_matrix(res.assignment)
    n, k = phi.shape
    assert (n, k) == (P.points.shape[0], C.shape[0])
    assert phi.nnz == 0 or phi.data.min() >= 0
    np.testing.assert_allclose(np.asarray(phi.sum(axis=1)).ravel(), P.weights, rtol=0, atol=tol)
    W = np.asarray(phi.sum(axis=0)).ravel()                        # W(c)
    Wi = np.asarray((P.groups.membership.T @ phi).todense())       # W_i(c), shape (m, k)
    assert np.all(Wi <= P.alpha[:, None] * W[None, :] + tol)
    assert np.all(Wi >= P.beta[:, None] * W[None, :] - tol)
    D = ((P.points[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    assert res.objective == pytest.approx(float(phi.multiply(D).sum()), rel=1e-9)


CASES = [(seed, kind, delta, weighted) for seed in range(3) for kind in ("disjoint", "overlapping")
         for delta in (0.0, 0.2) for weighted in (False, True)]
CASES += [(seed, "binary", delta, True) for seed in range(2) for delta in (0.0, 0.3)]


@pytest.mark.parametrize("seed,kind,delta,weighted", CASES)
def test_same_optimum_as_dense_model(seed, kind, delta, weighted):
    P, C = make_instance(seed, kind=kind, delta=delta, weighted=weighted)
    # Cells of 8 then 2 points: two coarse levels with lifted solutions and bases.
    res = colgen(P, C, levels=[8, 2])
    assert res.status == "optimal"
    assert res.objective == pytest.approx(dense_optimum(P, C), rel=1e-7)
    assert_feasible(P, C, res)
    # The certificate: no arc of the full LP has a reduced cost below -tolerance.
    assert res.info["min_reduced_cost"] >= -res.info["tolerance"]
    assert res.info["lower_bound"] <= res.objective * (1 + 1e-9)


@pytest.mark.parametrize("kind", ["disjoint", "overlapping"])
def test_medium_instance_every_schedule(kind):
    P, C = make_instance(7, n=300, k=70, d=3, kind=kind, delta=0.1, weighted=True)
    best = dense_optimum(P, C)
    # One level; automatic levels; explicit levels; interior-point rounds then crossover.
    for tuning in ({"levels": []}, {}, {"levels": [16, 4]}, {"ipm_rows": 0}):
        res = colgen(P, C, **tuning)
        assert res.status == "optimal", tuning
        assert res.objective == pytest.approx(best, rel=1e-7), tuning
        assert_feasible(P, C, res)
        assert res.info["min_reduced_cost"] >= -res.info["tolerance"]
        # Far fewer arcs than the n x k of the dense model.
        assert res.info["columns"] < 0.5 * P.points.shape[0] * C.shape[0]
        # Every level after the first starts from the lifted basis (one basic variable per row).
        assert all(L["warm_basis"] for L in res.info["levels"][1:])


def test_single_centre():
    P, C = make_instance(3, k=1, kind="overlapping", delta=0.0)
    res = colgen(P, C)
    assert res.status == "optimal"
    assert_feasible(P, C, res)
    D = ((P.points - C[0]) ** 2).sum(axis=1)
    assert res.objective == pytest.approx(float(P.weights @ D), rel=1e-9)


def test_more_centres_than_points_and_duplicates():
    P, C = make_instance(4, n=30, k=60, kind="disjoint", delta=0.0)
    C[1] = C[0]  # a repeated candidate
    res = colgen(P, C)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(dense_optimum(P, C), rel=1e-7)
    assert_feasible(P, C, res)


def test_zero_weight_points():
    P, C = make_instance(5, kind="disjoint", delta=0.1, weighted=True)
    w = P.weights.copy()
    w[::7] = 0.0
    P = make_fair_problem(P.points, P.groups.codes[:, 0], weights=w, delta=0.1)
    res = colgen(P, C, levels=[4])
    assert res.status == "optimal"
    assert res.objective == pytest.approx(dense_optimum(P, C), rel=1e-7)
    assert_feasible(P, C, res)


def test_infeasible_bounds_are_reported():
    P, C = make_instance(0, kind="disjoint", delta=0.0)
    alpha = P.alpha.copy()
    alpha[0] = 0.5 * P.beta[0]  # no cluster can hold group 0: infeasible
    res = solve_colgen(P.points, P.weights, P.groups.membership, alpha, np.minimum(P.beta, alpha), C)
    assert res.status == "infeasible"
    assert res.assignment is None


def test_time_limit_is_never_silently_optimal():
    P, C = make_instance(1, n=400, k=90, kind="overlapping", delta=0.1)
    res = colgen(P, C, time_limit=1e-6)
    assert res.status == "time_limit"
    with pytest.raises(SolverStatusError):
        fairopt.fair_assignment(P.points, C, P.groups.codes, delta=0.1, method="colgen", time_limit=1e-6)


def test_stopped_at_a_coarse_level_still_feasible():
    # One pricing round per level: the run stops at the coarsest level, whose solution is lifted.
    P, C = make_instance(2, n=300, k=50, kind="overlapping", delta=0.0, weighted=True)
    res = colgen(P, C, levels=[16, 4], max_rounds=1)
    assert res.status == "iteration_limit"
    assert_feasible(P, C, res)
    assert res.objective >= dense_optimum(P, C) * (1 - 1e-9)


def test_lifting_keeps_fairness():
    P, C = make_instance(6, n=200, k=20, kind="overlapping", delta=0.0, weighted=True)
    _, sid = signatures(P.groups.membership)
    cell = hierarchy(P.points, sid, [8])[0]
    # Any coarse solution that is fair lifts to a fair fine one: send cell j to centre j mod k
    # and to the centre of the whole data equally.
    nc = cell.max() + 1
    Wc = np.bincount(cell, weights=P.weights)
    arcs_x = np.repeat(np.arange(nc), 1)
    res = ColgenResult("x", 0.0, lift_solution(arcs_x, np.zeros(nc, dtype=int), Wc, cell, P.weights, 200, 20))
    phi = res.assignment
    np.testing.assert_allclose(np.asarray(phi.sum(axis=1)).ravel(), P.weights, atol=1e-9)
    # Every cell is inside one signature, so centre 0 gets exactly the data's group shares.
    Wi = np.asarray((P.groups.membership.T @ phi).todense())[:, 0]
    np.testing.assert_allclose(Wi / P.weights.sum(), P.groups.group_weights(P.weights) / P.weights.sum(), atol=1e-12)
    assert np.all(np.diff(np.sort(cell)) >= 0)
    assert all(len(np.unique(sid[cell == j])) == 1 for j in range(nc))


def test_fair_assignment_uses_colgen_by_default():
    P, C = make_instance(8, kind="overlapping", delta=0.1)
    fa = fairopt.fair_assignment(P.points, C, P.groups.codes, delta=0.1)
    assert fa.method == "colgen"
    direct = fairopt.fair_assignment(P.points, C, P.groups.codes, delta=0.1, method="direct")
    assert fa.objective == pytest.approx(direct.objective, rel=1e-7)
    assert "min_reduced_cost" in fa.info


def test_progress_and_verbose(capsys):
    P, C = make_instance(9, kind="disjoint", delta=0.1)
    colgen(P, C, progress=True)  # stderr is not a terminal under pytest: no bar
    assert capsys.readouterr().err == ""
    colgen(P, C, verbose=True)
    assert "min reduced cost" in capsys.readouterr().err


def test_unknown_tuning_option():
    P, C = make_instance(0)
    with pytest.raises(TypeError, match="unknown tuning"):
        colgen(P, C, per_pont=3)
