"""LP (2) of the Relax-and-Merge paper: the fractional fair assignment of points to given centres::

    minimise    sum_x sum_c phi(x, c) * cost(x, c)                                    (cost)
    subject to  sum_c phi(x, c) = w(x)                          for every point x      (mass)
                sum_x phi(x, c) = W(c)                          for every centre c     (total)
                sum_{x in P_i} phi(x, c) - alpha_i W(c) <= 0    for every group i, c   (fair_upper)
                sum_{x in P_i} phi(x, c) - beta_i  W(c) >= 0    for every group i, c   (fair_lower)
                phi >= 0, W >= 0

cost(x, c) = ||x - c||^2 for ``objective="kmeans"`` (the paper's LP (2), the default) and ||x - c||
for ``objective="kmedian"`` (the same LP with Euclidean distances, as in Bera et al.'s framework;
see :mod:`fairopt.objectives`). The k-center LP of that framework is a feasibility LP on the
arcs shorter than a radius: :mod:`fairopt.models.fair_kcenter`.

W(c) is the mass a centre receives; it is a variable with its defining row ``total`` so that
the fairness rows read like the paper (beta_i W(c) <= W_i(c) <= alpha_i W(c)) and hold
``|P_i| + 1`` nonzeros instead of n.

Each formulation names its parts the same way: variables ``phi`` (n, k) and ``W`` (k,);
constraints ``mass`` (n,), ``total`` (k,), ``fair_upper`` (m, k), ``fair_lower`` (m, k);
objective ``cost``. To add a constraint, build the model and add to it, for example a
capacity U on every centre in Pyomo::

    m = build_pyomo(X, centres, groups, alpha, beta)
    m.capacity = pyo.Constraint(m.C, rule=lambda m, c: m.W[c] <= U)
    fairopt.solve(m, solver="glpk")
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.groups import GroupStructure, encode_groups
from fairopt.objectives import arc_cost
from fairopt.problem import validate_points, validate_weights
from fairopt.solvers.matrices import LPMatrices, stack_blocks

__all__ = ["dense_size", "build_pyomo", "build_cvxpy", "to_matrices"]


def _inputs(points, centres, groups, alpha, beta, weights, objective="kmeans"):
    if objective not in ("kmeans", "kmedian"):
        raise ValueError(f"LP (2) takes objective 'kmeans' or 'kmedian'; got {objective!r} "
                         "(k-center is the threshold LP of fairopt.models.fair_kcenter)")
    # Public builders: a NaN or inf would reach the solver as a cost and come back "optimal", NaN.
    points = validate_points(points)
    centres = validate_points(centres, name="centres")
    n = points.shape[0]
    g = groups if isinstance(groups, GroupStructure) else encode_groups(groups, n)
    w = validate_weights(weights, n)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (g.n_groups,))
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (g.n_groups,))
    return points, centres, g, alpha, beta, w, arc_cost(objective).matrix(points, centres)


def build_pyomo(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, weights: Any = None,
                name: str = "fair_assignment", objective: str = "kmeans"):
    """LP (2) as a Pyomo ``ConcreteModel``.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    groups : labels of shape (n,) or (n, a), or a :class:`fairopt.groups.GroupStructure`
    alpha, beta : ndarray of shape (m,) or float
        Upper and lower share of every group in every cluster, groups numbered as in
        :func:`fairopt.groups.encode_groups`.
    weights : ndarray of shape (n,), optional
        Point masses w(x); ones by default.
    objective : {"kmeans", "kmedian"}
        Arc costs ||x - c||^2 (the paper's LP (2)) or ||x - c|| (fair k-median).

    Returns
    -------
    pyomo.environ.ConcreteModel
        Sets ``P`` (points), ``C`` (centres), ``G`` (groups) and ``members[i]`` (P_i, the points
        of group i, ordered); parameters ``dist[x, c]``, ``w[x]``, ``alpha[i]``, ``beta[i]``;
        variables ``phi[x, c]``, ``W[c]``; constraints ``mass[x]``, ``total[c]``,
        ``fair_upper[i, c]``, ``fair_lower[i, c]``; objective ``cost``. Group i is
        ``encode_groups(groups, n).labels[i]``.

    Examples
    --------
    A constraint over a group, written with the model's own sets, e.g. every centre takes at
    least one unit of group 0:

    >>> import pyomo.environ as pyo                                                    # doctest: +SKIP
    >>> m = build_pyomo(X, centres, groups, alpha, beta)                               # doctest: +SKIP
    >>> m.some = pyo.Constraint(m.C, rule=lambda m, c: sum(m.phi[x, c] for x in m.members[0]) >= 1)  # doctest: +SKIP
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    points, centres, g, alpha, beta, w, D = _inputs(points, centres, groups, alpha, beta, weights, objective)
    n, k, m = points.shape[0], centres.shape[0], g.n_groups
    Mt = sp.csc_matrix(g.membership)  # column i lists the points of group i
    members = {i: Mt.indices[Mt.indptr[i]:Mt.indptr[i + 1]].tolist() for i in range(m)}

    model = pyo.ConcreteModel(name=name)
    # Sets
    model.P = pyo.RangeSet(0, n - 1, doc="points x")
    model.C = pyo.RangeSet(0, k - 1, doc="centres c")
    model.G = pyo.RangeSet(0, m - 1, doc="groups i")
    model.members = pyo.Set(model.G, within=model.P, initialize=members, ordered=True, doc="P_i: the points of group i")
    # Parameters
    model.dist = pyo.Param(model.P, model.C, initialize=lambda _, x, c: float(D[x, c]), within=pyo.Reals,
                           doc=f"cost(x, c) = {arc_cost(objective).label}")
    model.w = pyo.Param(model.P, initialize=lambda _, x: float(w[x]), within=pyo.Reals, doc="mass w(x)")
    model.alpha = pyo.Param(model.G, initialize=lambda _, i: float(alpha[i]), within=pyo.Reals, doc="upper share alpha_i")
    model.beta = pyo.Param(model.G, initialize=lambda _, i: float(beta[i]), within=pyo.Reals, doc="lower share beta_i")
    # Variables
    model.phi = pyo.Var(model.P, model.C, domain=pyo.NonNegativeReals, doc="mass of x sent to c")
    model.W = pyo.Var(model.C, domain=pyo.NonNegativeReals, doc="mass received by c")
    # Constraints
    model.mass = pyo.Constraint(model.P, rule=lambda m_, x: sum(m_.phi[x, c] for c in m_.C) == m_.w[x])
    model.total = pyo.Constraint(model.C, rule=lambda m_, c: sum(m_.phi[x, c] for x in m_.P) == m_.W[c])
    model.fair_upper = pyo.Constraint(
        model.G, model.C, rule=lambda m_, i, c: sum(m_.phi[x, c] for x in m_.members[i]) - m_.alpha[i] * m_.W[c] <= 0
    )
    model.fair_lower = pyo.Constraint(
        model.G, model.C, rule=lambda m_, i, c: sum(m_.phi[x, c] for x in m_.members[i]) - m_.beta[i] * m_.W[c] >= 0
    )
    # Objective: one linear expression over all n*k arcs (much faster than a nested sum).
    phis = list(model.phi.values())
    model.cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=D.ravel().tolist(), linear_vars=phis),
        sense=pyo.minimize,
    )
    return model


def build_cvxpy(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, weights: Any = None,
                objective: str = "kmeans"):
    """LP (2) as a ``cvxpy.Problem`` built from vectorised expressions.

    Parameters are those of :func:`build_pyomo`.

    Returns
    -------
    cvxpy.Problem
        Its variables by name in ``problem.var_dict``: ``"phi"`` (n, k) and ``"W"`` (k,).
        Its constraints, in the order ``mass``, ``total``, ``fair_upper``, ``fair_lower`` (one
        vector constraint each), carry those names as their CVXPY ``label``; the duals of
        :func:`fairopt.solve` come back under the labels, so a constraint you add with a label
        of your choice has its dual under that name.

    Examples
    --------
    >>> import cvxpy as cp, fairopt                                                   # doctest: +SKIP
    >>> prob = build_cvxpy(X, centres, groups, alpha, beta)                          # doctest: +SKIP
    >>> W = prob.var_dict["W"]                                                        # doctest: +SKIP
    >>> cap = (W <= 20).set_label("capacity")                                         # doctest: +SKIP
    >>> res = fairopt.solve(cp.Problem(prob.objective, [*prob.constraints, cap]))    # doctest: +SKIP
    >>> res.duals["capacity"]    # d objective / d capacity, one per centre           # doctest: +SKIP
    """
    import cvxpy as cp

    points, centres, g, alpha, beta, w, D = _inputs(points, centres, groups, alpha, beta, weights, objective)
    n, k = D.shape
    M = sp.csr_matrix(g.membership.T)  # (m, n)
    phi = cp.Variable((n, k), nonneg=True, name="phi")
    W = cp.Variable(k, nonneg=True, name="W")
    Wi = M @ phi  # W_i(c), shape (m, k)
    constraints = {
        "mass": cp.sum(phi, axis=1) == w,
        "total": cp.sum(phi, axis=0) == W,
        "fair_upper": Wi - cp.outer(alpha, W) <= 0,
        "fair_lower": Wi - cp.outer(beta, W) >= 0,
    }
    for nm, con in constraints.items():
        con.label = nm  # CVXPY's constraint label: the key of its dual in SolveResult.duals
    return cp.Problem(cp.Minimize(cp.sum(cp.multiply(D, phi))), list(constraints.values()))


def to_matrices(points: Any, centres: Any, groups: Any, alpha: Any, beta: Any, weights: Any = None,
                objective: str = "kmeans") -> LPMatrices:
    """LP (2) as sparse matrices for the direct solver path.

    Columns: ``phi`` (n, k) in row-major order (column x*k + c), then ``W`` (k,).
    Rows: ``mass`` (n,), ``total`` (k,), ``fair_upper`` (m, k), ``fair_lower`` (m, k).
    """
    points, centres, g, alpha, beta, w, D = _inputs(points, centres, groups, alpha, beta, weights, objective)
    n, k = D.shape
    m = g.n_groups
    Mt = sp.csr_matrix(g.membership.T)  # (m, n)
    I_k = sp.identity(k, format="csr")
    zeros = lambda r, c: sp.csr_matrix((r, c))
    A_mass = sp.hstack([sp.kron(sp.identity(n), np.ones((1, k))), zeros(n, k)])
    A_total = sp.hstack([sp.kron(np.ones((1, n)), I_k), -I_k])
    A_wi = sp.kron(Mt, I_k)  # row i*k + c sums phi(x, c) over x in P_i
    A_up = sp.hstack([A_wi, -sp.kron(sp.csr_matrix(alpha[:, None]), I_k)])
    A_lo = sp.hstack([A_wi, -sp.kron(sp.csr_matrix(beta[:, None]), I_k)])
    A, lo, up, rows = stack_blocks(
        [
            ("mass", (n,), A_mass, w, w),
            ("total", (k,), A_total, 0.0, 0.0),
            ("fair_upper", (m, k), A_up, -np.inf, 0.0),
            ("fair_lower", (m, k), A_lo, 0.0, np.inf),
        ]
    )
    N = n * k + k
    return LPMatrices(
        c=np.concatenate([D.ravel(), np.zeros(k)]),
        A=A,
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(N),
        col_upper=np.full(N, np.inf),
        var_blocks={"phi": (n, k), "W": (k,)},
        row_blocks=rows,
        name="fair_assignment",
    )


def dense_size(n: int, k: int, n_groups: int, n_attributes: int = 1) -> dict:
    """Size of the dense LP (2) of :func:`to_matrices`.

    Columns phi (n k) and W (k); rows mass (n), total (k), fair_upper and fair_lower (m k each);
    nonzeros: n k in ``mass``, n k + k in ``total``, and a n k + m k in each fairness block
    (every point is in one group per attribute).

    Returns
    -------
    dict with keys ``n_vars``, ``n_rows``, ``nnz``
    """
    n, k, m, a = int(n), int(k), int(n_groups), int(n_attributes)
    return {"n_vars": n * k + k, "n_rows": n + k + 2 * m * k, "nnz": (2 + 2 * a) * n * k + k + 2 * m * k}
