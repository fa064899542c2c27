"""Candidate centre sets for Relax-and-Merge (approximate centroid sets).

Step (1) of Algorithm 1 needs a finite set S that holds, for every cluster Q of the unknown
optimum, a point almost as good as the centroid of Q. A set is an *eps-approximate centroid set*
(Matousek 2000) when for every subset Q of the points some s in S has

    sum_{x in Q} ||x - s||^2 <= (1 + eps) * sum_{x in Q} ||x - mu(Q)||^2,   mu(Q) = centroid of Q.

Three constructions:

* :func:`grid_candidates` -- Matousek's exponential grids; provably eps-approximate, but of size
  about n log(diam / min-gap) (sqrt(d / eps))^d, so for low dimension only;
* :func:`kdtree_candidates` -- random nodes of a kd-tree, a leaf giving its point and an inner
  node a uniform point of its cell enlarged 3x (Kanungo et al. 2002; the practical choice of the
  Relax-and-Merge paper);
* the data points themselves (a 2-approximate centroid set for k-means).

References
----------
J. Matousek. On approximate geometric k-clustering. Discrete Comput. Geom. 24(1), 2000.
T. Kanungo, D. M. Mount, N. S. Netanyahu, C. D. Piatko, R. Silverman, A. Y. Wu. A local search
approximation algorithm for k-means clustering. SoCG 2002.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fairopt.exceptions import ValidationError
from fairopt.kmeans import kmeans_plusplus
from fairopt.problem import validate_points
from fairopt.validation import check_choice, check_int, check_number, check_random_state

__all__ = ["kdtree_nodes", "kdtree_candidates", "grid_candidates", "grid_size_estimate", "candidate_set", "METHODS"]

METHODS = ("kdtree+seeds", "kdtree", "grid", "points", "kdtree+points")

# Most integer offsets x coordinates held at once while building the grids.
_GRID_CHUNK = 1 << 22


# ----------------------------------------------------------------------------- kd-tree sampling

def kdtree_nodes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding boxes of every node of a kd-tree with one point per leaf.

    Each inner node splits its points at the median of its widest coordinate (the extent of its
    bounding box). The tree is built level by level with vectorised sorts: O(n log^2 n) time.

    Parameters
    ----------
    points : ndarray of shape (n, d)

    Returns
    -------
    lo, hi : ndarray of shape (2n - 1, d)
        Corners of the bounding box of the points of every node (root first, then level by
        level); a leaf has ``lo == hi ==`` its point.
    """
    n = points.shape[0]
    perm = np.arange(n)
    # Segments of perm: every node of the current level plus the leaves found earlier, so that
    # the segments tile [0, n) and np.minimum.reduceat can compute all boxes in one call.
    starts = np.zeros(1, dtype=np.int64)
    sizes = np.array([n], dtype=np.int64)
    new = np.ones(1, dtype=bool)
    los, his = [], []
    while True:
        P = points[perm]
        lo = np.minimum.reduceat(P, starts, axis=0)
        hi = np.maximum.reduceat(P, starts, axis=0)
        los.append(lo[new])
        his.append(hi[new])
        split = sizes > 1
        if not split.any():
            break
        segment = np.repeat(np.arange(starts.size), sizes)
        dim = np.argmax(hi - lo, axis=1)
        key = P[np.arange(n), dim[segment]]
        perm = perm[np.lexsort((key, segment))]
        # Children: a split segment [s, s + L) gives [s, s + L//2) and [s + L//2, s + L).
        left = np.where(split, sizes // 2, sizes)
        right = sizes - left
        starts = np.stack([starts, starts + left], axis=1)[np.stack([np.ones_like(split), split], axis=1)]
        sizes = np.stack([left, right], axis=1)[np.stack([np.ones_like(split), split], axis=1)]
        new = np.stack([split, split], axis=1)[np.stack([np.ones_like(split), split], axis=1)]
    return np.concatenate(los), np.concatenate(his)


def kdtree_candidates(points: np.ndarray, size: int, rng: np.random.Generator, enlarge: float = 3.0) -> np.ndarray:
    """Random candidate centres from the nodes of a kd-tree (Kanungo et al. 2002, Sec. 4).

    ``size`` nodes are drawn uniformly among the 2n - 1 nodes of :func:`kdtree_nodes` (without
    replacement when size <= 2n - 1). A leaf gives its point; an inner node gives a point drawn
    uniformly from its bounding box scaled by ``enlarge`` about the box centre.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    size : int
        Number of candidates s.
    rng : numpy.random.Generator
    enlarge : float
        Scale factor of the cells (3 in Kanungo et al. and the Relax-and-Merge paper).

    Returns
    -------
    candidates : ndarray of shape (size, d)
        Every candidate lies in the enlarged bounding box of the data.
    """
    lo, hi = kdtree_nodes(points)
    nodes = rng.choice(lo.shape[0], size=size, replace=size > lo.shape[0])
    centre = (lo[nodes] + hi[nodes]) / 2.0
    width = (hi[nodes] - lo[nodes]) * enlarge
    # A leaf has width 0, so the same formula returns its point exactly.
    return centre + (rng.random((size, points.shape[1])) - 0.5) * width


# ----------------------------------------------------------------------------- Matousek grids

def _grid_levels(points: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Radii rho_j = r0 2^j (j = 0..J) and grid sides s_j of the exponential grids.

    r0 is half the smallest distance between distinct points and rho_J >= the diameter of the
    bounding box, so every centroid mu(Q) lies within rho_J of any point of Q. The side
    s_j = sqrt(eps) rho_j / sqrt(d) puts a lattice point within sqrt(eps) rho_j / 2 of any point.
    Returns (radii, sides, R) with R the search radius in lattice units (see grid_candidates).
    """
    from scipy.spatial import cKDTree

    d = points.shape[1]
    unique = np.unique(points, axis=0)
    if unique.shape[0] < 2:
        return np.empty(0), np.empty(0), 0.0
    gap = float(cKDTree(unique).query(unique, k=2)[0][:, 1].min())
    r0 = gap / 2.0
    diameter = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
    J = max(0, math.ceil(math.log2(diameter / r0)))
    radii = r0 * 2.0 ** np.arange(J + 1)
    sides = math.sqrt(eps) * radii / math.sqrt(d)
    R = math.sqrt(d / eps) + math.sqrt(d) / 2.0
    return radii, sides, R


def grid_size_estimate(points: np.ndarray, eps: float) -> int:
    """Upper estimate of ``len(grid_candidates(points, eps))`` before building it.

    Per level j: min(n * (lattice points per ball), lattice points in the bounding box grown
    by rho_j), plus the n data points.
    """
    n, d = points.shape
    radii, sides, R = _grid_levels(points, eps)
    per_point = math.pi ** (d / 2) / math.gamma(d / 2 + 1) * (R + 0.5 * math.sqrt(d)) ** d
    lo, hi = points.min(axis=0), points.max(axis=0)
    total = float(n)
    for rho, s in zip(radii, sides):
        box = float(np.prod(np.floor((hi + rho) / s) - np.floor((lo - rho) / s) + 1.0))
        total += min(n * per_point, box)
    return int(min(total, 2**62))


def grid_candidates(points: np.ndarray, eps: float, max_size: int = 100_000) -> np.ndarray:
    """Matousek's eps-approximate centroid set from exponential grids around the points.

    Around every point p and for every scale rho_j = r0 2^j (j = 0..J, r0 = half the smallest
    gap between distinct points, rho_J >= the data diameter) take the points of the lattice
    s_j Z^d, s_j = sqrt(eps) rho_j / sqrt(d), within distance rho_j + s_j sqrt(d) / 2 of p; the
    set is their union (deduplicated; the lattices are aligned at the origin, so neighbouring
    points share them) together with the data points.

    Guarantee (Matousek 2000, Thm 4.4, argued for this variant): for every set Q of distinct
    data points with centroid mu, let p be the point of Q nearest to mu and t = ||p - mu||, so
    t^2 <= cost(Q, mu) / |Q|. For the scale with rho_{j-1} < t <= rho_j, the lattice point g
    nearest to mu is kept and ||g - mu|| <= sqrt(eps) rho_j / 2 < sqrt(eps) t; for t <= r0,
    ||g - mu||^2 <= eps r0^2 / 4 <= eps cost(Q, mu) / |Q| because distinct points are >= 2 r0
    apart. Hence cost(Q, g) = cost(Q, mu) + |Q| ||g - mu||^2 <= (1 + eps) cost(Q, mu).

    The size grows like n log(diam / r0) (sqrt(d / eps))^d, so the set is only practical in low
    dimension; :func:`grid_size_estimate` is checked first.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    eps : float
        Approximation parameter, > 0.
    max_size : int
        Refuse (ValidationError) when the estimated size exceeds this.

    Returns
    -------
    candidates : ndarray of shape (s, d)
    """
    n, d = points.shape
    estimate = grid_size_estimate(points, eps)
    radii, sides, R = _grid_levels(points, eps)
    reach = math.ceil(R)
    cube = (2 * reach + 2) ** d
    if estimate > max_size or (radii.size and cube > max_size):
        raise ValidationError(
            f"grid_candidates: the eps-approximate centroid set for n={n} points in dimension d={d} "
            f"with eps={eps} would hold about {max(estimate, cube):,} points (max_size={max_size:,}); "
            "it grows like n log(diameter / smallest gap) (d / eps)^(d/2). Use method='kdtree' (kdtree_candidates), "
            "a larger eps, or raise max_size."
        )
    if radii.size == 0:
        return np.unique(points, axis=0)
    axes = np.arange(-reach, reach + 2)
    offsets = np.stack(np.meshgrid(*([axes] * d), indexing="ij"), axis=-1).reshape(-1, d)
    parts = [points]
    chunk = max(1, _GRID_CHUNK // (offsets.shape[0] * d))
    for s in sides:
        scaled = points / s
        base = np.floor(scaled)
        frac = scaled - base
        kept = []
        for start in range(0, n, chunk):
            f = frac[start:start + chunk]
            # Offsets o with ||o - f|| <= R are the lattice points within rho + s sqrt(d)/2 of p.
            diff = offsets[None, :, :] - f[:, None, :]
            inside = np.einsum("pqd,pqd->pq", diff, diff) <= R * R
            rows, cols = np.nonzero(inside)
            kept.append(base[start + rows] + offsets[cols])
        lattice = np.unique(np.concatenate(kept), axis=0)
        parts.append(lattice * s)
    # s_{j+1} = 2 s_j exactly, so a lattice point shared by two scales has identical floats.
    return np.unique(np.concatenate(parts), axis=0)


# ----------------------------------------------------------------------------- dispatcher

def _unique_rows(A: np.ndarray) -> np.ndarray:
    """Rows of A without repeats, in order of first appearance."""
    _, first = np.unique(A, axis=0, return_index=True)
    return A[np.sort(first)]


def candidate_set(
    points: Any,
    method: str = "kdtree",
    size: int | None = None,
    ratio: float = 1.0,
    eps: float = 0.5,
    random_state: int | np.random.Generator | None = None,
    enlarge: float = 3.0,
    max_size: int = 100_000,
) -> np.ndarray:
    """Candidate centre set S for Relax-and-Merge (step 1 of Algorithm 1).

    Parameters
    ----------
    points : array-like of shape (n, d)
    method : {"kdtree+seeds", "kdtree", "grid", "points", "kdtree+points"}
        ``"kdtree+seeds"``: ``size - size // 3`` kd-tree samples plus ``size // 3`` k-means++
        seeds (data points drawn by D^2 sampling, which in high dimension sit nearer the
        clusters than kd-tree cells do; FairKMeans' default with size 600, so LP (2) over S has a
        bounded number of candidates whatever n is);
        ``"kdtree"``: :func:`kdtree_candidates` with ``size`` samples; ``"grid"``:
        :func:`grid_candidates` (low dimension only); ``"points"``: the data points;
        ``"kdtree+points"``: the data points plus ``size`` kd-tree samples.
    size : int, optional
        Number of kd-tree samples; n by default, so LP (2) over S has about n^2 variables like
        ``method="points"`` while half the candidates (in expectation) are inner-cell points
        that can sit near a cluster's centroid rather than on a data point.
    ratio : float in (0, 1]
        Keep a uniform random fraction of the set (at least one point), as the Relax-and-Merge
        experiments do (10%..100% of S) to trade cost for LP size.
    eps : float
        Approximation parameter of ``method="grid"``.
    random_state : int, numpy.random.Generator or None
    enlarge : float
        Cell scale factor of the kd-tree samples.
    max_size : int
        Size limit of ``method="grid"``.

    Returns
    -------
    candidates : ndarray of shape (s, d)
        Without repeated rows.
    """
    X = validate_points(points)
    check_choice(method, "method", METHODS)
    size = check_int(size, "size", allow_none=True)
    ratio = check_number(ratio, "ratio", low=0, high=1, low_open=True)
    if method == "grid":
        check_number(eps, "eps", low=0, low_open=True)
    enlarge = check_number(enlarge, "enlarge", low=1)
    return _candidate_set(X, method, size, ratio, eps, check_random_state(random_state), enlarge, max_size)


def _candidate_set(X: np.ndarray, method: str, size: int | None, ratio: float, eps: float,
                   rng: np.random.Generator, enlarge: float = 3.0, max_size: int = 100_000,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """:func:`candidate_set` on validated input (prior validation of the data is assumed).

    ``weights`` (n,), the point masses, steer the k-means++ seeds of ``"kdtree+seeds"``.
    """
    n = X.shape[0]
    if size is None:
        size = n
    if method == "kdtree+seeds":
        n_seeds = min(int(size) // 3, n)
        w = np.ones(n) if weights is None else weights
        # One D^2 draw per seed (no local trials): spread-out data points, O(n d) per seed.
        seeds = kmeans_plusplus(X, w, n_seeds, rng, n_local_trials=1) if n_seeds > 0 else X[:0]
        # At most one sample per kd-tree node (2n - 1 of them): small data gets no cloud of box samples.
        n_kd = min(int(size) - n_seeds, 2 * n - 1)
        S = np.vstack([kdtree_candidates(X, n_kd, rng, enlarge=float(enlarge)), seeds])
    elif method == "points":
        S = X
    elif method == "grid":
        S = grid_candidates(X, float(eps), max_size=max_size)
    elif method == "kdtree":
        S = kdtree_candidates(X, int(size), rng, enlarge=float(enlarge))
    else:
        S = np.vstack([X, kdtree_candidates(X, int(size), rng, enlarge=float(enlarge))])
    S = _unique_rows(S)
    if ratio < 1.0:
        keep = max(1, int(round(ratio * S.shape[0])))
        S = S[np.sort(rng.choice(S.shape[0], size=keep, replace=False))]
    return S
