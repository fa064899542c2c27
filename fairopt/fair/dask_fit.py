"""Relax and Merge and NIPS19 on Dask arrays: data that do not fit in one process's memory.

What runs where (X is never gathered):

1. validation, one pass on the workers (:func:`fairopt.distributed.dask_data.validate_dask_problem`);
2. a fair coreset per row chunk on the workers, merged and reduced in the client
   (:mod:`fairopt.distributed.dask_coreset`; exact signature totals);
3. Algorithm 1 steps 1-4 on the merged coreset, in the client
   (:func:`fairopt.fair.relax_merge.relax_and_merge_centres`), or for NIPS19 the vanilla
   weighted k-means on it;
4. the exact LP (2) on the k centres over all points by screening, one pass per round on the
   workers, the rounding of the split points in the client, and labels, cost and violation
   chunk by chunk (:mod:`fairopt.fair.dask_final`).

This module sits in :mod:`fairopt.fair` (not :mod:`fairopt.distributed`) because the
estimators dispatch to it and it returns their result type: the layers below it are the
chunked data (:mod:`fairopt.distributed.dask_data`, ``dask_chunks``, ``dask_coreset``), and
:mod:`fairopt.fair.dask_final` beside it.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from fairopt.coresets import Coreset, default_coreset_size
from fairopt.distributed.dask_chunks import DaskChunks
from fairopt.distributed.dask_coreset import dask_fair_coreset
from fairopt.distributed.dask_data import DaskProblem
from fairopt.exceptions import ValidationError
from fairopt.fair.dask_final import screened_final_step
from fairopt.fair.relax_merge import refine_merged, relax_and_merge_centres
from fairopt.fair.result import FairClustering
from fairopt.kmeans import _weighted_kmeans
from fairopt.problem import FairProblem

__all__ = ["relax_and_merge_dask", "nips19_dask", "fair_labels_dask", "resolve_dask_coreset_size", "coreset_fair_problem"]


def resolve_dask_coreset_size(coreset_size: int | str | None, n: int, k: int) -> int:
    """Coreset size on Dask: ``"auto"`` is :func:`default_coreset_size` whatever n; None is refused."""
    if coreset_size is None:
        raise ValidationError("coreset_size=None runs steps 1-4 on all points in one process, which a dask array "
                              "does not allow; use coreset_size='auto' or a number of points (e.g. 5000)")
    if coreset_size == "auto":
        return default_coreset_size(n, k)
    return int(coreset_size)


def coreset_fair_problem(problem: DaskProblem, cs: Coreset) -> FairProblem:
    """The weighted fair problem on a coreset of a Dask problem (groups of every point from its signature)."""
    g = problem.groups
    groups = dataclasses.replace(g, membership=g.membership[cs.signature], codes=g.codes[cs.signature])
    return FairProblem(cs.points, cs.weights, groups, problem.alpha, problem.beta)


def _chunks(problem: DaskProblem, client: Any) -> DaskChunks:
    if not problem.unit_weights:
        # The rounding of the split points (fairopt.fair.final_step.round_free_points) is for unit masses.
        raise ValidationError("sample_weight other than ones is not supported on dask arrays yet (the rounding of "
                              "the split points assumes unit masses); fit in memory, or leave sample_weight out")
    return DaskChunks(problem.X, problem.w, problem.sid, client)


def fair_labels_dask(problem: DaskProblem, centres: np.ndarray, client: Any = None, rounding: str = "auto",
                     flow_solver: str = "auto", time_limit: float | None = None, best_effort: bool = False,
                     verbose: bool = False):
    """Steps 5 and 6 alone at given centres (``predict`` with groups on dask arrays).

    Returns
    -------
    DaskFinalStep
        ``labels`` lazy with X's row chunks.
    """
    return screened_final_step(problem, _chunks(problem, client), np.asarray(centres, dtype=np.float64),
                               rounding=rounding, flow_solver=flow_solver, time_limit=time_limit,
                               best_effort=best_effort, verbose=verbose)


def _coreset(problem: DaskProblem, client: Any, coreset_size, k: int, rng: np.random.Generator):
    chunks = _chunks(problem, client)
    cs = dask_fair_coreset(chunks, resolve_dask_coreset_size(coreset_size, problem.n, k), k, rng)
    return chunks, cs, coreset_fair_problem(problem, cs)


def _result(centres, final, seconds: dict, info: dict) -> FairClustering:
    seconds = {**seconds, **final.seconds}
    seconds["total"] = sum(seconds.values())
    return FairClustering(centres, final.labels, None, final.fractional_cost, final.cost, final.violation,
                          final.status, seconds, {**final.info, **info, "counts": final.counts})


def relax_and_merge_dask(problem: DaskProblem, k: int, rng: np.random.Generator, client: Any = None,
                         candidates: str = "kdtree+seeds", n_candidates: int | None = 600,
                         candidate_ratio: float = 1.0, n_init: int = 10, solver: str = "highs",
                         method: str = "auto", time_limit: float | None = None, rounding: str = "auto",
                         best_effort: bool = False, verbose: bool = False, progress: bool = False,
                         flow_solver: str = "auto", n_refine: int | str = "auto",
                         coreset_size: int | str | None = "auto") -> FairClustering:
    """Algorithm 1 on a validated :class:`DaskProblem` (see the module docstring for where each step runs).

    ``n_refine`` steps of the fair Lloyd refinement run on the merged coreset (in memory they use
    all points). Returns a :class:`FairClustering` whose ``labels`` is a lazy dask array with X's
    row chunks and whose ``assignment`` is None.
    """
    t = time.perf_counter()
    chunks, cs, relax_problem = _coreset(problem, client, coreset_size, k, rng)
    seconds = {"coreset": time.perf_counter() - t}
    mc = relax_and_merge_centres(relax_problem, k, rng, candidates=candidates, n_candidates=n_candidates,
                                 candidate_ratio=candidate_ratio, n_init=n_init, solver=solver, method=method,
                                 time_limit=time_limit, best_effort=best_effort, verbose=verbose, progress=progress)
    seconds.update(mc.seconds)
    centres, history = refine_merged(relax_problem, mc.centres, n_refine, True, solver, method, time_limit, seconds)
    final = screened_final_step(problem, chunks, centres, rounding=rounding, flow_solver=flow_solver,
                                time_limit=time_limit, best_effort=best_effort, verbose=verbose)
    relax = mc.relax
    res = _result(centres, final, seconds, {
        "relaxed_cost": float(relax.objective) if relax.objective is not None else float("nan"),
        "refine_history": history, "n_candidates": mc.n_candidates, "n_coreset": cs.size,
        "n_loaded_candidates": mc.n_loaded, "merge_cost": mc.merge_cost, "relax_info": relax.info,
        "coreset": cs})
    return res if relax.status == "optimal" else dataclasses.replace(res, status=relax.status)


def nips19_dask(problem: DaskProblem, k: int, rng: np.random.Generator, client: Any = None, n_init: int = 10,
                time_limit: float | None = None, rounding: str = "auto", best_effort: bool = False,
                coreset_size: int | str | None = "auto") -> FairClustering:
    """The NIPS19 baseline on a :class:`DaskProblem`: vanilla weighted k-means on the merged fair
    coreset (a k-means coreset too), then the same screened final step as Relax and Merge."""
    t = time.perf_counter()
    chunks, cs, relax_problem = _coreset(problem, client, coreset_size, k, rng)
    t_cs = time.perf_counter() - t
    t = time.perf_counter()
    km = _weighted_kmeans(relax_problem.points, relax_problem.weights, k, n_init, 300, 1e-6, rng)
    seconds = {"coreset": t_cs, "kmeans": time.perf_counter() - t}
    final = screened_final_step(problem, chunks, km.centres, rounding=rounding, time_limit=time_limit,
                                best_effort=best_effort)
    return _result(km.centres, final, seconds, {"vanilla_cost": float(km.cost), "kmeans_cost": float(km.cost),
                                                "n_coreset": cs.size, "objective": "kmeans"})
