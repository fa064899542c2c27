"""Fair k-center assignment: the smallest radius tau whose threshold LP is feasible.

Bera et al. (2019) solve fair k-center on given centres C by the threshold LP of
:mod:`fairopt.models.fair_kcenter`: for a radius tau keep only the arcs with ||x - c|| <= tau
and ask for a fair fractional assignment on them. Feasibility is monotone in tau, and the
smallest feasible tau is one of the n k distances ||x - c||, so a search over the sorted
distinct distances finds it with O(log(n k)) LPs. The search starts at the largest
nearest-centre distance max_x min_c ||x - c|| (below it some point has no arc) and gallops:
it tries the 1st, 2nd, 4th, 8th, ... distance above that bound until one is feasible, then
bisects the last gap. The LP at the j-th sorted distance has at least j arcs, so galloping
keeps every LP within about twice the size of the optimal one, where a plain bisection would
start with half of all n k arcs.

At the optimal tau the LP is solved once more with the arc lengths as costs, so that among
the fair assignments within tau the one of least total distance is returned (a tie-break;
tau itself is what the k-center LP certifies). The rounding then keeps every point on an
arc of phi's support, so the rounded solution's largest distance is <= tau.

References
----------
S. K. Bera, D. Chakrabarty, N. J. Flores, M. Negahbani. Fair algorithms for clustering.
NeurIPS 2019 (the fair assignment LP for k-center and its rounding).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import SolverStatusError
from fairopt.models.fair_kcenter import arc_matrices
from fairopt.objectives import distances
from fairopt.solvers.core import solve

__all__ = ["ThresholdResult", "smallest_feasible_tau", "threshold_feasible"]


@dataclass(frozen=True)
class ThresholdResult:
    """Result of :func:`smallest_feasible_tau`.

    Attributes
    ----------
    tau : float
        The smallest radius whose threshold LP is feasible (the fair k-center LP value).
    assignment : scipy.sparse.csr_matrix of shape (n, k)
        A feasible phi at ``tau`` of least total distance.
    status : str
        ``"optimal"`` when the search finished.
    info : dict
        ``lp_solves``, ``candidates`` (distinct distances searched), ``lower_bound``
        (max_x min_c ||x - c||), ``arcs`` (arcs at tau), ``kmedian_cost`` of ``assignment``,
        ``seconds``.
    """

    tau: float
    assignment: sp.csr_matrix | None
    status: str
    info: dict = field(default_factory=dict)


def _lp(D, tau, membership, alpha, beta, weights, with_costs=False):
    arc_x, arc_c = np.nonzero(D <= tau)
    n, k = D.shape
    cost = D[arc_x, arc_c] / max(tau, 1e-300) if with_costs else None  # scaled for the tolerances
    return arc_x, arc_c, arc_matrices(arc_x, arc_c, n, k, membership, alpha, beta, weights, cost=cost)


def threshold_feasible(D: np.ndarray, tau: float, membership: sp.spmatrix, alpha: np.ndarray, beta: np.ndarray,
                       weights: np.ndarray, solver: str = "highs", time_limit: float | None = None) -> bool:
    """Whether the threshold LP at ``tau`` is feasible (inner: inputs trusted).

    Parameters
    ----------
    D : ndarray of shape (n, k)
        ||x - c||.
    tau : float
    membership : scipy.sparse matrix of shape (n, m)
    alpha, beta : ndarray of shape (m,)
    weights : ndarray of shape (n,)

    Raises
    ------
    SolverStatusError
        When the solver proves neither feasibility nor infeasibility.
    """
    return _probe(D, tau, membership, alpha, beta, weights, solver, time_limit) is not None


def _probe(D, tau, membership, alpha, beta, weights, solver, time_limit, with_costs=False):
    """A feasible phi (n, k) at ``tau``, or None when the threshold LP is infeasible."""
    arc_x, arc_c, lp = _lp(D, tau, membership, alpha, beta, weights, with_costs=with_costs)
    res = solve(lp, solver=solver, time_limit=time_limit)
    if res.status == "optimal":
        vals = np.maximum(np.asarray(res.values["phi"], dtype=np.float64), 0.0)
        vals[vals < 1e-12] = 0.0
        phi = sp.csr_matrix((vals, (arc_x, arc_c)), shape=D.shape)
        phi.eliminate_zeros()
        return phi
    if res.status == "infeasible":
        return None
    raise SolverStatusError(f"the k-center threshold LP at tau={tau:.6g} ended with status {res.status!r} "
                            f"({res.solver}): neither feasible nor proven infeasible; try another solver", res)


def smallest_feasible_tau(points: np.ndarray, centres: np.ndarray, membership: sp.spmatrix, alpha: np.ndarray,
                          beta: np.ndarray, weights: np.ndarray, solver: str = "highs",
                          time_limit: float | None = None, tie_break: bool = True) -> ThresholdResult:
    """Galloping search over the sorted distances for the fair k-center LP value (inputs trusted).

    tau* = min { tau in {||x - c||} : the threshold LP at tau is feasible }.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    membership : scipy.sparse matrix of shape (n, m), 0/1
    alpha, beta : ndarray of shape (m,)
        Bounds that pass :func:`fairopt.problem.check_bounds_feasible` (then tau = max distance
        is feasible: every point may go anywhere, and a fair mixture exists).
    weights : ndarray of shape (n,)
    solver : str
        LP solver of the matrix path.
    time_limit : float, optional
        Seconds per LP.
    tie_break : bool
        Solve the LP at tau once more with the arc lengths as costs (a fair phi of least total
        distance within tau); when False, the feasible phi found by the search is returned.

    Returns
    -------
    ThresholdResult
    """
    t0 = time.perf_counter()
    D = distances(points, centres)
    live = weights > 0
    lower = float(D[live].min(axis=1).max(initial=0.0))
    taus = np.unique(D[live])
    taus = taus[taus >= lower]
    args = (membership, alpha, beta, weights, solver, time_limit)
    lo, hi = 0, taus.size - 1  # invariant: taus[hi] feasible, everything below lo infeasible
    solves, step, phi = 0, 1, None
    while lo + step - 1 < hi:  # gallop: probe lo, lo + 1, lo + 3, lo + 7, ...
        probe = lo + step - 1
        solves += 1
        found = _probe(D, taus[probe], *args)
        if found is not None:
            hi, phi = probe, found
            break
        lo, step = probe + 1, 2 * step
    while lo < hi:
        mid = (lo + hi) // 2
        solves += 1
        found = _probe(D, taus[mid], *args)
        if found is not None:
            hi, phi = mid, found
        else:
            lo = mid + 1
    tau = float(taus[hi])
    if tie_break or phi is None:  # phi is None when only the top distance was left (never probed)
        solves += 1
        phi = _probe(D, tau, *args, with_costs=True)
    info = {"lp_solves": solves, "candidates": int(taus.size), "lower_bound": lower,
            "arcs": int(np.count_nonzero(D <= tau))}
    if phi is None:  # the LP at the largest distance: feasible unless the solver failed
        info["seconds"] = time.perf_counter() - t0
        return ThresholdResult(tau, None, "infeasible", info)
    coo = phi.tocoo()
    info.update(kmedian_cost=float(coo.data @ D[coo.row, coo.col]), seconds=time.perf_counter() - t0)
    return ThresholdResult(tau, phi, "optimal", info)
