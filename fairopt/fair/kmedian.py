"""Fair k-median by Relax and Merge (``FairKMedian``): an extension beyond the paper.

The Relax-and-Merge paper treats fair k-means; this module carries its Algorithm 1 over to the
k-median objective (distances instead of squared distances), the second objective of Bera et
al.'s framework:

    1. S <- candidate centres (:func:`fairopt.candidates.candidate_set`)
    2. relax:  phi <- LP (2) with C = S and costs ||x - s||
    3. move:   W(s) = sum_x phi(x, s);  s <- weighted geometric median of the mass phi(., s)
               (Weiszfeld), which cannot raise the relaxed cost
    4. merge:  k centres <- weighted k-median (local search, then geometric medians) on (S, W)
    5. phi <- LP (2) with the k merged centres and costs ||x - c||
    6. round phi as for k-means (the circulation's bounds do not depend on the costs)

Why it works (our derivation, not the paper's theorem): let R be the relaxed cost after the
move and M = sum_s W(s) ||s - c(s)|| the merge cost. Sending the mass phi(x, s) on to c(s) is
fair (each merged centre receives a sum of fair masses) and, by the triangle inequality,
costs at most R + M, so LP (2) on the merged centres costs <= R + M. With OPT the fair
optimum and C* its centres, sum_s W(s) ||s - C*|| <= sum_{x,s} phi(x, s) (||s - x|| + ||x - C*||)
<= R + OPT, so a rho-approximate merge gives M <= rho (R + OPT) and the result is at most
(1 + rho) R + rho OPT <= (1 + 2 rho + O(eps)) OPT when S is an eps-approximate centre set
(R <= (1 + eps) OPT). Squared distances only satisfy a relaxed triangle inequality, hence the
paper's 1 + 4 rho for k-means.

Measured against NIPS19 k-median in ``python -m benchmarks kmedian``.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.lp2 import solve_lp2, status_hint
from fairopt.candidates import _candidate_set
from fairopt.exceptions import SolverStatusError
from fairopt.fair.fair_kmeans import FairKMeans
from fairopt.fair.relax_merge import fair_clustering_from_centres, warn_best_effort
from fairopt.fair.result import FairClustering
from fairopt.kmedian import _weighted_kmedian, geometric_medians
from fairopt.problem import FairProblem
from fairopt.validation import check_random_state

__all__ = ["FairKMedian", "relax_and_merge_kmedian", "move_to_medians"]


def move_to_medians(points: np.ndarray, phi: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Step 3 for k-median: weight every candidate by its mass and move it to that mass's
    weighted geometric median.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    phi : sparse matrix of shape (n, s)
        Fractional assignment of LP (2) (distance costs) on the candidates.

    Returns
    -------
    moved : ndarray of shape (s', d)
        argmin_y sum_x phi(x, s) ||x - y|| for every candidate with W(s) > 0.
    W : ndarray of shape (s',)
    """
    phi = sp.csc_matrix(phi)
    W = np.asarray(phi.sum(axis=0)).ravel()
    keep = np.flatnonzero(W > 1e-12 * max(W.max(initial=0.0), 1.0))
    medians, _ = geometric_medians(points, phi[:, keep])
    return medians, W[keep]


def relax_and_merge_kmedian(problem: FairProblem, k: int, rng: np.random.Generator,
                            candidates: str = "kdtree+points", n_candidates: int | None = None,
                            candidate_ratio: float = 1.0, n_init: int = 3, solver: str = "highs",
                            method: str = "auto", time_limit: float | None = None, rounding: str = "auto",
                            best_effort: bool = False, verbose: bool = False, progress: bool = False,
                            flow_solver: str = "auto") -> FairClustering:
    """The module's steps 1-6 on a validated problem (prior validation of data is assumed)."""
    seconds = {}
    t = time.perf_counter()
    S = _candidate_set(problem.points, candidates, n_candidates, candidate_ratio, 0.5, rng)
    seconds["candidates"] = time.perf_counter() - t

    t = time.perf_counter()
    relax = solve_lp2(problem, S, solver=solver, method=method, time_limit=time_limit, verbose=verbose,
                      progress=progress, require_optimal=not best_effort, objective="kmedian")
    seconds["relax_lp"] = time.perf_counter() - t
    if relax.assignment is None:
        raise SolverStatusError(
            f"the relaxed k-median LP (2) on {S.shape[0]} candidate centres stopped with status {relax.status!r} "
            f"before finding a feasible point; {status_hint(relax.status, time_limit, offer_best_effort=False)}",
            relax)

    t = time.perf_counter()
    moved, W = move_to_medians(problem.points, relax.assignment)
    if moved.shape[0] < k:
        # Fewer loaded candidates than k: pad with data points so the merge can return k centres.
        extra = problem.points[rng.choice(problem.n, size=k - moved.shape[0], replace=False)]
        moved = np.vstack([moved, extra])
        W = np.concatenate([W, np.full(extra.shape[0], 1e-9)])
    merged = _weighted_kmedian(moved, W, k, n_init, 1000, None, True, rng)
    seconds["merge"] = time.perf_counter() - t

    result = fair_clustering_from_centres(problem, merged.centres, solver=solver, method=method,
                                          time_limit=time_limit, rounding=rounding, best_effort=best_effort,
                                          verbose=verbose, flow_solver=flow_solver, objective="kmedian")
    all_seconds = {**seconds, **result.seconds}
    all_seconds["total"] = sum(all_seconds.values())
    return dataclasses.replace(
        result, seconds=all_seconds, status=relax.status if relax.status != "optimal" else result.status,
        info={**result.info, "relaxed_cost": float(relax.objective), "n_candidates": int(S.shape[0]),
              "n_loaded_candidates": int(np.count_nonzero(W > 1e-9)), "merge_cost": float(merged.cost),
              "relax_info": relax.info})


class FairKMedian(FairKMeans):
    """Fair k-median by Relax and Merge (an extension of Algorithm 1 beyond the paper).

    Minimises sum_x ||x - c(x)|| (distances, not squared) under the fairness bounds of LP (2);
    see the module docstring for the steps and the (1 + 2 rho + O(eps)) argument.

    Parameters
    ----------
    As :class:`fairopt.FairKMeans`, except that there is no ``n_refine`` and that ``n_init``
    (default 3) counts the restarts of the weighted k-median local search of the merge.

    Attributes
    ----------
    As :class:`fairopt.FairKMeans`, with k-median costs: ``cost_`` is sum_x w(x) ||x - c(x)||
    of ``labels_``, ``fractional_cost_`` and ``relaxed_cost_`` are LP (2) objectives with
    distance costs.
    """

    _objective = "kmedian"

    def __init__(self, n_clusters: int = 8, *, delta: float | None = 0.1, alpha: Any = None, beta: Any = None,
                 candidates: str = "kdtree+points", n_candidates: int | None = None, candidate_ratio: float = 1.0,
                 n_init: int = 3, solver: str = "highs", method: str = "auto", time_limit: float | None = None,
                 rounding: str = "auto", flow_solver: str = "auto", best_effort: bool = False,
                 random_state: Any = None, verbose: bool = False, progress: bool = False):
        super().__init__(n_clusters=n_clusters, delta=delta, alpha=alpha, beta=beta, candidates=candidates,
                         n_candidates=n_candidates, candidate_ratio=candidate_ratio, n_init=n_init, solver=solver,
                         method=method, time_limit=time_limit, rounding=rounding, flow_solver=flow_solver,
                         best_effort=best_effort, random_state=random_state, verbose=verbose, progress=progress,
                         n_refine=0)

    def fit(self, X: Any, groups: Any, sample_weight: Any = None) -> "FairKMedian":
        """Cluster ``X`` (n, d) fairly under the k-median objective."""
        problem, k = self._validate(X, groups, sample_weight)
        rng = check_random_state(self.random_state)
        res = relax_and_merge_kmedian(problem, k, rng, candidates=self.candidates, n_candidates=self.n_candidates,
                                      candidate_ratio=self.candidate_ratio, n_init=self.n_init, solver=self.solver,
                                      method=self.method, time_limit=self.time_limit, rounding=self.rounding,
                                      best_effort=self.best_effort, verbose=self.verbose, progress=self.progress,
                                      flow_solver=self.flow_solver)
        self._store(res, problem)
        self.relaxed_cost_ = res.info["relaxed_cost"]
        self.n_candidates_ = res.info["n_candidates"]
        warn_best_effort("FairKMedian", res.status)
        return self
