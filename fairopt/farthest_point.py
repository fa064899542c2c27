"""Gonzalez's farthest-point traversal: the vanilla 2-approximation of k-center.

    minimise over centres C (|C| = k)   max_x min_{c in C} ||x - c||

Start from one point, then repeatedly add the point farthest from the centres chosen so far.
The radius is at most twice the optimum (Gonzalez 1985; Hochbaum and Shmoys 1985): the k + 1
points chosen, including the next farthest one, are pairwise at least that radius apart, so
two of them share an optimal cluster. This is the vanilla k-center step of Bera et al.'s
framework.

References
----------
T. F. Gonzalez. Clustering to minimize the maximum intercluster distance. Theoretical
Computer Science 38, 1985.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairopt.objectives import distances

__all__ = ["KCenterResult", "gonzalez"]


@dataclass(frozen=True)
class KCenterResult:
    """``centres`` (k, d) (rows of the points), ``index`` (k,), ``labels`` (n,), ``radius``."""

    centres: np.ndarray
    index: np.ndarray
    labels: np.ndarray
    radius: float


def gonzalez(points: np.ndarray, k: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> KCenterResult:
    """Farthest-point traversal over the points of positive weight (trusted inputs).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    k : int
        1 <= k <= n.
    rng : numpy.random.Generator
        Draws the first centre.
    weights : ndarray of shape (n,), optional
        Points of zero weight are neither centres nor counted in the radius.

    Returns
    -------
    KCenterResult
        O(n k d) time.
    """
    live = np.arange(points.shape[0]) if weights is None else np.flatnonzero(np.asarray(weights) > 0)
    P = points[live]
    index = np.empty(k, dtype=np.int64)
    index[0] = rng.integers(P.shape[0])
    closest = distances(P, P[index[:1]])[:, 0]
    labels = np.zeros(P.shape[0], dtype=np.int64)
    for j in range(1, k):
        index[j] = int(np.argmax(closest))
        d = distances(P, P[index[j:j + 1]])[:, 0]
        labels[d < closest] = j
        closest = np.minimum(closest, d)
    centres = P[index]
    all_labels = distances(points, centres).argmin(axis=1).astype(np.int64)
    return KCenterResult(centres, live[index], all_labels, float(closest.max(initial=0.0)))
