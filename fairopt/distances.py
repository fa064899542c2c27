"""Shared kernels: squared Euclidean distances, nearest-centre queries, centroids and costs.

Inner helpers: they trust their inputs (float arrays of shapes (n, d) and (k, d)); the public
entry points that call them validate first.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["sq_distances", "nearest", "centroids", "mass_centroids", "labels_cost", "assignment_cost", "CHUNK_ENTRIES"]

# Largest number of (point, centre) pairs held at once by the chunked queries (~32 MB of float64).
CHUNK_ENTRIES = 1 << 22


def _shift(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # Translating both sets by a common vector leaves distances unchanged but makes the expansion
    # ||a||^2 - 2<a, b> + ||b||^2 lose far less precision on data far from the origin
    # (e.g. adult's final-weight ~ 1e5 where nearby points are a few units apart).
    return B.mean(axis=0) if B.shape[0] else np.zeros(A.shape[1])


def _sq_block(A: np.ndarray, B: np.ndarray, b_norms: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    D = np.matmul(A, B.T, out=out)
    D *= -2.0
    D += np.einsum("ij,ij->i", A, A)[:, None]
    D += b_norms[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def sq_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of two arrays.

    Uses ``||a - b||^2 = ||a||^2 - 2 <a, b> + ||b||^2`` after centring both arrays on the mean of
    ``B`` (for precision), clipped at 0. Rows are processed in chunks so that the temporaries never
    exceed the (n, k) output.

    Parameters
    ----------
    A : ndarray of shape (n, d)
    B : ndarray of shape (k, d)

    Returns
    -------
    D : ndarray of shape (n, k)
        ``D[i, j] = ||A[i] - B[j]||^2 >= 0``.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n, k = A.shape[0], B.shape[0]
    out = np.empty((n, k))
    if n == 0 or k == 0:
        return out
    shift = _shift(A, B)
    Bc = B - shift
    b_norms = np.einsum("ij,ij->i", Bc, Bc)
    step = max(1, CHUNK_ENTRIES // max(k, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        _sq_block(A[start:stop] - shift, Bc, b_norms, out=out[start:stop])
    return out


def nearest(A: np.ndarray, B: np.ndarray, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Index of, and squared distance to, the nearest row of ``B`` for every row of ``A``.

    Parameters
    ----------
    A : ndarray of shape (n, d)
        Query points.
    B : ndarray of shape (k, d)
        Centres, k >= 1.
    method : {"auto", "brute", "kdtree"}
        ``"brute"`` scans all centres in row chunks of at most :data:`CHUNK_ENTRIES` pairs
        (O(n k d) time, O(CHUNK_ENTRIES) memory; ties go to the lowest index); the winners'
        distances are then recomputed directly, so they are exact. ``"kdtree"`` uses
        :class:`scipy.spatial.cKDTree` on ``B`` (O(n log k) per query in low dimension).
        ``"auto"`` picks the kd-tree for many centres in low dimension (k > 256 and d <= 8).

    Returns
    -------
    idx : ndarray of shape (n,), int64
    sqdist : ndarray of shape (n,)
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n, k = A.shape[0], B.shape[0]
    if method == "auto":
        method = "kdtree" if (k > 256 and A.shape[1] <= 8) else "brute"
    if method == "kdtree":
        from scipy.spatial import cKDTree

        dist, idx = cKDTree(B).query(A, k=1)
        return idx.astype(np.int64), dist * dist
    if method != "brute":
        raise ValueError(f"method must be 'auto', 'brute' or 'kdtree'; got {method!r}")
    idx = np.empty(n, dtype=np.int64)
    shift = _shift(A, B)
    Bc = B - shift
    b_norms = np.einsum("ij,ij->i", Bc, Bc)
    step = max(1, CHUNK_ENTRIES // max(k, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        D = _sq_block(A[start:stop] - shift, Bc, b_norms)
        idx[start:stop] = D.argmin(axis=1)
    # Recompute the winners' distances directly: exact (0 for coincident points), O(n d).
    diff = A - B[idx]
    sqd = np.einsum("ij,ij->i", diff, diff)
    return idx, sqd


def centroids(points: np.ndarray, labels: np.ndarray, k: int, weights: np.ndarray | None = None,
              fallback: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted centroid of every cluster of a labelling.

    ``c_j = sum_{x: label(x) = j} w(x) x / sum_{x: label(x) = j} w(x)``: one sparse product.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    labels : ndarray of shape (n,), int in [0, k)
    k : int
    weights : ndarray of shape (n,), optional
        Ones by default.
    fallback : ndarray of shape (k, d), optional
        Rows used for clusters of zero mass (NaN rows without it).

    Returns
    -------
    centres : ndarray of shape (k, d)
    mass : ndarray of shape (k,)
        Total weight of every cluster.
    """
    n = points.shape[0]
    w = np.ones(n) if weights is None else weights
    M = sp.csr_matrix((w, (labels, np.arange(n))), shape=(k, n))
    return mass_centroids(M.T.tocsr(), points, fallback)


def mass_centroids(assignment: sp.spmatrix, points: np.ndarray, fallback: np.ndarray | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Centroid of the mass a fractional assignment sends to every centre.

    ``c_j = sum_x phi(x, j) x / W(j)`` with ``W(j) = sum_x phi(x, j)`` (step 3 of Algorithm 1,
    the move of LP (16)'s support, and Lloyd's update are this one product).

    Parameters
    ----------
    assignment : sparse matrix of shape (n, k)
    points : ndarray of shape (n, d)
    fallback : ndarray of shape (k, d), optional
        Rows used where W(j) = 0 (NaN rows without it).

    Returns
    -------
    centres : ndarray of shape (k, d)
    mass : ndarray of shape (k,)
        W(j).
    """
    mass = np.asarray(assignment.sum(axis=0)).ravel()
    sums = np.asarray(assignment.T @ points)
    centres = np.full_like(sums, np.nan) if fallback is None else np.array(fallback, dtype=np.float64, copy=True)
    full = mass > 0
    centres[full] = sums[full] / mass[full, None]
    return centres, mass


def labels_cost(points: np.ndarray, centres: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """k-means cost of a labelling: ``sum_x w(x) ||x - c(label(x))||^2``."""
    diff = points - centres[labels]
    sqd = np.einsum("ij,ij->i", diff, diff)
    return float(sqd.sum() if weights is None else weights @ sqd)


def assignment_cost(points: np.ndarray, centres: np.ndarray, assignment) -> float:
    """Cost of a fractional assignment, the objective of LP (2): ``sum_x sum_c phi(x, c) ||x - c||^2``.

    A sparse ``assignment`` is evaluated on its stored entries only (O(nnz d)); a dense one
    against all (n, k) squared distances.
    """
    if sp.issparse(assignment):
        A = assignment.tocoo()
        diff = points[A.row] - centres[A.col]
        return float(A.data @ np.einsum("ij,ij->i", diff, diff))
    return float((np.asarray(assignment, dtype=np.float64) * sq_distances(points, centres)).sum())

