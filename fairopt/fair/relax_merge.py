"""Algorithm 1 of the Relax-and-Merge paper: fair k-means (``FairKMeans``).

Song, Mo, Yang, Ding. "Relax and Merge: A Simple Yet Effective Framework for Solving Fair
k-Means and k-sparse Wasserstein Barycenter Problems".

    1. S <- an approximate centroid set (candidate centres)
    2. relax:  phi <- LP (2) with C = S          (every candidate may be a centre)
    3. move:   W(s) = sum_x phi(x, s);  s <- sum_x phi(x, s) x / W(s)
    4. merge:  k centres <- weighted k-means (k-means++ then Lloyd) on (S, W)
    5. phi <- LP (2) with the k merged centres
    6. round phi to an integral assignment (violation <= 2 for disjoint groups)

The merge costs a factor rho (the k-means approximation), giving (1 + 4 rho + O(eps)) times
the fair optimum (the paper's Theorem 1).

At scale (issue 11) steps 1-4 run on a fair coreset (:mod:`fairopt.coresets`: a weighted
sample per group signature with each signature's exact weight, so LP (2) on it stands in for
LP (2) on the data), with a bounded candidate set (400 kd-tree samples); steps 5 and 6 run on
all points exactly (certified LP (2), rounding of the split points only).
"""
from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.lp2 import (
    FairAssignment,
    solve_lp2,
    status_hint,
)
from fairopt.candidates import _candidate_set
from fairopt.coresets import coreset_problem, resolve_coreset_size
from fairopt.distances import mass_centroids, sq_distances
from fairopt.exceptions import SolverStatusError
from fairopt.fair.final_step import fair_clustering_from_centres
from fairopt.fair.result import FairClustering
from fairopt.kmeans import _weighted_kmeans
from fairopt.problem import (
    FairProblem,
)

__all__ = ["FairClustering", "MergedCentres", "resolve_n_refine", "refine_merged", "AUTO_REFINE_STEPS", "relax_and_merge", "relax_and_merge_centres", "fair_clustering_from_centres", "move_candidates",
           "warn_best_effort"]


def move_candidates(points: np.ndarray, candidates: np.ndarray, phi: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: weight every candidate by the mass it received and move it to that mass's centroid.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    candidates : ndarray of shape (s, d)
    phi : sparse matrix of shape (n, s)
        Fractional assignment of LP (2) on the candidates.

    Returns
    -------
    moved : ndarray of shape (s', d)
        Centroids of the mass of every candidate with W(s) > 0.
    W : ndarray of shape (s',)
        Their weights W(s).
    """
    # s <- sum_x phi(x, s) x / W(s): one sparse product, no loop over candidates.
    moved, W = mass_centroids(phi, points)
    keep = W > 1e-12 * max(W.max(initial=0.0), 1.0)
    return moved[keep], W[keep]


#: Fair Lloyd steps of ``n_refine="auto"`` when steps 1-4 ran on a fair coreset (fewer when a step
#: gains less than 1e-6). At scale the merged centres come from a coreset, not from the paper's
#: all-points relaxation; a few monotone steps on the coreset (about 0.3 s each at k = 10) recover
#: what the coreset loses: creditcard at k = 20 goes from 0.9% above NIPS19's fractional cost to
#: 0.1% below (``python -m benchmarks scale``). Without a coreset "auto" runs the paper's Algorithm 1.
AUTO_REFINE_STEPS = 10


def resolve_n_refine(n_refine: int | str, on_coreset: bool) -> int:
    """Steps of the fair Lloyd refinement: ``n_refine``, or for ``"auto"`` AUTO_REFINE_STEPS on a
    coreset and 0 (the paper's Algorithm 1) on all points."""
    if isinstance(n_refine, str) and n_refine == "auto":
        return AUTO_REFINE_STEPS if on_coreset else 0
    return int(n_refine)


def refine_merged(problem: FairProblem, centres: np.ndarray, n_refine: int | str, on_coreset: bool, solver: str,
                  method: str, time_limit: float | None, seconds: dict) -> tuple[np.ndarray, list]:
    """The refinement after the merge as ``n_refine`` asks (:func:`resolve_n_refine`); its seconds
    go to ``seconds["refine"]``. Returns (centres, history) as :func:`refine_centres`."""
    steps = resolve_n_refine(n_refine, on_coreset)
    if steps == 0:
        return centres, []
    t = time.perf_counter()
    out = refine_centres(problem, centres, steps, solver=solver, method=method, time_limit=time_limit)
    seconds["refine"] = time.perf_counter() - t
    return out


def refine_centres(problem: FairProblem, centres: np.ndarray, n_iter: int, solver: str = "highs",
                   method: str = "auto", time_limit: float | None = None, tol: float = 1e-6) -> tuple[np.ndarray, list]:
    """Optional fair Lloyd refinement after the merge (not part of the paper's Algorithm 1).

    Alternates LP (2) on the centres with moving every centre to the centroid of the mass it
    receives; a centre that receives nothing is re-seeded at the point that pays most. Each
    step keeps the previous assignment feasible, and the centroid minimises sum_x phi(x, c)
    ||x - c||^2 for fixed phi, so the LP (2) objective never increases.

    Returns
    -------
    centres : ndarray of shape (k, d)
    history : list of float
        LP (2) objective before each move (monotone non-increasing).
    """
    history = []
    for _ in range(n_iter):
        fa = solve_lp2(problem, centres, solver=solver, method=method, time_limit=time_limit)
        history.append(float(fa.objective))
        if len(history) > 1 and history[-2] - history[-1] <= tol * abs(history[-2]):
            break
        phi = fa.assignment
        new, W = mass_centroids(phi, problem.points, fallback=centres)
        used = W > 1e-12
        new[~used] = centres[~used]
        if (~used).any():
            # cost each point pays now; the most expensive ones seed the empty centres
            pay = np.asarray(phi.multiply(sq_distances(problem.points, centres)).sum(axis=1)).ravel()
            new[~used] = problem.points[np.argsort(-pay, kind="stable")[: int((~used).sum())]]
        centres = new
    return centres, history


@dataclasses.dataclass(frozen=True)
class MergedCentres:
    """Steps 1-4 of Algorithm 1 on one (possibly weighted) problem: the k merged centres.

    Attributes
    ----------
    centres : ndarray of shape (k, d)
    relax : FairAssignment
        LP (2) on the candidate set (the relaxation).
    n_candidates : int
        Size of the candidate set S.
    n_loaded : int
        Candidates that received mass in the relaxation.
    merge_cost : float
        Weighted k-means cost of the merge.
    seconds : dict
        ``candidates``, ``relax_lp``, ``merge``.
    """

    centres: np.ndarray
    relax: FairAssignment
    n_candidates: int
    n_loaded: int
    merge_cost: float
    seconds: dict


def relax_and_merge_centres(
    problem: FairProblem,
    k: int,
    rng: np.random.Generator,
    candidates: str = "kdtree+seeds",
    n_candidates: int | None = 600,
    candidate_ratio: float = 1.0,
    n_init: int = 10,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    best_effort: bool = False,
    verbose: bool = False,
    progress: bool = False,
) -> MergedCentres:
    """Steps 1-4 of Algorithm 1 on ``problem`` (the data, or a weighted fair coreset of it).

    Prior validation is assumed. Used by :func:`relax_and_merge` and by the Dask path
    (:mod:`fairopt.distributed.dask_fit`), which runs it on the merged coreset of all chunks.
    """
    seconds = {}
    t = time.perf_counter()
    S = _candidate_set(problem.points, candidates, n_candidates, candidate_ratio, 0.5, rng,
                       weights=problem.weights)
    seconds["candidates"] = time.perf_counter() - t

    t = time.perf_counter()
    relax: FairAssignment = solve_lp2(problem, S, solver=solver, method=method, time_limit=time_limit,
                                      verbose=verbose, progress=progress, require_optimal=not best_effort)
    seconds["relax_lp"] = time.perf_counter() - t
    if relax.assignment is None:
        raise SolverStatusError(
            f"the relaxed LP (2) on {S.shape[0]} candidate centres stopped with status {relax.status!r} before "
            f"finding a feasible point, so even a best-effort run has no labels to return; "
            f"{status_hint(relax.status, time_limit, offer_best_effort=False)}",
            relax,
        )

    t = time.perf_counter()
    moved, W = move_candidates(problem.points, S, relax.assignment)
    if moved.shape[0] < k:
        # Fewer loaded candidates than k: pad with data points so the merge can return k centres.
        extra = problem.points[rng.choice(problem.n, size=k - moved.shape[0], replace=False)]
        moved = np.vstack([moved, extra])
        W = np.concatenate([W, np.full(extra.shape[0], 1e-9)])
    merged = _weighted_kmeans(moved, W, k, n_init, 300, 1e-6, rng)
    seconds["merge"] = time.perf_counter() - t
    return MergedCentres(merged.centres, relax, int(S.shape[0]), int(np.count_nonzero(W > 1e-9)),
                         float(merged.cost), seconds)


def relax_and_merge(
    problem: FairProblem,
    k: int,
    rng: np.random.Generator,
    candidates: str = "kdtree+seeds",
    n_candidates: int | None = 600,
    candidate_ratio: float = 1.0,
    n_init: int = 10,
    solver: str = "highs",
    method: str = "auto",
    time_limit: float | None = None,
    rounding: str = "auto",
    best_effort: bool = False,
    verbose: bool = False,
    progress: bool = False,
    flow_solver: str = "auto",
    n_refine: int | str = "auto",
    coreset_size: int | str | None = "auto",
) -> FairClustering:
    """Algorithm 1 on a validated problem; see the module docstring for the steps.

    Steps 1-4 run on ``relax_problem`` (the data, or a fair coreset of it when ``coreset_size``
    asks for one, see :func:`resolve_coreset_size`); steps 5-6 always on all of ``problem``.
    """
    seconds = {}
    t = time.perf_counter()
    size = resolve_coreset_size(coreset_size, problem.n, k)
    relax_problem, n_coreset = problem, None
    if size is not None:
        relax_problem, cs = coreset_problem(problem, size, k, rng)
        n_coreset = cs.size
    seconds["coreset"] = time.perf_counter() - t
    mc = relax_and_merge_centres(relax_problem, k, rng, candidates=candidates, n_candidates=n_candidates,
                                 candidate_ratio=candidate_ratio, n_init=n_init, solver=solver, method=method,
                                 time_limit=time_limit, best_effort=best_effort, verbose=verbose, progress=progress)
    seconds.update(mc.seconds)
    relax = mc.relax
    centres, history = refine_merged(relax_problem, mc.centres, n_refine, size is not None, solver, method,
                                     time_limit, seconds)

    result = fair_clustering_from_centres(problem, centres, solver=solver, method=method,
                                          time_limit=time_limit, rounding=rounding, best_effort=best_effort,
                                          verbose=verbose, flow_solver=flow_solver)
    all_seconds = {**seconds, **result.seconds}
    all_seconds["total"] = sum(all_seconds.values())
    return dataclasses.replace(
        result,
        seconds=all_seconds,
        status=relax.status if relax.status != "optimal" else result.status,
        info={**result.info,
               "relaxed_cost": float(relax.objective) if relax.objective is not None else float("nan"),
               "refine_history": history,
               "n_candidates": mc.n_candidates,
               "n_coreset": n_coreset,
               "n_loaded_candidates": mc.n_loaded,
               "merge_cost": mc.merge_cost,
               "relax_info": relax.info},
    )


def warn_best_effort(who: str, status: str) -> None:
    """The warning of a best-effort result (labels from an LP (2) solution not proven optimal)."""
    if status != "optimal":
        warnings.warn(
            f"{who}: best-effort result: LP (2) stopped with status {status!r}, so the centres and labels come from "
            "a feasible but unproven LP solution (the status says so); the rounding bound on the violation still holds, "
            "the cost guarantee does not",
            RuntimeWarning,
            stacklevel=3,
        )
