"""Fair coresets: a small weighted point set per group signature (step 0 of Algorithm 1 at scale).

A coreset of the points P (weights w) for k-means is a weighted set Q such that for every set C
of k centres the cost of Q is within (1 +- eps) of the cost of P. For fair clustering the
assignment constraints look at group masses, so a coreset is built **separately for every group
signature** (the set of groups a point belongs to): each signature keeps its exact total weight,
and any fair assignment of P maps to one of Q and back with the same group masses per centre
(Schmidt, Schwiegelshohn, Sohler 2019, Sec. 3; Huang, Jiang, Vishnoi 2019, Thm 4.3). Then
LP (2) on Q is a faithful stand-in for LP (2) on P for any centres.

Construction (sensitivity sampling, Feldman and Langberg 2011; Bachem, Lucic, Krause 2018):

1. a bicriteria solution B: weighted k-means++ seeds on all points (``n_seeds`` centres);
2. within every signature s, the cell of x is (s, nearest seed b(x)); the sensitivity bound is

       sigma(x) = w(x) d(x, B)^2 / cost_s(B) + w(x) / W(cell(x)),

   cost_s(B) the weighted cost of signature s to B and W(cell) the weight of the cell;
3. signature s gets m_s samples (its share of the size, at least ``min_per_signature``; all its
   points when it has no more than m_s), drawn with probability p(x) = sigma(x) / sum_s sigma
   and weight w(x) / (m_s p(x));
4. the sampled weights of every cell are rescaled to the cell's exact weight (an empty sampled
   cell keeps one point, its heaviest, with the whole weight), so every signature, and every
   cell, keeps its exact total weight.

The function works on weighted input, so a coreset of a union of coresets is again a coreset
(merge and reduce, for chunked or streamed data).

References
----------
M. Schmidt, C. Schwiegelshohn, C. Sohler. Fair coresets and streaming algorithms for fair
k-means. WAOA 2019.
L. Huang, S. H.-C. Jiang, N. K. Vishnoi. Coresets for clustering with fairness constraints.
NeurIPS 2019.
O. Bachem, M. Lucic, A. Krause. Scalable k-means clustering via lightweight coresets. KDD 2018.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairopt.distances import nearest
from fairopt.exceptions import ValidationError
from fairopt.kmeans import kmeans_plusplus
from fairopt.problem import (
    FairProblem,
    encode_groups,
    validate_points,
    validate_weights,
)
from fairopt.validation import check_int, check_random_state

__all__ = ["Coreset", "fair_coreset", "coreset_problem", "signature_ids", "default_coreset_size",
           "resolve_coreset_size", "check_coreset_size", "CORESET_THRESHOLD"]

# FairKMeans builds a coreset by default above this many points.
CORESET_THRESHOLD = 4_000


@dataclass(frozen=True)
class Coreset:
    """A weighted point set with the signature of every point.

    Attributes
    ----------
    points : ndarray of shape (m, d)
    weights : ndarray of shape (m,)
    signature : ndarray of shape (m,), int64
        Signature id of every point (same numbering as the input).
    index : ndarray of shape (m,), int64
        Row of the input each point comes from.
    """

    points: np.ndarray
    weights: np.ndarray
    signature: np.ndarray
    index: np.ndarray

    @property
    def size(self) -> int:
        return int(self.weights.size)


def default_coreset_size(n: int, k: int) -> int:
    """Coreset size used by default: 200 k, between 2,000 and 5,000, never above n."""
    return int(min(n, max(2_000, min(5_000, 200 * k))))


def _fair_coreset(points: np.ndarray, weights: np.ndarray, signature: np.ndarray, size: int, k: int,
                  rng: np.random.Generator, n_seeds: int | None = None, min_per_signature: int | None = None) -> Coreset:
    """A weighted coreset built separately for every group signature (see the module docstring).

    Prior validation of the data is assumed (:func:`fair_coreset` validates). The input may
    itself be weighted (a union of coresets), so the construction composes: merge and reduce.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    weights : ndarray of shape (n,)
        Non-negative masses w(x).
    signature : ndarray of shape (n,), int
        Signature id of every point (:func:`fairopt.assignment.pricing.signatures`).
    size : int
        Target number of coreset points (the result can be a little larger: every signature gets
        at least ``min_per_signature`` points and every non-empty cell one).
    k : int
        Number of clusters the coreset is for.
    rng : numpy.random.Generator
    n_seeds : int, optional
        Seeds of the bicriteria solution; 2 k by default.
    min_per_signature : int, optional
        Fewest points a signature gets (all of them when it has fewer); 4 k by default.

    Returns
    -------
    Coreset
        For every signature s: sum of ``weights[signature == s]`` equals the input's.
    """
    points = np.asarray(points, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    sid = np.asarray(signature, dtype=np.int64)
    n = points.shape[0]
    if size >= n:
        keep = np.flatnonzero(w > 0)
        return Coreset(points[keep], w[keep], sid[keep], keep)
    n_seeds = min(int(n_seeds or 2 * k), n)
    min_per = int(min_per_signature or 4 * k)
    # 1. bicriteria solution: k-means++ seeds (an O(log k) approximation in expectation).
    seeds = kmeans_plusplus(points, w, n_seeds, rng)
    b, d2 = nearest(points, seeds)
    # 2. cells (signature, seed) and the sensitivity bound sigma(x).
    ns = int(sid.max()) + 1
    cell = sid * n_seeds + b
    n_cells = ns * n_seeds
    W_cell = np.bincount(cell, weights=w, minlength=n_cells)
    cost_sig = np.bincount(sid, weights=w * d2, minlength=ns)
    W_sig = np.bincount(sid, weights=w, minlength=ns)
    n_sig = np.bincount(sid, minlength=ns)
    cost_term = np.where(cost_sig[sid] > 0, w * d2 / np.where(cost_sig[sid] > 0, cost_sig[sid], 1.0), 0.0)
    sigma = cost_term + np.where(W_cell[cell] > 0, w / np.where(W_cell[cell] > 0, W_cell[cell], 1.0), 0.0)
    # 3. samples per signature: its weight share, at least min_per (all points when it has fewer).
    share = np.maximum(np.rint(size * W_sig / W_sig.sum()), min_per).astype(np.int64)
    take_all = n_sig <= share
    chosen, new_w = [np.flatnonzero(take_all[sid] & (w > 0))], [w[take_all[sid] & (w > 0)]]
    for s in np.flatnonzero(~take_all & (n_sig > 0)):
        members = np.flatnonzero((sid == s) & (sigma > 0))
        p = sigma[members] / sigma[members].sum()
        draw = rng.choice(members.size, size=int(share[s]), replace=True, p=p)
        idx, counts = np.unique(draw, return_counts=True)
        chosen.append(members[idx])
        new_w.append(counts * w[members[idx]] / (share[s] * p[idx]))
    index = np.concatenate(chosen)
    cw = np.concatenate(new_w)
    # 4. exact weight per cell: rescale the sampled weights; an empty sampled cell keeps its heaviest point.
    sampled = np.bincount(cell[index], weights=cw, minlength=n_cells)
    missing = np.flatnonzero((W_cell > 0) & (sampled <= 0))
    if missing.size:
        order = np.lexsort((-w, cell))
        first = order[np.searchsorted(cell[order], missing)]
        index = np.concatenate([index, first])
        cw = np.concatenate([cw, W_cell[missing]])
        sampled[missing] = W_cell[missing]
    cw = cw * W_cell[cell[index]] / sampled[cell[index]]
    order = np.argsort(index, kind="stable")
    index = index[order]
    return Coreset(points[index], cw[order], sid[index], index)


def resolve_coreset_size(coreset_size: int | str | None, n: int, k: int) -> int | None:
    """Points of the fair coreset the relaxation runs on, or None for all points.

    ``"auto"``: a coreset of :func:`default_coreset_size` points once n exceeds
    :data:`CORESET_THRESHOLD` (all points below); an integer: that size (all
    points when it is not smaller than n); None: all points (the paper's Algorithm 1).
    """
    if coreset_size is None:
        return None
    if coreset_size == "auto":
        return default_coreset_size(n, k) if n > CORESET_THRESHOLD else None
    return int(coreset_size) if int(coreset_size) < n else None


def check_coreset_size(value: Any) -> None:
    """``coreset_size`` must be "auto", None or a positive integer >= 2."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if isinstance(value, str):
        raise ValidationError(f"coreset_size must be 'auto', None or a positive integer; got {value!r}")
    check_int(value, "coreset_size", minimum=2)


def signature_ids(codes: np.ndarray) -> np.ndarray:
    """Signature id of every point from its group codes.

    Parameters
    ----------
    codes : ndarray of shape (n, a)
        Group of every point in every attribute (:attr:`fairopt.problem.GroupStructure.codes`).

    Returns
    -------
    sid : ndarray of shape (n,), int64
        Points with the same set of groups share an id (0 .. number of signatures - 1).
    """
    _, sid = np.unique(np.asarray(codes).reshape(len(codes), -1), axis=0, return_inverse=True)
    return np.asarray(sid, dtype=np.int64).ravel()


def coreset_problem(problem: FairProblem, size: int, k: int, rng: np.random.Generator) -> tuple[FairProblem, Coreset]:
    """The fair problem on a coreset of ``problem``'s points (same groups, same bounds).

    Returns the weighted problem and the :class:`Coreset` (``index`` maps back to the rows).
    """
    cs = _fair_coreset(problem.points, problem.weights, signature_ids(problem.groups.codes), size, k, rng)
    g = problem.groups
    groups = dataclasses.replace(g, membership=g.membership[cs.index], codes=g.codes[cs.index])
    return FairProblem(cs.points, cs.weights, groups, problem.alpha, problem.beta), cs


def fair_coreset(points: Any, groups: Any, size: int, n_clusters: int, weights: Any = None,
                 random_state: Any = None) -> Coreset:
    """Weighted coreset of ``points`` for fair k-means, built separately per group signature.

    Parameters
    ----------
    points : array-like of shape (n, d)
    groups : array-like of shape (n,) or (n, a)
        Group labels (one column per attribute; several columns give overlapping groups).
    size : int
        Target number of coreset points.
    n_clusters : int
        k, the number of clusters the coreset serves.
    weights : array-like of shape (n,), optional
        Point masses (ones by default); a weighted input, e.g. a union of coresets, is fine.
    random_state : int, Generator or None
        A fixed seed gives a fixed coreset.

    Returns
    -------
    Coreset
        ``points`` (m, d), ``weights`` (m,), ``signature`` (m,) and ``index`` (m,) into the input;
        every signature keeps its exact total weight.

    Examples
    --------
    >>> import numpy as np, fairopt
    >>> X = np.random.default_rng(0).normal(size=(5000, 2)); g = np.arange(5000) % 3
    >>> cs = fairopt.fair_coreset(X, g, size=500, n_clusters=4, random_state=0)
    >>> bool(np.isclose(cs.weights[cs.signature == 0].sum(), 1667))
    True
    """
    X = validate_points(points)
    w = validate_weights(weights, X.shape[0])
    g = encode_groups(groups, X.shape[0])
    size = check_int(size, "size")
    k = check_int(n_clusters, "n_clusters")
    rng = check_random_state(random_state)
    return _fair_coreset(X, w, signature_ids(g.codes), size, k, rng)
