"""Row-chunk passes of the screened LP (2) (:mod:`fairopt.assignment.screening`).

Every function here takes one row chunk ``(X, w, sid, offset)`` of the data plus small, picklable
arguments and returns small results, so that the same code runs over an in-memory array
(:class:`ArrayChunks`) and over the blocks of a Dask array on remote workers. The functions are
pure and deterministic: a chunk recomputed elsewhere (a lost worker) gives the same answer.

Notation (normalised units, x' = (x - shift) / length, w' = w / mass): D(x, c) = ||x' - c'||^p;
G (S, k) the duals of the coupling rows summed per signature s and centre c, so that the reduced
cost of the arc (x, c) is D(x, c) - y_x - G[s(x), c] and the best arc of x is
argmin_c A(x, c) with A = D - G[s(x)].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScreenState", "ArrayChunks", "moments_pass", "spread_pass", "sample_pass", "screen_pass", "dual_pass", "dual_terms",
           "chunk_labels", "chunk_summary", "chunk_costs"]


@dataclass(frozen=True)
class ScreenState:
    """What every chunk needs to recompute its part of the screened solution (small, picklable).

    Attributes
    ----------
    centres : ndarray of shape (k, d)
        Normalised centres c'.
    shift : ndarray of shape (d,)
    length, mass : float
        x' = (x - shift) / length, w' = w / mass (powers of two: exact).
    power : int
        Arc cost ||x - c||^power (2: k-means, 1: k-median).
    G_fix : ndarray of shape (S, k)
        Potentials that fix a point: its fixed centre is a(x) = argmin_c D(x, c) - G_fix[s(x), c].
    tau : float
        A point whose two best values of that expression differ by less than tau is free.
    rounds : tuple of (ndarray of shape (S, k), float)
        (G_r, theta_r) of every pricing round: a point is freed in round r when
        rc_r(x) = min_c A_r(x, c) - A_r(x, a(x)) < theta_r.
    """

    centres: np.ndarray
    shift: np.ndarray
    length: float
    mass: float
    power: int
    G_fix: np.ndarray
    tau: float = 0.0
    rounds: tuple = ()


class ArrayChunks:
    """In-memory data cut into row chunks; ``map`` runs a pass over them (the Dask twin lives in
    :mod:`fairopt.distributed`).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    w : ndarray of shape (n,)
    sid : ndarray of shape (n,), int
        Signature of every point (row of the signature matrix).
    chunk_rows : int
    """

    def __init__(self, X: np.ndarray, w: np.ndarray, sid: np.ndarray, chunk_rows: int = 1 << 16):
        self.X, self.w, self.sid = X, w, np.asarray(sid, dtype=np.int64)
        self.n, self.d = X.shape
        self.chunk_rows = max(1, int(chunk_rows))

    def map(self, fn, *args) -> list:
        """``[fn(X[a:b], w[a:b], sid[a:b], a, *args) for every chunk a:b]``."""
        return [fn(self.X[a:a + self.chunk_rows], self.w[a:a + self.chunk_rows], self.sid[a:a + self.chunk_rows],
                   a, *args) for a in range(0, self.n, self.chunk_rows)]


def chunk_costs(X: np.ndarray, state: ScreenState) -> np.ndarray:
    """D(x, c) of the chunk, shape (n_chunk, k), in normalised units.

    One centre at a time on differences (not ||x||^2 - 2 x.c + ||c||^2 through BLAS): no
    cancellation, and the same bits wherever the chunk is recomputed.
    """
    Xn = (np.asarray(X, dtype=np.float64) - state.shift) / state.length
    D = np.empty((Xn.shape[0], state.centres.shape[0]))
    for c, centre in enumerate(state.centres):
        diff = Xn - centre
        D[:, c] = np.einsum("ij,ij->i", diff, diff)
    return D if state.power == 2 else np.sqrt(D) ** state.power


def _fixed(D: np.ndarray, sid: np.ndarray, state: ScreenState) -> tuple[np.ndarray, np.ndarray]:
    """Fixed centre a(x) and its margin (second best minus best of D - G_fix[s])."""
    A = D - state.G_fix[sid]
    a = np.argmin(A, axis=1)
    if A.shape[1] < 2:
        return a, np.full(A.shape[0], np.inf)
    two = np.partition(A, 1, axis=1)[:, :2]
    return a, two[:, 1] - two[:, 0]


def _reduced(D: np.ndarray, sid: np.ndarray, a: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(min_c A(x, c), rc(x) = min_c A(x, c) - A(x, a(x)) <= 0) for A = D - G[s]."""
    A = D - G[sid]
    best = A.min(axis=1)
    return best, best - A[np.arange(A.shape[0]), a]


def _free(D, sid, a, margin, state: ScreenState) -> np.ndarray:
    """Free points of the chunk: small margin at fixing time, or freed by a pricing round."""
    mask = margin < state.tau
    for G, theta in state.rounds:
        mask |= _reduced(D, sid, a, G)[1] < theta
    return mask


def moments_pass(X, w, sid, offset, n_signatures: int) -> dict:
    """Weights, weighted coordinate sums and per-signature totals (first pass: the mean point)."""
    X = np.asarray(X, dtype=np.float64)
    return {"wsum": float(w.sum()), "wx": w @ X, "n": X.shape[0],
            "sig_mass": np.bincount(sid, weights=w, minlength=n_signatures),
            "sig_count": np.bincount(sid, minlength=n_signatures)}


def spread_pass(X, w, sid, offset, shift: np.ndarray) -> dict:
    """Largest |x - shift| coordinate and the weighted squared spread about ``shift``."""
    P = np.asarray(X, dtype=np.float64) - shift
    return {"top": float(np.max(np.abs(P), initial=0.0)), "sq": float(w @ np.einsum("ij,ij->i", P, P))}


def sample_pass(X, w, sid, offset, rate: float, seed: int) -> dict:
    """A uniform sample of the chunk (probability ``rate``), plus the first point of every signature.

    The random stream depends only on (seed, offset), so a recomputed chunk draws the same rows.
    """
    rng = np.random.default_rng([int(seed), int(offset)])
    take = rng.random(X.shape[0]) < rate
    first = np.unique(sid, return_index=True)[1]
    take[first] = True
    rows = np.flatnonzero(take & (w > 0))
    return {"X": np.asarray(X[rows], dtype=np.float64), "w": np.asarray(w[rows], dtype=np.float64), "sid": sid[rows]}


def screen_pass(X, w, sid, offset, state: ScreenState, G: np.ndarray | None, cap_rate: float, tol: float) -> dict:
    """One screening pass over a chunk.

    With ``G`` None the candidates are the ``cap`` non-free points of smallest margin
    (cap = ceil(cap_rate n_chunk) + 16): raising tau frees them; otherwise they are the ``cap`` non-free points of most negative rc under ``G`` (only those
    below ``-tol``), and the chunk's part of the Lagrangian bound sum_x w'(x) min_c A(x, c) is
    returned.

    Returns
    -------
    dict
        ``mass``, ``cost`` (k, S): w' and w' D of every point at its fixed centre, by signature;
        ``lagrangian`` (float); ``index``, ``X``, ``w``, ``sid``, ``D``, ``fixed``, ``key`` of
        the candidates (sorted by key); ``truncated`` (bool) and ``last`` (the largest key
        returned when truncated).
    """
    D = chunk_costs(X, state)
    wn = np.asarray(w, dtype=np.float64) / state.mass
    k, S = state.centres.shape[0], state.G_fix.shape[0]
    a, margin = _fixed(D, sid, state)
    flat = a * S + sid
    out = {"mass": np.bincount(flat, weights=wn, minlength=k * S).reshape(k, S),
           "cost": np.bincount(flat, weights=wn * D[np.arange(D.shape[0]), a], minlength=k * S).reshape(k, S),
           "lagrangian": 0.0}
    if G is None:
        key, eligible = margin, ~_free(D, sid, a, margin, state)
    else:
        best, key = _reduced(D, sid, a, G)
        out["lagrangian"] = float(wn @ best)
        eligible = ~_free(D, sid, a, margin, state) & (key < -tol)
    rows = np.flatnonzero(eligible)
    cap = int(np.ceil(cap_rate * D.shape[0])) + 16
    out["truncated"] = rows.size > cap
    if rows.size > cap:
        rows = rows[np.argpartition(key[rows], cap - 1)[:cap]]
    rows = rows[np.argsort(key[rows], kind="stable")]
    out["last"] = float(key[rows[-1]]) if rows.size else np.inf
    out.update(index=rows + offset, X=np.asarray(X[rows], dtype=np.float64), w=wn[rows], sid=sid[rows], D=D[rows],
               fixed=a[rows], key=key[rows])
    return out


def dual_pass(X, w, sid, offset, state: ScreenState, P: np.ndarray, eps: float, hessian: bool = False) -> tuple:
    """The entropic (soft-min) Lagrangian of a chunk, its soft masses and (optionally) their
    second moments (:func:`dual_terms`)."""
    return dual_terms(chunk_costs(X, state), np.asarray(w, dtype=np.float64) / state.mass, sid, P, eps, hessian)


def dual_terms(D: np.ndarray, wn: np.ndarray, sid: np.ndarray, P: np.ndarray, eps: float,
               hessian: bool = False) -> tuple:
    """The soft-min Lagrangian of a point set and its derivatives in P.

    value = sum_x w'(x) softmin_eps,c (D(x, c) - P[s(x), c]), softmin_eps(a) = -eps log sum exp(-a / eps);
    Q[c, s] = sum over x of signature s of w'(x) pi(c | x), pi the soft-min weights (d value / d P = -Q^T);
    with ``hessian``, also the curvature R[s] = sum over x of signature s of
    w'(x) (diag(pi(x)) - pi(x) pi(x)^T), shape (S, k, k), so that d^2 value / d P[s] d P[s] = -R[s] / eps
    (the covariance of the soft assignment). Points whose soft-min weight is one-hot to 1e-12 add
    nothing and are skipped.

    Returns
    -------
    (value, Q) or (value, Q, R)
    """
    A = D - P[sid]
    low = A.min(axis=1)
    A -= low[:, None]
    A *= -1.0 / eps
    np.maximum(A, -60.0, out=A)  # exp(-60) ~ 1e-26: no underflow into (slow) subnormals
    E = np.exp(A, out=A)
    Z = E.sum(axis=1)
    value = float(wn @ (low - eps * np.log(Z)))
    S, k = P.shape
    if hessian:
        # the largest weight is exp(0) / Z = 1 / Z: one-hot to 1e-12 when Z < 1 + 1e-12
        soft = np.flatnonzero(Z > 1.0 + 1e-12)
        pi = E[soft] / Z[soft, None]
        ws, ss = wn[soft], sid[soft]
        R = np.zeros((S, k, k))
        for s in np.unique(ss):
            rows = ss == s
            wp = pi[rows] * ws[rows, None]
            R[s] = np.diag(wp.sum(axis=0)) - wp.T @ pi[rows]
    E *= (wn / Z)[:, None]
    flat = np.broadcast_to(np.arange(k) * S, E.shape) + sid[:, None]
    Q = np.bincount(flat.ravel(), weights=E.ravel(), minlength=k * S).reshape(k, S)
    return (value, Q, R) if hessian else (value, Q)


def chunk_labels(X, w, sid, offset, state: ScreenState, free_index: np.ndarray, free_labels: np.ndarray) -> np.ndarray:
    """Labels of a chunk: the fixed centre of every fixed point, ``free_labels`` for the rows in
    ``free_index`` (sorted global row numbers).

    Returns
    -------
    ndarray of shape (n_chunk,), int64
    """
    labels = _fixed(chunk_costs(X, state), sid, state)[0].astype(np.int64)
    lo, hi = np.searchsorted(free_index, [offset, offset + X.shape[0]])
    labels[free_index[lo:hi] - offset] = free_labels[lo:hi]
    return labels


def chunk_summary(X, w, sid, offset, state: ScreenState, free_index: np.ndarray,
                  free_labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Mass per (cluster, signature), shape (k, S), and the cost of the chunk's labels (data units:
    sum of w ||x - c||^power)."""
    labels = chunk_labels(X, w, sid, offset, state, free_index, free_labels)
    k, S = state.centres.shape[0], state.G_fix.shape[0]
    w = np.asarray(w, dtype=np.float64)
    counts = np.bincount(labels * S + sid, weights=w, minlength=k * S).reshape(k, S)
    D = chunk_costs(X, state)[np.arange(labels.size), labels]
    return counts, float(w @ D) * state.length ** state.power
