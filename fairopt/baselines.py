"""The papers' baselines, for comparison with Relax and Merge.

* :func:`nips19` -- fair k-means by vanilla k-means centres, LP (2) on them and the same rounding
  (Bera, Chakrabarty, Flores, Negahbani 2019), the baseline of :class:`fairopt.FairKMeans`; with
  ``objective="kmedian"`` or ``"kcenter"`` the framework's other objectives (baselines of
  :class:`fairopt.FairKMedian` and :class:`fairopt.FairKCenter`).
* :func:`orl21` -- strictly fair k-means by matching to a pivot group (Bohm, Fazzone, Leonardi,
  Menghini, Schwiegelshohn 2021), the baseline of Algorithm 2 (:class:`fairopt.StrictlyFairKMeans`).
* :func:`ijcai24` -- k-sparse Wasserstein barycenter by k-means on the union of the supports and
  LP (16) on the k centres (Yang and Ding 2024), the baseline of
  :class:`fairopt.SparseBarycenter`.

Every baseline validates its input like the estimator it is compared with and returns a small
frozen result.

References
----------
M. Bohm, A. Fazzone, S. Leonardi, C. Menghini, C. Schwiegelshohn. Algorithms for fair
k-clustering with multiple protected attributes. Operations Research Letters 49(5), 2021 ("ORL21").
Q. Yang, H. Ding. Approximate algorithms for k-sparse Wasserstein barycenter with outliers.
IJCAI 2024 ("IJCAI24").
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairopt.assignment.lp2 import check_method_solver
from fairopt.barycenter.lp16 import _check_solver_method, solve_lp16, validate_measures
from fairopt.coresets import check_coreset_size, coreset_problem, resolve_coreset_size
from fairopt.distributed.dask_chunks import dask_client
from fairopt.distributed.dask_data import (
    check_dask_installed,
    check_distinct_dask,
    is_dask_array,
    validate_dask_problem,
)
from fairopt.exceptions import ValidationError
from fairopt.fair.dask_fit import nips19_dask
from fairopt.fair.fairlets import (
    centroids_and_cost,
    check_matching_memory,
    pairwise_matchings,
    validate_strict_groups,
)
from fairopt.fair.relax_merge import fair_clustering_from_centres, warn_best_effort
from fairopt.fair.result import FairClustering
from fairopt.farthest_point import gonzalez
from fairopt.kmeans import _weighted_kmeans, weighted_kmeans
from fairopt.kmedian import _weighted_kmedian
from fairopt.problem import (
    check_distinct_points,
    make_fair_problem,
    validate_n_clusters,
)
from fairopt.solvers.registry import get_solver
from fairopt.validation import check_int, check_random_state, check_time_limit

__all__ = ["BaselineBarycenter", "nips19", "orl21", "ijcai24"]


@dataclass(frozen=True)
class BaselineBarycenter:
    """A baseline's barycenter: ``support`` (k, d), ``weights`` (k,), ``cost`` (sum_i W_2^2), ``plans``."""

    support: np.ndarray
    weights: np.ndarray
    cost: float
    plans: list
    seconds: float
    info: dict = field(default_factory=dict)



def orl21(points: Any, groups: Any, n_clusters: int, n_init: int = 10,
          random_state: int | np.random.Generator | None = None) -> FairClustering:
    """Strictly fair k-means by matching every group to a k-means-clustered pivot group (ORL21).

    For every pivot group j: k-means on P_j; a min-cost perfect matching P_j -> P_i (squared
    distances) for every other group i; a matched point takes its pivot point's label. The
    pivot with the lowest k-means cost of the resulting labels (centres = cluster centroids) is
    kept. Every cluster holds equally many points of every group.

    Parameters
    ----------
    points : array-like of shape (n, d)
    groups : array-like of shape (n,)
        Disjoint groups of equal size.
    n_clusters : int
        k <= the group size.
    n_init : int
        Restarts of the k-means on each pivot group.
    random_state : int, Generator or None

    Returns
    -------
    fairopt.fair.result.FairClustering
        Zero violation, no fractional assignment (``assignment`` None, ``fractional_cost`` = ``cost``);
        ``info``: ``pivot`` (the pivot group's label) and ``pivot_costs`` (m,).
    """
    t0 = time.perf_counter()
    X, g, index = validate_strict_groups(points, groups, who="orl21")
    k = validate_n_clusters(n_clusters, X.shape[0], name="n_clusters")
    if k > index[0].size:
        raise ValidationError(f"n_clusters={k} exceeds the group size p={index[0].size}: every cluster needs a "
                              f"point of every group; use n_clusters <= {index[0].size}")
    n_init = check_int(n_init, "n_init")
    check_distinct_points(X, k)
    check_matching_memory(index[0].size, who="orl21")
    rng = check_random_state(random_state)
    match, _ = pairwise_matchings(X, index)
    best, costs = None, []
    for j in range(len(index)):
        km = weighted_kmeans(X[index[j]], None, k, n_init=n_init, random_state=rng)
        labels = np.empty(X.shape[0], dtype=np.int64)
        labels[match[j]] = km.labels[None, :]  # match[j, i, a] takes the label of pivot point a
        centres, cost = centroids_and_cost(X, labels, km.centres)
        costs.append(cost)
        if best is None or cost < best[2]:
            best = (labels, centres, cost, j)
    labels, centres, cost, j = best
    return FairClustering(centres, labels, None, cost, cost, 0.0, "optimal", {"total": time.perf_counter() - t0},
                          info={"pivot": g.values[j], "pivot_costs": np.asarray(costs)})


def ijcai24(measures: Any, n_support: int, n_init: int = 10, solver: str = "highs", method: str = "direct",
            time_limit: float | None = None,
            random_state: int | np.random.Generator | None = None) -> BaselineBarycenter:
    """k-sparse Wasserstein barycenter by k-means on the union of the supports (IJCAI24).

    Weighted k-means (weights mu_i(x)) on the union of the supports gives k points; the
    barycenter is LP (16) on them.

    Parameters
    ----------
    measures : list of (points (n_i, d), weights (n_i,)) pairs
        Weights summing to 1.
    n_support : int
        k.
    n_init : int
        Restarts of the k-means.
    solver, method, time_limit :
        As in :func:`fairopt.barycenter.lp16.fixed_support_barycenter`.
    random_state : int, Generator or None

    Returns
    -------
    BaselineBarycenter
    """
    t0 = time.perf_counter()
    meas = validate_measures(measures)
    union = np.vstack([X for X, _ in meas])
    mass = np.concatenate([w for _, w in meas])
    k = validate_n_clusters(n_support, union.shape[0], name="n_support")
    n_init = check_int(n_init, "n_init")
    _check_solver_method(solver, method)
    check_distinct_points(union, k, name="n_support")
    check_time_limit(time_limit)
    rng = check_random_state(random_state)
    km = weighted_kmeans(union, mass, k, n_init=n_init, random_state=rng)
    res = solve_lp16(meas, km.centres, solver=solver, method=method, time_limit=time_limit)
    return BaselineBarycenter(res.support, res.weights, res.cost, res.plans, time.perf_counter() - t0,
                              info={"kmeans_cost": km.cost})


def _vanilla_centres(problem, k, objective, n_init, rng):
    """The unfair centres of Bera et al.'s framework: (centres (k, d), their unfair cost)."""
    if objective == "kmedian":
        km = _weighted_kmedian(problem.points, problem.weights, k, n_init, 1000, None, True, rng)
        return km.centres, km.cost
    if objective == "kcenter":
        best = min((gonzalez(problem.points, k, rng, weights=problem.weights) for _ in range(n_init)),
                   key=lambda r: r.radius)
        return best.centres, best.radius
    km = _weighted_kmeans(problem.points, problem.weights, k, n_init, 300, 1e-6, rng)
    return km.centres, km.cost


def nips19(X, groups, k, delta=0.1, alpha=None, beta=None, sample_weight=None, solver="highs", method="auto",
           n_init=None, time_limit=None, rounding="auto", best_effort=False, random_state=None, objective="kmeans",
           coreset_size="auto"):
    """The NIPS19 baseline (Bera, Chakrabarty, Flores, Negahbani 2019, "Fair algorithms for clustering").

    Vanilla (unfair) centres on the data, then the fair assignment LP on those centres, then
    the same rounding as Relax and Merge, so the two differ only in how the centres are chosen.
    The vanilla step follows the objective, as in that framework: weighted k-means++ and Lloyd
    (``"kmeans"``), k-median++ then swap local search and geometric medians
    (``"kmedian"``, :func:`fairopt.kmedian.weighted_kmedian`), Gonzalez's farthest-point
    2-approximation (``"kcenter"``, :func:`fairopt.farthest_point.gonzalez`, then the
    threshold LP of :mod:`fairopt.assignment.kcenter`).

    Parameters
    ----------
    X : ndarray of shape (n, d), or a dask array chunked by rows
        A dask array (groups and sample_weight then dask or in memory) runs on the current
        ``dask.distributed`` client without gathering X (:func:`fairopt.fair.dask_fit.nips19_dask`):
        k-means on the merged fair coreset, the screened LP (2) on all points; ``labels`` is a
        lazy dask array, ``assignment`` None; only ``objective="kmeans"``.
    groups : labels of shape (n,) or (n, a)
    k : int
    delta, alpha, beta : fairness bounds as in :class:`fairopt.FairKMeans`
    n_init : int, optional
        Restarts of the vanilla step: 10 by default (3 for the k-median local search).
    best_effort : bool
        As in :class:`fairopt.FairKMeans`: labels from a feasible LP (2) point that is not proven
        optimal, with ``status`` saying so and a ``RuntimeWarning``.
    objective : {"kmeans", "kmedian", "kcenter"}
        Squared distances, distances, or the largest distance.
    coreset_size : "auto", int or None
        As in :class:`fairopt.FairKMeans`: with ``objective="kmeans"`` the vanilla k-means runs on
        a fair coreset (a k-means coreset too) of this many points; LP (2) and the rounding
        always run on all points. The other objectives use all points.

    Returns
    -------
    fairopt.fair.relax_merge.FairClustering
        ``centres``, ``labels``, ``assignment``, ``fractional_cost`` (tau for k-center),
        ``cost`` (of the objective), ``violation``, ``seconds`` (the vanilla step under the
        objective's name, assign_lp, rounding, total); ``info["vanilla_cost"]`` (and
        ``info["kmeans_cost"]`` for k-means).
    """
    if is_dask_array(X):
        return _nips19_dask(X, groups, k, delta, alpha, beta, sample_weight, solver, method, n_init, time_limit,
                            rounding, best_effort, random_state, objective, coreset_size)
    problem = make_fair_problem(X, groups, weights=sample_weight, delta=delta, alpha=alpha, beta=beta)
    k = validate_n_clusters(k, problem.n, name="k")
    check_distinct_points(problem.points, k, name="k")
    check_method_solver(method, solver, objective)
    get_solver(solver, "cvxpy" if method == "cvxpy" else "matrices")
    check_time_limit(time_limit)
    n_init = check_int((3 if objective == "kmedian" else 10) if n_init is None else n_init, "n_init")
    if rounding not in ("auto", "circulation", "iterative"):
        raise ValidationError(f"rounding must be 'auto', 'circulation' or 'iterative'; got {rounding!r}")
    if rounding == "circulation" and not problem.groups.disjoint:
        raise ValidationError("rounding='circulation' needs disjoint groups (one group attribute); "
                              "use rounding='iterative' or 'auto' for overlapping groups")
    check_coreset_size(coreset_size)
    rng = check_random_state(random_state)
    t = time.perf_counter()
    size = resolve_coreset_size(coreset_size, problem.n, k) if objective == "kmeans" else None
    fit_on = problem if size is None else coreset_problem(problem, size, k, rng)[0]
    centres, vanilla_cost = _vanilla_centres(fit_on, k, objective, n_init, rng)
    t_km = time.perf_counter() - t
    res = fair_clustering_from_centres(problem, centres, solver=solver, method=method, time_limit=time_limit,
                                       rounding=rounding, best_effort=best_effort, objective=objective)
    seconds = {objective: t_km, **res.seconds}
    seconds["total"] = sum(seconds.values())
    info = {**res.info, "vanilla_cost": float(vanilla_cost), "n_coreset": None if size is None else fit_on.n}
    if objective == "kmeans":
        info["kmeans_cost"] = float(vanilla_cost)
    res = dataclasses.replace(res, seconds=seconds, info=info)
    warn_best_effort("nips19", res.status)
    return res


def _nips19_dask(X, groups, k, delta, alpha, beta, sample_weight, solver, method, n_init, time_limit, rounding,
                 best_effort, random_state, objective, coreset_size):
    """:func:`nips19` on dask arrays: options checked first, then the data chunk by chunk."""
    check_dask_installed("nips19 on dask arrays")
    if objective != "kmeans":
        raise ValidationError(f"nips19 on dask arrays runs objective='kmeans' only; got objective={objective!r}")
    check_method_solver(method, solver, objective)
    get_solver(solver, "cvxpy" if method == "cvxpy" else "matrices")
    check_time_limit(time_limit)
    n_init = check_int(10 if n_init is None else n_init, "n_init")
    if rounding not in ("auto", "circulation", "iterative"):
        raise ValidationError(f"rounding must be 'auto', 'circulation' or 'iterative'; got {rounding!r}")
    check_coreset_size(coreset_size)
    with dask_client() as client:
        problem = validate_dask_problem(X, groups, sample_weight, delta=delta, alpha=alpha, beta=beta, client=client,
                                        who="nips19", name="X")
        k = validate_n_clusters(k, problem.n, name="k")
        check_distinct_dask(problem, k, name="k")
        if rounding == "circulation" and not problem.groups.disjoint:
            raise ValidationError("rounding='circulation' needs disjoint groups (one group attribute); "
                                  "use rounding='iterative' or 'auto' for overlapping groups")
        res = nips19_dask(problem, k, check_random_state(random_state), client, n_init=n_init, time_limit=time_limit,
                          rounding=rounding, best_effort=best_effort, coreset_size=coreset_size)
    warn_best_effort("nips19", res.status)
    return res
