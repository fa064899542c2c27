"""Steps 5 and 6 of Algorithm 1 on Dask row chunks: the exact LP (2) by screening, labels per chunk.

The twin of :func:`fairopt.fair.final_step.fair_clustering_from_centres` for data that stay on
the workers. :func:`fairopt.assignment.screening.solve_screened` solves LP (2) on the k centres
with one pass over the chunks per round (only the coupling rows and the arcs that matter live
in the client) and returns the same optimality certificate as in memory; the few points the
optimum splits are rounded in the client (:func:`~fairopt.fair.final_step.round_free_points`);
every other point's label is a function of its chunk and a small state, so ``labels`` is a
lazy Dask array with X's row chunks, and cost and violation come from one more pass.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairopt.assignment.lp2 import status_hint
from fairopt.assignment.screen_chunks import chunk_labels, chunk_summary
from fairopt.assignment.screening import solve_screened
from fairopt.distributed.dask_chunks import row_offsets
from fairopt.distributed.dask_data import DaskProblem
from fairopt.exceptions import SolverStatusError
from fairopt.fair.final_step import round_free_points
from fairopt.metrics import violation_from_counts

__all__ = ["DaskFinalStep", "screened_final_step", "labels_array"]


@dataclass(frozen=True)
class DaskFinalStep:
    """LP (2) on the final centres and its rounding, on Dask chunks.

    Attributes
    ----------
    labels : dask array of shape (n,), int64, X's row chunks (lazy)
    fractional_cost : float
        LP (2) objective.
    cost : float
        k-means cost of ``labels`` (weighted squared distances).
    violation : float
        Additive violation of ``labels``.
    counts : ndarray of shape (k, S)
        Mass of every signature in every cluster under ``labels``.
    status : str
    seconds : dict
        ``assign_lp``, ``rounding``, ``summary``.
    info : dict
        ``lower_bound``, ``n_free`` (points the LP splits) and the screened LP's ``info``.
    """

    labels: Any
    fractional_cost: float
    cost: float
    violation: float
    counts: np.ndarray
    status: str
    seconds: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def labels_array(X: Any, w: Any, sid: Any, state: Any, free_index: np.ndarray, free_labels: np.ndarray) -> Any:
    """The labels of every point as a lazy dask array with X's row chunks (one task per chunk)."""
    import dask  # optional dependency (fairopt[dist])
    import dask.array as da  # optional dependency (fairopt[dist])

    shared = [dask.delayed(v, pure=True) for v in (state, free_index, free_labels)]
    call = dask.delayed(chunk_labels, pure=True)
    blocks = zip(*(a.to_delayed(optimize_graph=False).ravel() for a in (X, w, sid)))
    parts = [da.from_delayed(call(xb, wb, sb, int(off), *shared), shape=(rows,), dtype=np.int64)
             for (xb, wb, sb), off, rows in zip(blocks, row_offsets(X), X.chunks[0])]
    return da.concatenate(parts) if len(parts) > 1 else parts[0]


def screened_final_step(problem: DaskProblem, chunks: Any, centres: np.ndarray, rounding: str = "auto",
                        flow_solver: str = "auto", time_limit: float | None = None, best_effort: bool = False,
                        verbose: bool = False, potentials: np.ndarray | None = None,
                        tuning: dict | None = None) -> DaskFinalStep:
    """LP (2) on ``centres`` over all points of ``chunks``, then the rounding of the split points.

    Parameters
    ----------
    problem : DaskProblem
    chunks : DaskChunks (or any object with ``n``, ``d`` and ``map``)
    centres : ndarray of shape (k, d)
    potentials : ndarray of shape (S, k), optional
        Start duals in cost units (e.g. from LP (2) on a coreset with the same centres).
    tuning : dict, optional
        Options of :func:`fairopt.assignment.screening.solve_screened` (its ``DEFAULTS``).

    Raises
    ------
    SolverStatusError
        No proven optimum (unless ``best_effort`` and a feasible point exists).
    """
    t0 = time.perf_counter()
    res = solve_screened(chunks, centres, problem.sig, problem.alpha, problem.beta, potentials=potentials,
                         time_limit=time_limit, verbose=verbose, **(tuning or {}))
    t1 = time.perf_counter()
    if res.status != "optimal" and (not best_effort or not np.isfinite(res.objective)):
        raise SolverStatusError(
            f"LP (2) on {problem.n} points and {centres.shape[0]} centres ended with status {res.status!r} "
            f"(highs, screened path on dask chunks): no proven optimum; "
            f"{status_hint(res.status, time_limit, offer_best_effort=not best_effort)}", res)
    free_labels = np.asarray(round_free_points(res, centres, problem.sig, problem.groups.attribute, rounding=rounding,
                                               flow_solver=flow_solver), dtype=np.int64)
    t2 = time.perf_counter()
    summaries = chunks.map(chunk_summary, res.state, res.free_index, free_labels)
    counts = sum(s[0] for s in summaries)
    cost = float(sum(s[1] for s in summaries))
    violation = violation_from_counts(counts, problem.sig, problem.alpha, problem.beta)
    labels = labels_array(problem.X, problem.w, problem.sid, res.state, res.free_index, free_labels)
    t3 = time.perf_counter()
    return DaskFinalStep(labels, float(res.objective), cost, float(violation), counts, res.status,
                         seconds={"assign_lp": t1 - t0, "rounding": t2 - t1, "summary": t3 - t2},
                         info={"lower_bound": float(res.lower_bound), "n_free": int(res.free_index.size),
                               "screening_info": res.info})
