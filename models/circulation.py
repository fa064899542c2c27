"""The hub-guided min-cost circulation that rounds LP (2) for disjoint groups.

Given a fractional fair assignment phi (n, k) of LP (2) and disjoint groups P_1..P_m, the
network has the nodes::

    Source,  every point x,  a hub c^i for every centre c and group i,  every centre c,  Sink

and the arcs (bounds [lower, upper], cost per unit of flow)::

    supply   Source -> x          [w(x), w(x)]                     0
    assign   x -> c^i, x in P_i   [0, w(x)]                        ||x - c||^2
    hub      c^i -> c             [floor W_i(c), ceil W_i(c)]      0
    centre   c -> Sink            [floor W(c), ceil W(c)]          0
    return   Sink -> Source       [sum_x w(x), sum_x w(x)]         0

with W(c) = sum_x phi(x, c) and W_i(c) = sum_{x in P_i} phi(x, c) (w(x) = 1 for unit points).
The circulation LP is::

    minimise    sum_a cost(a) flow(a)                                          (cost)
    subject to  sum_{a into v} flow(a) - sum_{a out of v} flow(a) = 0   for every node v   (conservation)
                lower(a) <= flow(a) <= upper(a)                          for every arc a

phi itself is a feasible circulation (flow(x -> c^i) = phi(x, c)), and the constraint matrix is
a network matrix with integral bounds, so every vertex is integral: an optimal integral
circulation costs no more than phi and keeps every W(c), W_i(c) within one unit of phi's, hence
an additive violation below 1 + max_i beta_i <= 2 (Relax-and-Merge paper, rounding step;
Bera et al. 2019 for the hub construction).

``arcs="support"`` keeps only the assign arcs with phi(x, c) > 0 (the optimum of that smaller
network is still <= cost(phi)); ``arcs="all"`` offers every centre to every point.

Each formulation names its parts the same way: variables ``flow`` (E,); constraints
``conservation`` (V,); objective ``cost``. Arc bounds are variable bounds. Nodes and arcs are
numbered as in :class:`Network`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from fairopt.solvers.matrices import LPMatrices

__all__ = ["Network", "hub_network", "build_pyomo", "build_cvxpy", "to_matrices", "arc_costs"]

NODE_KINDS = ("source", "point", "hub", "centre", "sink")
ARC_BLOCKS = ("supply", "assign", "hub", "centre", "return")


@dataclass(frozen=True)
class Network:
    """A flow network with arc bounds and costs (the hub-guided circulation).

    Nodes are numbered ``0`` (Source), ``1 .. n`` (points), ``1 + n + c*m + i`` (hub c^i),
    ``1 + n + k*m + c`` (centre c), ``1 + n + k*m + k`` (Sink). Arcs come in the blocks of
    :data:`ARC_BLOCKS`, in that order: ``supply`` (n), ``assign`` (E_p), ``hub`` (k*m, hub
    c^i at position c*m + i), ``centre`` (k), ``return`` (1).

    Attributes
    ----------
    n_points, n_centres, n_groups : int
    tail, head : ndarray of shape (E,), int64
        Arc a goes from node ``tail[a]`` to node ``head[a]``.
    lower, upper : ndarray of shape (E,)
        Integral flow bounds.
    cost : ndarray of shape (E,)
        Cost per unit of flow (||x - c||^2 on assign arcs, 0 elsewhere).
    arc_point, arc_centre : ndarray of shape (E_p,), int64
        Point x and centre c of every assign arc, in arc order.
    arc_slices : dict of str -> slice
        Arc range of every block.
    """

    n_points: int
    n_centres: int
    n_groups: int
    tail: np.ndarray
    head: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray
    arc_point: np.ndarray
    arc_centre: np.ndarray
    arc_slices: dict

    @property
    def n_nodes(self) -> int:
        return 1 + self.n_points + self.n_centres * self.n_groups + self.n_centres + 1

    @property
    def n_arcs(self) -> int:
        return self.tail.shape[0]

    @property
    def node_counts(self) -> dict:
        """Number of nodes of every kind, in node order."""
        return {"source": 1, "point": self.n_points, "hub": self.n_centres * self.n_groups,
                "centre": self.n_centres, "sink": 1}

    @property
    def node_kinds(self) -> np.ndarray:
        """Kind of every node (one of :data:`NODE_KINDS`), shape (V,)."""
        return np.repeat(np.array(NODE_KINDS), list(self.node_counts.values()))

    def node_names(self) -> list:
        """Readable node names: ``Source``, ``x3``, ``c1^2`` (hub), ``c1``, ``Sink``."""
        k, m = self.n_centres, self.n_groups
        hubs = [f"c{c}^{i}" for c in range(k) for i in range(m)]
        return ["Source", *(f"x{x}" for x in range(self.n_points)), *hubs, *(f"c{c}" for c in range(k)), "Sink"]

    def incidence(self) -> sp.csr_matrix:
        """Node-arc incidence matrix B of shape (V, E): +1 at the head, -1 at the tail.

        ``B @ flow`` is inflow minus outflow at every node.
        """
        E = self.n_arcs
        rows = np.concatenate([self.head, self.tail])
        cols = np.concatenate([np.arange(E), np.arange(E)])
        vals = np.concatenate([np.ones(E), -np.ones(E)])
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.n_nodes, E))

    def labels(self, flow: np.ndarray) -> np.ndarray:
        """Centre of every point from an integral flow with unit supplies, shape (n,).

        Raises ``ValueError`` when some point does not send its unit along exactly one arc.
        """
        f = np.asarray(flow)[self.arc_slices["assign"]]
        used = f > 0.5
        counts = np.bincount(self.arc_point[used], minlength=self.n_points)
        if not np.all(counts == 1):
            bad = int(np.flatnonzero(counts != 1)[0])
            raise ValueError(f"point {bad} leaves on {counts[bad]} arcs; the flow is not an integral unit assignment")
        labels = np.empty(self.n_points, dtype=np.int64)
        labels[self.arc_point[used]] = self.arc_centre[used]
        return labels


def arc_costs(cost: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Cost of the (point, centre) pairs ``(rows[j], cols[j])``.

    ``cost`` is a dense (n, k) array, a pair ``(points, centres)`` (squared Euclidean distances
    computed per pair from the coordinate differences, O(E d)), or a callable
    ``f(rows, cols) -> ndarray of shape (E,)``.
    """
    if callable(cost):
        return np.asarray(cost(rows, cols), dtype=np.float64)
    if isinstance(cost, tuple) and len(cost) == 2:
        P = np.asarray(cost[0], dtype=np.float64)
        C = np.asarray(cost[1], dtype=np.float64)
        out = np.empty(rows.shape[0])
        step = 1 << 20
        for s in range(0, rows.shape[0], step):
            diff = P[rows[s : s + step]] - C[cols[s : s + step]]
            out[s : s + step] = np.einsum("ij,ij->i", diff, diff)
        return out
    D = np.asarray(cost, dtype=np.float64)
    return D[rows, cols]


def _floor(v: np.ndarray, tol: float) -> np.ndarray:
    # 2.9999999 is a 3 that an LP solver left slightly short; without the tolerance it would
    # widen the bound to [2, 3] and allow a needless unit of violation.
    return np.floor(v + tol)


def _ceil(v: np.ndarray, tol: float) -> np.ndarray:
    return np.ceil(v - tol)


def hub_network(
    assignment: Any,
    cost: np.ndarray | tuple | Callable,
    group_of_point: np.ndarray,
    n_groups: int,
    arcs: str = "support",
    weights: np.ndarray | None = None,
    tol: float = 1e-6,
) -> Network:
    """The hub-guided circulation network of a fractional assignment.

    Parameters
    ----------
    assignment : ndarray or scipy.sparse matrix of shape (n, k)
        phi(x, c) >= 0, rows summing to w(x).
    cost : ndarray of shape (n, k), pair ``(points (n, d), centres (k, d))`` or callable
        Cost of sending a point to a centre; see :func:`arc_costs`.
    group_of_point : ndarray of shape (n,), int
        Group index in ``0 .. n_groups - 1`` of every point (disjoint groups).
    n_groups : int
    arcs : {"support", "all"}
        Assign arcs for the support of phi only, or for every (point, centre) pair.
    weights : ndarray of shape (n,), optional
        Integral point masses w(x); ones by default.
    tol : float
        Masses within ``tol`` of an integer count as that integer in floor/ceil.

    Returns
    -------
    Network
    """
    phi = sp.csr_matrix(assignment, dtype=np.float64)
    n, k = phi.shape
    m = int(n_groups)
    g = np.asarray(group_of_point, dtype=np.int64)
    w = np.ones(n) if weights is None else np.round(np.asarray(weights, dtype=np.float64))
    if arcs == "support":
        coo = phi.tocoo()
        keep = coo.data > 0
        rows, cols = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
    elif arcs == "all":
        rows, cols = np.repeat(np.arange(n), k), np.tile(np.arange(k), n)
    else:
        raise ValueError(f"arcs must be 'support' or 'all'; got {arcs!r}")
    # W(c) and W_i(c) of phi: M^T phi with M the (n, m) group indicator.
    M = sp.csr_matrix((np.ones(n), (np.arange(n), g)), shape=(n, m))
    Wi = np.asarray((M.T @ phi).todense()).T  # (k, m)
    W = np.asarray(phi.sum(axis=0)).ravel()  # (k,)

    src, sink = 0, 1 + n + k * m + k
    pts = 1 + np.arange(n)
    hub = lambda c, i: 1 + n + c * m + i  # noqa: E731
    ctr = 1 + n + k * m + np.arange(k)
    c_idx, i_idx = np.divmod(np.arange(k * m), m)
    total = float(w.sum())
    blocks = [
        ("supply", np.zeros(n, np.int64), pts, w, w, np.zeros(n)),
        ("assign", pts[rows], hub(cols, g[rows]), np.zeros(rows.size), w[rows], arc_costs(cost, rows, cols)),
        ("hub", hub(c_idx, i_idx), ctr[c_idx], _floor(Wi.ravel(), tol), _ceil(Wi.ravel(), tol), np.zeros(k * m)),
        ("centre", ctr, np.full(k, sink), _floor(W, tol), _ceil(W, tol), np.zeros(k)),
        ("return", np.array([sink]), np.array([src]), np.array([total]), np.array([total]), np.zeros(1)),
    ]
    slices, start = {}, 0
    for name, t, *_ in blocks:
        slices[name] = slice(start, start + t.shape[0])
        start += t.shape[0]
    cat = lambda j, dt: np.concatenate([np.asarray(b[j], dtype=dt) for b in blocks])  # noqa: E731
    lower, upper = cat(3, np.float64), cat(4, np.float64)
    # Negative roundings (tiny negative masses) clip to 0; ceil >= floor holds for tol < 1/2.
    lower, upper = np.maximum(lower, 0.0), np.maximum(upper, 0.0)
    return Network(n, k, m, cat(1, np.int64), cat(2, np.int64), lower, upper, cat(5, np.float64),
                   rows, cols, slices)


def build_pyomo(network: Network, name: str = "circulation"):
    """The circulation LP as a Pyomo ``ConcreteModel``.

    Sets ``V`` (nodes) and ``A`` (arcs); parameters ``cost``, ``lower``, ``upper`` per arc;
    variables ``flow[a]`` with bounds [lower(a), upper(a)]; constraints ``conservation[v]``:
    inflow - outflow = 0; objective ``cost`` (minimised). Arc and node numbering of
    :class:`Network`.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    net = network
    B = sp.csr_matrix(net.incidence())
    model = pyo.ConcreteModel(name=name)
    # Sets
    model.V = pyo.RangeSet(0, net.n_nodes - 1, doc="nodes: Source, points, hubs c^i, centres, Sink")
    model.A = pyo.RangeSet(0, net.n_arcs - 1, doc="arcs (tail -> head)")
    # Parameters
    model.arc_cost = pyo.Param(model.A, initialize=dict(enumerate(net.cost.tolist())), within=pyo.Reals, doc="cost per unit")
    model.lower = pyo.Param(model.A, initialize=dict(enumerate(net.lower.tolist())), within=pyo.Reals, doc="lower flow bound")
    model.upper = pyo.Param(model.A, initialize=dict(enumerate(net.upper.tolist())), within=pyo.Reals, doc="upper flow bound")
    # Variables
    model.flow = pyo.Var(model.A, bounds=lambda m_, a: (m_.lower[a], m_.upper[a]), doc="flow on arc a")
    # Constraints: one linear expression per node from the incidence rows.
    flows = list(model.flow.values())
    indptr, indices, data = B.indptr, B.indices, B.data

    def conservation(m_, v):
        lo, hi = indptr[v], indptr[v + 1]
        body = LinearExpression(constant=0.0, linear_coefs=data[lo:hi].tolist(),
                                linear_vars=[flows[a] for a in indices[lo:hi]])
        return body == 0

    model.conservation = pyo.Constraint(model.V, rule=conservation)
    # Objective
    nz = np.flatnonzero(net.cost)
    model.cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=net.cost[nz].tolist(), linear_vars=[flows[a] for a in nz]),
        sense=pyo.minimize,
    )
    return model


def build_cvxpy(network: Network):
    """The circulation LP as a ``cvxpy.Problem``: ``B @ flow == 0`` with B the incidence matrix.

    The variable ``flow`` (E,) carries the arc bounds; the one vector constraint is tagged
    ``conservation``.
    """
    import cvxpy as cp

    net = network
    flow = cp.Variable(net.n_arcs, name="flow", bounds=[net.lower, net.upper])
    conservation = net.incidence() @ flow == 0
    conservation.label = "conservation"  # the key of its dual in SolveResult.duals
    return cp.Problem(cp.Minimize(net.cost @ flow), [conservation])


def to_matrices(network: Network) -> LPMatrices:
    """The circulation LP as sparse matrices: columns ``flow`` (E,), rows ``conservation`` (V,)."""
    net = network
    return LPMatrices(
        c=net.cost.copy(),
        A=net.incidence(),
        row_lower=np.zeros(net.n_nodes),
        row_upper=np.zeros(net.n_nodes),
        col_lower=net.lower.copy(),
        col_upper=net.upper.copy(),
        var_blocks={"flow": (net.n_arcs,)},
        row_blocks={"conservation": (net.n_nodes,)},
        name="circulation",
    )
