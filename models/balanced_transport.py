"""The BalLOT assignment step (Luo and Mixon 2025, arXiv:2512.05926): transport of the points to k centres with
prescribed cluster sizes::

    minimise    sum_x sum_j F(x, j) * ||x - mu_j||^2                                (cost)
    subject to  sum_j F(x, j) = w(x)              for every point x                 (rows)
                sum_x F(x, j) = size_j            for every centre j                (sizes)
                F >= 0

with w(x) = 1 (unit points) unless point masses are given, and sum_j size_j = sum_x w(x).
The paper normalises both marginals to probability vectors (rows 1/n, columns size_j/n);
multiplying F by n gives this form and the same optimal couplings. The constraint matrix is
that of a transportation problem, so for unit points and integer sizes every vertex is
integral: an optimal vertex is a hard balanced partition (the paper proves that for generic
data every optimal coupling is integral).

Each formulation names its parts the same way: variable ``F`` (n, k); constraints ``rows``
(n,) and ``sizes`` (k,); objective ``cost``. To add a constraint, build the model and add to
it, for example to forbid sending point 0 to centre 2 in Pyomo::

    m = build_pyomo(X, centres, sizes)
    m.forbid = pyo.Constraint(expr=m.F[0, 2] == 0)
    fairopt.solve(m, solver="glpk")

The exact solvers for large n live in :mod:`fairopt.balanced.transport`; this module is the declarative
statement of the same LP (reference, extension, export).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.distances import sq_distances
from fairopt.solvers.matrices import LPMatrices, stack_blocks

__all__ = ["dense_size", "build_pyomo", "build_cvxpy", "to_matrices", "from_costs", "default_sizes"]


def default_sizes(n: int, k: int) -> np.ndarray:
    """Sizes n/k differing by at most one (the first ``n mod k`` clusters get one more)."""
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    return sizes


def _inputs(points, centres, sizes, weights):
    points = np.asarray(points, dtype=float)
    centres = np.asarray(centres, dtype=float)
    n, k = points.shape[0], centres.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    s = default_sizes(n, k).astype(float) if sizes is None else np.asarray(sizes, dtype=float)
    return w, s, sq_distances(points, centres)


def build_pyomo(points: Any, centres: Any, sizes: Any = None, weights: Any = None, name: str = "balanced_transport"):
    """The balanced transport LP as a Pyomo ``ConcreteModel``.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
        The current centres mu_j.
    sizes : ndarray of shape (k,), optional
        Mass every centre must receive; n/k (differing by at most one) by default. Must sum
        to the total point mass.
    weights : ndarray of shape (n,), optional
        Point masses w(x); ones by default.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Sets ``P`` (points), ``C`` (centres); parameters ``dist``, ``w``, ``size``; variable
        ``F[x, j]``; constraints ``rows[x]``, ``sizes[j]``; objective ``cost``.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    w, s, D = _inputs(points, centres, sizes, weights)
    n, k = D.shape

    model = pyo.ConcreteModel(name=name)
    # Sets
    model.P = pyo.RangeSet(0, n - 1, doc="points x")
    model.C = pyo.RangeSet(0, k - 1, doc="centres j")
    # Parameters
    model.dist = pyo.Param(model.P, model.C, initialize=lambda _, x, j: float(D[x, j]), within=pyo.Reals, doc="||x - mu_j||^2")
    model.w = pyo.Param(model.P, initialize=lambda _, x: float(w[x]), within=pyo.Reals, doc="mass w(x)")
    model.size = pyo.Param(model.C, initialize=lambda _, j: float(s[j]), within=pyo.Reals, doc="prescribed size of cluster j")
    # Variables
    model.F = pyo.Var(model.P, model.C, domain=pyo.NonNegativeReals, doc="mass of x sent to mu_j")
    # Constraints
    model.rows = pyo.Constraint(model.P, rule=lambda m_, x: sum(m_.F[x, j] for j in m_.C) == m_.w[x])
    model.sizes = pyo.Constraint(model.C, rule=lambda m_, j: sum(m_.F[x, j] for x in m_.P) == m_.size[j])
    # Objective: one linear expression over all n*k arcs (much faster than a nested sum).
    model.cost = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=D.ravel().tolist(), linear_vars=list(model.F.values())),
        sense=pyo.minimize,
    )
    return model


def build_cvxpy(points: Any, centres: Any, sizes: Any = None, weights: Any = None):
    """The balanced transport LP as a ``cvxpy.Problem`` built from vectorised expressions.

    Parameters are those of :func:`build_pyomo`. Constraints come in the order ``rows``,
    ``sizes`` (each one vector constraint).
    """
    import cvxpy as cp

    w, s, D = _inputs(points, centres, sizes, weights)
    n, k = D.shape
    F = cp.Variable((n, k), nonneg=True, name="F")
    constraints = {
        "rows": cp.sum(F, axis=1) == w,
        "sizes": cp.sum(F, axis=0) == s,
    }
    for nm, con in constraints.items():
        con.label = nm  # CVXPY's constraint label: the key of its dual in SolveResult.duals
    return cp.Problem(cp.Minimize(cp.sum(cp.multiply(D, F))), list(constraints.values()))


def to_matrices(points: Any, centres: Any, sizes: Any = None, weights: Any = None) -> LPMatrices:
    """The balanced transport LP as sparse matrices for the direct solver path.

    Columns: ``F`` (n, k) in row-major order (column x*k + j). Rows: ``rows`` (n,), ``sizes`` (k,).
    """
    w, s, D = _inputs(points, centres, sizes, weights)
    return from_costs(D, s, w)


def from_costs(costs: Any, sizes: Any = None, weights: Any = None) -> LPMatrices:
    """The LP of :func:`to_matrices` for a given cost matrix ``costs`` of shape (n, k).

    Any cost works (the BalLOT step uses D(x, j) = ||x - mu_j||^2); used by
    :func:`fairopt.balanced.transport.balanced_assignment` with ``solver="highs"``.
    """
    D = np.asarray(costs, dtype=float)
    n, k = D.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    s = default_sizes(n, k).astype(float) if sizes is None else np.asarray(sizes, dtype=float)
    A_rows = sp.kron(sp.identity(n, format="csr"), np.ones((1, k)))
    A_sizes = sp.kron(np.ones((1, n)), sp.identity(k, format="csr"))
    A, lo, up, rows = stack_blocks([("rows", (n,), A_rows, w, w), ("sizes", (k,), A_sizes, s, s)])
    N = n * k
    return LPMatrices(
        c=D.ravel().copy(),
        A=A,
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(N),
        col_upper=np.full(N, np.inf),
        var_blocks={"F": (n, k)},
        row_blocks=rows,
        name="balanced_transport",
    )


def dense_size(n: int, k: int) -> dict:
    """Size of the dense transport LP of :func:`to_matrices`: F (n k); rows (n) and sizes (k); 2 n k nonzeros.

    Returns
    -------
    dict with keys ``n_vars``, ``n_rows``, ``nnz``
    """
    n, k = int(n), int(k)
    return {"n_vars": n * k, "n_rows": n + k, "nnz": 2 * n * k}

