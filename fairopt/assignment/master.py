"""The restricted master of LP (2): a warm HiGHS simplex over a growing subset of the arcs.

LP (2) as in :mod:`fairopt.models.fair_assignment`, with the columns phi(x, c) restricted to a
set of arcs that column generation grows (and prunes), and with rows only for the centres that
have arcs ("active" centres; a centre without arcs has W(c) = 0 and its rows are void).

Rows of an active centre c (a *block*): ``total[c]`` (sum_x phi(x, c) - W(c) = 0), then for every
group i either one equality ``fair[i, c]`` (W_i(c) - alpha_i W(c) = 0, when alpha_i = beta_i) or
the pair ``fair_upper[i, c]`` (<= 0) and ``fair_lower[i, c]`` (>= 0). Redundant rows are left out:
when the groups of one attribute partition the points and all have alpha_i = beta_i with
sum alpha_i = 1 (delta = 0), their rows add up to ``total[c]``, which is dropped; each further such
attribute then has one dependent row, dropped too. An attribute of two groups a, b with slack
keeps only b's pair of rows, with both groups' bounds (W_a(c) = W(c) - W_b(c), so
beta_a W <= W_a <= alpha_a W reads (1 - alpha_a) W <= W_b <= (1 - beta_a) W). Fewer rows mean
fewer and cheaper simplex iterations, and the feasible set is unchanged.

An arc column has a 1 in ``mass[x]`` and in every row of its centre's block that its point's
groups touch; the W(c) column has -1 in ``total[c]`` and -alpha_i / -beta_i in the fairness rows.
"""
from __future__ import annotations

import numpy as np

from fairopt.solvers.highs import IncrementalLP

__all__ = ["RowLayout", "Master"]

_INF = 1e30


def _partitions(sig: np.ndarray) -> list[np.ndarray]:
    """Sets of groups such that every signature contains exactly one of them (group attributes)."""
    ns, m = sig.shape
    co = (sig.T.astype(np.int64) @ sig.astype(np.int64)) > 0  # groups that share a signature
    assigned = np.zeros(m, dtype=bool)
    out = []
    for i in range(m):
        if assigned[i]:
            continue
        T = [i]
        for j in range(i + 1, m):
            if not assigned[j] and not co[j, T].any():
                T.append(j)
        T = np.asarray(T)
        if np.all(sig[:, T].sum(axis=1) == 1):
            out.append(T)
            assigned[T] = True
    return out


class RowLayout:
    """Row structure of one centre's block, shared by every centre and every level.

    Parameters
    ----------
    alpha, beta : ndarray of shape (m,)
    sig : ndarray of shape (ns, m), bool
        Group signatures of the points (:func:`fairopt.assignment.pricing.signatures`).
    """

    def __init__(self, alpha: np.ndarray, beta: np.ndarray, sig: np.ndarray):
        m = alpha.size
        alpha, beta = alpha.astype(float).copy(), beta.astype(float).copy()
        keep_total = True
        dropped = np.zeros(m, dtype=bool)
        for T in _partitions(sig):
            if len(T) == 2 and not np.all(np.abs(alpha[T] - beta[T]) <= 1e-15):
                # Two groups that partition the points: W_a(c) = W(c) - W_b(c), so the bounds on
                # group a are bounds on group b; keep group b's pair of rows with both bounds.
                a, b = T
                beta[b], alpha[b] = max(beta[b], 1.0 - alpha[a]), min(alpha[b], 1.0 - beta[a])
                dropped[a] = True
        eq = np.abs(alpha - beta) <= 1e-15
        for T in _partitions(sig):
            if eq[T].all() and abs(alpha[T].sum() - 1.0) <= 1e-12:
                if keep_total:
                    keep_total = False  # the rows of T sum to total[c]
                else:
                    dropped[T[0]] = True  # this attribute's rows sum to the first one's
        lo, up = [], []
        W_rows, W_vals = [], []
        if keep_total:
            lo.append(0.0), up.append(0.0), W_rows.append(0), W_vals.append(-1.0)
        rows_of_group = [[] for _ in range(m)]
        for i in range(m):
            if dropped[i]:
                continue
            if eq[i]:
                pairs = [(0.0, 0.0, alpha[i])]
            else:
                pairs = [(-_INF, 0.0, alpha[i]), (0.0, _INF, beta[i])]
            for row_lo, row_up, coef in pairs:
                rows_of_group[i].append(len(lo))
                W_rows.append(len(lo)), W_vals.append(-coef)
                lo.append(row_lo), up.append(row_up)
        self.size = len(lo)
        self.row_lower, self.row_upper = np.array(lo), np.array(up)
        self.W_rows, self.W_vals = np.array(W_rows, dtype=np.int64), np.array(W_vals)
        # Rows of the block that an arc of each signature touches (all with coefficient 1).
        self.sig_rows = []
        S = np.zeros((sig.shape[0], self.size))
        for s in range(sig.shape[0]):
            r = ([0] if keep_total else []) + [j for i in np.flatnonzero(sig[s]) for j in rows_of_group[i]]
            self.sig_rows.append(np.array(r, dtype=np.int64))
            S[s, r] = 1.0
        self.sig_matrix = S  # G[s, c] = S[s] @ block duals of c
        self.keep_total, self.dropped = keep_total, dropped


class Master:
    """Restricted master of LP (2) on a HiGHS instance kept warm between rounds.

    Parameters
    ----------
    layout : RowLayout
    weights : ndarray of shape (n,)
        Masses of the (possibly aggregated) points.
    sid : ndarray of shape (n,)
        Signature of every point.
    k : int
        Number of centres.
    arc_cost : callable (xs, cs) -> ndarray
        Scaled costs of arcs.
    options : dict
        HiGHS options.
    """

    def __init__(self, layout: RowLayout, weights: np.ndarray, sid: np.ndarray, k: int, arc_cost, threads=None,
                 verbose=False, options=None):
        self.layout, self.sid, self.k, self.arc_cost = layout, sid, k, arc_cost
        self.n = n = weights.size
        self.lp = IncrementalLP(None, threads, options, verbose)
        self.lp.add_rows(weights, weights)
        self.n_rows = n
        self.row0 = np.full(k, -1, dtype=np.int64)  # first row of every active centre's block
        self.active = np.zeros(0, dtype=np.int64)  # active centres in activation order
        self.col_x = np.zeros(0, dtype=np.int64)  # point of each column; -1 for W(c)
        self.col_c = np.zeros(0, dtype=np.int64)
        self.in_master = np.zeros((n, k), dtype=bool)
        self._lens = np.array([r.size + 1 for r in layout.sig_rows])

    @property
    def n_arcs(self) -> int:
        return int(np.count_nonzero(self.col_x >= 0))

    def activate(self, cs: np.ndarray) -> None:
        """Add the block rows and the W(c) column of centres not yet active."""
        cs = np.unique(cs)
        cs = cs[self.row0[cs] < 0]
        if cs.size == 0:
            return
        L, nb = self.layout, cs.size
        self.row0[cs] = self.n_rows + L.size * np.arange(nb)
        self.n_rows += nb * L.size
        self.lp.add_rows(np.tile(L.row_lower, nb), np.tile(L.row_upper, nb))
        idx = (self.row0[cs][:, None] + L.W_rows[None, :]).ravel()
        starts = np.arange(nb) * L.W_rows.size
        self.lp.add_columns(np.zeros(nb), starts, idx, np.tile(L.W_vals, nb))
        self.active = np.concatenate([self.active, cs])
        self.col_x = np.concatenate([self.col_x, np.full(nb, -1)])
        self.col_c = np.concatenate([self.col_c, cs])

    def add_arcs(self, xs: np.ndarray, cs: np.ndarray) -> int:
        """Add the arcs (xs[j], cs[j]) not yet in the master; return how many were added."""
        if xs.size == 0:
            return 0
        key = np.unique(xs.astype(np.int64) * self.k + cs)
        xs, cs = key // self.k, key % self.k
        new = ~self.in_master[xs, cs]
        xs, cs = xs[new], cs[new]
        if xs.size == 0:
            return 0
        self.in_master[xs, cs] = True
        self.activate(cs)
        s = self.sid[xs]
        lens = self._lens[s]
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        idx = np.empty(int(lens.sum()), dtype=np.int64)
        for si in np.unique(s):
            sel = np.flatnonzero(s == si)
            pos = starts[sel][:, None] + np.arange(self._lens[si])[None, :]
            ent = np.concatenate([xs[sel][:, None], self.row0[cs[sel]][:, None] + self.layout.sig_rows[si][None, :]], axis=1)
            idx[pos.ravel()] = ent.ravel()
        self.lp.add_columns(self.arc_cost(xs, cs), starts, idx, np.ones(idx.size))
        self.col_x = np.concatenate([self.col_x, xs])
        self.col_c = np.concatenate([self.col_c, cs])
        return int(xs.size)

    def purge(self, col_dual: np.ndarray, protected: np.ndarray, threshold: float) -> int:
        """Delete unprotected arcs whose reduced cost exceeds ``threshold`` (they can be priced back).

        ``protected`` marks the columns to keep (the basic ones; those carrying flow after an
        interior-point solve).
        """
        drop = np.flatnonzero((self.col_x >= 0) & ~protected & (col_dual > threshold))
        if drop.size == 0:
            return 0
        self.lp.delete_columns(drop)
        self.in_master[self.col_x[drop], self.col_c[drop]] = False
        keep = np.ones(self.col_x.size, dtype=bool)
        keep[drop] = False
        self.col_x, self.col_c = self.col_x[keep], self.col_c[keep]
        return int(drop.size)

    def run(self, time_limit: float | None, method: str = "simplex") -> tuple[str, str]:
        """Solve and return (status, raw status).

        ``"simplex"`` is warm (primal simplex from the current basis); ``"ipm"`` is HiGHS's
        interior point method without crossover: no basis, but well-centred duals.
        """
        return self.lp.run(time_limit, method)

    def crossover(self) -> bool:
        """Turn the current interior solution into a basic one; False when no valid basis results."""
        return self.lp.crossover()

    def ipm_iterations(self) -> int:
        return self.lp.ipm_iterations()

    def objective(self) -> float:
        return self.lp.objective()

    def iterations(self) -> int:
        return self.lp.iterations()

    def solution(self, basis: bool = True) -> dict:
        """Primal values, duals (and basis) of the current solution, split into the model's parts."""
        col_value, col_dual, row_dual = self.lp.solution()
        L = self.layout
        y = row_dual[: self.n]
        G = np.zeros((L.sig_matrix.shape[0], self.k))
        if self.active.size:
            blocks = row_dual[self.row0[self.active][:, None] + np.arange(L.size)[None, :]]  # (a, size)
            G[:, self.active] = L.sig_matrix @ blocks.T
        out = {
            "col_x": self.col_x.copy(),
            "col_c": self.col_c.copy(),
            "col_value": col_value,
            "col_dual": col_dual,
            "y": y,
            "G": G,
        }
        if basis:
            out["col_status"], out["row_status"] = self.lp.basis(self.col_x.size, self.n_rows)
        return out

    def set_basis(self, col_status: np.ndarray, row_status: np.ndarray) -> bool:
        """Install a basis (statuses as HiGHS integers); False when HiGHS refuses it."""
        return self.lp.set_basis(col_status, row_status)
