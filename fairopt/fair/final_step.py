"""Steps 5 and 6 of Algorithm 1 on all points: LP (2) on the k final centres, then rounding.

Shared by Relax and Merge and the NIPS19 baseline. LP (2) on k centres has n mass rows but only
k (1 + 2 m) coupling rows, so a basic optimum splits at most that many points; every other
point already sits whole at one centre. Only the split points go through the rounding
(:func:`round_split_points`), which at n = 10^5..10^6 turns the rounding into a problem of a
few dozen points with the same guarantees.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.lp2 import solve_lp2, status_hint
from fairopt.assignment.screening import ScreenedLP
from fairopt.exceptions import SolverStatusError
from fairopt.fair.result import FairClustering
from fairopt.fair.rounding import _round_assignment
from fairopt.groups import GroupStructure
from fairopt.metrics import additive_violation
from fairopt.objectives import objective_cost
from fairopt.problem import FairProblem

__all__ = ["fair_clustering_from_centres", "round_split_points", "round_free_points"]


def round_split_points(problem: FairProblem, centres: np.ndarray, phi: sp.csr_matrix, rounding: str,
                       flow_solver: str, objective: str = "kmeans") -> tuple[np.ndarray, float]:
    """Round only the points that phi splits; every other point keeps its one centre.

    For unit points this is the same rounding as on all points: the whole points add integers to
    W(c) and W_i(c), so the floor/ceil bounds of the split points are those of all points shifted
    by integers, and the cost bound and the violation bounds (2 for disjoint groups, Bera et al.'s
    for overlapping ones) carry over. Weighted points are rounded all together.

    Returns
    -------
    labels : ndarray of shape (n,), int64
    violation : float
        Additive violation of ``labels`` on all points.
    """
    g, w = problem.groups, problem.weights
    phi = sp.csr_matrix(phi, copy=True)
    phi.eliminate_zeros()
    unit = np.allclose(w, 1.0)
    split = np.diff(phi.indptr) > 1
    if not unit or split.all():
        return _round_assignment(problem.points, centres, phi, g, problem.alpha, problem.beta, w, rounding,
                                 flow_solver, objective)
    labels = phi.indices[phi.indptr[:-1]].astype(np.int64)  # the one centre of every whole point
    if split.any():
        sub = np.flatnonzero(split)
        groups = dataclasses.replace(g, membership=g.membership[sub], codes=g.codes[sub])
        labels[sub] = _round_assignment(problem.points[sub], centres, phi[sub], groups, None, None, None, rounding,
                                        flow_solver, objective)[0]
    violation = additive_violation(labels, g.membership, problem.alpha, problem.beta, k=centres.shape[0], weights=w)
    return labels, float(violation)


def round_free_points(res: ScreenedLP, centres: np.ndarray, sig: np.ndarray, attribute: np.ndarray,
                      rounding: str = "auto", flow_solver: str = "auto", objective: str = "kmeans") -> np.ndarray:
    """Integral labels of the free points of a screened LP (2) (unit point weights).

    Every fixed point sits whole at its centre, so only free points can be split; rounding the
    split ones as :func:`round_split_points` does keeps its guarantees (violation <= 2 for
    disjoint groups, Bera et al.'s bound for overlapping ones) on all points.

    Parameters
    ----------
    res : ScreenedLP
    centres : ndarray of shape (k, d)
    sig : ndarray of shape (S, m), bool
        Groups of every signature (``res.free_sid`` indexes its rows).
    attribute : ndarray of shape (m,)
        Attribute (column of the group labels) of every group.

    Returns
    -------
    ndarray of shape (F,), int64
        Labels of ``res.free_index``.
    """
    phi = sp.csr_matrix(res.free_phi, copy=True)
    phi.eliminate_zeros()
    labels = np.asarray(phi.argmax(axis=1)).ravel().astype(np.int64)
    split = np.flatnonzero(np.diff(phi.indptr) > 1)
    if split.size == 0:
        return labels
    M = np.asarray(sig, dtype=bool)[res.free_sid[split]]
    attribute = np.asarray(attribute)
    n_attr = int(attribute.max()) + 1
    # codes[x, t]: the group of point x in attribute t (every signature has one group per attribute).
    codes = np.stack([np.argmax(M & (attribute == t)[None, :], axis=1) for t in range(n_attr)], axis=1)
    groups = GroupStructure(sp.csr_matrix(M.astype(np.float64)), [str(i) for i in range(M.shape[1])],
                            list(range(M.shape[1])), attribute, codes)
    labels[split] = _round_assignment(res.free_points[split], centres, phi[split], groups, None, None, None, rounding,
                                      flow_solver, objective)[0]
    return labels


def fair_clustering_from_centres(
    problem: FairProblem,
    centres: np.ndarray,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    rounding: str = "auto",
    best_effort: bool = False,
    verbose: bool = False,
    flow_solver: str = "auto",
    objective: str = "kmeans",
) -> FairClustering:
    """Steps 5 and 6: LP (2) on given centres, then rounding to integral labels.

    ``objective`` (:mod:`fairopt.objectives`) sets the LP's costs and the rounded ``cost``:
    sum of squared distances, sum of distances, or for ``"kcenter"`` the largest distance
    (``fractional_cost`` is then the threshold LP's tau, and ``info["tau"]`` repeats it).
    """
    t0 = time.perf_counter()
    fa = solve_lp2(problem, centres, solver=solver, method=method, time_limit=time_limit,
                   verbose=verbose, require_optimal=not best_effort, objective=objective)
    t1 = time.perf_counter()
    if fa.assignment is None:
        raise SolverStatusError(
            f"LP (2) on the {centres.shape[0]} final centres stopped with status {fa.status!r} before finding a "
            f"feasible point, so even a best-effort run has no labels to return; "
            f"{status_hint(fa.status, time_limit, offer_best_effort=False)}",
            fa,
        )
    labels, violation = round_split_points(problem, centres, fa.assignment, rounding, flow_solver, objective)
    t2 = time.perf_counter()
    cost = objective_cost(problem.points, centres, labels, objective, problem.weights)
    return FairClustering(
        centres=centres, labels=labels, assignment=fa.assignment, fractional_cost=float(fa.objective),
        cost=float(cost), violation=float(violation), status=fa.status,
        seconds={"assign_lp": t1 - t0, "rounding": t2 - t1},
        info={"assign_info": fa.info, "objective": objective,
              **({"tau": float(fa.objective)} if objective == "kcenter" else {})},
    )
