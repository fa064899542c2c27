"""Clustering quality and fairness measures: cost, additive violation, balance.

Notation of the Relax-and-Merge paper: an assignment phi(x, c) >= 0 with sum_c phi(x, c) = w(x);
W(c) = sum_x phi(x, c) and W_i(c) = sum_{x in P_i} phi(x, c). An integral clustering with labels
is the assignment phi(x, labels[x]) = w(x).

``groups`` arguments accept a :class:`fairopt.groups.GroupStructure`, a label array of shape
(n,) or (n, a) as everywhere in fairopt, or a scipy.sparse 0/1 membership matrix of shape (n, m)
(read as groups of a single attribute by :func:`balance`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fairopt.distances import assignment_cost
from fairopt.exceptions import ValidationError
from fairopt.groups import GroupStructure, encode_groups
from fairopt.kmeans import kmeans_cost
from fairopt.problem import validate_points

__all__ = [
    "kmeans_cost",
    "fractional_cost",
    "cluster_sizes",
    "group_counts",
    "additive_violation",
    "violation_from_counts",
    "balance",
]


def _membership(groups: Any, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Membership matrix (n, m) and the attribute index of every group (m,)."""
    if sp.issparse(groups):
        M = sp.csr_matrix(groups, dtype=np.float64)
        if M.shape[0] != n:
            raise ValidationError(f"membership has {M.shape[0]} rows but there are {n} points")
        return M, np.zeros(M.shape[1], dtype=np.int64)
    gs = groups if isinstance(groups, GroupStructure) else encode_groups(groups, n)
    if gs.n_points != n:
        raise ValidationError(f"groups cover {gs.n_points} points but there are {n}")
    return gs.membership, np.asarray(gs.attribute)


def _assignment(assignment_or_labels: Any, k: int | None, weights: Any) -> sp.csr_matrix | np.ndarray:
    """phi of shape (n, k): labels (n,) become phi(x, labels[x]) = w(x); (n, k) arrays pass through."""
    if sp.issparse(assignment_or_labels):
        return sp.csr_matrix(assignment_or_labels, dtype=np.float64)
    a = np.asarray(assignment_or_labels)
    if a.ndim == 2:
        return a.astype(np.float64, copy=False)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise ValidationError(
            f"expected integer labels of shape (n,) or an assignment of shape (n, k); got {a.dtype} of shape {a.shape}"
        )
    n = a.shape[0]
    if a.size and a.min() < 0:
        raise ValidationError(f"labels must be >= 0; got {a.min()}")
    k = int(a.max()) + 1 if k is None else int(k)
    if a.size and a.max() >= k:
        raise ValidationError(f"labels must be < k={k}; got {a.max()}")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValidationError(f"weights must have shape ({n},); got {w.shape}")
    return sp.csr_matrix((w, (np.arange(n), a.astype(np.int64))), shape=(n, k))


def _group_weights(M: sp.csr_matrix, phi: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """W_i(c) as a dense array of shape (k, m)."""
    Wi = (M.T @ phi).T
    return Wi.toarray() if sp.issparse(Wi) else np.asarray(Wi)


def cluster_sizes(labels: Any, k: int | None = None, weights: Any = None) -> np.ndarray:
    """Size (total weight) W(c) of every cluster.

    Parameters
    ----------
    labels : array-like of shape (n,), or an assignment of shape (n, k) (dense or sparse)
    k : int, optional
        Number of clusters; ``max(labels) + 1`` by default.
    weights : array-like of shape (n,), optional

    Returns
    -------
    sizes : ndarray of shape (k,)
    """
    phi = _assignment(labels, k, weights)
    return np.asarray(phi.sum(axis=0)).ravel()


def group_counts(labels: Any, groups: Any, k: int | None = None, weights: Any = None) -> np.ndarray:
    """W_i(c): weight of group i in cluster c.

    Parameters
    ----------
    labels : array-like of shape (n,), or an assignment of shape (n, k) (dense or sparse)
    groups : GroupStructure, labels of shape (n,) or (n, a), or sparse membership (n, m)
    k : int, optional
    weights : array-like of shape (n,), optional
        Only used with labels.

    Returns
    -------
    counts : ndarray of shape (k, m)
        ``counts[c, i] = W_i(c)``.
    """
    phi = _assignment(labels, k, weights)
    M, _ = _membership(groups, phi.shape[0])
    return _group_weights(M, phi)


def additive_violation(
    assignment_or_labels: Any,
    groups: Any,
    alpha: Any,
    beta: Any,
    k: int | None = None,
    weights: Any = None,
) -> float:
    """Largest amount by which any W_i(c) leaves [beta_i W(c), alpha_i W(c)].

    ``max_{c, i} max(beta_i W(c) - W_i(c), W_i(c) - alpha_i W(c), 0)``, in units of points (of
    weight); 0 means every cluster meets the bounds of LP (2). The circulation rounding of
    disjoint groups guarantees at most 2 (Relax-and-Merge paper; Bera et al. 2019).

    Parameters
    ----------
    assignment_or_labels : array-like of shape (n,) or (n, k) (dense or scipy.sparse)
        Labels, or a fractional assignment phi (rows summing to w(x)).
    groups : GroupStructure, labels of shape (n,) or (n, a), or sparse membership (n, m)
    alpha, beta : float or array-like of shape (m,)
        Upper and lower share bounds in the group order of :func:`fairopt.groups.encode_groups`.
    k : int, optional
        Number of clusters when labels are given.
    weights : array-like of shape (n,), optional
        Point weights when labels are given.

    Returns
    -------
    float
    """
    phi = _assignment(assignment_or_labels, k, weights)
    M, _ = _membership(groups, phi.shape[0])
    W = np.asarray(phi.sum(axis=0)).ravel()[:, None]
    Wi = _group_weights(M, phi)
    m = Wi.shape[1]
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (m,))
    b = np.broadcast_to(np.asarray(beta, dtype=np.float64), (m,))
    excess = np.maximum(b[None, :] * W - Wi, Wi - a[None, :] * W)
    return float(max(excess.max(initial=0.0), 0.0))


def balance(labels: Any, groups: Any, weights: Any = None) -> float:
    """Balance of a clustering (Chierichetti et al. 2017), generalised to m groups.

    For a cluster c and a group attribute, the ratio of its smallest to its largest group count,
    ``min_i W_i(c) / max_i W_i(c)`` (for two colours ``min(r/b, b/r)``); the balance is the
    minimum over non-empty clusters and attributes. 1 means perfectly balanced clusters, 0 a
    cluster missing a group.

    Parameters
    ----------
    labels : array-like of shape (n,)
    groups : GroupStructure, labels of shape (n,) or (n, a), or sparse membership (n, m)
    weights : array-like of shape (n,), optional

    Returns
    -------
    float in [0, 1]

    References
    ----------
    F. Chierichetti, R. Kumar, S. Lattanzi, S. Vassilvitskii. Fair clustering through fairlets.
    NeurIPS 2017.
    """
    phi = _assignment(labels, None, weights)
    M, attribute = _membership(groups, phi.shape[0])
    counts = _group_weights(M, phi)
    counts = counts[counts.sum(axis=1) > 0]
    result = 1.0
    for t in np.unique(attribute):
        block = counts[:, attribute == t]
        top = block.max(axis=1)
        ratio = np.divide(block.min(axis=1), top, out=np.zeros_like(top), where=top > 0)
        result = min(result, float(ratio.min(initial=1.0)))
    return result


def fractional_cost(points: Any, centres: Any, assignment: Any) -> float:
    """Cost of a fractional assignment, the objective of LP (2).

    ``sum_x sum_c phi(x, c) ||x - c||^2``.

    Parameters
    ----------
    points : array-like of shape (n, d)
    centres : array-like of shape (k, d)
    assignment : ndarray or scipy.sparse matrix of shape (n, k)
        phi; for a sparse one only the stored entries are evaluated (O(nnz d)).

    Returns
    -------
    float
    """
    X = validate_points(points)
    C = validate_points(centres, name="centres")
    A = assignment if sp.issparse(assignment) else np.asarray(assignment, dtype=np.float64)
    if A.shape != (X.shape[0], C.shape[0]):
        raise ValidationError(f"assignment must have shape ({X.shape[0]}, {C.shape[0]}); got {A.shape}")
    return assignment_cost(X, C, A)


def violation_from_counts(counts: np.ndarray, sig: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> float:
    """Additive violation from masses per (cluster, group signature), e.g. summed over data chunks.

    Parameters
    ----------
    counts : ndarray of shape (k, S)
        Mass of signature s in cluster c.
    sig : ndarray of shape (S, m), bool
        Groups of every signature.
    alpha, beta : ndarray of shape (m,)

    Returns
    -------
    float
        ``max_{c, i} max(beta_i W(c) - W_i(c), W_i(c) - alpha_i W(c), 0)`` as in
        :func:`additive_violation`.
    """
    counts = np.asarray(counts, dtype=np.float64)
    Wc = counts.sum(axis=1)
    Wi = counts @ np.asarray(sig, dtype=np.float64)  # (k, m)
    gap = np.maximum(Wi - Wc[:, None] * alpha[None, :], Wc[:, None] * beta[None, :] - Wi)
    return float(max(gap.max(initial=0.0), 0.0))
