"""Weighted k-median in numpy: geometric medians (Weiszfeld) and swap local search.

The k-median counterparts of :mod:`fairopt.kmeans`, used for the vanilla k-median centres of
the NIPS19 baseline and for the move and merge steps of fair k-median by Relax and Merge
(:mod:`fairopt.fair.kmedian`). Problem solved (heuristically)::

    minimise over centres C (|C| = k)   sum_x w(x) min_{c in C} ||x - c||

1. Seeding: k-median++ (D^1 sampling, the l_1 analogue of k-means++).
2. Discrete local search over facilities F (the points, or a weighted sample of them when
   n |F| would not fit): the best single swap (c out, f in) while it lowers the cost by more
   than ``tol`` relative. Single-swap local search is a 5-approximation of the discrete
   problem (Arya et al. 2004); its centres are within a factor 2 of the continuous optimum
   (a cluster's best data point is at most twice its geometric median's cost), so the result
   is a 10-approximation in the worst case and far better in practice. All k x |F| swap gains
   are evaluated at once from the nearest and second-nearest distances (the FastPAM1 trick of
   Schubert and Rousseeuw): O(n |F|) per swap instead of O(n |F| k).
3. Continuous polish: Lloyd-style alternation of nearest-centre labels and the weighted
   geometric median of every cluster (Weiszfeld), kept only while it lowers the cost.

References
----------
V. Arya, N. Garg, R. Khandekar, A. Meyerson, K. Munagala, V. Pandit. Local search heuristics
for k-median and facility location problems. SIAM J. Computing 33(3), 2004.
E. Schubert, P. J. Rousseeuw. Faster k-medoids clustering: improving the PAM, CLARA, and
CLARANS algorithms. SISAP 2019 (FastPAM1).
E. Weiszfeld. Sur le point pour lequel la somme des distances de n points donnes est minimum.
Tohoku Math. J. 43, 1937; Y. Vardi, C.-H. Zhang. The multivariate L1-median and associated
data depth. PNAS 97(4), 2000 (the fixed point at a data point).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.objectives import distances
from fairopt.problem import validate_n_clusters, validate_points, validate_weights
from fairopt.validation import check_bool, check_int, check_random_state

__all__ = ["KMedianResult", "geometric_medians", "kmedian_plusplus", "swap_local_search", "weighted_kmedian",
           "kmedian_cost"]

# Largest n x |F| distance matrix the local search keeps (float64 entries, ~128 MB).
MAX_ENTRIES = 1 << 24


@dataclass(frozen=True)
class KMedianResult:
    """Outcome of :func:`weighted_kmedian`.

    Attributes
    ----------
    centres : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int64
        Nearest centre of every point.
    cost : float
        ``sum_x w(x) ||x - centres[labels[x]]||``.
    n_swaps : int
        Improving swaps of the best restart.
    """

    centres: np.ndarray
    labels: np.ndarray
    cost: float
    n_swaps: int


def geometric_medians(points: np.ndarray, assignment: sp.spmatrix, start: np.ndarray | None = None,
                      max_iter: int = 200, tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """Weighted geometric median of every column of a mass matrix (Weiszfeld, all columns at once).

    For every column s, with masses phi(x, s) >= 0, find

        y_s = argmin_y sum_x phi(x, s) ||x - y||,

    by the Weiszfeld iteration y <- sum_x (phi(x, s) / ||x - y||) x / sum_x phi(x, s) / ||x - y||
    from the weighted mean. The iteration never raises the cost away from the data points;
    near a data point the distances are floored at a tiny length and a step is kept only
    where it lowers the column's cost, so every column's cost is non-increasing (at worst the
    iteration stops at a data point, a fixed point of Weiszfeld's map; Vardi and Zhang 2000).
    One sparse product per iteration over the nonzeros of phi: no loop over columns.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    assignment : scipy.sparse matrix of shape (n, s)
        Masses phi(x, s); columns without mass keep their start (or become 0).
    start : ndarray of shape (s, d), optional
        Starting points; the weighted means by default.
    max_iter : int
    tol : float
        Stop when no column moves by more than ``tol`` times the data's spread.

    Returns
    -------
    medians : ndarray of shape (s, d)
    costs : ndarray of shape (s,)
        sum_x phi(x, s) ||x - y_s||.
    """
    phi = sp.csr_matrix(assignment, dtype=np.float64).tocoo()
    keep = phi.data > 0
    r, c, v = phi.row[keep], phi.col[keep], phi.data[keep]
    s = phi.shape[1]
    mass = np.bincount(c, weights=v, minlength=s)
    if start is None:
        Y = np.zeros((s, points.shape[1]))
        full = mass > 0
        Y[full] = np.asarray(sp.csr_matrix((v, (c, r)), shape=(s, points.shape[0])) @ points)[full] / mass[full, None]
    else:
        Y = np.array(start, dtype=np.float64, copy=True)
    spread = float(np.ptp(points, axis=0).max(initial=0.0)) or 1.0
    floor = 1e-12 * spread

    def column_costs(Y_):
        diff = points[r] - Y_[c]
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return np.bincount(c, weights=v * dist, minlength=s), dist

    cost, dist = column_costs(Y)
    active = mass > 0
    for _ in range(max_iter):
        inv = v / np.maximum(dist, floor)
        den = np.bincount(c, weights=inv, minlength=s)
        num = np.asarray(sp.csr_matrix((inv, (c, r)), shape=(s, points.shape[0])) @ points)
        new = Y.copy()
        new[active] = num[active] / den[active, None]
        new_cost, new_dist = column_costs(new)
        better = active & (new_cost < cost)
        moved = np.sqrt(((new - Y) ** 2).sum(axis=1))
        Y[better] = new[better]
        cost = np.where(better, new_cost, cost)
        dist = np.where(better[c], new_dist, dist)
        active = better & (moved > tol * spread)
        if not active.any():
            break
    return Y, cost


def kmedian_plusplus(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-median++ seeding: indices of k points, each next one drawn with probability
    proportional to w(x) D(x), D the distance to the nearest one drawn so far.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,), positive sum
    k : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (k,), int64
    """
    n = points.shape[0]
    idx = np.empty(k, dtype=np.int64)
    idx[0] = rng.choice(n, p=weights / weights.sum())
    closest = distances(points, points[idx[:1]])[:, 0]
    for j in range(1, k):
        p = weights * closest
        total = p.sum()
        idx[j] = rng.integers(n) if total <= 0 else rng.choice(n, p=p / total)
        closest = np.minimum(closest, distances(points, points[idx[j:j + 1]])[:, 0])
    return idx


def _nearest_two(D: np.ndarray, medoids: np.ndarray):
    sub = D[:, medoids]
    if medoids.size == 1:
        return np.zeros(D.shape[0], dtype=np.int64), sub[:, 0], np.full(D.shape[0], np.inf)
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    d = np.take_along_axis(sub, two, axis=1)
    first = d[:, 0] <= d[:, 1]
    near = np.where(first, two[:, 0], two[:, 1])
    return near, np.minimum(d[:, 0], d[:, 1]), np.maximum(d[:, 0], d[:, 1])


def swap_local_search(D: np.ndarray, weights: np.ndarray, medoids: np.ndarray, max_swaps: int = 1000,
                      tol: float = 1e-9) -> tuple[np.ndarray, float, int]:
    """Best-improvement single-swap local search for discrete k-median.

    The gain of swapping medoid c (position j) for facility f, with d1, d2 the distances to the
    nearest and second-nearest medoid and near(x) the nearest one's position:

        delta(f, j) = sum_x w(x) [min(D(x, f), d1(x)) - d1(x)]
                      + sum_{x: near(x) = j} w(x) [min(D(x, f), d2(x)) - min(D(x, f), d1(x))],

    all k x |F| at once from two (n, |F|) arrays and one sparse product (FastPAM1).

    Parameters
    ----------
    D : ndarray of shape (n, f)
        Distances from the points to the facilities.
    weights : ndarray of shape (n,)
    medoids : ndarray of shape (k,), int
        Starting facilities (distinct).
    max_swaps : int
    tol : float
        A swap must lower the cost by more than ``tol`` times the current cost.

    Returns
    -------
    medoids : ndarray of shape (k,)
    cost : float
    n_swaps : int
    """
    medoids = np.array(medoids, dtype=np.int64, copy=True)
    n, k = D.shape[0], medoids.size
    n_swaps = 0
    near, d1, d2 = _nearest_two(D, medoids)
    cost = float(weights @ d1)
    for n_swaps in range(max_swaps + 1):
        if n_swaps == max_swaps:
            break
        A = np.minimum(D, d1[:, None])
        B = np.minimum(D, d2[:, None]) - A
        A -= d1[:, None]
        onehot = sp.csr_matrix((weights, (near, np.arange(n))), shape=(k, n))
        delta = (weights @ A)[None, :] + np.asarray(onehot @ B)  # (k, f)
        j, f = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[j, f] < -tol * max(cost, 1e-300):
            break
        medoids[j] = f
        near, d1, d2 = _nearest_two(D, medoids)
        cost = float(weights @ d1)
    return medoids, cost, n_swaps


def _polish(points, weights, centres, max_iter=20, tol=1e-7):
    """Alternate nearest-centre labels and weighted geometric medians while the cost drops."""
    D = distances(points, centres)
    labels = D.argmin(axis=1)
    cost = float(weights @ D[np.arange(points.shape[0]), labels])
    k = centres.shape[0]
    for _ in range(max_iter):
        mass = sp.csr_matrix((weights, (np.arange(points.shape[0]), labels)), shape=(points.shape[0], k))
        new, _ = geometric_medians(points, mass, start=centres)
        D = distances(points, new)
        new_labels = D.argmin(axis=1)
        new_cost = float(weights @ D[np.arange(points.shape[0]), new_labels])
        if not new_cost < cost * (1 - tol):
            break
        centres, labels, cost = new, new_labels, new_cost
    return centres, labels, cost


def weighted_kmedian(points: Any, weights: Any = None, k: int = 8, n_init: int = 3, max_swaps: int = 1000,
                     max_facilities: int | None = None, polish: bool = True,
                     random_state: int | np.random.Generator | None = None) -> KMedianResult:
    """Weighted k-median: best of ``n_init`` runs of seeding, swap local search and polish.

    Minimises ``sum_x w(x) min_c ||x - c||`` (see the module docstring for the steps).

    Parameters
    ----------
    points : array-like of shape (n, d)
    weights : array-like of shape (n,), optional
        Non-negative masses; ones by default. Zero-weight points are left out of the fit.
    k : int
        1 <= k <= n.
    n_init : int
        Restarts (different seedings); the cheapest is returned.
    max_swaps : int
        Improving swaps per restart.
    max_facilities : int, optional
        Largest facility set of the local search; by default all points while the n x n
        distance matrix has at most :data:`MAX_ENTRIES` entries, else a weight-proportional
        sample of that many.
    polish : bool
        Run the continuous geometric-median polish after the local search.
    random_state : int, Generator or None

    Returns
    -------
    KMedianResult
    """
    X = validate_points(points)
    w = validate_weights(weights, X.shape[0])
    k = validate_n_clusters(k, X.shape[0], name="k")
    n_init = check_int(n_init, "n_init")
    max_swaps = check_int(max_swaps, "max_swaps", minimum=0)
    max_facilities = check_int(max_facilities, "max_facilities", minimum=k, allow_none=True)
    polish = check_bool(polish, "polish")
    return _weighted_kmedian(X, w, k, n_init, max_swaps, max_facilities, polish, check_random_state(random_state))


def _weighted_kmedian(X, w, k, n_init, max_swaps, max_facilities, polish, rng) -> KMedianResult:
    """:func:`weighted_kmedian` on validated inputs (prior validation of data is assumed)."""
    keep = np.flatnonzero(w > 0)
    Xf, wf = (X[keep], w[keep]) if keep.size >= k else (X, w)
    n = Xf.shape[0]
    limit = max(k, MAX_ENTRIES // max(n, 1)) if max_facilities is None else max(k, int(max_facilities))
    if n <= limit:
        fac = np.arange(n)
    else:
        fac = np.sort(rng.choice(n, size=limit, replace=False, p=wf / wf.sum()))
    D = distances(Xf, Xf[fac])
    best = None
    for _ in range(n_init):
        seed = kmedian_plusplus(Xf[fac], wf[fac], k, rng)
        medoids, cost, n_swaps = swap_local_search(D, wf, seed, max_swaps=max_swaps)
        if best is None or cost < best[1]:
            best = (medoids, cost, n_swaps)
    medoids, cost, n_swaps = best
    centres = Xf[fac[medoids]]
    if polish:
        centres, _, cost = _polish(Xf, wf, centres)
    labels = distances(X, centres).argmin(axis=1).astype(np.int64)
    return KMedianResult(centres=centres, labels=labels, cost=float(cost), n_swaps=int(n_swaps))


def kmedian_cost(points: np.ndarray, centres: np.ndarray, labels: np.ndarray | None = None,
                 weights: np.ndarray | None = None) -> float:
    """``sum_x w(x) ||x - c(x)||`` with c(x) = centres[labels[x]] or the nearest centre (trusted inputs)."""
    w = np.ones(points.shape[0]) if weights is None else weights
    if labels is None:
        return float(w @ distances(points, centres).min(axis=1))
    diff = points - centres[labels]
    return float(w @ np.sqrt(np.einsum("ij,ij->i", diff, diff)))
