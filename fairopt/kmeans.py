"""Weighted k-means in numpy: k-means++ seeding and Lloyd iterations (the "merge" step).

Relax-and-Merge runs weighted k-means on the candidate set S with the masses W(s) the LP puts
on each candidate; fairlets and the barycenter code reuse it on centroids and support points.

Problem solved (heuristically, rho-approximately in expectation thanks to k-means++)::

    minimise over centres C (|C| = k)   sum_x w(x) min_{c in C} ||x - c||^2

References
----------
D. Arthur and S. Vassilvitskii. k-means++: the advantages of careful seeding. SODA 2007.
S. Lloyd. Least squares quantization in PCM. IEEE Trans. Inf. Theory 28(2), 1982.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairopt.distances import centroids, labels_cost, nearest
from fairopt.exceptions import ValidationError
from fairopt.problem import validate_n_clusters, validate_points, validate_weights
from fairopt.validation import check_int, check_random_state

__all__ = ["KMeansResult", "kmeans_plusplus", "lloyd", "weighted_kmeans", "kmeans_cost"]


@dataclass(frozen=True)
class KMeansResult:
    """Outcome of :func:`weighted_kmeans`.

    Attributes
    ----------
    centres : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int64
        Index of the nearest centre of every point.
    cost : float
        ``sum_x w(x) ||x - centres[labels[x]]||^2``.
    n_iter : int
        Lloyd iterations of the best restart.
    """

    centres: np.ndarray
    labels: np.ndarray
    cost: float
    n_iter: int


def _sq_to(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    diff = points - centre
    return np.einsum("ij,ij->i", diff, diff)


def kmeans_plusplus(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    n_local_trials: int | None = None,
) -> np.ndarray:
    """Weighted k-means++ seeding with greedy local trials.

    The first centre is drawn with probability w(x) / sum w; every next one with probability
    proportional to w(x) D(x)^2, D(x) the distance to the nearest centre chosen so far (Arthur &
    Vassilvitskii 2007, with point weights). As in scikit-learn, ``2 + floor(ln k)`` candidates are
    drawn per step and the one that most lowers the potential sum_x w(x) D(x)^2 is kept.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
        Non-negative, positive sum.
    k : int
        Number of centres, 1 <= k <= n.
    rng : numpy.random.Generator
    n_local_trials : int, optional
        Candidates per step; ``2 + int(log(k))`` by default.

    Returns
    -------
    centres : ndarray of shape (k, d)
        Rows of ``points``.
    """
    n, d = points.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(k))
    centres = np.empty((k, d))
    first = rng.choice(n, p=weights / weights.sum())
    centres[0] = points[first]
    closest = _sq_to(points, centres[0])
    potential = float(weights @ closest)
    for c in range(1, k):
        if potential <= 0.0:
            # All the mass sits on chosen centres (fewer than k distinct weighted points):
            # any further centre is as good as another.
            centres[c] = points[rng.integers(n)]
            continue
        # side="right" never lands on a zero-mass point (its cumulative sum does not increase).
        cumulative = np.cumsum(weights * closest)
        draws = rng.uniform(size=n_local_trials) * cumulative[-1]
        cand = np.minimum(np.searchsorted(cumulative, draws, side="right"), n - 1)
        trial = np.minimum(np.stack([_sq_to(points, points[j]) for j in cand]), closest)
        potentials = trial @ weights
        best = int(np.argmin(potentials))
        centres[c] = points[cand[best]]
        closest = trial[best]
        potential = float(potentials[best])
    return centres



def lloyd(
    points: np.ndarray,
    weights: np.ndarray,
    centres: np.ndarray,
    max_iter: int = 300,
    tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted Lloyd iterations from given centres.

    Alternates assigning every point to its nearest centre and moving every centre to the
    weighted mean of its points; neither step can raise the cost, so the cost never increases.
    A centre left without mass is re-seeded at the point with the largest w(x) D(x)^2 (distinct
    points for several empty centres), which cannot raise the cost either.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
    centres : ndarray of shape (k, d)
        Start; not modified.
    max_iter : int
    tol : float
        Stop when the squared centre shift ``sum_c ||c_new - c_old||^2`` falls to at most
        ``tol`` times the mean weighted per-feature variance of the data (scikit-learn's rule).

    Returns
    -------
    centres : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int64
        Nearest centre of every point for the returned centres.
    cost : float
        ``sum_x w(x) ||x - centres[labels[x]]||^2``.
    n_iter : int
        Iterations run.
    """
    centres = np.array(centres, dtype=np.float64, copy=True)
    k = centres.shape[0]
    mean = weights @ points / weights.sum()
    variance = weights @ (points - mean) ** 2 / weights.sum()
    tol_abs = tol * float(variance.mean())
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, sqd = nearest(points, centres)
        new, mass = centroids(points, labels, k, weights, fallback=centres)
        empty = np.flatnonzero(mass <= 0)
        if empty.size:
            far = np.argsort(-(weights * sqd), kind="stable")[: empty.size]
            new[empty[: far.size]] = points[far]
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if shift <= tol_abs:
            break
    labels, sqd = nearest(points, centres)
    return centres, labels, float(weights @ sqd), n_iter



def weighted_kmeans(
    points: Any,
    weights: Any = None,
    k: int = 8,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-6,
    random_state: int | np.random.Generator | None = None,
) -> KMeansResult:
    """Weighted k-means: best of ``n_init`` runs of k-means++ seeding followed by Lloyd.

    Minimises ``sum_x w(x) min_c ||x - c||^2``. Points of zero weight do not influence the
    centres (they are left out of the fit, then labelled by their nearest centre), which keeps
    the merge step of Relax-and-Merge cheap when most candidates get no LP mass.

    Parameters
    ----------
    points : array-like of shape (n, d)
    weights : array-like of shape (n,), optional
        Non-negative masses w(x); ones by default.
    k : int
        Number of centres, 1 <= k <= n.
    n_init : int
        Restarts; the lowest-cost one is returned.
    max_iter, tol :
        Passed to :func:`lloyd`.
    random_state : int, numpy.random.Generator or None
        Seed of the single generator used for every restart.

    Returns
    -------
    KMeansResult
        ``centres`` (k, d), ``labels`` (n,), ``cost``, ``n_iter``.

    References
    ----------
    Arthur & Vassilvitskii, k-means++: the advantages of careful seeding, SODA 2007.
    """
    X = validate_points(points)
    w = validate_weights(weights, X.shape[0])
    k = validate_n_clusters(k, X.shape[0], name="k")
    n_init = check_int(n_init, "n_init")
    max_iter = check_int(max_iter, "max_iter")
    if not np.isscalar(tol) or not np.isfinite(tol) or tol < 0:
        raise ValidationError(f"tol must be a finite number >= 0; got {tol!r}")
    return _weighted_kmeans(X, w, k, n_init, max_iter, float(tol), check_random_state(random_state))


def _weighted_kmeans(X: np.ndarray, w: np.ndarray, k: int, n_init: int, max_iter: int, tol: float,
                     rng: np.random.Generator) -> KMeansResult:
    """:func:`weighted_kmeans` on validated input (prior validation of the data is assumed)."""
    keep = np.flatnonzero(w > 0)
    Xf, wf = (X[keep], w[keep]) if keep.size >= k else (X, w)
    best = None
    for _ in range(n_init):
        start = kmeans_plusplus(Xf, wf, k, rng)
        centres, _, cost, n_iter = lloyd(Xf, wf, start, max_iter=max_iter, tol=tol)
        if best is None or cost < best[1]:
            best = (centres, cost, n_iter)
    centres, cost, n_iter = best
    labels, _ = nearest(X, centres)
    return KMeansResult(centres=centres, labels=labels, cost=float(cost), n_iter=n_iter)


def kmeans_cost(points: Any, centres: Any, labels: Any = None, weights: Any = None) -> float:
    """Weighted k-means cost ``sum_x w(x) ||x - c(x)||^2``.

    Parameters
    ----------
    points : array-like of shape (n, d)
    centres : array-like of shape (k, d)
    labels : array-like of shape (n,), optional
        Centre index c(x) of every point; the nearest centre when omitted.
    weights : array-like of shape (n,), optional
        Ones by default.

    Returns
    -------
    float
    """
    X = validate_points(points)
    C = validate_points(centres, name="centres")
    if C.shape[1] != X.shape[1]:
        raise ValidationError(f"centres have {C.shape[1]} columns but points have {X.shape[1]}")
    w = validate_weights(weights, X.shape[0]) if weights is not None else np.ones(X.shape[0])
    if labels is None:
        _, sqd = nearest(X, C)
    else:
        lab = np.asarray(labels)
        if lab.shape != (X.shape[0],) or lab.dtype.kind not in "iu":
            raise ValidationError(f"labels must be integers of shape ({X.shape[0]},); got {lab.dtype} of shape {lab.shape}")
        if lab.size and (lab.min() < 0 or lab.max() >= C.shape[0]):
            raise ValidationError(f"labels must lie in [0, {C.shape[0] - 1}]; got values in [{lab.min()}, {lab.max()}]")
        return labels_cost(X, C, lab, w)
    return float(w @ sqd)
