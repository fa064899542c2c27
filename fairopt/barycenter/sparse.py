"""The k-sparse Wasserstein barycenter by Relax and Merge (``SparseBarycenter``).

Song, Mo, Yang, Ding. "Relax and Merge: A Simple Yet Effective Framework for Solving Fair
k-Means and k-sparse Wasserstein Barycenter Problems" (Theorem 2).

Given m discrete measures mu_1..mu_m (points with masses summing to 1), find a measure nu with
at most k support points minimising sum_i W_2^2(nu, mu_i):

    1. S <- an approximate centroid set of the union of the supports
    2. relax: nu, T <- the fixed-support barycenter LP (16) on S
    3. move:  every s with nu(s) > 0 goes to the centroid of the mass sent to it,
              s' = sum_i sum_x T_i(x, s) x / (m nu(s))
    4. merge: k support points <- weighted k-means on (S', nu)
    5. LP (16) again on the k support points

Why the merge costs little: for a plan T on S', sum_i sum_x T_i(x, s) ||x - c||^2 =
sum_i sum_x T_i(x, s) ||x - s'||^2 + m nu(s) ||s' - c||^2 (s' is the centroid), and merging the
plans along s -> c(s) keeps them feasible for (16) on the merged support. So the final cost is
at most the moved LP cost plus m times the weighted k-means cost of (S', nu); with a
rho-approximate k-means this gives the paper's (1 + 4 rho + O(eps)) bound.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from fairopt.barycenter.lp16 import (
    BarycenterResult,
    _check_solver_method,
    barycenter_cost,
    solve_lp16,
    validate_measures,
)
from fairopt.candidates import candidate_set
from fairopt.kmeans import weighted_kmeans
from fairopt.problem import check_distinct_points, validate_n_clusters
from fairopt.validation import check_int, check_random_state, check_time_limit

__all__ = ["SparseBarycenter", "sparse_barycenter", "move_support"]


def move_support(measures: list, result: BarycenterResult) -> tuple[np.ndarray, np.ndarray, float]:
    """Step 3: every loaded support point to the centroid of the mass sent to it.

    Returns the moved points (s', d), their masses nu(s) (s',) and the LP (16) cost of the same
    plans on the moved points (at most ``result.cost``).
    """
    m = len(measures)
    flow = sum(T.T @ X for (X, _), T in zip(measures, result.plans))  # (s, d): sum_i sum_x T_i(x, s) x
    mass = sum(T.sum(axis=0) for T in result.plans)  # m nu(s)
    keep = mass > 1e-12 * m
    moved = flow[keep] / mass[keep, None]
    plans = [T[:, keep] for T in result.plans]
    return moved, mass[keep] / m, barycenter_cost(measures, moved, plans)


def sparse_barycenter(measures: list, k: int, rng: np.random.Generator, candidates: str = "kdtree+points",
                      n_candidates: int | None = None, candidate_ratio: float = 1.0, n_init: int = 10,
                      solver: str = "highs", method: str = "direct", time_limit: float | None = None) -> tuple:
    """Steps 1-5 (see the module docstring) on validated measures.

    Returns
    -------
    result : BarycenterResult
        LP (16) on the k merged support points.
    extra : dict
        ``candidates`` (s, d), ``relaxed`` (the BarycenterResult on them), ``moved_cost``,
        ``merge_cost`` (m times the weighted k-means cost), ``seconds`` per stage.
    """
    seconds = {}
    t = time.perf_counter()
    union = np.vstack([X for X, _ in measures])
    S = candidate_set(union, method=candidates, size=n_candidates, ratio=candidate_ratio, random_state=rng)
    seconds["candidates"] = time.perf_counter() - t

    relaxed = solve_lp16(measures, S, solver=solver, method=method, time_limit=time_limit)
    seconds["relax_lp"] = relaxed.seconds

    t = time.perf_counter()
    moved, nu, moved_cost = move_support(measures, relaxed)
    if moved.shape[0] < k:
        # Fewer loaded candidates than k: pad with support points so the merge returns k points.
        extra = union[rng.choice(union.shape[0], size=k - moved.shape[0], replace=False)]
        moved, nu = np.vstack([moved, extra]), np.concatenate([nu, np.zeros(extra.shape[0])])
    merged = weighted_kmeans(moved, nu, k, n_init=n_init, random_state=rng)
    seconds["merge"] = time.perf_counter() - t

    final = solve_lp16(measures, merged.centres, solver=solver, method=method, time_limit=time_limit)
    seconds["final_lp"] = final.seconds
    seconds["total"] = sum(seconds.values())
    extra = {"candidates": S, "relaxed": relaxed, "moved_cost": moved_cost,
             "merge_cost": len(measures) * merged.cost, "seconds": seconds}
    return final, extra


class SparseBarycenter(BaseEstimator):
    r"""k-sparse Wasserstein barycenter by Relax and Merge (Theorem 2 of the paper).

    Given measures mu_1..mu_m (points with masses summing to 1), finds a measure nu with at
    most k support points minimising the sum of squared Wasserstein distances,

    .. math::

        \min_{|\mathrm{supp}\,\nu| \le k} \sum_{i=1}^m W_2^2(\nu, \mu_i),

    by solving the fixed-support barycenter LP (16) on a candidate set, merging the loaded
    candidates into k points by weighted k-means and solving LP (16) again on them; a
    (1 + 4 rho + O(eps))-approximation.

    A scikit-learn estimator for its parameters (``get_params``, ``set_params``, ``clone``,
    ``repr``); its input is a list of measures rather than a sample matrix ``X``, so it has no
    ``predict`` and scikit-learn's sample-matrix checks do not apply.

    Parameters
    ----------
    n_support : int
        k, the number of support points of the barycenter.
    candidates : {"kdtree+points", "kdtree", "points", "grid"}
        The approximate centroid set built on the union of the supports
        (see :func:`fairopt.candidates.candidate_set`).
    n_candidates : int, optional
        Size of the sampled part of the candidate set.
    candidate_ratio : float in (0, 1]
        Fraction of the candidate set kept.
    n_init : int
        Restarts of the weighted k-means merge.
    solver : str
        LP solver for (16) ("highs" default).
    method : {"direct", "colgen", "pyomo", "cvxpy"}
        How (16) is solved: the matrices handed to the solver (default), column generation on
        HiGHS (same optimum, 2-3x faster on large candidate sets), or a Pyomo/CVXPY model.
    time_limit : float, optional
        Seconds per LP solve.
    random_state : int, Generator or None

    Attributes
    ----------
    support_ : ndarray of shape (k, d)
    weights_ : ndarray of shape (k,)
        Barycenter masses, summing to 1.
    cost_ : float
        sum_i W_2^2(nu, mu_i) of the returned barycenter (LP (16) on ``support_``).
    plans_ : list of m ndarrays of shape (n_i, k)
        Optimal transport plans from every measure to the barycenter.
    relaxed_cost_ : float
        LP (16) objective on the candidate set.
    moved_cost_ : float
        The candidate plans' cost after moving each candidate to its centroid (``<= relaxed_cost_``).
    merge_cost_ : float
        m times the weighted k-means cost of the moved candidates; ``cost_ <= moved_cost_ + merge_cost_``.
    candidates_ : ndarray of shape (s, d)
    candidate_weights_ : ndarray of shape (s,)
        The relaxed barycenter nu on the candidates.
    n_candidates_ : int
    seconds_ : dict
        Seconds per stage (candidates, relax_lp, merge, final_lp, total).

    References
    ----------
    .. [1] S. Song, Y. Mo, X. Yang, H. Ding. Relax and Merge: A Simple Yet Effective Framework
       for Solving Fair k-Means and k-sparse Wasserstein Barycenter Problems (Theorem 2).
    .. [2] J. Altschuler, E. Boix-Adsera. Wasserstein barycenters can be computed in polynomial
       time in fixed dimension. JMLR 2021 (the fixed-support LP).

    Examples
    --------
    >>> import fairopt
    >>> measures = fairopt.datasets.make_measures(3, n_support=20, random_state=0)
    >>> sb = fairopt.SparseBarycenter(4, random_state=0).fit(measures)
    >>> sb.support_.shape, round(float(sb.weights_.sum()), 6)
    ((4, 2), 1.0)
    """

    def __init__(self, n_support: int = 10, *, candidates: str = "kdtree+points", n_candidates: int | None = None,
                 candidate_ratio: float = 1.0, n_init: int = 10, solver: str = "highs", method: str = "direct",
                 time_limit: float | None = None, random_state: Any = None):
        self.n_support = n_support
        self.candidates = candidates
        self.n_candidates = n_candidates
        self.candidate_ratio = candidate_ratio
        self.n_init = n_init
        self.solver = solver
        self.method = method
        self.time_limit = time_limit
        self.random_state = random_state

    def fit(self, measures: Any, y: Any = None) -> "SparseBarycenter":
        """Compute the barycenter of ``measures``.

        Parameters
        ----------
        measures : list of (ndarray of shape (n_i, d), ndarray of shape (n_i,))
            Support points and masses (summing to 1) of every measure.
        y : ignored

        Returns
        -------
        self
        """
        meas = validate_measures(measures)
        n_union = sum(X.shape[0] for X, _ in meas)
        k = validate_n_clusters(self.n_support, n_union, name="n_support")
        check_int(self.n_init, "n_init")
        _check_solver_method(self.solver, self.method)
        check_distinct_points(np.vstack([X for X, _ in meas]), k, name="n_support")
        check_time_limit(self.time_limit)
        rng = check_random_state(self.random_state)
        res, extra = sparse_barycenter(meas, k, rng, candidates=self.candidates, n_candidates=self.n_candidates,
                                       candidate_ratio=self.candidate_ratio, n_init=self.n_init, solver=self.solver,
                                       method=self.method, time_limit=self.time_limit)
        self.support_ = res.support
        self.weights_ = res.weights
        self.cost_ = res.cost
        self.plans_ = res.plans
        self.relaxed_cost_ = extra["relaxed"].cost
        self.moved_cost_ = extra["moved_cost"]
        self.merge_cost_ = extra["merge_cost"]
        self.candidates_ = extra["candidates"]
        self.candidate_weights_ = extra["relaxed"].weights
        self.n_candidates_ = int(extra["candidates"].shape[0])
        self.seconds_ = extra["seconds"]
        self.n_features_in_ = meas[0][0].shape[1]
        self.result_ = res
        return self
