"""Exact LP (16) by column generation on HiGHS: the fixed-support barycenter without the dense model.

Each measure's plan starts on its few nearest support points; columns of negative reduced
cost are priced over all (x, s) pairs and added until none is left, which certifies the
optimum of the full LP (16).
"""
from __future__ import annotations

import time

import numpy as np

from fairopt.barycenter.result import BarycenterResult, barycenter_cost
from fairopt.distances import sq_distances
from fairopt.models.barycenter import kept_source_rows
from fairopt.solvers.highs import IncrementalLP


def _lp16_colgen(measures: list, support: np.ndarray, time_limit: float | None = None, n_nearest: int = 8,
                 max_rounds: int = 500) -> BarycenterResult:
    """LP (16) by column generation over the arcs (x, s) of every plan, with warm-started HiGHS.

    The restricted LP holds every ``nu`` column, the arcs from every x to its ``n_nearest``
    support points, and every arc into one support point t0 (so nu = delta_{t0} keeps it
    feasible). Rows are those of :func:`fairopt.models.barycenter.to_matrices`. Each round prices
    every missing arc with the duals u_i(x) (``source``; 0 for a dropped row) and v_i(s)
    (``target``): reduced cost ||x - s||^2 - u_i(x) - v_i(s); per point, the most negative ones
    (up to ``n_nearest``) enter. No negative reduced cost left means the restricted optimum is
    optimal for the full LP (LP duality), so the result equals the ``direct`` path's optimum.
    """
    import scipy.sparse as sp

    t0 = time.perf_counter()
    m, s = len(measures), support.shape[0]
    D = [sq_distances(X, support) for X, _ in measures]
    sizes = [X.shape[0] for X, _ in measures]
    kept = [kept_source_rows(n, i) for i, n in enumerate(sizes)]
    src_off = np.concatenate([[0], np.cumsum(kept)])
    tgt_off = src_off[-1]
    scale = max(max(float(Di.max()) for Di in D), 1e-300)
    tol = 1e-9 * scale
    present = [np.zeros((n, s), dtype=bool) for n in sizes]

    def arcs_columns(i, xs, ts):
        # Column of T_i(x, t): +1 in source row (i, x) unless dropped, +1 in target row (i, t).
        has_src = xs < kept[i]
        nnz = 1 + has_src.astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(nnz)[:-1]])
        index = np.empty(int(nnz.sum()), dtype=np.int32)
        index[starts[has_src]] = src_off[i] + xs[has_src]
        index[starts + nnz - 1] = tgt_off + i * s + ts
        return D[i][xs, ts], starts, index

    lp = IncrementalLP(time_limit=time_limit)
    rhs = np.concatenate([w[:r] for (_, w), r in zip(measures, kept)] + [np.zeros(m * s)])
    lp.add_rows(rhs, rhs)
    # nu(s): -1 in target row (i, s) for every i.
    nu_idx = (tgt_off + np.arange(m)[None, :] * s + np.arange(s)[:, None]).astype(np.int32).ravel()
    lp.add_columns(np.zeros(s), np.arange(s) * m, nu_idx, -np.ones(s * m))
    hub = int(np.argmin(sq_distances(support, np.mean([w @ X for X, w in measures], axis=0)[None, :]).ravel()))
    cols_i, cols_x, cols_t = [], [], []

    def add(i, xs, ts):
        present[i][xs, ts] = True
        cost, starts, index = arcs_columns(i, xs, ts)
        lp.add_columns(cost, starts, index, np.ones(index.size))
        cols_i.append(np.full(xs.size, i)), cols_x.append(xs), cols_t.append(ts)

    L = min(n_nearest, s)
    for i, Di in enumerate(D):
        near = np.argpartition(Di, L - 1, axis=1)[:, :L] if L < s else np.tile(np.arange(s), (sizes[i], 1))
        mask = np.zeros_like(present[i])
        mask[np.arange(sizes[i])[:, None], near] = True
        mask[:, hub] = True
        xs, ts = np.nonzero(mask)
        add(i, xs, ts)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        status, raw = lp.run(time_limit)
        if status != "optimal":
            break
        y = lp.solution()[2]
        added = 0
        for i, Di in enumerate(D):
            u = np.zeros(sizes[i])
            u[: kept[i]] = y[src_off[i] : src_off[i] + kept[i]]
            R = Di - u[:, None] - y[tgt_off + i * s : tgt_off + (i + 1) * s][None, :]
            R[present[i]] = 0.0
            neg = R < -tol
            if not neg.any():
                continue
            # Per point, the up-to-L most negative reduced costs enter.
            order = np.argsort(np.where(neg, R, 0.0), axis=1)[:, :L]
            pick = np.take_along_axis(neg, order, axis=1)
            xs = np.repeat(np.arange(sizes[i]), L).reshape(sizes[i], L)[pick]
            ts = order[pick]
            add(i, xs, ts)
            added += xs.size
        if added == 0:
            break
    status, raw = lp.status()
    if status == "optimal" and rounds == max_rounds:
        status, raw = "iteration_limit", f"column generation stopped after {max_rounds} rounds"
    x = lp.solution()[0]
    nu = np.maximum(x[:s], 0.0)
    ci, cx, ct = (np.concatenate(a) for a in (cols_i, cols_x, cols_t))
    vals = np.maximum(x[s:], 0.0)
    plans = []
    for i in range(m):
        sel = ci == i
        plans.append(sp.csr_matrix((vals[sel], (cx[sel], ct[sel])), shape=(sizes[i], s)).toarray())
    nu = nu / nu.sum() if nu.sum() > 0 else nu
    return BarycenterResult(support, nu, barycenter_cost(measures, support, plans), plans, status,
                            time.perf_counter() - t0, "highs", "colgen",
                            info={"raw_status": raw, "rounds": rounds, "columns": int(vals.size),
                                  "objective": lp.objective()})
