"""Fair k-center by Relax and Merge (``FairKCenter``): an extension beyond the paper.

The relax step of Algorithm 1 has a sound k-center analogue through Bera et al.'s threshold LP:

    1. S <- candidate centres, including the data points ("kdtree+points", the default)
    2. relax:  tau_S, phi <- the smallest radius whose threshold LP on S is feasible
               (:mod:`fairopt.assignment.kcenter`), and a fair phi within tau_S
    3. keep the loaded candidates L = {s : W(s) > 0} (no move: a 1-centre of the mass would not
       improve the bound below)
    4. merge:  k centres <- Gonzalez's farthest-point traversal on L (radius R)
    5. the threshold LP on the k centres (tau), and the rounding, which keeps every point on an
       arc of phi's support, so the rounded radius is <= tau

Bound (our derivation): every loaded s has a point x with ||x - s|| <= tau_S, and x lies
within OPT of its centre in a fair optimum, so L has a k-center radius <= tau_S + OPT and
Gonzalez gives R <= 2 (tau_S + OPT). Sending phi(x, s) on to the merged centre of s is fair
(sums of fair masses) and moves no point farther than tau_S + R, so tau <= 3 tau_S + 2 OPT.
Moving every optimal centre to a data point of its own cluster keeps the assignment fair and
at most doubles distances, so tau_S <= 2 OPT when S holds the points: tau <= 8 OPT. This is
weaker on paper than NIPS19's route (Gonzalez on the data, then the threshold LP), which the
benchmark runs beside it.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.assignment.kcenter import smallest_feasible_tau
from fairopt.assignment.lp2 import status_hint
from fairopt.candidates import _candidate_set
from fairopt.exceptions import SolverStatusError
from fairopt.fair.fair_kmeans import FairKMeans
from fairopt.fair.relax_merge import fair_clustering_from_centres, warn_best_effort
from fairopt.fair.result import FairClustering
from fairopt.farthest_point import gonzalez
from fairopt.problem import FairProblem
from fairopt.validation import check_random_state

__all__ = ["FairKCenter", "relax_and_merge_kcenter"]


def relax_and_merge_kcenter(problem: FairProblem, k: int, rng: np.random.Generator,
                            candidates: str = "kdtree+points", n_candidates: int | None = None,
                            candidate_ratio: float = 1.0, solver: str = "highs", time_limit: float | None = None,
                            rounding: str = "auto", flow_solver: str = "auto") -> FairClustering:
    """The module's steps 1-5 on a validated problem (prior validation of data is assumed)."""
    seconds = {}
    t = time.perf_counter()
    S = _candidate_set(problem.points, candidates, n_candidates, candidate_ratio, 0.5, rng)
    seconds["candidates"] = time.perf_counter() - t

    t = time.perf_counter()
    # Any fair phi within tau_S serves the merge (only its loaded candidates matter): no tie-break LP.
    relax = smallest_feasible_tau(problem.points, S, problem.groups.membership, problem.alpha, problem.beta,
                                  problem.weights, solver=solver, time_limit=time_limit, tie_break=False)
    seconds["relax_lp"] = time.perf_counter() - t
    if relax.assignment is None:
        raise SolverStatusError(f"the relaxed k-center threshold LP on {S.shape[0]} candidates stopped with status "
                                f"{relax.status!r}; {status_hint(relax.status, time_limit, offer_best_effort=False)}",
                                relax)

    t = time.perf_counter()
    W = np.asarray(sp.csr_matrix(relax.assignment).sum(axis=0)).ravel()
    loaded = S[W > 1e-12 * max(W.max(initial=0.0), 1.0)]
    if loaded.shape[0] < k:  # fewer loaded candidates than k: pad with data points
        loaded = np.vstack([loaded, problem.points[rng.choice(problem.n, size=k - loaded.shape[0], replace=False)]])
    merged = gonzalez(loaded, k, rng)
    seconds["merge"] = time.perf_counter() - t

    result = fair_clustering_from_centres(problem, merged.centres, solver=solver, method="direct",
                                          time_limit=time_limit, rounding=rounding, flow_solver=flow_solver,
                                          objective="kcenter")
    all_seconds = {**seconds, **result.seconds}
    all_seconds["total"] = sum(all_seconds.values())
    return dataclasses.replace(
        result, seconds=all_seconds,
        info={**result.info, "relaxed_cost": float(relax.tau), "n_candidates": int(S.shape[0]),
              "n_loaded_candidates": int(loaded.shape[0]), "merge_radius": float(merged.radius),
              "relax_info": relax.info})


class FairKCenter(FairKMeans):
    """Fair k-center by Relax and Merge (an extension beyond the paper; see the module docstring).

    Minimises the largest distance max_x ||x - c(x)|| under the fairness bounds of LP (2).

    Parameters
    ----------
    As :class:`fairopt.FairKMeans` without ``n_init``, ``n_refine``, ``method`` (the threshold
    LPs take the matrix path) and ``best_effort``.

    Attributes
    ----------
    As :class:`fairopt.FairKMeans`, with ``fractional_cost_`` the threshold LP's tau on the
    final centres, ``relaxed_cost_`` tau on the candidates, and ``cost_`` the rounded labels'
    largest distance (<= ``fractional_cost_``).
    """

    _objective = "kcenter"

    def __init__(self, n_clusters: int = 8, *, delta: float | None = 0.1, alpha: Any = None, beta: Any = None,
                 candidates: str = "kdtree+points", n_candidates: int | None = None, candidate_ratio: float = 1.0,
                 solver: str = "highs", time_limit: float | None = None, rounding: str = "auto",
                 flow_solver: str = "auto", random_state: Any = None):
        super().__init__(n_clusters=n_clusters, delta=delta, alpha=alpha, beta=beta, candidates=candidates,
                         n_candidates=n_candidates, candidate_ratio=candidate_ratio, solver=solver, method="direct",
                         time_limit=time_limit, rounding=rounding, flow_solver=flow_solver,
                         random_state=random_state)

    def fit(self, X: Any, groups: Any, sample_weight: Any = None) -> "FairKCenter":
        """Cluster ``X`` (n, d) fairly under the k-center objective."""
        problem, k = self._validate(X, groups, sample_weight)
        rng = check_random_state(self.random_state)
        res = relax_and_merge_kcenter(problem, k, rng, candidates=self.candidates, n_candidates=self.n_candidates,
                                      candidate_ratio=self.candidate_ratio, solver=self.solver,
                                      time_limit=self.time_limit, rounding=self.rounding,
                                      flow_solver=self.flow_solver)
        self._store(res, problem)
        self.relaxed_cost_ = res.info["relaxed_cost"]
        self.n_candidates_ = res.info["n_candidates"]
        warn_best_effort("FairKCenter", res.status)
        return self
