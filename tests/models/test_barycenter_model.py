"""LP (16), the fixed-support Wasserstein barycenter: every backend, independent solves, optimality."""
from __future__ import annotations

import numpy as np
import pytest
from fairopt.models import barycenter as lp16

import fairopt
from fairopt.barycenter.lp16 import fixed_support_barycenter
from fairopt.exceptions import SolverLicenseError, ValidationError


def _instance(seed=0, sizes=(5, 4, 6), s=7, d=2):
    rng = np.random.default_rng(seed)
    measures = []
    for n in sizes:
        w = rng.random(n) + 0.1
        measures.append((rng.normal(size=(n, d)) + rng.normal(size=d), w / w.sum()))
    support = rng.normal(size=(s, d))
    return measures, support


def _sq(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


def _linprog_full(measures, support):
    """LP (16) with every marginal row, built entry by entry (independent of the model module)."""
    from scipy.optimize import linprog

    s = support.shape[0]
    sizes = [X.shape[0] for X, _ in measures]
    offs = np.concatenate([[0], np.cumsum(sizes)]) * s
    N = offs[-1] + s
    c = np.zeros(N)
    rows, rhs = [], []
    for i, (X, w) in enumerate(measures):
        D = _sq(X, support)
        for x in range(X.shape[0]):
            row = np.zeros(N)
            for t in range(s):
                c[offs[i] + x * s + t] = D[x, t]
                row[offs[i] + x * s + t] = 1.0
            rows.append(row)
            rhs.append(w[x])
        for t in range(s):
            row = np.zeros(N)
            for x in range(X.shape[0]):
                row[offs[i] + x * s + t] = 1.0
            row[offs[-1] + t] = -1.0
            rows.append(row)
            rhs.append(0.0)
    res = linprog(c, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


def _check_solution(measures, support, values, objective, tol=1e-7):
    """Marginals and objective of a returned solution, recomputed with numpy."""
    nu = np.asarray(values["nu"])
    assert nu.min() >= -tol
    assert nu.sum() == pytest.approx(1.0, abs=1e-7)
    total = 0.0
    for i, (X, w) in enumerate(measures):
        T = np.asarray(values[f"T{i}"])
        assert T.shape == (X.shape[0], support.shape[0])
        assert T.min() >= -tol
        np.testing.assert_allclose(T.sum(axis=1), w, atol=1e-7)  # also the dropped source row
        np.testing.assert_allclose(T.sum(axis=0), nu, atol=1e-7)
        total += float((T * _sq(X, support)).sum())
    assert total == pytest.approx(objective, abs=1e-6)


def test_dropped_rows_leave_full_row_rank():
    measures, support = _instance()
    lp = lp16.to_matrices(measures, support)
    sizes = [X.shape[0] for X, _ in measures]
    assert lp.row_blocks == {"source0": (5,), "source1": (3,), "source2": (5,), "target": (3, 7)}
    assert lp.A.shape[0] == sum(sizes) - (len(sizes) - 1) + len(sizes) * support.shape[0]
    assert np.linalg.matrix_rank(lp.A.toarray()) == lp.A.shape[0]


def test_same_optimum_from_every_backend():
    measures, support = _instance()
    ref = _linprog_full(measures, support)
    runs = [
        ("matrices/highs", lp16.to_matrices(measures, support), "highs"),
        ("matrices/glpk", lp16.to_matrices(measures, support), "glpk"),
        ("pyomo/highs", lp16.build_pyomo(measures, support), "highs"),
        ("pyomo/glpk", lp16.build_pyomo(measures, support), "glpk"),
        ("pyomo/cbc", lp16.build_pyomo(measures, support), "cbc"),
        ("cvxpy/highs", lp16.build_cvxpy(measures, support), "highs"),
    ]
    avail = fairopt.available_solvers()
    for name, model, solver in runs:
        if not avail[solver]:
            continue
        res = fairopt.solve(model, solver=solver, require_optimal=True)
        assert res.objective == pytest.approx(ref, abs=1e-6), name
        _check_solution(measures, support, res.values, res.objective, tol=1e-6)


def test_gurobi_matches_highs():
    if not fairopt.available_solvers()["gurobi"]:
        pytest.skip("gurobipy is not installed")
    measures, support = _instance(seed=1)
    lp = lp16.to_matrices(measures, support)
    assert lp.n_vars <= 2000 and lp.n_rows <= 2000  # within the size-limited pip licence
    try:
        res = fairopt.solve(lp, solver="gurobi", require_optimal=True)
    except SolverLicenseError as exc:
        pytest.skip(f"Gurobi licence refused the model: {exc}")
    ref = fairopt.solve(lp, solver="highs", require_optimal=True)
    assert res.objective == pytest.approx(ref.objective, abs=1e-6)


def test_matches_pot_barycenter_on_shared_support():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(9, 2))
    A = rng.random((9, 3)) * (rng.random((9, 3)) < 0.7)  # some zero masses
    A /= A.sum(axis=0)
    measures = [(Y, A[:, i]) for i in range(3)]
    res = fixed_support_barycenter(measures, Y)
    _, log = ot.lp.barycenter(A, ot.dist(Y, Y), log=True)
    # POT minimises the average (weights 1/m) of the transport costs; (16) their sum.
    assert res.cost == pytest.approx(3 * log.fun, abs=1e-6)
    assert res.cost == pytest.approx(_linprog_full(measures, Y), abs=1e-6)


def test_duals_certify_optimality():
    """HiGHS duals of the matrix path: dual feasible and equal objectives (strong duality)."""
    measures, support = _instance(seed=2, sizes=(6, 6, 5, 4), s=9)
    lp = lp16.to_matrices(measures, support)
    res = fairopt.solve(lp, solver="highs", require_optimal=True)
    v = res.duals["target"]  # (m, s)
    dual_obj = 0.0
    for i, (X, w) in enumerate(measures):
        u = np.zeros(X.shape[0])
        kept = res.duals[f"source{i}"]
        u[: kept.size] = kept  # a dropped row has no multiplier
        reduced = _sq(X, support) - u[:, None] - v[i][None, :]
        assert reduced.min() >= -1e-7
        dual_obj += float(u @ w)
    # nu's column: cost 0, coefficient -1 in every target row.
    assert v.sum(axis=0).min() >= -1e-7
    assert dual_obj == pytest.approx(res.objective, abs=1e-7)


def test_public_function_returns_consistent_result():
    measures, support = _instance(seed=4)
    res = fixed_support_barycenter(measures, support, method="direct")
    _check_solution(measures, support, {"nu": res.weights, **{f"T{i}": T for i, T in enumerate(res.plans)}}, res.cost)
    for method in ("pyomo", "cvxpy"):
        other = fixed_support_barycenter(measures, support, method=method)
        assert other.cost == pytest.approx(res.cost, abs=1e-6)


def test_column_generation_reaches_the_direct_optimum():
    from fairopt.datasets import make_measures

    rng = np.random.default_rng(6)
    measures = make_measures(3, 30, d=2, n_components=3, random_state=6)
    support = np.vstack([measures[0][0], rng.normal(scale=3.0, size=(40, 2))])
    direct = fixed_support_barycenter(measures, support, method="direct")
    colgen = fixed_support_barycenter(measures, support, method="colgen")
    assert colgen.status == "optimal" and colgen.info["rounds"] >= 1
    assert colgen.info["columns"] < sum(X.shape[0] for X, _ in measures) * support.shape[0]
    assert colgen.cost == pytest.approx(direct.cost, abs=1e-7)
    _check_solution(measures, support, {"nu": colgen.weights, **{f"T{i}": T for i, T in enumerate(colgen.plans)}},
                    colgen.cost)
    with pytest.raises(ValidationError, match="colgen"):
        fixed_support_barycenter(measures, support, method="colgen", solver="glpk")


def test_single_point_measure_and_export(tmp_path):
    rng = np.random.default_rng(5)
    measures = [(rng.normal(size=(4, 2)), np.full(4, 0.25)), (rng.normal(size=(1, 2)), np.ones(1))]
    support = rng.normal(size=(3, 2))
    lp = lp16.to_matrices(measures, support)
    assert lp.row_blocks["source1"] == (0,)
    costs = [fairopt.solve(b(measures, support), require_optimal=True).objective
             for b in (lp16.to_matrices, lp16.build_pyomo, lp16.build_cvxpy)]
    assert np.ptp(costs) < 1e-7
    path = fairopt.export(lp, tmp_path / "lp16.lp")
    assert "target(1,2)" in open(path).read()


def test_invalid_measures_are_refused():
    measures, support = _instance()
    bad = [(measures[0][0], measures[0][1] * 2)] + measures[1:]
    with pytest.raises(ValidationError, match="sum to"):
        fixed_support_barycenter(bad, support)
    with pytest.raises(ValidationError, match="dimension"):
        fixed_support_barycenter(measures, np.zeros((3, 3)))
    with pytest.raises(ValidationError, match="method"):
        fixed_support_barycenter(measures, support, method="simplex")
    with pytest.raises(ValidationError, match="non-empty list"):
        fixed_support_barycenter([], support)
