"""Integral min-cost flow on arc arrays: the one entry point of the rounding and BalLOT's transport.

    minimise    sum_a cost[a] * f[a]
    subject to  lower[a] <= f[a] <= upper[a]                      (integral bounds)
                sum_{a out of v} f[a] - sum_{a into v} f[a] = supply[v]   for every node v

With integral bounds and supplies the polytope is integral, so every solver below returns
an integral optimum (Ahuja, Magnanti, Orlin, *Network Flows*, Theorem 9.10).

Solvers (``solver=``):

* ``"ortools"``: OR-Tools' cost-scaling push-relabel (``SimpleMinCostFlow``) on integer
  costs; the fastest at scale (benchmarks/bench_rounding.py), optional extra ``fairopt[flow]``.
* ``"highs"``: the dual simplex of HiGHS on the node-arc LP; a vertex is integral. Exact in
  floating point, used when OR-Tools is missing or its integer costs would lose the optimum.
* ``"networkx"``: network simplex in pure Python; a reference, slow at scale.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import SolverNotAvailableError, ValidationError
from fairopt.solvers.highs import highs_lp, highs_status, new_highs
from fairopt.solvers.matrices import LPMatrices

__all__ = ["FLOW_SOLVERS", "DEFAULT_FLOW_SOLVER", "default_flow_solver", "min_cost_flow", "integer_costs"]

FLOW_SOLVERS = ("ortools", "highs", "networkx")
DEFAULT_FLOW_SOLVER = "ortools"
#: Integer costs for the combinatorial solvers: the largest arc cost becomes at most COST_RANGE,
#: so the integer optimum is within (total flow) * max_cost / COST_RANGE of the true one.
COST_RANGE = 2**40


def default_flow_solver() -> str:
    """``"ortools"`` when OR-Tools is installed, else ``"highs"``."""
    return DEFAULT_FLOW_SOLVER if importlib.util.find_spec("ortools") is not None else "highs"


def integer_costs(cost: np.ndarray, n_nodes: int, max_flow: int) -> np.ndarray | None:
    """Costs scaled to int64 over the widest range OR-Tools' cost scaling cannot overflow.

    OR-Tools multiplies costs by (V + 1) and sums them along flows, so the scaled costs must
    satisfy max_cost * (V + 1) * max_flow < 2**62. Returns None when the costs are not finite
    (then only the floating-point HiGHS path can solve the problem).
    """
    cost = np.asarray(cost, dtype=np.float64)
    top = float(np.max(np.abs(cost), initial=0.0))
    if not np.isfinite(top):
        return None
    span = min(COST_RANGE, (2**62) // ((int(n_nodes) + 1) * max(1, int(max_flow))))
    if top == 0 or span < 1:
        return np.zeros(cost.shape, dtype=np.int64) if top == 0 else None
    # cost * 2**e with 2**e <= span / top, by exponents: span / top itself overflows for costs
    # of 1e-300 (coordinates of 1e-150) and would turn every cost into inf or nan.
    e = int(np.floor(np.log2(span))) - int(np.frexp(top)[1])
    return np.rint(np.ldexp(cost, e)).astype(np.int64)


def _without_lower_bounds(tail, head, lower, upper, supply, n_nodes):
    """f = lower + f' with 0 <= f' <= upper - lower; supplies absorb the lower bounds."""
    lo = np.rint(lower).astype(np.int64)
    cap = np.rint(upper).astype(np.int64) - lo
    moved = np.bincount(head, weights=lo, minlength=n_nodes) - np.bincount(tail, weights=lo, minlength=n_nodes)
    return lo, cap, np.rint(np.asarray(supply, dtype=np.float64) + moved).astype(np.int64)


def _flow_ortools(tail, head, lower, upper, cost, supply, n_nodes):
    try:
        from ortools.graph.python import (
            min_cost_flow as mcf,  # optional dependency (fairopt[flow])
        )
    except ImportError:
        raise SolverNotAvailableError("flow solver 'ortools' needs OR-Tools: pip install 'fairopt[flow]' "
                                      "(or pip install ortools)") from None
    lo, cap, sup = _without_lower_bounds(tail, head, lower, upper, supply, n_nodes)
    keep = np.flatnonzero(cap > 0)  # fixed arcs carry no free flow
    ic = integer_costs(cost, n_nodes, int(cap.max(initial=1)))
    if ic is None:
        return _FALLBACK
    smcf = mcf.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tail[keep], head[keep], cap[keep], ic[keep])
    smcf.set_nodes_supplies(np.arange(n_nodes), sup)
    st = smcf.solve()
    if st != smcf.OPTIMAL:
        # Only a proven infeasibility is an answer; a cost-range or internal failure goes to HiGHS.
        return None if st in (smcf.INFEASIBLE, smcf.UNBALANCED) else _FALLBACK
    flow = lo.astype(np.float64)
    flow[keep] += smcf.flows(arcs)
    return flow


def _flow_networkx(tail, head, lower, upper, cost, supply, n_nodes):
    import networkx as nx

    lo, cap, sup = _without_lower_bounds(tail, head, lower, upper, supply, n_nodes)
    keep = np.flatnonzero(cap > 0)
    ic = integer_costs(cost, n_nodes, int(cap.max(initial=1)))  # network simplex is exact on integers only
    if ic is None:
        return _FALLBACK
    G = nx.DiGraph()
    # networkx's demand is inflow - outflow: the negative of the supply.
    G.add_nodes_from((v, {"demand": -int(s)}) for v, s in enumerate(sup.tolist()))
    G.add_edges_from(
        (t, h, {"capacity": c, "weight": w})
        for t, h, c, w in zip(tail[keep].tolist(), head[keep].tolist(), cap[keep].tolist(), ic[keep].tolist())
    )
    try:
        _, flow_dict = nx.network_simplex(G)
    except nx.NetworkXUnfeasible:
        return None
    flow = lo.astype(np.float64)
    flow[keep] += [flow_dict[t][h] for t, h in zip(tail[keep].tolist(), head[keep].tolist())]
    return flow


def _flow_highs(tail, head, lower, upper, cost, supply, n_nodes):
    m = tail.size
    arcs = np.arange(m)
    # Node-arc incidence: +1 where the arc leaves the node, -1 where it enters.
    A = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head], np.r_[arcs, arcs])), shape=(n_nodes, m))
    top = float(np.max(np.abs(cost), initial=0.0))
    # Costs in [-1, 1] for the tolerances, by a power of two (1 / top overflows for top < 1e-308).
    scale = float(np.ldexp(1.0, -int(np.frexp(top)[1]))) if np.isfinite(top) and top > 0 else 1.0
    b = np.asarray(supply, dtype=np.float64)
    lp = LPMatrices(c=np.asarray(cost, dtype=np.float64) * scale, A=A, row_lower=b, row_upper=b,
                    col_lower=np.asarray(lower, dtype=np.float64), col_upper=np.asarray(upper, dtype=np.float64),
                    var_blocks={"flow": (m,)}, row_blocks={"conservation": (n_nodes,)}, name="min_cost_flow")
    # The dual simplex returns a vertex, integral here; tight tolerances keep it within 1e-9 of exact.
    h = new_highs(options={"solver": "simplex", "dual_feasibility_tolerance": 1e-10,
                           "primal_feasibility_tolerance": 1e-9})
    import highspy  # core dependency; loaded on first use like every HiGHS call

    if h.passModel(highs_lp(lp)) == highspy.HighsStatus.kError:
        raise ValidationError("HiGHS rejected the min-cost flow (non-finite costs or bounds)")
    h.run()
    if highs_status(h)[0] != "optimal":
        return None
    x = np.asarray(h.getSolution().col_value)
    flow = np.rint(x)
    if np.max(np.abs(x - flow), initial=0.0) > 1e-6:
        raise RuntimeError("HiGHS returned a non-vertex flow; this should not happen with the simplex")
    return flow


#: A combinatorial solver's answer "my integer costs cannot represent this": min_cost_flow retries on HiGHS.
_FALLBACK = "fallback"

_SOLVERS = {"ortools": _flow_ortools, "highs": _flow_highs, "networkx": _flow_networkx}


def min_cost_flow(tail, head, lower, upper, cost, supply, n_nodes: int, solver: str = "auto") -> np.ndarray | None:
    """An optimal integral flow, or None when the problem is infeasible.

    Parameters
    ----------
    tail, head : ndarray of shape (m,), int
        Arc a goes from node ``tail[a]`` to node ``head[a]``.
    lower, upper : ndarray of shape (m,)
        Integral arc bounds.
    cost : ndarray of shape (m,)
        Cost per unit of flow (any real; scaled to integers for OR-Tools and networkx).
    supply : ndarray of shape (n_nodes,)
        Outflow minus inflow required at each node (integral, summing to 0).
    n_nodes : int
    solver : {"auto", "ortools", "highs", "networkx"}
        ``"auto"``: :func:`default_flow_solver`. When a combinatorial solver cannot represent
        the costs as integers (non-finite, or a cost range OR-Tools reports as too wide), the
        same flow is solved by HiGHS on the floating-point costs instead.

    Returns
    -------
    flow : ndarray of shape (m,), float64 with integral values, or None
    """
    if solver == "auto":
        solver = default_flow_solver()
    if solver not in _SOLVERS:
        raise ValidationError(f"flow_solver must be 'auto' or one of {FLOW_SOLVERS}; got {solver!r}")
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    args = (tail, head, np.asarray(lower), np.asarray(upper), np.asarray(cost, dtype=np.float64), np.asarray(supply),
            int(n_nodes))
    flow = _SOLVERS[solver](*args)
    if isinstance(flow, str):  # _FALLBACK: HiGHS works on the floating-point costs themselves
        flow = _flow_highs(*args)
    return flow
