"""Initial centres for BalLOT: k-means++, diameter sampling, clique sampling, user centres.

Diameter and clique sampling are the paper's initialisations with one-step recovery under the
stochastic ball model (k unit balls in R^d whose centres are Delta apart, n/k uniform points in
each): from them a single BalLOT step returns the planted partition with high probability.

* Diameter sampling (k = 2): the two points farthest apart. When Delta > 2 points of one ball
  are at most 2 apart while the two balls hold points almost Delta + 2 apart, so the diameter
  joins the two balls.
* Clique sampling: draw m = ceil(k log(2k / failure)) points, so that every one of k equally
  large balls is drawn with probability at least 1 - failure/2 (a ball is missed with
  probability (1 - 1/k)^m <= exp(-m/k) = failure / (2k)). Join two drawn points when they are
  closer than ``threshold``; every connected component gives one centre (the mean of its
  points). With Delta >= 4 and threshold 2, points of one ball (< 2 apart) form a clique and
  points of different balls (>= Delta - 2 >= 2 apart) are never joined, so the components are
  the balls. ``threshold=None`` picks the threshold that leaves exactly k components (cutting
  the k - 1 longest edges of the minimum spanning tree: single linkage), which is that
  partition whenever the sampled balls are separated as above.

References
----------
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fairopt.distances import nearest
from fairopt.exceptions import ValidationError
from fairopt.kmeans import kmeans_plusplus

__all__ = ["init_centres", "diameter_sampling", "clique_sampling", "INITS"]

INITS = ("k-means++", "diameter", "clique")


def diameter_sampling(points: np.ndarray, rng: np.random.Generator, max_sample: int = 2000) -> np.ndarray:
    """The two points farthest apart (among ``max_sample`` uniform draws when n is larger).

    Parameters
    ----------
    points : ndarray of shape (n, d), n >= 2
    rng : numpy.random.Generator
    max_sample : int
        O(max_sample^2) memory and time; all points when n <= max_sample.

    Returns
    -------
    centres : ndarray of shape (2, d)
    """
    from scipy.spatial.distance import pdist

    n = points.shape[0]
    idx = np.arange(n) if n <= max_sample else rng.choice(n, max_sample, replace=False)
    dist = pdist(points[idx], "sqeuclidean")
    t = int(np.argmax(dist))
    # Condensed index t -> pair (i, j), i < j: row i holds m - 1 - i entries.
    m = idx.size
    starts = np.cumsum(np.r_[0, np.arange(m - 1, 0, -1)])
    i = int(np.searchsorted(starts, t, side="right") - 1)
    j = int(t - starts[i] + i + 1)
    return points[idx[[i, j]]].copy()


def clique_sampling(points: np.ndarray, k: int, rng: np.random.Generator, failure: float = 0.01,
                    threshold: float | None = None, n_sample: int | None = None) -> np.ndarray:
    """Centres from the connected components of a sampled proximity graph.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    k : int
    rng : numpy.random.Generator
    failure : float in (0, 1)
        Allowed probability of missing a ball; the sample has ceil(k log(2k / failure)) points.
    threshold : float, optional
        Join sampled points closer than this (Euclidean distance). None: single linkage into
        exactly k components.
    n_sample : int, optional
        Overrides the sample size.

    Returns
    -------
    centres : ndarray of shape (k, d)
        Component means, largest components first. With more than k components the k largest
        are kept; with fewer, the missing centres are drawn by k-means++ (D^2) sampling from
        all points given the centres found.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
    from scipy.spatial.distance import pdist, squareform

    n = points.shape[0]
    m = n_sample if n_sample is not None else math.ceil(k * math.log(2 * k / failure))
    m = int(min(max(m, k), n))
    sample = points[rng.choice(n, m, replace=False)]
    dist = squareform(pdist(sample))
    if threshold is None:
        # Single linkage: drop the k - 1 longest MST edges. Coincident points have distance 0,
        # which csgraph reads as "no edge", so lift every distance by a tiny positive amount.
        tree = minimum_spanning_tree(csr_matrix(dist + 1e-300)).tocoo()
        keep = np.argsort(tree.data, kind="stable")[: max(tree.nnz - (k - 1), 0)]
        graph = csr_matrix((np.ones(keep.size), (tree.row[keep], tree.col[keep])), shape=(m, m))
    else:
        graph = csr_matrix(dist < threshold)
    n_comp, comp = connected_components(graph, directed=False)
    counts = np.bincount(comp, minlength=n_comp)
    order = np.argsort(-counts, kind="stable")[:k]
    centres = np.stack([sample[comp == c].mean(axis=0) for c in order])
    if centres.shape[0] < k:
        centres = _complete_dsquared(points, centres, k, rng)
    return centres


def _complete_dsquared(points: np.ndarray, centres: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    out = list(centres)
    closest = nearest(points, centres)[1]
    while len(out) < k:
        total = closest.sum()
        j = int(rng.choice(points.shape[0], p=closest / total)) if total > 0 else int(rng.integers(points.shape[0]))
        out.append(points[j])
        closest = np.minimum(closest, ((points - points[j]) ** 2).sum(axis=1))
    return np.stack(out)


def init_centres(points: np.ndarray, k: int, init: Any, rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """Initial centres of shape (k, d) by name or from a user array (validated here).

    Parameters
    ----------
    points : ndarray of shape (n, d)
    k : int
    init : {"k-means++", "diameter", "clique"} or ndarray of shape (k, d)
    rng : numpy.random.Generator
    params : dict, optional
        Keyword arguments of the chosen method (``failure``, ``threshold``, ``n_sample`` for
        clique sampling; ``max_sample`` for diameter sampling; ``n_local_trials`` for k-means++).
    """
    params = dict(params or {})
    n, d = points.shape
    if isinstance(init, str):
        if init == "k-means++":
            return kmeans_plusplus(points, np.ones(n), k, rng, **params)
        if init == "diameter":
            if k != 2:
                raise ValidationError(f"init='diameter' is defined for n_clusters=2; got n_clusters={k} (use init='clique' or 'k-means++')")
            return diameter_sampling(points, rng, **params)
        if init == "clique":
            return clique_sampling(points, k, rng, **params)
        raise ValidationError(f"init must be one of {INITS} or an array of shape ({k}, {d}); got {init!r}")
    try:
        centres = np.asarray(init, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"init must be one of {INITS} or an array of shape ({k}, {d}); got {type(init).__name__}") from None
    if centres.shape != (k, d) or not np.all(np.isfinite(centres)):
        raise ValidationError(f"init array must be finite with shape ({k}, {d}) (n_clusters, n_features); got shape {centres.shape}")
    return centres.copy()
