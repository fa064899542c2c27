"""BalLOT and E-BalLOT: balanced k-means by alternating optimal transport and centroids.

Balanced k-means minimises the k-means cost sum_i ||x_i - mu_{labels[i]}||^2 over partitions
whose cluster j has exactly size_j points (n/k by default). BalLOT (Luo and Mixon 2025)
alternates

(a) the assignment: the exact transport of the points to the centres with column sums
    size_j (:func:`fairopt.balanced.transport.balanced_assignment`; for generic data its
    optimum is a hard balanced partition, the paper's integrality result), and
(b) the update: every centre moves to the centroid of its cluster,

which, like Lloyd, never increases the cost; it stops when the assignment repeats (a fixed
point: the labels are an optimal balanced assignment at their own centroids) or the cost stops
decreasing. E-BalLOT (:func:`ballot_sinkhorn`, :mod:`fairopt.balanced.entropic`) replaces (a)
by entropic transport and (b) by the barycentre of the mass each centre receives, then rounds
with one exact assignment. :func:`ballot_bounded` is BalLOT with sizes in ranges
[size_min, size_max] (:mod:`fairopt.balanced.bounded`).

References
----------
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairopt.balanced.arrays import to_numpy
from fairopt.balanced.bounded import bounded_assignment
from fairopt.balanced.entropic import entropic_steps
from fairopt.balanced.transport import _solve
from fairopt.distances import centroids as _centroids
from fairopt.distances import labels_cost, sq_distances
from fairopt.models.balanced_transport import default_sizes

__all__ = ["BallotResult", "ballot", "ballot_sinkhorn", "ballot_bounded", "balanced_sizes", "centroids"]


def balanced_sizes(n: int, k: int) -> np.ndarray:
    """Sizes n/k differing by at most one (the first ``n mod k`` clusters get one more)."""
    return default_sizes(n, k)


def centroids(points: np.ndarray, labels: np.ndarray, k: int, previous: np.ndarray | None = None) -> np.ndarray:
    """Mean of every cluster, shape (k, d); an empty cluster keeps its ``previous`` centre."""
    return _centroids(points, labels, k, fallback=previous)[0]


@dataclass(frozen=True)
class BallotResult:
    """One BalLOT or E-BalLOT run.

    Attributes
    ----------
    labels : ndarray of shape (n,), int64
        Exactly ``sizes[j]`` points in cluster j (within the ranges for :func:`ballot_bounded`).
    centres : ndarray of shape (k, d)
        Centroids of the clusters of ``labels``.
    cost : float
        Balanced k-means cost of ``labels``: sum_i ||x_i - centres[labels[i]]||^2.
    n_iter : int
        Assignment steps run (E-BalLOT: entropic steps plus the final exact one).
    converged : bool
        Exact: the assignment repeated or the cost stopped decreasing, so ``labels`` is an
        optimal balanced assignment at ``centres``. Sinkhorn: the entropic steps met their
        stopping rule (:func:`fairopt.balanced.entropic.entropic_steps`).
    prices : ndarray of shape (k,)
        Dual prices of the last exact assignment (E-BalLOT: of its final rounding step).
    history : list of float
        Exact: the cost of every assignment at the centres it was computed for (non-increasing).
        Sinkhorn: the entropic transport cost <D, P> of every step.
    sinkhorn_iter : int
        Sinkhorn (or Newton) iterations of the entropic steps, 0 for exact runs.
    """

    labels: np.ndarray
    centres: np.ndarray
    cost: float
    n_iter: int
    converged: bool
    prices: np.ndarray
    history: list = field(default_factory=list)
    sinkhorn_iter: int = 0


def ballot(points: np.ndarray, centres: np.ndarray, sizes: np.ndarray, max_iter: int = 100, solver: str = "auto",
           rng: np.random.Generator | None = None, prices: np.ndarray | None = None) -> BallotResult:
    """BalLOT from given centres (inputs trusted: validate with :class:`~fairopt.balanced.ballot.BalancedKMeans`).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    sizes : ndarray of int, shape (k,)
        Positive, summing to n.
    max_iter : int
        Most assignment steps.
    solver : str
        Exact transport solver (see :func:`fairopt.balanced.transport.balanced_assignment`).
    rng : numpy.random.Generator, optional
    prices : ndarray of shape (k,), optional
        Dual prices near those of the first assignment (e.g. E-BalLOT's potentials g at
        ``centres``): the first step is then warm-started with them.

    Returns
    -------
    BallotResult
    """
    rng = np.random.default_rng() if rng is None else rng
    k = centres.shape[0]
    prev, history = None, []
    converged, it, settled = False, 0, prices is not None
    for it in range(1, max_iter + 1):
        D = sq_distances(points, centres)
        # Warm start once the labels have settled (< 2% changed in the last step): then the
        # previous dual prices are nearly right. Early steps move the centres far, and stale
        # prices prune the wrong arcs (measured: 400+ polish cycles at n=1e5, k=100), so they
        # start cold from subsample prices instead.
        step = _solve(D, sizes, solver, prices if settled else None, rng)
        prices = step.prices
        history.append(step.cost)
        settled = prev is None and settled or (prev is not None and np.count_nonzero(step.labels != prev) < 0.02 * len(prev))
        if prev is not None:
            if np.array_equal(step.labels, prev):
                converged = True
                break
            # Both labellings are optimal at these centres when the new one is no cheaper:
            # keep the previous one, whose centroids are exactly these centres.
            prev_cost = float(D[np.arange(D.shape[0]), prev].sum())
            if step.cost >= prev_cost - 1e-12 * abs(prev_cost):
                history[-1] = prev_cost
                converged = True
                break
        prev = step.labels
        centres = centroids(points, prev, k)
    labels = prev if prev is not None else step.labels
    centres = centroids(points, labels, k)
    return BallotResult(labels, centres, labels_cost(points, centres, labels), it, converged, prices, history)


def ballot_sinkhorn(points: Any, centres: Any, sizes: np.ndarray, epsilon: float, max_iter: int = 100,
                    tol: float = 1e-4, sinkhorn_tol: float = 1e-4, inner_max_iter: int = 50, solver: str = "auto",
                    rng: np.random.Generator | None = None, host_points: np.ndarray | None = None,
                    dtype: Any = None) -> BallotResult:
    """E-BalLOT from given centres (inputs trusted: validate with :class:`~fairopt.balanced.ballot.BalancedKMeans`).

    The entropic steps (:func:`fairopt.balanced.entropic.entropic_steps`) run in the namespace
    and on the device of ``points``; the balance-preserving final step is the exact optimal
    assignment at their last centres, warm-started with their potentials g as dual prices,
    and the centres returned are the centroids of its labels.

    Parameters
    ----------
    points : array of shape (n, d)
        numpy, torch (CPU or GPU), CuPy or any array API array.
    centres : array of shape (k, d)
        Same namespace and device.
    sizes : ndarray of int, shape (k,)
    epsilon : float
        Absolute entropic regularisation, in units of squared distance (POT's ``reg``; see
        :mod:`fairopt.balanced.entropic`).
    max_iter, tol, sinkhorn_tol, inner_max_iter, dtype :
        Of :func:`fairopt.balanced.entropic.entropic_steps`.
    solver : str
        Exact transport solver of the final step.
    rng : numpy.random.Generator, optional
    host_points : ndarray of shape (n, d), optional
        A float64 numpy copy of ``points`` when the caller has one (saves a device transfer).

    Returns
    -------
    BallotResult
        numpy arrays.
    """
    rng = np.random.default_rng() if rng is None else rng
    run = entropic_steps(points, centres, sizes, epsilon, max_iter=max_iter, tol=tol, sinkhorn_tol=sinkhorn_tol,
                         inner_max_iter=inner_max_iter, dtype=dtype)
    X = np.asarray(to_numpy(points), dtype=np.float64) if host_points is None else host_points
    C, g = to_numpy(run["centres"]), to_numpy(run["g"])
    if not (np.all(np.isfinite(C)) and np.all(np.isfinite(g))):
        # Degenerate scale (the entropic steps overflowed): round at the start centres.
        C, g = np.asarray(to_numpy(centres), dtype=np.float64), None
    step = _solve(sq_distances(X, C), np.asarray(sizes, dtype=np.int64), solver, g, rng)
    k = C.shape[0]
    out = centroids(X, step.labels, k)
    return BallotResult(step.labels, out, labels_cost(X, out, step.labels), run["n_iter"] + 1, run["converged"],
                        step.prices, run["history"], run["sinkhorn_iter"])


def ballot_bounded(points: np.ndarray, centres: np.ndarray, size_min: np.ndarray, size_max: np.ndarray,
                   max_iter: int = 100) -> BallotResult:
    """BalLOT with cluster sizes in ranges (inputs trusted).

    Alternates the exact size-bounded assignment (:func:`fairopt.balanced.bounded.bounded_assignment`)
    and the centroids, like :func:`ballot`; the cost never increases. An empty cluster (allowed
    when ``size_min[j] = 0``) keeps its centre.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    size_min, size_max : ndarray of int, shape (k,)
        ``0 <= size_min <= size_max``, ``sum(size_min) <= n <= sum(size_max)``.
    max_iter : int

    Returns
    -------
    BallotResult
        ``prices`` is empty (the flow solver gives no duals).
    """
    k = centres.shape[0]
    prev, history, converged, it = None, [], False, 0
    for it in range(1, max_iter + 1):
        D = sq_distances(points, centres)
        labels, cost = bounded_assignment(D, size_min, size_max)
        history.append(cost)
        if prev is not None:
            prev_cost = float(D[np.arange(D.shape[0]), prev].sum())
            if np.array_equal(labels, prev) or cost >= prev_cost - 1e-12 * abs(prev_cost):
                history[-1] = min(cost, prev_cost)
                converged = True
                break
        prev = labels
        centres = centroids(points, prev, k, centres)
    centres = centroids(points, prev, k, centres)
    return BallotResult(prev, centres, labels_cost(points, centres, prev), it, converged, np.empty(0), history)
