"""The threshold LP of fair k-center (Bera et al. 2019): LP (2) restricted to short arcs.

For a radius tau, keep only the arcs A_tau = {(x, c) : ||x - c|| <= tau} and ask whether a fair
fractional assignment exists on them:

    find        phi(x, c) >= 0 for (x, c) in A_tau, W(c) >= 0
    subject to  sum_{c: (x, c) in A_tau} phi(x, c) = w(x)        for every point x   (mass)
                sum_{x: (x, c) in A_tau} phi(x, c) = W(c)        for every centre c  (total)
                sum_{x in P_i} phi(x, c) - alpha_i W(c) <= 0     for every group i, c (fair_upper)
                sum_{x in P_i} phi(x, c) - beta_i  W(c) >= 0     for every group i, c (fair_lower)

The objective ``cost`` is 0 (a feasibility LP); :mod:`fairopt.assignment.kcenter` searches the
sorted distances for the smallest feasible tau and may put distances into ``c`` to pick, among
the feasible assignments at that tau, one of least total distance. Feasibility is monotone in
tau (a larger tau only adds arcs), hence the binary search.

The constraints carry the names of :mod:`fairopt.models.fair_assignment`; the variable ``phi``
lives on the arcs only, in the order of :func:`arcs` (``arc_x``, ``arc_c``), so the model stays
as sparse as A_tau. Scatter a solution back with
``scipy.sparse.csr_matrix((phi, (arc_x, arc_c)), shape=(n, k))``.

References
----------
S. K. Bera, D. Chakrabarty, N. J. Flores, M. Negahbani. Fair algorithms for clustering.
NeurIPS 2019 (the fair assignment LP for p = infinity: k-center).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.groups import GroupStructure, encode_groups
from fairopt.objectives import distances
from fairopt.solvers.matrices import LPMatrices, stack_blocks

__all__ = ["arcs", "build_pyomo", "build_cvxpy", "to_matrices", "arc_matrices"]


def arcs(points: Any, centres: Any, tau: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arcs A_tau, row-major (by point, then centre).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    tau : float

    Returns
    -------
    arc_x, arc_c : ndarray of shape (E,), int64
    length : ndarray of shape (E,)
        ||x - c|| of every arc (<= tau).
    """
    D = distances(np.asarray(points, dtype=float), np.asarray(centres, dtype=float))
    arc_x, arc_c = np.nonzero(D <= tau)
    return arc_x.astype(np.int64), arc_c.astype(np.int64), D[arc_x, arc_c]


def _inputs(points, centres, groups, alpha, beta, weights):
    points = np.asarray(points, dtype=float)
    n = points.shape[0]
    g = groups if isinstance(groups, GroupStructure) else encode_groups(groups, n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (g.n_groups,))
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (g.n_groups,))
    return points, np.asarray(centres, dtype=float), g, alpha, beta, w


def arc_matrices(arc_x: np.ndarray, arc_c: np.ndarray, n: int, k: int, membership: sp.spmatrix, alpha: np.ndarray,
                 beta: np.ndarray, weights: np.ndarray, cost: np.ndarray | None = None) -> LPMatrices:
    """The threshold LP on a given arc list as sparse matrices (inner: inputs trusted).

    Columns: ``phi`` (E,) in arc order, then ``W`` (k,). Rows: ``mass`` (n,), ``total`` (k,),
    ``fair_upper`` (m, k), ``fair_lower`` (m, k). ``cost`` (E,) is the objective of the arcs
    (zeros: feasibility).
    """
    E = arc_x.size
    M = sp.csr_matrix(membership, dtype=np.float64)
    m = M.shape[1]
    cols = np.arange(E)
    I_k = sp.identity(k, format="csr")
    A_mass = sp.csr_matrix((np.ones(E), (arc_x, cols)), shape=(n, E + k))
    A_total = sp.hstack([sp.csr_matrix((np.ones(E), (arc_c, cols)), shape=(k, E)), -I_k])
    Mx = M[arc_x].tocoo()  # (E, m): the groups of every arc's point
    A_wi = sp.csr_matrix((Mx.data, (Mx.col * k + arc_c[Mx.row], Mx.row)), shape=(m * k, E))
    A_up = sp.hstack([A_wi, -sp.kron(sp.csr_matrix(alpha[:, None]), I_k)])
    A_lo = sp.hstack([A_wi, -sp.kron(sp.csr_matrix(beta[:, None]), I_k)])
    A, lo, up, rows = stack_blocks([
        ("mass", (n,), A_mass, weights, weights),
        ("total", (k,), A_total, 0.0, 0.0),
        ("fair_upper", (m, k), A_up, -np.inf, 0.0),
        ("fair_lower", (m, k), A_lo, 0.0, np.inf),
    ])
    c = np.zeros(E) if cost is None else np.asarray(cost, dtype=np.float64)
    return LPMatrices(c=np.concatenate([c, np.zeros(k)]), A=A, row_lower=lo, row_upper=up,
                      col_lower=np.zeros(E + k), col_upper=np.full(E + k, np.inf),
                      var_blocks={"phi": (E,), "W": (k,)}, row_blocks=rows, name="fair_kcenter")


def to_matrices(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, tau: float,
                weights: Any = None) -> LPMatrices:
    """The threshold LP at radius ``tau`` as sparse matrices.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    groups : labels of shape (n,) or (n, a), or a :class:`fairopt.groups.GroupStructure`
    alpha, beta : ndarray of shape (m,) or float
    tau : float
        Largest arc length kept.
    weights : ndarray of shape (n,), optional

    Returns
    -------
    LPMatrices
        Columns ``phi`` (E,) on the arcs of :func:`arcs` (same order), then ``W`` (k,); rows
        ``mass``, ``total``, ``fair_upper``, ``fair_lower``; zero objective.
    """
    points, centres, g, alpha, beta, w = _inputs(points, centres, groups, alpha, beta, weights)
    ax, ac, _ = arcs(points, centres, tau)
    return arc_matrices(ax, ac, points.shape[0], centres.shape[0], g.membership, alpha, beta, w)


def build_pyomo(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, tau: float, weights: Any = None,
                name: str = "fair_kcenter"):
    """The threshold LP at radius ``tau`` as a Pyomo ``ConcreteModel``.

    Parameters are those of :func:`to_matrices`.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Sets ``P`` (points), ``C`` (centres), ``G`` (groups), ``A`` (the arcs (x, c) with
        ||x - c|| <= tau); variables ``phi[x, c]`` on ``A`` and ``W[c]``; constraints ``mass[x]``,
        ``total[c]``, ``fair_upper[i, c]``, ``fair_lower[i, c]``; objective ``cost`` (0).
    """
    import pyomo.environ as pyo  # optional dependency: the Pyomo path only

    points, centres, g, alpha, beta, w = _inputs(points, centres, groups, alpha, beta, weights)
    n, k, m = points.shape[0], centres.shape[0], g.n_groups
    ax, ac, _ = arcs(points, centres, tau)
    members = [set(np.flatnonzero(col).tolist()) for col in g.membership.T.toarray().astype(bool)]
    out_arcs = [[] for _ in range(n)]
    in_arcs = [[] for _ in range(k)]
    for x, c in zip(ax.tolist(), ac.tolist()):
        out_arcs[x].append(c)
        in_arcs[c].append(x)

    model = pyo.ConcreteModel(name=name)
    # Sets
    model.P = pyo.RangeSet(0, n - 1, doc="points x")
    model.C = pyo.RangeSet(0, k - 1, doc="centres c")
    model.G = pyo.RangeSet(0, m - 1, doc="groups i")
    model.A = pyo.Set(initialize=list(zip(ax.tolist(), ac.tolist())), dimen=2, doc="arcs with ||x - c|| <= tau")
    # Parameters
    model.w = pyo.Param(model.P, initialize=lambda _, x: float(w[x]), within=pyo.Reals, doc="mass w(x)")
    model.alpha = pyo.Param(model.G, initialize=lambda _, i: float(alpha[i]), within=pyo.Reals, doc="upper share alpha_i")
    model.beta = pyo.Param(model.G, initialize=lambda _, i: float(beta[i]), within=pyo.Reals, doc="lower share beta_i")
    # Variables
    model.phi = pyo.Var(model.A, domain=pyo.NonNegativeReals, doc="mass of x sent to c")
    model.W = pyo.Var(model.C, domain=pyo.NonNegativeReals, doc="mass received by c")
    # Constraints (an empty sum is the constant 0, which Pyomo refuses as a constraint expression)
    def mass(m_, x):
        if out_arcs[x]:
            return sum(m_.phi[x, c] for c in out_arcs[x]) == m_.w[x]
        # A point without arcs: nothing to write unless it has mass, which tau cannot serve.
        return pyo.Constraint.Skip if w[x] == 0 else pyo.Constraint.Infeasible

    model.mass = pyo.Constraint(model.P, rule=mass)
    model.total = pyo.Constraint(model.C, rule=lambda m_, c: sum(m_.phi[x, c] for x in in_arcs[c]) == m_.W[c])
    model.fair_upper = pyo.Constraint(model.G, model.C, rule=lambda m_, i, c: (
        sum(m_.phi[x, c] for x in in_arcs[c] if x in members[i]) - m_.alpha[i] * m_.W[c] <= 0))
    model.fair_lower = pyo.Constraint(model.G, model.C, rule=lambda m_, i, c: (
        sum(m_.phi[x, c] for x in in_arcs[c] if x in members[i]) - m_.beta[i] * m_.W[c] >= 0))
    model.cost = pyo.Objective(expr=0.0 * sum(model.W[c] for c in model.C), sense=pyo.minimize)
    return model


def build_cvxpy(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, tau: float, weights: Any = None):
    """The threshold LP at radius ``tau`` as a ``cvxpy.Problem``.

    Parameters are those of :func:`to_matrices`; ``phi`` is a vector over the arcs of
    :func:`arcs`. Constraints come in the order ``mass``, ``total``, ``fair_upper``,
    ``fair_lower``.
    """
    import cvxpy as cp  # optional dependency: the CVXPY path only

    points, centres, g, alpha, beta, w = _inputs(points, centres, groups, alpha, beta, weights)
    n, k = points.shape[0], centres.shape[0]
    ax, ac, _ = arcs(points, centres, tau)
    E = ax.size
    cols = np.arange(E)
    out_of = sp.csr_matrix((np.ones(E), (ax, cols)), shape=(n, E))     # point x  <- its arcs
    into = sp.csr_matrix((np.ones(E), (ac, cols)), shape=(k, E))       # centre c <- its arcs
    Mx = sp.csr_matrix(g.membership, dtype=np.float64)[ax].tocoo()     # (E, m): groups of each arc's point
    m = g.n_groups
    to_wi = sp.csr_matrix((Mx.data, (Mx.col * k + ac[Mx.row], Mx.row)), shape=(m * k, E))  # row i*k + c
    phi = cp.Variable(E, nonneg=True, name="phi")
    W = cp.Variable(k, nonneg=True, name="W")
    Wi = cp.reshape(to_wi @ phi, (m, k), order="C")  # W_i(c), shape (m, k)
    constraints = {
        "mass": out_of @ phi == w,
        "total": into @ phi == W,
        "fair_upper": Wi - cp.outer(alpha, W) <= 0,
        "fair_lower": Wi - cp.outer(beta, W) >= 0,
    }
    for nm, con in constraints.items():
        con._fairopt_name = nm
    return cp.Problem(cp.Minimize(0), list(constraints.values()))
