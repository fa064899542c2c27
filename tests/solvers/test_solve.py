"""fairopt.solvers.core: one interface over Pyomo, CVXPY and LPMatrices.

Facts checked: every backend/solver pair reaches the same optimum of LP (2); returned duals are
an optimal dual solution in the documented sign convention (d objective / d rhs); returned
points satisfy the model when recomputed with numpy; limits and missing solvers are reported.
"""
from __future__ import annotations

import importlib
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.exceptions import (
    SolverLicenseError,
    SolverNotAvailableError,
    SolverStatusError,
    ValidationError,
)
from fairopt.problem import make_fair_problem
from fairopt.solvers.matrices import LPMatrices

solve_mod = importlib.import_module("fairopt.solvers.core")
registry = importlib.import_module("fairopt.solvers.registry")
AVAILABLE = fairopt.available_solvers()
GUROBI_LIMIT = 2000  # the size-limited pip licence: variables and constraints

# (modelling path, solver): every combination the brief asks to agree.
PAIRS = [
    ("pyomo", "highs"), ("pyomo", "glpk"), ("pyomo", "cbc"), ("pyomo", "gurobi"),
    ("cvxpy", "highs"), ("cvxpy", "clarabel"), ("cvxpy", "gurobi"),
    ("matrix", "highs"), ("matrix", "glpk"), ("matrix", "cbc"), ("matrix", "gurobi"),
]


def make_instance(seed, n=14, k=4, overlapping=False, weighted=False, delta=0.05):
    """Random 2-D points whose groups follow position, so the fairness rows bind."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    g1 = (X[:, 0] > 0.2).astype(int)
    groups = np.column_stack([g1, (X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)]) if overlapping else g1
    C = X[rng.choice(n, k, replace=False)] + 0.1 * rng.normal(size=(k, 2))
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None
    P = make_fair_problem(X, groups, weights=w, delta=delta)
    return P, C


def lp2_args(P, C):
    return (P.points, C, P.groups, P.alpha, P.beta, P.weights)


def build(path, P, C):
    return {"pyomo": lp2.build_pyomo, "cvxpy": lp2.build_cvxpy, "matrix": lp2.to_matrices}[path](*lp2_args(P, C))


def require(solver):
    if not AVAILABLE.get(solver):
        pytest.skip(f"solver {solver!r} is not installed here")


def require_gurobi_fits(M: LPMatrices):
    if M.n_vars > GUROBI_LIMIT or M.n_rows > GUROBI_LIMIT:
        pytest.skip(
            f"LP has {M.n_vars} variables and {M.n_rows} rows: over the Gurobi pip licence limit "
            f"of {GUROBI_LIMIT} each"
        )


def assert_lp2_feasible(P, C, phi, W=None, tol=1e-6):
    """Every constraint of LP (2) recomputed from the returned phi (not from the solver)."""
    phi = np.asarray(phi, dtype=float)
    n, k = phi.shape
    assert phi.shape == (P.n, C.shape[0])
    assert phi.min() >= -tol
    np.testing.assert_allclose(phi.sum(axis=1), P.weights, atol=tol)
    Wc = phi.sum(axis=0)
    if W is not None:
        np.testing.assert_allclose(np.asarray(W, dtype=float), Wc, atol=tol)
    M = P.groups.membership.toarray()  # (n, m)
    Wi = M.T @ phi  # (m, k)
    assert np.all(Wi <= P.alpha[:, None] * Wc[None, :] + tol)
    assert np.all(Wi >= P.beta[:, None] * Wc[None, :] - tol)


def cost(P, C, phi):
    D = ((P.points[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    return float((D * np.asarray(phi)).sum())


# ---------------------------------------------------------------- LP (2) across solvers


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("path,solver", PAIRS)
def test_lp2_same_optimum_every_solver(path, solver, seed):
    require(solver)
    P, C = make_instance(seed, overlapping=(seed == 1), weighted=(seed == 1))
    ref = fairopt.solve(lp2.to_matrices(*lp2_args(P, C)), solver="highs", require_optimal=True)
    if solver == "gurobi":
        require_gurobi_fits(lp2.to_matrices(*lp2_args(P, C)))
    res = fairopt.solve(build(path, P, C), solver=solver, require_optimal=True)
    assert res.status == "optimal" and res.solver == solver
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
    # The returned point is feasible and its cost is the reported objective.
    assert_lp2_feasible(P, C, res.values["phi"], res.values["W"])
    assert cost(P, C, res.values["phi"]) == pytest.approx(res.objective, rel=1e-6)


def test_gurobi_skip_reason_over_limit():
    P, C = make_instance(0, n=60, k=40)
    M = lp2.to_matrices(*lp2_args(P, C))
    with pytest.raises(pytest.skip.Exception, match="over the Gurobi pip licence limit"):
        require_gurobi_fits(M)


def test_fairness_binds_in_test_instances():
    """The instances above are not trivially unconstrained: fairness changes the optimum."""
    P, C = make_instance(0)
    fair = fairopt.solve(lp2.to_matrices(*lp2_args(P, C))).objective
    free = fairopt.solve(lp2.to_matrices(P.points, C, P.groups, 1.0, 0.0, P.weights)).objective
    D = ((P.points[:, None, :] - C[None]) ** 2).sum(axis=2)
    assert free == pytest.approx(float((P.weights * D.min(axis=1)).sum()), rel=1e-9)  # nearest centre
    assert fair > free * (1 + 1e-6)


# ---------------------------------------------------------------- duals


def stacked_duals(M: LPMatrices, duals: dict) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(duals[nm], dtype=float)) for nm in M.row_blocks])


def assert_optimal_dual(M: LPMatrices, y: np.ndarray, objective: float, tol=1e-6):
    """y = d objective / d rhs is an optimal dual of min c x, lo <= A x <= up, x >= 0."""
    assert np.all(np.isfinite(y))
    assert np.all(M.col_lower == 0) and np.all(np.isinf(M.col_upper))
    # A row's dual may only be positive if it has a lower side, negative if it has an upper side.
    assert np.all(y[np.isinf(M.row_lower)] <= tol) and np.all(y[np.isinf(M.row_upper)] >= -tol)
    rhs = np.where(y > 0, M.row_lower, M.row_upper)
    rhs = np.where(y == 0, 0.0, rhs)
    scale = 1.0 + abs(objective)
    assert float(rhs @ y) + M.offset == pytest.approx(objective, abs=tol * scale)  # strong duality
    reduced = M.c - M.A.T @ y
    assert reduced.min() >= -tol * scale  # dual feasibility for x >= 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("path,solver", [
    ("matrix", "highs"), ("pyomo", "highs"), ("cvxpy", "highs"),
    ("matrix", "glpk"), ("pyomo", "glpk"), ("pyomo", "cbc"), ("matrix", "gurobi"), ("cvxpy", "clarabel"),
])
def test_lp2_duals_certify_optimum(path, solver, seed):
    require(solver)
    P, C = make_instance(seed, overlapping=(seed == 2), weighted=(seed > 0))
    M = lp2.to_matrices(*lp2_args(P, C))
    if solver == "gurobi":
        require_gurobi_fits(M)
    res = fairopt.solve(build(path, P, C), solver=solver, require_optimal=True)
    y = stacked_duals(M, res.duals)
    assert_optimal_dual(M, y, res.objective, tol=1e-5 if solver == "clarabel" else 1e-7)
    # The documented sign: fair_upper (<= rows) <= 0, fair_lower (>= rows) >= 0.
    d = M.split_rows(y)
    assert d["fair_upper"].max() <= 1e-7 and d["fair_lower"].min() >= -1e-7
    # LP (2)'s only nonzero right-hand sides are the masses: objective = w . y_mass.
    assert float(P.weights @ d["mass"]) == pytest.approx(res.objective, rel=1e-5)


def tiny_lp(lower, upper, c=(1.0, 2.0)):
    """min c x  s.t.  lower <= x0 + x1 <= upper,  0 <= x0 <= 1,  x1 >= 0."""
    return LPMatrices(
        c=np.array(c, dtype=float), A=sp.csr_matrix(np.array([[1.0, 1.0]])),
        row_lower=np.array([lower], dtype=float), row_upper=np.array([upper], dtype=float),
        col_lower=np.zeros(2), col_upper=np.array([1.0, np.inf]),
        var_blocks={"x": (2,)}, row_blocks={"r": (1,)}, name="tiny",
    )


@pytest.mark.parametrize("solver", ["highs", "glpk", "cbc", "gurobi"])
@pytest.mark.parametrize("lower,upper,c,obj,dual", [
    (3.0, np.inf, (1.0, 2.0), 5.0, 2.0),       # binding >= row: raising rhs costs 2 per unit
    (3.0, 7.0, (1.0, 2.0), 5.0, 2.0),          # ranged row, lower side binding
    (-np.inf, 4.0, (-1.0, -3.0), -12.0, -3.0),  # binding <= row of a minimisation: dual <= 0
    (3.0, 3.0, (1.0, 2.0), 5.0, 2.0),          # equality
])
def test_unique_dual_sign_convention(solver, lower, upper, c, obj, dual):
    require(solver)
    res = fairopt.solve(tiny_lp(lower, upper, c), solver=solver, require_optimal=True)
    assert res.objective == pytest.approx(obj)
    assert res.duals["r"][0] == pytest.approx(dual)


@pytest.mark.parametrize("solver", ["highs", "clarabel"])
def test_cvxpy_unique_dual_both_orientations(solver):
    """A constraint written `expr >= b` or `b <= expr` gets the same d objective / d rhs."""
    cp = pytest.importorskip("cvxpy")
    require(solver)
    for flip in (False, True):
        x = cp.Variable(2, nonneg=True)
        con = (3 <= cp.sum(x)) if flip else (cp.sum(x) >= 3)
        con.label = "r"
        prob = cp.Problem(cp.Minimize(x[0] + 2 * x[1]), [con, x[0] <= 1])
        res = fairopt.solve(prob, solver=solver, require_optimal=True)
        assert res.objective == pytest.approx(5.0, rel=1e-6)
        assert res.duals["r"] == pytest.approx(2.0, rel=1e-5)


# ---------------------------------------------------------------- generic matrices


@pytest.mark.parametrize("solver", ["highs", "glpk", "cbc", "gurobi"])
def test_infeasible_and_unbounded_statuses(solver):
    require(solver)
    infeasible = tiny_lp(3.0, np.inf)
    infeasible = LPMatrices(infeasible.c, infeasible.A, infeasible.row_lower, infeasible.row_upper,
                            infeasible.col_lower, np.array([1.0, 1.0]))
    res = fairopt.solve(infeasible, solver=solver)
    assert res.status == "infeasible" and res.objective is None and not res.optimal
    with pytest.raises(SolverStatusError) as info:
        fairopt.solve(infeasible, solver=solver, require_optimal=True)
    assert info.value.status == "infeasible"
    res = fairopt.solve(tiny_lp(3.0, np.inf, c=(1.0, -1.0)), solver=solver)
    assert res.status in ("unbounded", "infeasible_or_unbounded") and res.objective is None


@pytest.mark.parametrize("solver", ["highs", "glpk", "cbc"])
def test_matrices_without_blocks_and_with_empty_rows(solver):
    require(solver)
    lp = LPMatrices(
        c=np.array([1.0, 1.0, 0.0]),
        A=sp.csr_matrix(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])),
        row_lower=np.array([2.0, -1.0]), row_upper=np.array([np.inf, 1.0]),
        col_lower=np.array([0.0, 0.0, 0.5]), col_upper=np.array([np.inf, np.inf, 2.0]),
    )
    res = fairopt.solve(lp, solver=solver, require_optimal=True)
    assert res.objective == pytest.approx(1.0)
    x = res.values["x"]
    assert x.shape == (3,) and lp.check(x) <= 1e-9
    assert res.duals["row"].shape == (2,) and res.duals["row"][1] == 0.0


def test_matrices_validation_errors():
    good = tiny_lp(3.0, np.inf)
    with pytest.raises(ValidationError, match="c contains NaN"):
        fairopt.solve(LPMatrices(np.array([np.nan, 1.0]), good.A, good.row_lower, good.row_upper, good.col_lower, good.col_upper))
    with pytest.raises(ValidationError, match=r"row_lower must have shape \(1,\)"):
        fairopt.solve(LPMatrices(good.c, good.A, np.zeros(2), good.row_upper, good.col_lower, good.col_upper))
    with pytest.raises(ValidationError, match="col_lower > col_upper"):
        fairopt.solve(LPMatrices(good.c, good.A, good.row_lower, good.row_upper, np.array([2.0, 0.0]), good.col_upper))
    with pytest.raises(ValidationError, match="var_blocks cover 3"):
        fairopt.solve(LPMatrices(good.c, good.A, good.row_lower, good.row_upper, good.col_lower, good.col_upper,
                                 var_blocks={"x": (3,)}))


# ---------------------------------------------------------------- solver errors


def test_unknown_solver_lists_known_ones():
    with pytest.raises(SolverNotAvailableError) as info:
        fairopt.solve(tiny_lp(3.0, np.inf), solver="cplexx")
    for name in ("highs", "glpk", "cbc", "gurobi", "clarabel"):
        assert name in str(info.value)


def test_solver_not_installed_says_how(monkeypatch):
    # glpsol disappears from PATH: both the availability table and the error follow.
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "glpsol" else real_which(cmd, *a, **k))
    assert fairopt.available_solvers()["glpk"] is False
    with pytest.raises(SolverNotAvailableError, match="apt-get install glpk-utils"):
        fairopt.solve(tiny_lp(3.0, np.inf), solver="glpk")


def test_solver_not_installed_via_table(monkeypatch):
    table = dict(AVAILABLE, cbc=False)
    monkeypatch.setattr(registry, "available_solvers", lambda: table)
    with pytest.raises(SolverNotAvailableError, match="install it with: apt-get install coinor-cbc"):
        fairopt.solve(tiny_lp(3.0, np.inf), solver="cbc")


def test_clarabel_only_for_cvxpy():
    require("clarabel")
    P, C = make_instance(0)
    for path in ("pyomo", "matrix"):
        with pytest.raises(SolverNotAvailableError, match="CVXPY problems only"):
            fairopt.solve(build(path, P, C), solver="clarabel")


def test_cvxpy_without_glpk_interface_says_how():
    cp = pytest.importorskip("cvxpy")
    require("glpk")
    if "GLPK" in cp.installed_solvers():
        pytest.skip("this CVXPY has a GLPK interface")
    P, C = make_instance(0)
    with pytest.raises(SolverNotAvailableError, match="pip install cvxopt"):
        fairopt.solve(build("cvxpy", P, C), solver="glpk")


@pytest.mark.parametrize("path", ["matrix", "pyomo", "cvxpy"])
def test_gurobi_size_limit_is_a_licence_error(path):
    pytest.importorskip("gurobipy")
    if registry.gurobi_size_limit() is None:
        pytest.skip("this Gurobi licence has no size limit")
    P, C = make_instance(0, n=60, k=40)  # 2440 variables
    with pytest.raises(SolverLicenseError, match="2000 variables"):
        fairopt.solve(build(path, P, C), solver="gurobi")


def test_bad_arguments():
    lp = tiny_lp(3.0, np.inf)
    for bad in (0, -1.0, "10", True):
        with pytest.raises(ValidationError, match="time_limit"):
            fairopt.solve(lp, time_limit=bad)
    with pytest.raises(ValidationError, match="threads"):
        fairopt.solve(lp, threads=0)
    with pytest.raises(ValidationError, match="no_such_option"):
        fairopt.solve(lp, options={"no_such_option": 1})
    with pytest.raises(ValidationError, match="takes a Pyomo ConcreteModel"):
        fairopt.solve(object())


# ---------------------------------------------------------------- limits


@pytest.fixture(scope="module")
def medium():
    P, C = make_instance(5, n=400, k=60)
    return P, C


def test_time_limit_status_matrices(medium):
    P, C = medium
    M = lp2.to_matrices(*lp2_args(P, C))
    # A limit far below what any machine needs for 24 000 columns; presolve off so that it
    # cannot finish the LP before the first check of the clock.
    res = fairopt.solve(M, time_limit=1e-6, options={"presolve": "off"})
    assert res.status == "time_limit" and not res.optimal
    if res.values:  # a point under a limit must still be feasible
        assert M.check(np.concatenate([res.values["phi"].ravel(), res.values["W"]])) <= 1e-6
    with pytest.raises(SolverStatusError) as info:
        fairopt.solve(M, time_limit=1e-6, options={"presolve": "off"}, require_optimal=True)
    assert info.value.status == "time_limit" and info.value.result.status == "time_limit"
    assert "time_limit" in str(info.value)


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
@pytest.mark.parametrize("path", ["pyomo", "cvxpy"])
def test_time_limit_status_models(medium, path):
    P, C = medium
    opts = {"presolve": "off"}
    res = fairopt.solve(build(path, P, C), solver="highs", time_limit=1e-6, options=opts)
    assert res.status == "time_limit"
    if res.values:  # never an infeasible iterate
        assert_lp2_feasible(P, C, res.values["phi"], tol=1e-6)
    else:
        assert res.objective is None


def test_fair_assignment_time_limit(medium):
    P, C = medium
    with pytest.raises(SolverStatusError) as info:
        fairopt.fair_assignment(P.points, C, P.groups, alpha=P.alpha, beta=P.beta, method="direct", time_limit=1e-6)
    assert info.value.status == "time_limit"
    out = fairopt.fair_assignment(P.points, C, P.groups, alpha=P.alpha, beta=P.beta, method="direct",
                                  time_limit=1e-6, require_optimal=False)
    assert out.status == "time_limit"


def test_quiet_unless_verbose():
    """verbose=False prints nothing, not even HiGHS' banner on its first use in a process."""
    import subprocess
    import sys

    code = (
        "import numpy as np, fairopt, cvxpy as cp\n"
        "from fairopt.models import fair_assignment as lp2\n"
        "X = np.arange(12.0).reshape(6, 2); g = [0, 1] * 3\n"
        "for build in (lp2.build_cvxpy, lp2.to_matrices):\n"
        "    fairopt.solve(build(X, X[:2], g, 0.8, 0.2), solver='highs', require_optimal=True)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""


def test_direct_highs_survives_huge_costs():
    """Unscaled data (creditcard) gives squared distances near 1e12, where plain HiGHS reports
    "Solve error"; the direct path rescales the objective by a power of two and back."""
    from fairopt.models import fair_assignment as lp2

    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    C = X[rng.choice(40, 12, replace=False)] + 0.1
    g = rng.integers(0, 3, size=40)
    alpha, beta = np.full(3, 0.6), np.full(3, 0.2)
    small = fairopt.solve(lp2.to_matrices(X, C, g, alpha, beta), "highs", require_optimal=True)
    big = fairopt.solve(lp2.to_matrices(X * 1e6, C * 1e6, g, alpha, beta), "highs", require_optimal=True)
    assert big.objective == pytest.approx(small.objective * 1e12, rel=1e-7)
    # strong duality with the unscaled duals: only the mass rows (rhs = 1) have a nonzero rhs
    assert float(big.duals["mass"].sum()) == pytest.approx(big.objective, rel=1e-6)
