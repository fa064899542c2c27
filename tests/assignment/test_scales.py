"""LP (2) at extreme scales: every installed path agrees with an independent LP, or says it cannot.

The independent fact is LP (2)'s homogeneity, OPT(a w, b X, b C) = a b^2 OPT(w, X, C): the
well-scaled instance is solved by scipy's own HiGHS (``linprog``, a different interface and
model than fairopt's), and each path must return a * b^2 times that optimum to 1e-7 relative
(CBC: 1e-6, see the README's solver table) with a feasible assignment, or a status that is
not "optimal". The reproductions of issue 15 (weights 1e-9, 1e20, population counts; centres
at 1e200; coordinates 1e-150 and 1e160) are regression tests here.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairopt
from fairopt.exceptions import SolverStatusError, ValidationError
from fairopt.problem import make_fair_problem
from fairopt.solvers.registry import available_solvers

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
_AVAILABLE = {name for name, ok in available_solvers().items() if ok and name != "gurobi"}
PATHS = [(s, m) for s, m in [("highs", "colgen"), ("highs", "direct"), ("highs", "pyomo"), ("highs", "cvxpy"),
                             ("glpk", "direct"), ("glpk", "pyomo"), ("cbc", "pyomo"), ("clarabel", "cvxpy")]
         if s in _AVAILABLE and (m != "cvxpy" or importlib.util.find_spec("cvxpy"))
         and (m != "pyomo" or importlib.util.find_spec("pyomo"))]
RTOL = {"cbc": 1e-6}


def linprog_lp2(X, C, groups, w, delta):
    """LP (2) through scipy.optimize.linprog, written from the paper (independent of fairopt's models)."""
    prob = make_fair_problem(X, groups, weights=w, delta=delta)
    n, k = X.shape[0], C.shape[0]
    M = prob.groups.membership.toarray()  # (n, m)
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    A_eq = sp.kron(sp.identity(n), np.ones((1, k)))
    rows = []
    for i in range(M.shape[1]):
        for c in range(k):
            # W_i(c) - alpha_i W(c) <= 0 and beta_i W(c) - W_i(c) <= 0, with W(c) = sum_x phi(x, c).
            sel = np.zeros((n, k))
            sel[:, c] = M[:, i] - prob.alpha[i]
            rows.append(sel.ravel())
            sel = np.zeros((n, k))
            sel[:, c] = prob.beta[i] - M[:, i]
            rows.append(sel.ravel())
    res = so.linprog(D.ravel(), A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=A_eq, b_eq=prob.weights,
                     bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


@st.composite
def scaled(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n, k, d = int(rng.integers(6, 14)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    X = rng.standard_normal((n, d))
    G = rng.integers(0, 2, n)
    G[:2] = [0, 1]
    w = rng.uniform(0.5, 2.0, n)
    C = X[rng.choice(n, k, replace=False)] + 0.1 * rng.standard_normal((k, d))
    b = 10.0 ** draw(st.integers(-6, 6))   # coordinates 1e-6 .. 1e6
    a = 10.0 ** draw(st.integers(-9, 9))   # weights 1e-9 .. 1e9
    offset = draw(st.sampled_from([0.0, 5.0]))  # data away from the origin too
    return X, C, G, w, b, a, offset


@pytest.mark.parametrize("solver,method", PATHS)
@SETTINGS
@given(inst=scaled())
def test_paths_agree_at_extreme_scales(solver, method, inst):
    X, C, G, w, b, a, offset = inst
    base = linprog_lp2(X, C, G, w, 0.2)
    res = fairopt.fair_assignment((X + offset) * b, (C + offset) * b, G, delta=0.2, weights=w * a, solver=solver,
                                  method=method, require_optimal=False)
    if res.status != "optimal":  # allowed, but then it says so and never claims optimality
        assert res.status in ("inaccurate", "error", "time_limit", "iteration_limit", "infeasible", "unbounded")
        return
    expected = base * a * b * b
    assert abs(res.objective - expected) <= RTOL.get(solver, 1e-7) * expected
    phi = res.assignment.toarray()
    assert phi.min() >= -1e-9 * a
    np.testing.assert_allclose(phi.sum(axis=1), w * a, rtol=1e-6)
    Dxc = (((X + offset)[:, None, :] - (C + offset)[None, :, :]) ** 2).sum(-1) * b * b
    assert abs((phi * Dxc).sum() - res.objective) <= 1e-6 * expected


def _X_G():
    rng = np.random.default_rng(0)
    return rng.standard_normal((60, 2)), np.repeat([0, 1], 30)


@pytest.mark.parametrize("method", ["colgen", "direct"])
@pytest.mark.parametrize("scale", [1e-9, 1e-10, 1e20])
def test_tiny_and_huge_uniform_weights_scale_the_optimum(method, scale):
    # Issue 15: weights 1e-9 gave "optimal" with objective 0 (HiGHS's primal tolerance), 1e20 an IndexError.
    X, G = _X_G()
    ref = fairopt.fair_assignment(X, X[:5], G, delta=0.1, method="direct").objective
    res = fairopt.fair_assignment(X, X[:5], G, delta=0.1, weights=np.full(60, scale), method=method)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(ref * scale, rel=1e-9)
    np.testing.assert_allclose(res.assignment.sum(axis=1).A1, scale, rtol=1e-9)


def test_population_count_weights_solve_on_the_default_path():
    # Issue 15: U(1e5, 1e7) weights on 200 points were "unbounded" on column generation.
    rng = np.random.default_rng(0)
    X, G = rng.standard_normal((200, 2)), np.repeat([0, 1], 100)
    w = rng.uniform(1e5, 1e7, 200)
    col = fairopt.fair_assignment(X, X[:8], G, delta=0.1, weights=w)
    # An independent solver when one is installed (CI installs GLPK), else HiGHS's dense path.
    other = "glpk" if "glpk" in _AVAILABLE else "highs"
    dense = fairopt.fair_assignment(X, X[:8], G, delta=0.1, weights=w, method="direct", solver=other)
    assert col.status == dense.status == "optimal"
    assert col.objective == pytest.approx(dense.objective, rel=1e-9)


def test_centres_whose_squared_distances_overflow_are_refused():
    X, G = _X_G()
    with pytest.raises(ValidationError, match="overflow"):
        fairopt.fair_assignment(X, X[:3] * 1e200, G, delta=0.1)


@pytest.mark.parametrize("scale", [1e160, 1e152])
def test_fit_refuses_coordinates_whose_squares_overflow(scale):
    X, G = _X_G()
    with pytest.raises(ValidationError, match="overflow"):
        fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X * scale, G)


@pytest.mark.parametrize("flow_solver", ["auto", "highs"])
def test_fit_at_tiny_coordinates_rounds_like_at_unit_scale(flow_solver):
    # Issue 15: coordinates of 1e-150 made the integer flow costs inf ("circulation infeasible").
    X, G = _X_G()
    s = 2.0**-500  # about 3e-151, a power of two: the scaled run is the unit run exactly
    unit = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2, flow_solver=flow_solver).fit(X, G)
    tiny = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2, flow_solver=flow_solver).fit(X * s, G)
    np.testing.assert_array_equal(tiny.labels_, unit.labels_)
    assert tiny.cost_ == pytest.approx(unit.cost_ * s * s, rel=1e-9)
    assert tiny.violation_ <= 2


def test_tiny_weights_keep_the_fractional_cost_below_the_rounded_one():
    # Issue 15: sample_weight 1e-10 gave fractional_cost_ 0.0 < cost_ 9e-9.
    X, G = _X_G()
    unit = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X, G)
    tiny = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X, G, sample_weight=np.full(60, 1e-10))
    assert tiny.fractional_cost_ == pytest.approx(unit.fractional_cost_ * 1e-10, rel=1e-7)


def test_a_wrong_optimum_is_reported_inaccurate(patch_solve):
    # A solver that answers "optimal" with a point that misses the optimum is caught by the certificate.
    X, G = _X_G()
    real = patch_solve(lambda model, **kw: _worse(real(model, **kw)))
    res = fairopt.fair_assignment(X, X[:5], G, delta=0.1, method="direct", require_optimal=False)
    assert res.status == "inaccurate" and "check" in res.info["raw_status"]
    with pytest.raises(SolverStatusError, match="inaccurate"):
        fairopt.fair_assignment(X, X[:5], G, delta=0.1, method="direct")


def _worse(res):
    from fairopt.solvers.result import SolveResult

    return SolveResult(res.status, res.objective * (1 + 1e-4), res.values, res.duals, res.seconds, res.solver, res.raw_status)


def test_nan_points_in_a_pyomo_model_are_refused():
    X, G = _X_G()
    X[3, 1] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        fairopt.models.fair_assignment.build_pyomo(X, X[:3], G, [0.6, 0.6], [0.4, 0.4])


@pytest.mark.parametrize("solver,method", PATHS)
def test_small_one_dimensional_coordinates_are_exact_on_every_path(solver, method):
    # Issue 15: coordinates in [0.01, 0.05] (1-D) gave "optimal" 1e-6 to 3.4e-4 above the optimum
    # on GLPK, CBC, Pyomo/HiGHS, CVXPY/HiGHS and Clarabel.
    rng = np.random.default_rng(3)
    X = rng.uniform(0.01, 0.05, (30, 1))
    G = np.repeat([0, 1], 15)
    C = np.quantile(X, [0.1, 0.4, 0.7, 0.95]).reshape(-1, 1)
    ref = linprog_lp2(X, C, G, np.ones(30), 0.1)
    res = fairopt.fair_assignment(X, C, G, delta=0.1, solver=solver, method=method, require_optimal=False)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(ref, rel=RTOL.get(solver, 1e-7))


def test_solve_never_reports_a_non_finite_optimum():
    pyo = pytest.importorskip("pyomo.environ")
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.cost = pyo.Objective(expr=float("nan") * m.x)
    res = fairopt.solve(m, solver="highs")
    assert res.status != "optimal"


@pytest.mark.parametrize("length, mass", [(2.0**-20, 2.0**30), (2.0**40, 2.0**-30), (2.0**450, 1.0)])
def test_fair_kmeans_is_scale_invariant_end_to_end(length, mass):
    # Powers of two scale exactly: LP (2) costs scaled by mass * length^2, centres by length.
    X, G = _X_G()
    unit = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X, G)
    big = fairopt.FairKMeans(n_clusters=3, random_state=0, n_init=2).fit(X * length, G,
                                                                         sample_weight=np.full(60, mass))
    # LP (2) and everything before the rounding are homogeneous in the weights and the coordinates.
    assert big.fractional_cost_ == pytest.approx(unit.fractional_cost_ * mass * length**2, rel=1e-9)
    np.testing.assert_allclose(big.cluster_centers_, unit.cluster_centers_ * length, rtol=1e-9, atol=1e-12 * length)
    if mass == 1.0:  # the rounding counts points, so only unit masses round the same way
        np.testing.assert_array_equal(big.labels_, unit.labels_)
        assert big.cost_ == pytest.approx(unit.cost_ * length**2, rel=1e-9)


@pytest.mark.parametrize("length", [2.0**-500, 2.0**450])
def test_balanced_kmeans_at_extreme_coordinates(length):
    # Issue 15: BalancedKMeans at 1e160 failed in ot.emd; the flow's integer costs overflowed.
    X, _ = _X_G()
    unit = fairopt.BalancedKMeans(n_clusters=3, random_state=0).fit(X)
    scaled = fairopt.BalancedKMeans(n_clusters=3, random_state=0).fit(X * length)
    np.testing.assert_array_equal(scaled.labels_, unit.labels_)
    assert np.bincount(scaled.labels_).tolist() == [20, 20, 20]


@pytest.mark.parametrize("method", ["auto", "direct", "pyomo", "cvxpy"])
def test_near_exact_proportions_stay_feasible(method):
    # Found by the property suite on a clean clone: delta = 1e-11 leaves alpha_i - beta_i ~ 2e-11, below
    # the direct path's tightened tolerances, and HiGHS's presolve called the feasible LP infeasible.
    X, C = np.zeros((11, 1)), np.zeros((4, 1))
    g = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    fa = fairopt.fair_assignment(X, C, g, delta=1e-11, method=method)
    assert fa.status == "optimal" and fa.objective == pytest.approx(0.0, abs=1e-12)
    W = np.asarray(fa.assignment.sum(axis=0)).ravel()
    W1 = np.asarray(fa.assignment[g == 1].sum(axis=0)).ravel()
    np.testing.assert_allclose(W1, W / 11, atol=1e-7)  # group 1 holds 1/11 of every centre's mass


def test_zero_cost_optimum_is_certified():
    """Every point on (or 1e-67 from) a centre: the optimum costs ~1e-134 and the dual bound 0 is
    as good as it gets; the certificate's relative gap needs the absolute floor of its objective check
    (found by the property tests)."""
    X = np.zeros((4, 1))
    C = np.array([[1.0], [1.33268047e-67]])
    g = np.array([[0, 0], [1, 1], [0, 0], [0, 0]])
    fa = fairopt.fair_assignment(X, C, g, delta=0.0)
    assert fa.status == "optimal"
    assert fa.objective == pytest.approx(4 * 1.33268047e-67**2, rel=1e-6)
    # delta = 0: every used centre's group mix is the data's (attribute 1: group 0 has 3 of 4 points),
    # recomputed with numpy
    phi = fa.assignment.toarray()
    np.testing.assert_allclose(phi.sum(axis=1), 1.0)
    used = phi.sum(axis=0) > 1e-9
    share = phi[g[:, 0] == 0].sum(axis=0)[used] / phi.sum(axis=0)[used]
    np.testing.assert_allclose(share, 0.75, atol=1e-9)
