"""The hub-guided circulation (models/circulation.py).

Every formulation (Pyomo, CVXPY, matrices) and every solver must reach the same optimum; the
returned flows are checked for conservation and bounds with numpy from the arc lists; the
network itself is checked against the definition (phi is a feasible circulation of equal cost).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from fairopt.models import circulation as circ

import fairopt


def _instance(seed=0, n=40, k=3, m=2, delta=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    g = rng.integers(0, m, n)
    C = X[rng.choice(n, k, replace=False)]
    fa = fairopt.fair_assignment(X, C, g, delta=delta, method="direct")
    return X, C, g, m, fa.assignment.toarray()


def _sqdist(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


@pytest.fixture(scope="module")
def network():
    X, C, g, m, phi = _instance()
    return circ.hub_network(phi, (X, C), g, m), phi, X, C, g


def _check_flow(net, flow, tol=1e-7):
    flow = np.asarray(flow, dtype=float).ravel()
    assert flow.shape == (net.n_arcs,)
    inflow = np.bincount(net.head, weights=flow, minlength=net.n_nodes)
    outflow = np.bincount(net.tail, weights=flow, minlength=net.n_nodes)
    assert np.max(np.abs(inflow - outflow)) <= tol
    assert np.all(flow >= net.lower - tol) and np.all(flow <= net.upper + tol)


def test_network_structure_follows_the_definition(network):
    net, phi, X, C, g = network
    n, k, m = net.n_points, net.n_centres, net.n_groups
    kinds = net.node_kinds
    s = net.arc_slices
    assert list(kinds[net.tail[s["supply"]]]) == ["source"] * n and list(kinds[net.head[s["supply"]]]) == ["point"] * n
    assert set(kinds[net.tail[s["assign"]]]) == {"point"} and set(kinds[net.head[s["assign"]]]) == {"hub"}
    # x in P_i goes to hub c^i only: node 1 + n + c*m + i.
    x, c = net.arc_point, net.arc_centre
    assert np.array_equal(net.tail[s["assign"]], 1 + x)
    assert np.array_equal(net.head[s["assign"]], 1 + n + c * m + g[x])
    # Support arcs are exactly the positive entries of phi, with squared distances as cost.
    assert set(zip(x.tolist(), c.tolist())) == set(zip(*np.nonzero(phi > 0)))
    assert np.allclose(net.cost[s["assign"]], _sqdist(X, C)[x, c])
    # Hub and centre bounds are floor/ceil of W_i(c) and W(c) computed here.
    Wi = np.array([[phi[g == i, cc].sum() for i in range(m)] for cc in range(k)])
    W = phi.sum(axis=0)
    assert np.array_equal(net.lower[s["hub"]], np.floor(Wi.ravel() + 1e-6))
    assert np.array_equal(net.upper[s["hub"]], np.ceil(Wi.ravel() - 1e-6))
    assert np.array_equal(net.lower[s["centre"]], np.floor(W + 1e-6))
    assert np.array_equal(net.upper[s["centre"]], np.ceil(W - 1e-6))
    assert net.lower[s["return"]][0] == net.upper[s["return"]][0] == n
    assert len(net.node_names()) == net.n_nodes


def test_phi_is_a_feasible_circulation_of_the_same_cost(network):
    net, phi, X, C, g = network
    s = net.arc_slices
    flow = np.zeros(net.n_arcs)
    flow[s["supply"]] = 1.0
    flow[s["assign"]] = phi[net.arc_point, net.arc_centre]
    flow[s["hub"]] = np.array([[phi[g == i, c].sum() for i in range(net.n_groups)] for c in range(net.n_centres)]).ravel()
    flow[s["centre"]] = phi.sum(axis=0)
    flow[s["return"]] = net.n_points
    _check_flow(net, flow, tol=1e-6)
    assert net.cost @ flow == pytest.approx((phi * _sqdist(X, C)).sum(), rel=1e-12)


def _solvers():
    avail = fairopt.available_solvers()
    return [s for s in ("highs", "glpk", "cbc") if avail[s]]


@pytest.mark.parametrize("solver", ["highs", "glpk", "cbc"])
def test_pyomo_solvers_agree_with_matrices(network, solver):
    net, phi, X, C, g = network
    if solver not in _solvers():
        pytest.skip(f"{solver} is not installed here")
    ref = fairopt.solve(circ.to_matrices(net), solver="highs", require_optimal=True)
    res = fairopt.solve(circ.build_pyomo(net), solver=solver, require_optimal=True)
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    _check_flow(net, res.values["flow"])
    assert net.cost @ res.values["flow"] == pytest.approx(res.objective, rel=1e-9)


def test_cvxpy_and_matrices_same_optimum_and_integral(network):
    net, phi, X, C, g = network
    ref = fairopt.solve(circ.to_matrices(net), solver="highs", require_optimal=True)
    res = fairopt.solve(circ.build_cvxpy(net), solver="highs", require_optimal=True)
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    for r in (ref, res):
        _check_flow(net, r.values["flow"])
    # The simplex returns a vertex, and the circulation polytope is integral.
    f = ref.values["flow"]
    assert np.max(np.abs(f - np.rint(f))) < 1e-7
    # The optimum is no more than the cost of phi (phi is feasible).
    assert ref.objective <= (phi * _sqdist(X, C)).sum() * (1 + 1e-9)
    labels = net.labels(f)
    assert net.cost[net.arc_slices["assign"]] @ np.rint(f[net.arc_slices["assign"]]) == pytest.approx(
        _sqdist(X, C)[np.arange(net.n_points), labels].sum(), rel=1e-12)


def test_gurobi_same_optimum_when_small_enough(network):
    net, phi, X, C, g = network
    if not fairopt.available_solvers()["gurobi"]:
        pytest.skip("gurobipy is not installed")
    lp = circ.to_matrices(net)
    if lp.n_vars > 2000 or lp.n_rows > 2000:
        pytest.skip(f"{lp.n_vars} variables / {lp.n_rows} rows exceed the pip licence (2000)")
    ref = fairopt.solve(lp, solver="highs", require_optimal=True)
    res = fairopt.solve(lp, solver="gurobi", require_optimal=True)
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    _check_flow(net, res.values["flow"])


def test_all_arcs_never_worse_than_support():
    X, C, g, m, phi = _instance(seed=3, n=30, k=4, m=3, delta=0.2)
    sup = fairopt.solve(circ.to_matrices(circ.hub_network(phi, (X, C), g, m)), require_optimal=True)
    full_net = circ.hub_network(phi, _sqdist(X, C), g, m, arcs="all")
    assert full_net.arc_slices["assign"].stop - full_net.arc_slices["assign"].start == 30 * 4
    full = fairopt.solve(circ.to_matrices(full_net), require_optimal=True)
    assert full.objective <= sup.objective + 1e-9
    # The callable cost form gives the same network costs.
    D = _sqdist(X, C)
    call_net = circ.hub_network(phi, lambda r, c: D[r, c], g, m, arcs="all")
    assert np.allclose(call_net.cost, full_net.cost)


def test_tolerance_snaps_nearly_integral_masses():
    # Three points of group 0 on centre 0 with masses 1 - 1e-8 each: W = 2.99999997 counts as 3.
    phi = np.array([[1 - 1e-8, 1e-8], [1 - 1e-8, 1e-8], [1 - 1e-8, 1e-8], [0.0, 1.0]])
    g = np.array([0, 0, 0, 1])
    net = circ.hub_network(phi, np.zeros((4, 2)), g, 2)
    s = net.arc_slices["centre"]
    assert list(net.lower[s]) == [3.0, 1.0] and list(net.upper[s]) == [3.0, 1.0]
    loose = circ.hub_network(phi, np.zeros((4, 2)), g, 2, tol=0.0)
    assert list(loose.lower[s]) == [2.0, 1.0] and list(loose.upper[s]) == [3.0, 2.0]


def test_integer_weights_give_weighted_supplies():
    X, C, g, m, phi = _instance(seed=5, n=20, k=2)
    w = np.arange(1, 21, dtype=float)
    net = circ.hub_network(phi * w[:, None], (X, C), g, m, weights=w)
    s = net.arc_slices
    assert np.array_equal(net.lower[s["supply"]], w) and np.array_equal(net.upper[s["assign"]], w[net.arc_point])
    res = fairopt.solve(circ.to_matrices(net), require_optimal=True)
    _check_flow(net, res.values["flow"])
    assert res.objective <= ((phi * w[:, None]) * _sqdist(X, C)).sum() * (1 + 1e-9)


def test_incidence_matches_arc_lists(network):
    net = network[0]
    B = net.incidence()
    assert sp.issparse(B) and B.shape == (net.n_nodes, net.n_arcs)
    dense = B.toarray()
    assert np.all(dense[net.head, np.arange(net.n_arcs)] == 1) and np.all(dense[net.tail, np.arange(net.n_arcs)] == -1)
    assert np.all(np.abs(dense).sum(axis=0) == 2)
