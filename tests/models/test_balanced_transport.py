"""The balanced transport LP (models/balanced_transport.py): one optimum from every backend.

Each backend's optimum is compared with an independent brute force (every labelling with the
prescribed sizes, enumerated here) and its returned F is checked against the constraints
recomputed with numpy.
"""
from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
from fairopt.models import balanced_transport as bt

import fairopt


def instance(seed, n=8, k=3, d=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([2.0, 1.0])[:d]
    C = X[rng.choice(n, k, replace=False)] + 0.3 * rng.normal(size=(k, d))
    return X, C


def brute_force(X, C, sizes):
    """Cheapest labelling with exactly sizes[j] points in cluster j, by enumeration."""
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    n, k = D.shape
    best = np.inf
    for labels in itertools.product(range(k), repeat=n):
        if np.array_equal(np.bincount(labels, minlength=k), sizes):
            best = min(best, sum(D[i, j] for i, j in enumerate(labels)))
    return best


def check_feasible(F, sizes, weights=None, tol=1e-6):
    n = F.shape[0]
    w = np.ones(n) if weights is None else weights
    assert F.min() >= -tol
    np.testing.assert_allclose(F.sum(axis=1), w, atol=tol)
    np.testing.assert_allclose(F.sum(axis=0), sizes, atol=tol)


def _pyomo_F(res, n, k):
    F = res.values["F"]
    return np.array([[F[x, j] for j in range(k)] for x in range(n)]) if isinstance(F, dict) else np.asarray(F).reshape(n, k)


BACKENDS = ["pyomo-highs", "pyomo-glpk", "pyomo-cbc", "cvxpy-highs", "matrices-highs", "gurobi"]


def _solve(backend, X, C, sizes, weights=None):
    n, k = X.shape[0], C.shape[0]
    if backend == "gurobi":
        pytest.importorskip("gurobipy")
        size = n * k + n + k
        if size > 2000:
            pytest.skip(f"Gurobi's pip licence allows 2000 variables + rows; this LP has n*k+n+k = {size}")
        res = fairopt.solve(bt.to_matrices(X, C, sizes, weights), solver="gurobi")
        return res, np.asarray(res.values["F"]).reshape(n, k)
    kind, solver = backend.split("-")
    if solver in ("glpk", "cbc") and shutil.which("glpsol" if solver == "glpk" else "cbc") is None:
        pytest.skip(f"{solver} is not installed")
    if kind == "pyomo":
        res = fairopt.solve(bt.build_pyomo(X, C, sizes, weights), solver=solver)
        return res, _pyomo_F(res, n, k)
    if kind == "cvxpy":
        res = fairopt.solve(bt.build_cvxpy(X, C, sizes, weights), solver=solver)
        return res, np.asarray(res.values["F"]).reshape(n, k)
    res = fairopt.solve(bt.to_matrices(X, C, sizes, weights), solver=solver)
    return res, np.asarray(res.values["F"]).reshape(n, k)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed,sizes", [(0, [3, 3, 2]), (1, [1, 2, 5]), (2, None)])
def test_every_backend_reaches_the_brute_force_optimum(backend, seed, sizes):
    X, C = instance(seed)
    s = bt.default_sizes(8, 3) if sizes is None else np.asarray(sizes)
    expected = brute_force(X, C, s)
    res, F = _solve(backend, X, C, sizes)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-7)
    check_feasible(F, s)
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    assert float((D * F).sum()) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("backend", ["pyomo-highs", "cvxpy-highs", "matrices-highs", "gurobi"])
def test_point_masses(backend):
    """With masses w(x) the rows carry w(x); the optimum matches the matrix path."""
    X, C = instance(3, n=10, k=3)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=10)
    sizes = w.sum() * np.array([0.5, 0.3, 0.2])
    ref = fairopt.solve(bt.to_matrices(X, C, sizes, w), solver="highs")
    res, F = _solve(backend, X, C, sizes, w)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7)
    check_feasible(F, sizes, w)


def test_highs_vertex_is_integral():
    """Unit points and integer sizes: the simplex optimum is a hard balanced partition."""
    X, C = instance(4, n=30, k=4)
    sizes = bt.default_sizes(30, 4)
    res = fairopt.solve(bt.to_matrices(X, C, sizes), solver="highs")
    F = np.asarray(res.values["F"]).reshape(30, 4)
    np.testing.assert_allclose(F, np.round(F), atol=1e-7)
    check_feasible(F, sizes)


def test_same_names_in_all_three_formulations():
    import pyomo.environ as pyo

    X, C = instance(0, n=6, k=2)
    m = bt.build_pyomo(X, C)
    prob = bt.build_cvxpy(X, C)
    M = bt.to_matrices(X, C)
    assert {v.local_name for v in m.component_objects(pyo.Var)} == {v.name() for v in prob.variables()} == set(M.var_blocks) == {"F"}
    cons = [c.local_name for c in m.component_objects(pyo.Constraint)]
    assert cons == [c.label for c in prob.constraints] == list(M.row_blocks) == ["rows", "sizes"]
    assert M.var_blocks == {"F": (6, 2)} and M.row_blocks == {"rows": (6,), "sizes": (2,)}
    assert m.cost.is_minimizing()
    D = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(M.c, D.ravel())
    np.testing.assert_allclose([pyo.value(m.size[j]) for j in range(2)], [3, 3])


def test_matrix_rows_are_the_paper_constraints():
    X, C = instance(5, n=7, k=3)
    M = bt.to_matrices(X, C, [2, 2, 3])
    F = np.random.default_rng(0).random((7, 3))
    rows = M.split_rows(M.A @ F.ravel())
    np.testing.assert_allclose(rows["rows"], F.sum(axis=1))
    np.testing.assert_allclose(rows["sizes"], F.sum(axis=0))
    np.testing.assert_allclose(M.row_lower, np.r_[np.ones(7), [2, 2, 3]])
    np.testing.assert_allclose(M.row_upper, M.row_lower)


def test_default_sizes_differ_by_at_most_one():
    for n, k in [(10, 3), (9, 3), (7, 7), (100, 6)]:
        s = bt.default_sizes(n, k)
        assert s.sum() == n and s.max() - s.min() <= (0 if n % k == 0 else 1)


def test_export_round_trip(tmp_path):
    X, C = instance(6, n=5, k=2)
    path = fairopt.export(bt.to_matrices(X, C), tmp_path / "bt.lp")
    text = open(path).read()
    assert "F(0,0)" in text and "sizes(1)" in text
