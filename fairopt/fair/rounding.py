"""Rounding a fractional fair assignment phi of LP (2) to integral labels (step 6 of Algorithm 1).

* Disjoint groups: :func:`round_circulation`, an optimal integral flow of the hub-guided
  circulation of :mod:`fairopt.models.circulation`. Cost <= cost(phi), additive violation
  < 1 + max_i beta_i <= 2.
* Overlapping groups: :func:`round_iterative`, the iterative LP rounding of Bera et al. (2019).
  Cost <= cost(phi), additive violation < (1 + max_i alpha_i)(2 Delta + 1) <= 4 Delta + 2 for
  unit points, Delta the largest number of groups a point belongs to.
* :func:`round_assignment` picks one of them.

References
----------
S. K. Bera, D. Chakrabarty, N. J. Flores, M. Negahbani. Fair algorithms for clustering.
NeurIPS 2019 (Section 3: fair assignment, iterative rounding after Kiraly, Lau, Singh).
T. Kiraly, L. C. Lau, M. Singh. Degree bounded matroids and submodular flows. Combinatorica 2012.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.distances import nearest
from fairopt.exceptions import ValidationError
from fairopt.groups import GroupStructure, encode_groups
from fairopt.metrics import additive_violation
from fairopt.models import circulation as _circ
from fairopt.objectives import arc_cost, fractional_cost, validate_objective
from fairopt.solvers.core import solve
from fairopt.solvers.flow import (
    DEFAULT_FLOW_SOLVER,
    FLOW_SOLVERS,
    default_flow_solver,
    min_cost_flow,
)
from fairopt.solvers.matrices import LPMatrices

__all__ = ["round_circulation", "round_iterative", "round_assignment", "FLOW_SOLVERS", "DEFAULT_FLOW_SOLVER"]


REL_TOL = 1e-9
ROUNDING_METHODS = ("auto", "circulation", "iterative")




def round_circulation(
    points: np.ndarray,
    centres: np.ndarray,
    assignment: Any,
    group_of_point: np.ndarray,
    n_groups: int,
    flow_solver: str = "auto",
    arcs: str = "support",
    tol: float = 1e-6,
    objective: str = "kmeans",
) -> np.ndarray:
    """Round phi through an optimal integral hub-guided circulation (disjoint groups, unit points).

    Solves min sum_a cost(a) flow(a) over the circulation of
    :func:`fairopt.models.circulation.hub_network` with an integral solver. Since phi is a
    feasible circulation and the polytope is integral, the result satisfies

        cost(labels) <= sum_x sum_c phi(x, c) cost(x, c)   (``objective``'s arc cost, ||x - c||^2 by default),
        floor W_i(c) <= W'_i(c) <= ceil W_i(c),  floor W(c) <= W'(c) <= ceil W(c),

    so its additive violation is below 1 + max_i beta_i <= 2. The cost inequality is checked
    in floating point (relative 1e-9); a solver whose scaled integer costs miss it is
    replaced by HiGHS.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    assignment : ndarray or scipy.sparse matrix of shape (n, k)
        phi from LP (2), rows summing to 1.
    group_of_point : ndarray of shape (n,), int
        Group index in ``0 .. n_groups - 1``.
    n_groups : int
    flow_solver : {"auto", "ortools", "highs", "networkx"}
        Min-cost flow solver (:func:`fairopt.solvers.flow.min_cost_flow`). ``"ortools"``: cost-scaling push-relabel on integer costs
        (the largest cost scaled to 2**40); ``"highs"``: dual simplex on the LP (a vertex is
        integral); ``"networkx"``: network simplex in pure Python (slow at scale). ``"auto"``
        takes OR-Tools when installed, HiGHS otherwise.
    arcs : {"support", "all"}
        Offer each point only the centres of its support in phi, or every centre.
    tol : float
        Masses within ``tol`` of an integer count as that integer.

    Returns
    -------
    labels : ndarray of shape (n,), int64
    """
    if flow_solver == "auto":
        flow_solver = default_flow_solver()
    if flow_solver not in FLOW_SOLVERS:
        raise ValidationError(f"flow_solver must be 'auto' or one of {FLOW_SOLVERS}; got {flow_solver!r}")
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    phi = sp.csr_matrix(assignment, dtype=np.float64)
    kernel = arc_cost(objective)
    frac_cost = fractional_cost(points, centres, phi, objective)
    limit = frac_cost + REL_TOL * max(abs(frac_cost), 1e-300)
    labels = None
    for solver in dict.fromkeys([flow_solver, "highs"]):
        flow, net = None, None
        # The snapping tolerance can, on an unlucky LP solution, cut off every integral
        # circulation; without it the fractional phi itself is feasible.
        for t in dict.fromkeys([tol, 0.0]):
            net = _circ.hub_network(phi, lambda r, c: kernel.pairs(points[r], centres[c]), group_of_point,
                                    n_groups, arcs=arcs, tol=t)
            flow = min_cost_flow(net.tail, net.head, net.lower, net.upper, net.cost, np.zeros(net.n_nodes),
                                 net.n_nodes, solver=solver)
            if flow is not None:
                break
        if flow is None:
            raise RuntimeError(f"the rounding circulation is infeasible ({solver}); is phi a feasible assignment with rows summing to 1?")
        labels = net.labels(flow)
        # The circulation minimises the summed arc costs (distances for k-center too).
        if float(kernel.pairs(points, centres[labels]).sum()) <= limit:
            return labels
    warnings.warn("rounded cost exceeds the fractional cost beyond 1e-9 relative (numerical trouble)", RuntimeWarning, stacklevel=2)
    return labels


# --------------------------------------------------------------------------- iterative rounding
class _Infeasible(RuntimeError):
    pass


def _vertex(cost, A, lo, up, options):
    """A vertex of min cost @ y, lo <= A y <= up, 0 <= y <= 1 (dual simplex through fairopt.solvers.core)."""
    E = cost.shape[0]
    lp = LPMatrices(c=cost, A=sp.csr_matrix(A), row_lower=lo, row_upper=up, col_lower=np.zeros(E),
                    col_upper=np.ones(E), var_blocks={"y": (E,)}, row_blocks={"rows": (A.shape[0],)},
                    name="iterative_rounding")
    res = solve(lp, solver="highs", options=options)
    if res.status == "infeasible":
        raise _Infeasible(res.raw_status)
    if res.status != "optimal":
        raise RuntimeError(f"iterative rounding LP ended with status {res.status!r} ({res.raw_status})")
    return res.values["y"]


def round_iterative(
    points: np.ndarray,
    centres: np.ndarray,
    assignment: Any,
    membership: sp.csr_matrix,
    weights: np.ndarray | None = None,
    tol: float = 1e-6,
    eps: float = 1e-9,
    max_iter: int | None = None,
    objective: str = "kmeans",
) -> np.ndarray:
    """Iterative LP rounding of phi for overlapping groups (Bera et al. 2019, Section 3).

    With y(x, c) = phi(x, c) / w(x), the rounding keeps the bounds of the starting phi

        floor T_r <= sum_{(x, c) in r} w(x) y(x, c) <= ceil T_r

    for every row r: the mass of each centre c (T = W(c)) and of each centre and group
    (T = W_i(c)). Repeat: fix the points with an integral y; drop every row with at most
    2 Delta' - 1 fractional variables (Delta' = Delta + 1, the most rows a variable is in);
    re-solve min sum w(x) ||x - c||^2 y(x, c) subject to sum_c y(x, c) = 1 over the
    fractional points and the kept rows, taking a vertex (simplex).

    Why it ends: a vertex with no integral variable has a kept row with at most 2 Delta' - 1
    fractional variables (count tight rows: p <= F/2 point rows, each variable in <= Delta'
    rows; equality would make the point rows and the centre rows linearly dependent), the
    counting argument of Kiraly, Lau and Singh that Bera et al. use. Each LP's optimum is no
    more than the previous solution, so cost(labels) <= cost(phi). A row dropped with q
    fractional variables moves by less than q from a value within its floor/ceil, so for unit
    points every W(c), W_i(c) ends within 2 Delta of floor/ceil, strictly less than
    2 Delta + 1 from phi's, and the additive violation is below
    (1 + max_i alpha_i)(2 Delta + 1) <= 4 Delta + 2 (Bera et al. state 4 Delta + 3).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    assignment : ndarray or scipy.sparse matrix of shape (n, k)
        phi, rows summing to w(x).
    membership : scipy.sparse.csr_matrix of shape (n, m)
        0/1 group memberships (groups may overlap).
    weights : ndarray of shape (n,), optional
        w(x); ones by default. Each point still goes whole to one centre.
    tol : float
        Masses within ``tol`` of an integer count as that integer in floor/ceil.
    eps : float
        y within ``eps`` of 0 or 1 counts as integral.
    max_iter : int, optional
        Safety cap on the LP re-solves (default: number of support entries + rows + 10).

    Returns
    -------
    labels : ndarray of shape (n,), int64
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    phi = sp.csr_matrix(assignment, dtype=np.float64)
    M = sp.csr_matrix(membership, dtype=np.float64)
    try:
        return _iterative(points, centres, phi, M, weights, tol, eps, max_iter, objective)
    except _Infeasible:
        # Snapping near-integral masses can, on an unlucky LP solution, cut off every
        # solution; without it phi itself satisfies the first LP.
        return _iterative(points, centres, phi, M, weights, 0.0, eps, max_iter, objective)


def _iterative(points, centres, phi, M, weights, tol, eps, max_iter, objective="kmeans"):
    n, k = phi.shape
    m = M.shape[1]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    delta_p = int(np.diff(M.indptr).max(initial=0)) + 1  # Delta' = Delta + 1
    drop_at = 2 * delta_p - 1

    # Rows: k centre rows, then k*m (centre, group) rows at k + c*m + i; bounds from phi.
    W = np.asarray(phi.sum(axis=0)).ravel()
    Wi = np.asarray((M.T @ phi).todense()).T.ravel()  # (k*m,) at c*m + i
    T = np.concatenate([W, Wi])
    row_lo, row_up = np.floor(T + tol), np.ceil(T - tol)
    kept = np.ones(k + k * m, dtype=bool)

    coo = phi.tocoo()
    nz = coo.data > 0
    ar, ac = coo.row[nz].astype(np.int64), coo.col[nz].astype(np.int64)
    y = coo.data[nz] / np.where(w[ar] > 0, w[ar], 1.0)
    labels = np.full(n, -1, dtype=np.int64)
    fixed_mass = np.zeros(k + k * m)
    cost = arc_cost(objective).pairs(points[ar], centres[ac]) * w[ar]
    top = float(cost.max(initial=0.0)) or 1.0
    options = {"solver": "simplex", "dual_feasibility_tolerance": 1e-10, "primal_feasibility_tolerance": 1e-9}
    max_iter = int(max_iter) if max_iter is not None else ar.size + kept.size + 10

    def arc_rows(xs, cs):
        """(arc position, row) pairs: centre row of every arc, then its (centre, group) rows."""
        Mx = M[xs]
        reps = np.diff(Mx.indptr)
        pos = np.arange(xs.size)
        grp_rows = k + np.repeat(cs, reps) * m + Mx.indices
        return np.concatenate([pos, np.repeat(pos, reps)]), np.concatenate([cs, grp_rows])

    first = True
    for _ in range(max_iter):
        # Fix integral points; forget arcs at 0.
        one = y >= 1.0 - eps
        if one.any():
            xs, cs = ar[one], ac[one]
            labels[xs] = cs
            pos, rows = arc_rows(xs, cs)
            np.add.at(fixed_mass, rows, w[xs][pos])
            done = np.zeros(n, dtype=bool)
            done[xs] = True
            alive = ~done[ar]
        else:
            alive = np.ones(ar.size, dtype=bool)
        alive &= y > eps
        progress = bool(one.any() or not alive.all())
        ar, ac, y, cost = ar[alive], ac[alive], y[alive], cost[alive]
        if ar.size == 0:
            break
        pos, rows = arc_rows(ar, ac)
        count = np.bincount(rows, minlength=kept.size)
        newly = kept & (count <= drop_at)
        kept &= ~newly
        if not first and not progress and not newly.any() and kept.any():
            # An exact vertex always makes progress; a numerically loose one might not. Drop
            # the kept row with the fewest fractional variables to move on.
            cand = np.flatnonzero(kept)
            kept[cand[np.argmin(count[cand])]] = False
        first = False
        # LP over the fractional points: mass rows, then the kept rows.
        pts, pidx = np.unique(ar, return_inverse=True)
        E = ar.size
        A_mass = sp.csr_matrix((np.ones(E), (pidx, np.arange(E))), shape=(pts.size, E))
        sel = kept[rows]
        kept_idx = np.flatnonzero(kept)
        remap = np.full(kept.size, -1)
        remap[kept_idx] = np.arange(kept_idx.size)
        A_rows = sp.csr_matrix((w[ar][pos[sel]], (remap[rows[sel]], pos[sel])), shape=(kept_idx.size, E))
        A = sp.vstack([A_mass, A_rows], format="csr")
        lo = np.concatenate([np.ones(pts.size), row_lo[kept_idx] - fixed_mass[kept_idx]])
        up = np.concatenate([np.ones(pts.size), row_up[kept_idx] - fixed_mass[kept_idx]])
        y = np.clip(_vertex(cost / top, A, lo, up, options), 0.0, 1.0)
    else:
        raise RuntimeError(f"iterative rounding did not finish in {max_iter} LP solves")
    if (labels < 0).any():
        # Points of weight 0 (no support): nearest centre.

        free = labels < 0
        labels[free] = nearest(points[free], centres)[0]
    return labels


# --------------------------------------------------------------------------- dispatcher
def _check_inputs(points, centres, assignment, groups, weights, tol: float = 1e-6):
    """Shapes, signs and row sums of phi: the rounding is only defined for a feasible phi."""
    n, k = np.shape(points)[0], np.shape(centres)[0]
    phi = sp.csr_matrix(assignment, dtype=np.float64)
    if phi.shape != (n, k):
        raise ValidationError(f"assignment must have shape (n, k) = ({n}, {k}) (points x centres); got {phi.shape}")
    if not np.all(np.isfinite(phi.data)) or (phi.data < -tol).any():
        raise ValidationError("assignment must be finite and non-negative (a fractional assignment phi of LP (2))")
    g = groups if isinstance(groups, GroupStructure) else encode_groups(groups, n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    rows = np.asarray(phi.sum(axis=1)).ravel()
    bad = np.abs(rows - w) > tol * np.maximum(1.0, np.abs(w))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"assignment rows must sum to the point weights (1 for unit points); row {i} sums to {rows[i]:.9g}, "
            f"not {w[i]:.9g}: round the phi of LP (2) (fairopt.fair_assignment), not a partial assignment"
        )
    return g, phi


def round_assignment(
    points: np.ndarray,
    centres: np.ndarray,
    assignment: Any,
    groups: Any,
    alpha: Any = None,
    beta: Any = None,
    weights: np.ndarray | None = None,
    method: str = "auto",
    flow_solver: str = "auto",
    objective: str = "kmeans",
) -> np.ndarray:
    """Round a fractional fair assignment to labels, choosing the method from the groups.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    assignment : ndarray or scipy.sparse matrix of shape (n, k)
        phi from LP (2).
    groups : GroupStructure, or labels of shape (n,) or (n, a)
    alpha, beta : ndarray of shape (m,), optional
        The bounds phi satisfies. The rounding needs only phi (the bounds enter through W(c)
        and W_i(c)); when given, the result is checked against the proven violation bound and
        a ``RuntimeWarning`` signals a numerical problem.
    weights : ndarray of shape (n,), optional
        Point masses; the circulation needs unit points, other weights use the iterative LP
        rounding (each point goes whole to one centre).
    method : {"auto", "circulation", "iterative"}
        ``"auto"``: circulation for disjoint groups and unit points, iterative otherwise.
    flow_solver : {"auto", "ortools", "highs", "networkx"}
        Solver of the circulation.
    objective : {"kmeans", "kmedian", "kcenter"}
        The arc costs minimised (:func:`fairopt.objectives.arc_cost`; the violation bounds do not
        depend on them). Points stay on phi's support: a k-center radius stays within the LP's tau.

    Returns
    -------
    labels : ndarray of shape (n,), int64
    """
    groups, assignment = _check_inputs(points, centres, assignment, groups, weights)
    if method not in ROUNDING_METHODS:
        raise ValidationError(f"method must be 'auto', 'circulation' or 'iterative'; got {method!r}")
    objective = validate_objective(objective)
    return _round_assignment(points, centres, assignment, groups, alpha, beta, weights, method, flow_solver,
                             objective)[0]


def _round_assignment(points: np.ndarray, centres: np.ndarray, assignment: sp.csr_matrix, groups: GroupStructure,
                      alpha: np.ndarray | None, beta: np.ndarray | None, weights: np.ndarray | None,
                      method: str, flow_solver: str, objective: str = "kmeans") -> tuple[np.ndarray, float | None]:
    """:func:`round_assignment` on validated input; also returns the labels' additive violation.

    The violation is computed once here (None without bounds) and reused by the callers.
    """
    unit = weights is None or np.allclose(np.asarray(weights, dtype=np.float64), 1.0)
    if method == "auto":
        method = "circulation" if groups.disjoint and unit else "iterative"
    if method == "circulation":
        if not groups.disjoint:
            raise ValidationError("circulation rounding needs disjoint groups (one group attribute); use method='iterative'")
        if not unit:
            raise ValidationError("circulation rounding needs unit point weights; use method='iterative' for weighted points")
        labels = round_circulation(points, centres, assignment, groups.group_of_point(), groups.n_groups, flow_solver=flow_solver,
                                   objective=objective)
        delta = 0
    elif method == "iterative":
        labels = round_iterative(points, centres, assignment, groups.membership, weights=None if unit else weights,
                                 objective=objective)
        delta = int(np.diff(sp.csr_matrix(groups.membership).indptr).max(initial=0))
    violation = None
    if alpha is not None and beta is not None:
        a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
        k = np.shape(centres)[0]
        violation = additive_violation(labels, groups.membership, a, b, k=k, weights=weights)
        bound = 1.0 + float(b.max(initial=0.0)) if method == "circulation" else (1.0 + float(a.max(initial=0.0))) * (2 * delta + 1)
        # phi itself may leave the bounds by LP tolerances; allow that much on top (computed only when needed).
        if unit and violation > bound + 1e-6 and violation > bound + additive_violation(assignment, groups.membership, a, b) + 1e-6:
            warnings.warn(f"{method} rounding exceeded its proven violation bound {bound:.3g} (numerical trouble)",
                          RuntimeWarning, stacklevel=2)
    return labels, violation
