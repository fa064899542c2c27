"""Squared Euclidean distances and nearest-centre queries.

Inner helpers: they trust their inputs (float arrays of shapes (n, d) and (k, d)); the public
entry points that call them validate first.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sq_distances", "nearest", "CHUNK_ENTRIES"]

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
