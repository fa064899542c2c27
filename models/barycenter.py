"""LP (16) of the Relax-and-Merge paper: the Wasserstein barycenter on a fixed support.

Given m discrete measures mu_i = sum_x mu_i(x) delta_x (points X_i of shape (n_i, d), masses
summing to 1) and a fixed support S = {s} of shape (s, d)::

    minimise    sum_i sum_{x in X_i} sum_{s in S} T_i(x, s) * ||x - s||^2                 (cost)
    subject to  sum_s T_i(x, s) = mu_i(x)        for every measure i and x in X_i         (source[i])
                sum_x T_i(x, s) = nu(s)          for every measure i and s in S           (target[i])
                T_i >= 0, nu >= 0

nu is the barycenter's mass on S; at the optimum the objective is sum_i W_2^2(nu, mu_i).

Redundant rows. Summing ``source[i]`` over x and ``target[i]`` over s gives
sum_s nu(s) = sum_x mu_i(x) = 1 for every measure: so for m measures m - 1 rows are linearly
dependent on the others. A solver handed the full system sees rows that agree only up to the
rounding noise of the masses and may report the LP infeasible. We therefore

* rescale every mu_i to sum to 1 (``mu_i / mu_i.sum()``), and
* drop the ``source`` row of the last point of every measure but the first. Measure 0 keeps
  all its rows, so sum_s nu(s) = 1 still holds, and with it every dropped row (it is the
  difference between the sum of ``target[i]`` and the kept ``source[i]`` rows). Dropping one
  row of *every* measure would lose sum nu = 1 and let the LP shrink nu (POT's
  ``ot.lp.barycenter`` drops one ``target`` row of every measure but the first, for the same
  reason).

Each formulation names its parts the same way: variables ``T0`` .. ``T{m-1}`` (``T{i}`` of
shape (n_i, s), the plan of measure i) and ``nu`` (s,); constraints ``source0`` (n_0,) and
``source{i}`` (n_i - 1,) for i >= 1, ``target`` (m, s) (row [i, s] is target[i] at s);
objective ``cost``. To add a constraint, build the model and add to it, for example an upper
bound on the barycenter mass of every support point in Pyomo::

    m = build_pyomo(measures, support)
    m.cap = pyo.Constraint(m.S, rule=lambda m, s: m.nu[s] <= 0.2)
    fairopt.solve(m, solver="glpk")
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from fairopt.distances import sq_distances
from fairopt.solvers.matrices import LPMatrices, stack_blocks

__all__ = ["dense_size", "build_pyomo", "build_cvxpy", "to_matrices", "kept_source_rows"]


def kept_source_rows(n_points: int, i: int) -> int:
    """Number of ``source`` rows kept for measure ``i`` with ``n_points`` points (see module doc)."""
    return n_points if i == 0 else n_points - 1


def _inputs(measures: Sequence, support: Any):
    support = np.asarray(support, dtype=float)
    points, masses, dists = [], [], []
    for X, w in measures:
        X = np.asarray(X, dtype=float)
        w = np.asarray(w, dtype=float)
        points.append(X)
        masses.append(w / w.sum())  # exact unit mass up to one rounding (see module doc)
        dists.append(sq_distances(X, support))
    return points, masses, support, dists


def build_pyomo(measures: Sequence, support: Any, name: str = "barycenter"):
    """LP (16) as a Pyomo ``ConcreteModel``.

    Parameters
    ----------
    measures : sequence of (points, weights) pairs
        ``points`` of shape (n_i, d), ``weights`` of shape (n_i,) (rescaled to sum to 1).
    support : ndarray of shape (s, d)
        The fixed support S of the barycenter.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Sets ``M`` (measures), ``S`` (support points), ``X0`` .. ``X{m-1}`` (points of every
        measure); parameters ``mu{i}[x]`` and ``dist{i}[x, s]``; variables ``T{i}[x, s]``,
        ``nu[s]``; constraints ``source{i}[x]`` (the last x of every measure i >= 1 left
        out), ``target[i, s]``; objective ``cost``.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    points, masses, support, dists = _inputs(measures, support)
    m, s = len(points), support.shape[0]

    model = pyo.ConcreteModel(name=name)
    # Sets
    model.M = pyo.RangeSet(0, m - 1, doc="measures i")
    model.S = pyo.RangeSet(0, s - 1, doc="support points s")
    for i, X in enumerate(points):
        model.add_component(f"X{i}", pyo.RangeSet(0, X.shape[0] - 1, doc=f"points x of measure {i}"))
    # Parameters
    for i, (w, D) in enumerate(zip(masses, dists)):
        Xi = model.component(f"X{i}")
        model.add_component(f"mu{i}", pyo.Param(Xi, initialize=dict(enumerate(w.tolist())), within=pyo.Reals, doc=f"mu_{i}(x)"))
        model.add_component(
            f"dist{i}", pyo.Param(Xi, model.S, initialize=lambda _, x, t, D=D: float(D[x, t]), within=pyo.Reals, doc="||x - s||^2")
        )
    # Variables
    for i in range(m):
        Xi = model.component(f"X{i}")
        model.add_component(f"T{i}", pyo.Var(Xi, model.S, domain=pyo.NonNegativeReals, doc=f"plan T_{i}(x, s)"))
    model.nu = pyo.Var(model.S, domain=pyo.NonNegativeReals, doc="barycenter mass nu(s)")
    # Constraints
    for i, X in enumerate(points):
        T, mu = model.component(f"T{i}"), model.component(f"mu{i}")
        kept = kept_source_rows(X.shape[0], i)
        rows = pyo.Set(initialize=range(kept), doc=f"rows kept of source{i}")
        model.add_component(f"source{i}_rows", rows)
        model.add_component(
            f"source{i}",
            pyo.Constraint(rows, rule=lambda _, x, T=T, mu=mu: sum(T[x, t] for t in range(s)) == mu[x]),
        )

    def target(m_, i, t):
        T = m_.component(f"T{i}")
        return sum(T[x, t] for x in range(points[i].shape[0])) - m_.nu[t] == 0

    model.target = pyo.Constraint(model.M, model.S, rule=target)
    # Objective: one linear expression over every arc of every plan.
    coefs, variables = [], []
    for i, D in enumerate(dists):
        coefs += D.ravel().tolist()
        variables += list(model.component(f"T{i}").values())
    model.cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=coefs, linear_vars=variables), sense=pyo.minimize
    )
    return model


def build_cvxpy(measures: Sequence, support: Any):
    """LP (16) as a ``cvxpy.Problem`` built from vectorised expressions.

    Parameters are those of :func:`build_pyomo`. Variables ``T0`` .. ``T{m-1}`` and ``nu``;
    constraints in the order ``source0`` .. ``source{m-1}``, ``target`` (one vector
    constraint each; ``target`` has shape (m, s)). A measure i >= 1 with a single point has
    no ``source`` row left and no ``source{i}`` constraint.
    """
    import cvxpy as cp

    points, masses, support, dists = _inputs(measures, support)
    m, s = len(points), support.shape[0]
    T = [cp.Variable((X.shape[0], s), name=f"T{i}", nonneg=True) for i, X in enumerate(points)]
    nu = cp.Variable(s, nonneg=True, name="nu")
    constraints = {}
    for i, (Ti, w) in enumerate(zip(T, masses)):
        kept = kept_source_rows(w.size, i)
        if kept > 0:
            constraints[f"source{i}"] = cp.sum(Ti[:kept], axis=1) == w[:kept]
    # target[i, s]: column sums of every plan minus nu, stacked into one (m, s) constraint.
    col_sums = cp.vstack([cp.sum(Ti, axis=0) for Ti in T])
    constraints["target"] = col_sums - np.ones((m, 1)) @ cp.reshape(nu, (1, s), order="C") == 0
    for nm, con in constraints.items():
        con.label = nm  # CVXPY's constraint label: the key of its dual in SolveResult.duals
    cost = sum(cp.sum(cp.multiply(D, Ti)) for D, Ti in zip(dists, T))
    return cp.Problem(cp.Minimize(cost), list(constraints.values()))


def to_matrices(measures: Sequence, support: Any) -> LPMatrices:
    """LP (16) as sparse matrices for the direct solver path.

    Columns: ``T0`` (n_0, s), ..., ``T{m-1}`` (n_{m-1}, s), each in row-major order, then
    ``nu`` (s,). Rows: ``source0`` (n_0,), ``source{i}`` (n_i - 1,) for i >= 1, then
    ``target`` (m, s).
    """
    points, masses, support, dists = _inputs(measures, support)
    m, s = len(points), support.shape[0]
    sizes = [X.shape[0] for X in points]
    N_T = s * sum(sizes)
    I_s = sp.identity(s, format="csr")
    kept = [kept_source_rows(n_i, i) for i, n_i in enumerate(sizes)]
    # source[i]: row x of measure i sums T_i(x, .); block-diagonal over the measures.
    A_src = sp.block_diag([sp.kron(sp.eye(r, n_i), np.ones((1, s))) for r, n_i in zip(kept, sizes)], format="csr")
    A_src = sp.hstack([A_src, sp.csr_matrix((A_src.shape[0], s))], format="csr")
    # target[i]: column sums of T_i minus nu.
    A_tgt = sp.hstack(
        [sp.block_diag([sp.kron(np.ones((1, n_i)), I_s) for n_i in sizes]), -sp.kron(np.ones((m, 1)), I_s)]
    )
    starts = np.concatenate([[0], np.cumsum(kept)])
    rows = [
        (f"source{i}", (r,), A_src[starts[i] : starts[i + 1]], masses[i][:r], masses[i][:r])
        for i, r in enumerate(kept)
    ]
    rows.append(("target", (m, s), A_tgt, 0.0, 0.0))
    A, lo, up, row_blocks = stack_blocks(rows)
    var_blocks = {f"T{i}": (n_i, s) for i, n_i in enumerate(sizes)}
    var_blocks["nu"] = (s,)
    N = N_T + s
    return LPMatrices(
        c=np.concatenate([D.ravel() for D in dists] + [np.zeros(s)]),
        A=A,
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(N),
        col_upper=np.full(N, np.inf),
        var_blocks=var_blocks,
        row_blocks=row_blocks,
        name="barycenter",
    )


def dense_size(sizes: Sequence[int], s: int) -> dict:
    """Size of the dense LP (16) of :func:`to_matrices`.

    Columns T_i (n_i s each) and nu (s); rows source (n_0, then n_i - 1: one redundant row of
    every later measure is dropped) and target (m s); nonzeros: s per kept source row, then
    s sum n_i + m s in ``target``.

    Returns
    -------
    dict with keys ``n_vars``, ``n_rows``, ``nnz``
    """
    total, m, s = int(sum(int(v) for v in sizes)), len(sizes), int(s)
    kept = total - max(m - 1, 0)
    return {"n_vars": s * total + s, "n_rows": kept + m * s, "nnz": s * kept + s * total + m * s}
