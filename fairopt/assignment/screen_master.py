"""The restricted master of the screened LP (2): free points with all k arcs, fixed points in buckets.

Rows: one block per centre c (:class:`fairopt.assignment.master.RowLayout`: W(c) and the fairness
rows), then one mass row sum_c phi(x, c) = w(x) per free point. Columns:

* W(c), one per centre (as in the column generation's master);
* a *bucket* per (centre c, signature s): the fixed points of signature s whose fixed centre is c,
  as one column with bounds [m, m] (m their mass) and unit cost their mean cost. Every fixed point
  contributes only through it, so millions of fixed points cost k S columns;
* arcs of the free points: the few best under the current duals, more as pricing asks;
* an elastic slack on every fairness row with cost ``big``: the first masters, whose fixed points
  may not leave room for a fair assignment, stay feasible, and their duals (up to ``big``) point the
  pricing at the fixed points that help. The answer is only accepted with all slacks at zero.
"""
from __future__ import annotations

import numpy as np

from fairopt.assignment.master import RowLayout
from fairopt.solvers.highs import IncrementalLP

__all__ = ["ScreenMaster"]

_INF = 1e30


class ScreenMaster:
    """Restricted master kept warm on one HiGHS instance.

    Parameters
    ----------
    layout : RowLayout
    k : int
        Centres.
    big : float
        Cost of one unit of slack on a fairness row (normalised cost units).
    options : dict, optional
        HiGHS options.
    """

    def __init__(self, layout: RowLayout, k: int, big: float, threads=None, options=None, verbose=False):
        self.layout, self.k, self.S = layout, k, len(layout.sig_rows)
        L, S = layout, self.S
        self.lp = IncrementalLP(None, threads, options, verbose)
        self.lp.add_rows(np.tile(L.row_lower, k), np.tile(L.row_upper, k))
        self.n_rows = k * L.size
        row0 = L.size * np.arange(k)
        # W(c): -1 in total[c], -alpha_i / -beta_i in the fairness rows.
        self.lp.add_columns(np.zeros(k), np.arange(k) * L.W_rows.size, (row0[:, None] + L.W_rows[None, :]).ravel(),
                            np.tile(L.W_vals, k))
        # Elastic slacks: -1 on rows with an upper bound, +1 on rows with a lower bound.
        rows = np.arange(self.n_rows)
        up = np.tile(L.row_upper < _INF, k)
        lo = np.tile(L.row_lower > -_INF, k)
        s_rows = np.concatenate([rows[up], rows[lo]])
        s_vals = np.concatenate([-np.ones(up.sum()), np.ones(lo.sum())])
        self.n_slack = s_rows.size
        self.lp.add_columns(np.full(self.n_slack, float(big)), np.arange(self.n_slack), s_rows, s_vals)
        self.slack0 = k
        # Buckets (c, s), column index bucket0 + c * S + s, fixed at zero until set.
        self.bucket0 = k + self.n_slack
        lens = np.array([r.size for r in L.sig_rows])
        idx = [row0[c] + L.sig_rows[s] for c in range(k) for s in range(S)]
        starts = np.concatenate([[0], np.cumsum(np.tile(lens, k))[:-1]])
        self.lp.add_columns(np.zeros(k * S), starts, np.concatenate(idx) if idx else np.zeros(0, np.int64),
                            np.ones(int(lens.sum()) * k))
        self.lp.set_columns(np.arange(self.bucket0, self.bucket0 + k * S), np.zeros(k * S), np.zeros(k * S),
                            np.zeros(k * S))
        self.arc0 = self.bucket0 + k * S
        self.n_free = 0
        self._row0 = row0
        self.mass_row = np.zeros(0, dtype=np.int64)
        self.in_master = np.zeros((0, k), dtype=bool)
        self.arc_x = np.zeros(0, dtype=np.int64)
        self.arc_c = np.zeros(0, dtype=np.int64)

    def set_buckets(self, mass: np.ndarray, cost: np.ndarray) -> None:
        """Fix every bucket's mass, shape (k, S), and total cost (same shape)."""
        m = np.maximum(np.asarray(mass, dtype=np.float64).ravel(), 0.0)
        unit = np.divide(np.asarray(cost, dtype=np.float64).ravel(), m, out=np.zeros_like(m), where=m > 0)
        self.lp.set_columns(np.arange(self.bucket0, self.arc0), unit, m, m)

    def add_points(self, w: np.ndarray) -> None:
        """Add free points of masses w (f,): their mass rows, without arcs yet (:meth:`add_arcs`)."""
        f = int(w.size)
        if f == 0:
            return
        self.lp.add_rows(w, w)
        self.mass_row = np.concatenate([self.mass_row, self.n_rows + np.arange(f)])
        self.n_rows += f
        self.in_master = np.vstack([self.in_master, np.zeros((f, self.k), dtype=bool)])
        self.n_free += f

    def add_arcs(self, xs: np.ndarray, cs: np.ndarray, cost: np.ndarray, sid: np.ndarray) -> int:
        """Add the arcs (free point xs[j], centre cs[j]) not in the master yet; returns how many."""
        _, first = np.unique(xs.astype(np.int64) * self.k + cs, return_index=True)  # each arc once
        xs, cs, cost = xs[first], cs[first], cost[first]
        new = ~self.in_master[xs, cs]
        xs, cs, cost, s = xs[new], cs[new], cost[new], sid[xs[new]]
        if xs.size == 0:
            return 0
        self.in_master[xs, cs] = True
        L = self.layout
        lens = np.array([r.size + 1 for r in L.sig_rows])[s]
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        idx = np.empty(int(lens.sum()), dtype=np.int64)
        for si in np.unique(s):  # a loop over signatures, not points
            sel = np.flatnonzero(s == si)
            block = self._row0[cs[sel]][:, None] + L.sig_rows[si][None, :]
            idx[(starts[sel][:, None] + np.arange(lens[sel[0]])[None, :]).ravel()] = np.concatenate(
                [self.mass_row[xs[sel]][:, None], block], axis=1).ravel()
        self.lp.add_columns(np.asarray(cost, dtype=np.float64), starts, idx, np.ones(idx.size))
        self.arc_x = np.concatenate([self.arc_x, xs])
        self.arc_c = np.concatenate([self.arc_c, cs])
        return int(xs.size)

    def run(self, time_limit: float | None) -> tuple[str, str]:
        """Solve warm from the previous basis; (status, raw status)."""
        return self.lp.run(time_limit, "simplex")

    def objective(self) -> float:
        return self.lp.objective()

    def iterations(self) -> int:
        return self.lp.iterations()

    def solution(self) -> dict:
        """``phi`` (free points x k), ``y`` (duals of the free points' mass rows), ``slack`` (total),
        ``G`` (S, k) and ``rc_W`` (k,) from duals clipped to their signs, so that they give a valid
        Lagrangian bound."""
        value, _, row_dual = self.lp.solution()
        L, k = self.layout, self.k
        blocks = row_dual[: k * L.size].reshape(k, L.size).copy()
        blocks = np.where(L.row_lower[None, :] <= -_INF, np.minimum(blocks, 0.0), blocks)
        blocks = np.where(L.row_upper[None, :] >= _INF, np.maximum(blocks, 0.0), blocks)
        G = L.sig_matrix @ blocks.T  # (S, k)
        rc_W = -(blocks[:, L.W_rows] * L.W_vals[None, :]).sum(axis=1)
        phi = np.zeros((self.n_free, k))
        phi[self.arc_x, self.arc_c] = np.maximum(value[self.arc0:self.arc0 + self.arc_x.size], 0.0)
        slack = float(value[self.slack0:self.slack0 + self.n_slack].sum())
        return {"phi": phi, "y": row_dual[self.mass_row], "slack": slack, "G": G, "rc_W": rc_W}
