"""The k-sparse Wasserstein barycenter by Relax and Merge (``SparseBarycenter``).

Song, Mo, Yang, Ding. "Relax and Merge: A Simple Yet Effective Framework for Solving Fair
k-Means and k-sparse Wasserstein Barycenter Problems" (Theorem 2).

Given m discrete measures mu_1..mu_m (points with masses summing to 1), find a measure nu with
at most k support points minimising sum_i W_2^2(nu, mu_i):

    1. S <- an approximate centroid set of the union of the supports
    2. relax: nu, T <- the fixed-support barycenter LP (16) on S
    3. move:  every s with nu(s) > 0 goes to the centroid of the mass sent to it,
              s' = sum_i sum_x T_i(x, s) x / (m nu(s))
    4. merge: k support points <- weighted k-means on (S', nu)
    5. LP (16) again on the k support points

Why the merge costs little: for a plan T on S', sum_i sum_x T_i(x, s) ||x - c||^2 =
sum_i sum_x T_i(x, s) ||x - s'||^2 + m nu(s) ||s' - c||^2 (s' is the centroid), and merging the
plans along s -> c(s) keeps them feasible for (16) on the merged support. So the final cost is
at most the moved LP cost plus m times the weighted k-means cost of (S', nu); with a
rho-approximate k-means this gives the paper's (1 + 4 rho + O(eps)) bound.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .distances import sq_distances
from .exceptions import SolverStatusError, ValidationError
from .problem import (
    check_distinct_points,
    validate_n_clusters,
    validate_points,
    validate_random_state,
    validate_time_limit,
)

__all__ = [
    "BarycenterResult",
    "SparseBarycenter",
    "validate_measures",
    "fixed_support_barycenter",
    "solve_lp16",
    "sparse_barycenter",
    "move_support",
    "barycenter_cost",
]

METHODS = ("direct", "colgen", "pyomo", "cvxpy")


@dataclass(frozen=True)
class BarycenterResult:
    """A barycenter on a given support with its transport plans.

    Attributes
    ----------
    support : ndarray of shape (s, d)
    weights : ndarray of shape (s,)
        nu(s) >= 0, summing to 1 (points the LP gives no mass keep weight 0).
    cost : float
        sum_i sum_{x, s} T_i(x, s) ||x - s||^2 = sum_i W_2^2(nu, mu_i) at the optimum of (16).
    plans : list of m ndarrays of shape (n_i, s)
        T_i, with row sums mu_i and column sums nu.
    status : str
    seconds : float
    solver : str
    method : str
        The path that solved (16): ``"direct"``, ``"colgen"``, ``"pyomo"`` or ``"cvxpy"``.
    info : dict
        Solver details (objective as reported, raw status; rounds and columns for colgen).
    """

    support: np.ndarray
    weights: np.ndarray
    cost: float
    plans: list
    status: str
    seconds: float
    solver: str
    method: str
    info: dict = field(default_factory=dict)


def validate_measures(measures: Any, name: str = "measures", tol: float = 1e-6) -> list:
    """Check a sequence of discrete measures and return them as ``[(points, masses), ...]``.

    Every measure is a pair ``(points (n_i, d), weights (n_i,))`` with non-negative weights
    summing to 1 (within ``tol``; they are then rescaled to sum to 1 exactly), or a bare array
    of points (uniform weights). All measures must share the dimension d.
    """
    if isinstance(measures, np.ndarray) or not isinstance(measures, Sequence) or len(measures) == 0:
        raise ValidationError(
            f"{name} must be a non-empty list of (points (n_i, d), weights (n_i,)) pairs; got {type(measures).__name__}"
        )
    out, d = [], None
    for i, meas in enumerate(measures):
        if isinstance(meas, (tuple, list)) and len(meas) == 2:
            X, w = meas
        else:
            X, w = meas, None
        X = validate_points(X, name=f"{name}[{i}] points")
        if w is None:
            w = np.full(X.shape[0], 1.0 / X.shape[0])
        w = np.asarray(w, dtype=float)
        if w.shape != (X.shape[0],):
            raise ValidationError(f"{name}[{i}] weights must have shape ({X.shape[0]},); got {w.shape}")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValidationError(f"{name}[{i}] weights must be finite and non-negative")
        total = float(w.sum())
        if abs(total - 1.0) > tol:
            raise ValidationError(
                f"{name}[{i}] weights sum to {total:.9g}, not 1: a measure is a probability vector; pass w / w.sum()"
            )
        if d is not None and X.shape[1] != d:
            raise ValidationError(f"{name}[{i}] has dimension {X.shape[1]} but {name}[0] has {d}")
        d = X.shape[1]
        out.append((X, w / total))
    return out


def _check_solver_method(solver: str, method: str) -> None:
    from .solve import _check_solver

    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}; got {method!r}")
    if method == "colgen" and str(solver).lower() != "highs":
        raise ValidationError(f"method='colgen' runs on HiGHS only; got solver={solver!r} (use method='direct')")
    _check_solver(solver, "cvxpy" if method == "cvxpy" else "matrices")


def barycenter_cost(measures: list, support: np.ndarray, plans: list) -> float:
    """sum_i sum_{x, s} T_i(x, s) ||x - s||^2 for given plans (one loop over the measures)."""
    return float(sum((T * sq_distances(X, support)).sum() for (X, _), T in zip(measures, plans)))


def solve_lp16(measures: list, support: np.ndarray, solver: str = "highs", method: str = "direct",
               time_limit: float | None = None, require_optimal: bool = True) -> BarycenterResult:
    """LP (16) on validated input (inner function: inputs are trusted).

    ``method="direct"`` hands :func:`fairopt.models.barycenter.to_matrices` to the solver (HiGHS
    through highspy by default); ``"colgen"`` solves the same LP by column generation on HiGHS
    (:func:`_lp16_colgen`; 2-3x faster from about 10^5 arcs on); ``"pyomo"`` and ``"cvxpy"``
    build the same LP in those languages.
    """
    from fairopt.models import barycenter as lp16

    from .solve import solve

    if method == "colgen":
        res = _lp16_colgen(measures, support, time_limit=time_limit)
        if res.status != "optimal" and require_optimal:
            raise SolverStatusError(
                f"LP (16) by column generation on {support.shape[0]} support points ended with status "
                f"{res.status!r} ({res.info['raw_status']}): no proven optimum. Raise time_limit or use method='direct'.",
                res,
            )
        return res
    from .resources import LP16_FIX, check_fits, lp16_size

    builder = {"direct": lp16.to_matrices, "pyomo": lp16.build_pyomo, "cvxpy": lp16.build_cvxpy}[method]
    check_fits("LP (16)", **lp16_size([X.shape[0] for X, _ in measures], support.shape[0]), path=method,
               solver=solver, fix=LP16_FIX)
    t0 = time.perf_counter()
    res = solve(builder(measures, support), solver=solver, time_limit=time_limit)
    seconds = time.perf_counter() - t0
    if res.status != "optimal" and (require_optimal or "nu" not in res.values):
        raise SolverStatusError(
            f"LP (16) on {support.shape[0]} support points ended with status {res.status!r} ({res.solver}, "
            f"{method} path): no proven optimum. Raise time_limit or use fewer candidates (n_candidates, candidate_ratio).",
            res,
        )
    # Solvers leave values like -1e-17 on zero variables: clip, they are masses.
    plans = [np.maximum(np.asarray(res.values[f"T{i}"], dtype=float), 0.0) for i in range(len(measures))]
    nu = np.maximum(np.asarray(res.values["nu"], dtype=float), 0.0)
    nu = nu / nu.sum()
    cost = barycenter_cost(measures, support, plans)
    return BarycenterResult(support, nu, cost, plans, res.status, seconds, res.solver, method,
                            info={"objective": res.objective, "raw_status": res.raw_status})


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
    import highspy
    import scipy.sparse as sp

    from ._backend_matrix import highs_status, new_highs
    from .models.barycenter import kept_source_rows

    t0 = time.perf_counter()
    m, s = len(measures), support.shape[0]
    D = [sq_distances(X, support) for X, _ in measures]
    sizes = [X.shape[0] for X, _ in measures]
    kept = [kept_source_rows(n, i) for i, n in enumerate(sizes)]
    src_off = np.concatenate([[0], np.cumsum(kept)])
    tgt_off = src_off[-1]
    n_rows = tgt_off + m * s
    scale = max(max(float(Di.max()) for Di in D), 1e-300)
    tol = 1e-9 * scale
    present = [np.zeros((n, s), dtype=bool) for n in sizes]

    def arcs_columns(i, xs, ts):
        # Column of T_i(x, t): +1 in source row (i, x) unless dropped, +1 in target row (i, t).
        has_src = xs < kept[i]
        nnz = 1 + has_src.astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(nnz)[:-1]])
        index = np.empty(int(nnz.sum()), dtype=np.int32)
        value = np.ones(index.size)
        index[starts[has_src]] = src_off[i] + xs[has_src]
        index[starts + nnz - 1] = tgt_off + i * s + ts
        return D[i][xs, ts], starts, index

    h = new_highs(time_limit=time_limit)
    rhs = np.concatenate([w[:r] for (_, w), r in zip(measures, kept)] + [np.zeros(m * s)])
    h.addRows(n_rows, rhs, rhs, 0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
    # nu(s): -1 in target row (i, s) for every i.
    nu_idx = (tgt_off + np.arange(m)[None, :] * s + np.arange(s)[:, None]).astype(np.int32).ravel()
    h.addCols(s, np.zeros(s), np.zeros(s), np.full(s, highspy.kHighsInf), s * m,
              (np.arange(s) * m).astype(np.int32), nu_idx, -np.ones(s * m))
    hub = int(np.argmin(sq_distances(support, np.mean([w @ X for X, w in measures], axis=0)[None, :]).ravel()))
    cols_i, cols_x, cols_t = [], [], []

    def add(i, xs, ts):
        present[i][xs, ts] = True
        cost, starts, index = arcs_columns(i, xs, ts)
        h.addCols(xs.size, cost, np.zeros(xs.size), np.full(xs.size, highspy.kHighsInf), index.size,
                  starts.astype(np.int32), index, np.ones(index.size))
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
        h.run()
        status, raw = highs_status(h)
        if status != "optimal":
            break
        y = np.asarray(h.getSolution().row_dual)
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
    status, raw = highs_status(h)
    if status == "optimal" and rounds == max_rounds:
        status, raw = "iteration_limit", f"column generation stopped after {max_rounds} rounds"
    x = np.asarray(h.getSolution().col_value)
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
                                  "objective": float(h.getInfo().objective_function_value)})


def fixed_support_barycenter(measures: Any, support: Any, solver: str = "highs", method: str = "direct",
                             time_limit: float | None = None) -> BarycenterResult:
    """The Wasserstein barycenter of ``measures`` on a fixed support: LP (16).

    minimise  sum_i sum_{x, s} T_i(x, s) ||x - s||^2
    s.t.      sum_s T_i(x, s) = mu_i(x),  sum_x T_i(x, s) = nu(s),  T_i >= 0

    Parameters
    ----------
    measures : list of (points (n_i, d), weights (n_i,)) pairs
        Weights summing to 1.
    support : ndarray of shape (s, d)
    solver : str
        "highs" (default), "glpk", "cbc", "gurobi" ("clarabel" with method="cvxpy").
    method : {"direct", "colgen", "pyomo", "cvxpy"}
        ``"colgen"``: column generation on HiGHS (same optimum, faster on large supports).
    time_limit : float, optional

    Returns
    -------
    BarycenterResult

    References
    ----------
    Agueh & Carlier, Barycenters in the Wasserstein space, SIAM J. Math. Anal. 43(2), 2011.
    """
    meas = validate_measures(measures)
    S = validate_points(support, name="support")
    if S.shape[1] != meas[0][0].shape[1]:
        raise ValidationError(f"support has dimension {S.shape[1]} but the measures have {meas[0][0].shape[1]}")
    _check_solver_method(solver, method)
    time_limit = validate_time_limit(time_limit)
    return solve_lp16(meas, S, solver=solver, method=method, time_limit=time_limit)


def move_support(measures: list, result: BarycenterResult) -> tuple[np.ndarray, np.ndarray, float]:
    """Step 3: every loaded support point to the centroid of the mass sent to it.

    Returns the moved points (s', d), their masses nu(s) (s',) and the LP (16) cost of the same
    plans on the moved points (at most ``result.cost``).
    """
    m = len(measures)
    flow = sum(T.T @ X for (X, _), T in zip(measures, result.plans))  # (s, d): sum_i sum_x T_i(x, s) x
    mass = sum(T.sum(axis=0) for T in result.plans)  # m nu(s)
    keep = mass > 1e-12 * m
    moved = flow[keep] / mass[keep, None]
    plans = [T[:, keep] for T in result.plans]
    return moved, mass[keep] / m, barycenter_cost(measures, moved, plans)


def sparse_barycenter(measures: list, k: int, rng: np.random.Generator, candidates: str = "kdtree+points",
                      n_candidates: int | None = None, candidate_ratio: float = 1.0, n_init: int = 10,
                      solver: str = "highs", method: str = "direct", time_limit: float | None = None) -> tuple:
    """Steps 1-5 (see the module docstring) on validated measures.

    Returns
    -------
    result : BarycenterResult
        LP (16) on the k merged support points.
    extra : dict
        ``candidates`` (s, d), ``relaxed`` (the BarycenterResult on them), ``moved_cost``,
        ``merge_cost`` (m times the weighted k-means cost), ``seconds`` per stage.
    """
    from .candidates import candidate_set
    from .kmeans import weighted_kmeans

    seconds = {}
    t = time.perf_counter()
    union = np.vstack([X for X, _ in measures])
    S = candidate_set(union, method=candidates, size=n_candidates, ratio=candidate_ratio, random_state=rng)
    seconds["candidates"] = time.perf_counter() - t

    relaxed = solve_lp16(measures, S, solver=solver, method=method, time_limit=time_limit)
    seconds["relax_lp"] = relaxed.seconds

    t = time.perf_counter()
    moved, nu, moved_cost = move_support(measures, relaxed)
    if moved.shape[0] < k:
        # Fewer loaded candidates than k: pad with support points so the merge returns k points.
        extra = union[rng.choice(union.shape[0], size=k - moved.shape[0], replace=False)]
        moved, nu = np.vstack([moved, extra]), np.concatenate([nu, np.zeros(extra.shape[0])])
    merged = weighted_kmeans(moved, nu, k, n_init=n_init, random_state=rng)
    seconds["merge"] = time.perf_counter() - t

    final = solve_lp16(measures, merged.centres, solver=solver, method=method, time_limit=time_limit)
    seconds["final_lp"] = final.seconds
    seconds["total"] = sum(seconds.values())
    extra = {"candidates": S, "relaxed": relaxed, "moved_cost": moved_cost,
             "merge_cost": len(measures) * merged.cost, "seconds": seconds}
    return final, extra


class SparseBarycenter:
    """k-sparse Wasserstein barycenter by Relax and Merge (Theorem 2 of the paper).

    Parameters
    ----------
    n_support : int
        k, the number of support points of the barycenter.
    candidates : {"kdtree+points", "kdtree", "points", "grid"}
        The approximate centroid set built on the union of the supports
        (see :func:`fairopt.candidates.candidate_set`).
    n_candidates : int, optional
        Size of the sampled part of the candidate set.
    candidate_ratio : float in (0, 1]
        Fraction of the candidate set kept.
    n_init : int
        Restarts of the weighted k-means merge.
    solver : str
        LP solver for (16) ("highs" default).
    method : {"direct", "colgen", "pyomo", "cvxpy"}
        How (16) is solved: the matrices handed to the solver (default), column generation on
        HiGHS (same optimum, 2-3x faster on large candidate sets), or a Pyomo/CVXPY model.
    time_limit : float, optional
        Seconds per LP solve.
    random_state : int, Generator or None

    Attributes
    ----------
    support_ : ndarray of shape (k, d)
    weights_ : ndarray of shape (k,)
        Barycenter masses, summing to 1.
    cost_ : float
        sum_i W_2^2(nu, mu_i) of the returned barycenter (LP (16) on ``support_``).
    plans_ : list of m ndarrays of shape (n_i, k)
        Optimal transport plans from every measure to the barycenter.
    relaxed_cost_ : float
        LP (16) objective on the candidate set.
    moved_cost_ : float
        The candidate plans' cost after moving each candidate to its centroid (<= relaxed_cost_).
    merge_cost_ : float
        m times the weighted k-means cost of the moved candidates; cost_ <= moved_cost_ + merge_cost_.
    candidates_ : ndarray of shape (s, d)
    candidate_weights_ : ndarray of shape (s,)
        The relaxed barycenter nu on the candidates.
    n_candidates_ : int
    seconds_ : dict
        Seconds per stage (candidates, relax_lp, merge, final_lp, total).
    """

    def __init__(self, n_support: int = 10, candidates: str = "kdtree+points", n_candidates: int | None = None,
                 candidate_ratio: float = 1.0, n_init: int = 10, solver: str = "highs", method: str = "direct",
                 time_limit: float | None = None, random_state: Any = None):
        self.n_support = n_support
        self.candidates = candidates
        self.n_candidates = n_candidates
        self.candidate_ratio = candidate_ratio
        self.n_init = n_init
        self.solver = solver
        self.method = method
        self.time_limit = time_limit
        self.random_state = random_state

    def fit(self, measures: Any) -> "SparseBarycenter":
        """Compute the barycenter of ``measures``: a list of (points (n_i, d), weights (n_i,)) pairs."""
        meas = validate_measures(measures)
        n_union = sum(X.shape[0] for X, _ in meas)
        k = validate_n_clusters(self.n_support, n_union, name="n_support")
        if isinstance(self.n_init, bool) or not isinstance(self.n_init, (int, np.integer)) or self.n_init < 1:
            raise ValidationError(f"n_init must be a positive integer; got {self.n_init!r}")
        _check_solver_method(self.solver, self.method)
        check_distinct_points(np.vstack([X for X, _ in meas]), k, name="n_support")
        validate_time_limit(self.time_limit)
        rng = validate_random_state(self.random_state)
        res, extra = sparse_barycenter(meas, k, rng, candidates=self.candidates, n_candidates=self.n_candidates,
                                       candidate_ratio=self.candidate_ratio, n_init=self.n_init, solver=self.solver,
                                       method=self.method, time_limit=self.time_limit)
        self.support_ = res.support
        self.weights_ = res.weights
        self.cost_ = res.cost
        self.plans_ = res.plans
        self.relaxed_cost_ = extra["relaxed"].cost
        self.moved_cost_ = extra["moved_cost"]
        self.merge_cost_ = extra["merge_cost"]
        self.candidates_ = extra["candidates"]
        self.candidate_weights_ = extra["relaxed"].weights
        self.n_candidates_ = int(extra["candidates"].shape[0])
        self.seconds_ = extra["seconds"]
        self.n_features_in_ = meas[0][0].shape[1]
        self.result_ = res
        return self
