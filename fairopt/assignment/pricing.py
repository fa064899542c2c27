"""Reduced-cost pricing of the arcs of LP (2) for column generation.

LP (2) (see :mod:`fairopt.models.fair_assignment`) has one column phi(x, c) per point x and
centre c. In the restricted master of :mod:`fairopt.assignment.master` every row belongs to a point
(``mass[x]``, dual y_x) or to a centre (``total[c]`` and the fairness rows of c). The column
phi(x, c) has a 1 in ``mass[x]`` and in those rows of c's block that the groups of x touch, so
its reduced cost is

    rc(x, c) = ||x - c||^2 - y_x - G[s(x), c],

where s(x) is the *signature* of x (the set of groups it belongs to) and G[s, c] sums the duals
of the rows of c that an arc of signature s touches (t_c + sum_{i in s} (u_ic + l_ic) in the
model's notation). Points with the same signature share a row of G, so pricing all n x k arcs
is one vectorised expression ``D - y[:, None] - G[sid]`` over row chunks: no Python loop over
points or centres.

The master's optimum is optimal for the full LP (2) exactly when every rc(x, c) >= 0 (the other
dual constraints, those of the W(c) columns, are in the master or met with zero duals for
centres without rows): :func:`price` returns that minimum as the certificate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fairopt.objectives import ArcCost, arc_cost

__all__ = ["signatures", "ArcCosts", "PricingResult", "price", "best_per_point", "best_per_centre"]

# Largest number of (point, centre) entries priced at once (about 32 MB of float64 per temporary).
CHUNK_ENTRIES = 1 << 22


def signatures(membership: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Distinct group sets of the points.

    Parameters
    ----------
    membership : scipy.sparse matrix of shape (n, m), 0/1

    Returns
    -------
    sig : ndarray of shape (ns, m), bool
        ``sig[s, i]`` is True when group i belongs to signature s.
    sid : ndarray of shape (n,), int64
        Signature of every point.
    """
    M = sp.csr_matrix(membership)
    n, m = M.shape
    dense = np.zeros((n, m), dtype=bool)
    rows = np.repeat(np.arange(n), np.diff(M.indptr))
    dense[rows, M.indices] = M.data != 0
    sig, sid = np.unique(dense, axis=0, return_inverse=True)
    return sig, np.asarray(sid, dtype=np.int64).ravel()


class ArcCosts:
    """Scaled arc costs ``cost(x, c) / scale`` (squared distances by default), cached when they fit.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    centres : ndarray of shape (k, d)
    scale : float
        Costs are divided by it so that the simplex tolerances are relative to a typical cost.
    cache_bytes : int
        The full (n, k) matrix is kept when it needs at most this many bytes (float64); otherwise
        rows are recomputed chunk by chunk at every pricing pass.
    kernel : fairopt.objectives.ArcCost, optional
        The objective's cost; ``arc_cost("kmeans")`` (||x - c||^2) by default.
    """

    def __init__(self, points: np.ndarray, centres: np.ndarray, scale: float, cache_bytes: int = 1 << 30,
                 kernel: ArcCost | None = None):
        self.points, self.centres, self.scale = points, centres, float(scale)
        self.kernel = arc_cost("kmeans") if kernel is None else kernel
        n, k = points.shape[0], centres.shape[0]
        self.shape = (n, k)
        self.step = max(1, CHUNK_ENTRIES // max(k, 1))
        self._D = None
        if 8 * n * k <= cache_bytes:
            self._D = self.kernel.matrix(points, centres)
            self._D *= 1.0 / self.scale

    @property
    def cached(self) -> bool:
        return self._D is not None

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Scaled costs of points ``start:stop`` to every centre, shape (stop - start, k)."""
        if self._D is not None:
            return self._D[start:stop]
        block = self.kernel.matrix(self.points[start:stop], self.centres)
        block *= 1.0 / self.scale
        return block

    def take_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scaled costs of the points ``rows`` to every centre, shape (len(rows), k)."""
        if self._D is not None:
            return self._D[rows]
        block = self.kernel.matrix(self.points[rows], self.centres)
        block *= 1.0 / self.scale
        return block

    def chunks(self):
        """Yield ``(start, stop, block)`` over all points in row chunks."""
        n = self.shape[0]
        for start in range(0, n, self.step):
            stop = min(n, start + self.step)
            yield start, stop, self.rows(start, stop)

    def arcs(self, xs: np.ndarray, cs: np.ndarray) -> np.ndarray:
        """Scaled costs of the arcs (xs[j], cs[j]), shape (len(xs),)."""
        if self._D is not None:
            return self._D[xs, cs]
        return self.kernel.pairs(self.points[xs], self.centres[cs]) / self.scale


@dataclass
class PricingResult:
    """What one pricing pass over all n x k arcs finds.

    Attributes
    ----------
    min_rc : float
        Smallest reduced cost over all arcs (scaled units): the optimality certificate.
    n_negative : int
        Number of arcs with rc < -tol.
    point_arcs : tuple of two int64 arrays
        For every point, up to ``per_point`` arcs of most negative rc (< -tol).
    sig_min : ndarray of shape (ns, k)
        Smallest rc over the points of every signature, for every centre.
    sig_arg : ndarray of shape (ns, k), int64
        The point attaining it.
    lagrangian_gap : float
        ``-sum_x w_x min(0, min_c rc(x, c))`` (scaled units): lowering every y_x by its most
        negative reduced cost gives a dual feasible point, so the master objective minus this
        gap is a lower bound on LP (2).
    """

    min_rc: float
    n_negative: int
    point_arcs: tuple
    sig_min: np.ndarray
    sig_arg: np.ndarray
    lagrangian_gap: float


def price(costs: ArcCosts, y: np.ndarray, G: np.ndarray, sid: np.ndarray, weights: np.ndarray,
          per_point: int, tol: float, ns: int) -> PricingResult:
    """Price every arc ``rc = D - y[:, None] - G[sid]`` in row chunks.

    Parameters
    ----------
    costs : ArcCosts
    y : ndarray of shape (n,)
        Duals of the ``mass`` rows.
    G : ndarray of shape (ns, k)
        Centre potential of every signature (see the module docstring).
    sid : ndarray of shape (n,)
    weights : ndarray of shape (n,)
    per_point : int
        How many of the most negative arcs to keep per point.
    tol : float
        Arcs with rc >= -tol count as priced out.
    ns : int
        Number of signatures.
    """
    n, k = costs.shape
    p = max(0, min(per_point, k))
    min_rc = np.inf
    n_neg = 0
    gap = 0.0
    xs_out, cs_out = [], []
    sig_min = np.full((ns, k), np.inf)
    sig_arg = np.zeros((ns, k), dtype=np.int64)
    cols = np.arange(k)
    for start, stop, block in costs.chunks():
        R = block - y[start:stop, None]
        R -= G[sid[start:stop]]
        row_min = R.min(axis=1)
        min_rc = min(min_rc, float(row_min.min()))
        neg_rows = row_min < -tol
        gap -= float(weights[start:stop] @ np.minimum(row_min, 0.0))
        if neg_rows.any():
            n_neg += int(np.count_nonzero(R[neg_rows] < -tol))
            if p:
                sub = R[neg_rows]
                rows = np.flatnonzero(neg_rows)
                best = np.argpartition(sub, p - 1, axis=1)[:, :p] if p < k else np.broadcast_to(cols, sub.shape)
                vals = np.take_along_axis(sub, best, axis=1)
                ok = vals < -tol
                xs_out.append((start + rows[:, None] + np.zeros_like(best))[ok])
                cs_out.append(best[ok])
        s_chunk = sid[start:stop]
        for s in np.unique(s_chunk):
            rows = np.flatnonzero(s_chunk == s)
            sub = R[rows]
            am = sub.argmin(axis=0)
            mn = sub[am, cols]
            better = mn < sig_min[s]
            sig_min[s, better] = mn[better]
            sig_arg[s, better] = start + rows[am[better]]
    cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return PricingResult(min_rc, n_neg, (cat(xs_out), cat(cs_out)), sig_min, sig_arg, gap)


def best_per_point(costs: ArcCosts, G: np.ndarray, sid: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """For every point, the ``p`` centres of smallest ``D - G[sid]`` (arc lists xs, cs)."""
    n, k = costs.shape
    p = min(p, k)
    xs, cs = [], []
    if p <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    for start, stop, block in costs.chunks():
        R = block - G[sid[start:stop]]
        best = np.argpartition(R, p - 1, axis=1)[:, :p] if p < k else np.broadcast_to(np.arange(k), R.shape)
        xs.append(np.repeat(np.arange(start, stop), best.shape[1]))
        cs.append(best.ravel())
    return np.concatenate(xs), np.concatenate(cs).astype(np.int64)


def best_per_centre(costs: ArcCosts, G: np.ndarray, sid: np.ndarray, ns: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """For every centre and signature, the ``q`` points of smallest ``D - G[s]`` (arc lists)."""
    n, k = costs.shape
    xs, cs = [], []
    if q <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    step = max(1, CHUNK_ENTRIES // max(k, 1))
    for s in range(ns):
        rows = np.flatnonzero(sid == s)
        best_v = np.zeros((0, k))
        best_i = np.zeros((0, k), dtype=np.int64)
        for start in range(0, rows.size, step):
            part = rows[start:start + step]
            vals = np.vstack([best_v, costs.take_rows(part) - G[s]])
            idx = np.vstack([best_i, np.broadcast_to(part[:, None], (part.size, k))])
            if vals.shape[0] > q:
                keep = np.argpartition(vals, q - 1, axis=0)[:q]
                vals, idx = np.take_along_axis(vals, keep, axis=0), np.take_along_axis(idx, keep, axis=0)
            best_v, best_i = vals, idx
        xs.append(best_i.ravel())
        cs.append(np.broadcast_to(np.arange(k), best_i.shape).ravel())
    return np.concatenate(xs).astype(np.int64), np.concatenate(cs).astype(np.int64)
