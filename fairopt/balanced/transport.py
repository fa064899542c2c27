"""Exact transport of n unit points to k clusters of prescribed sizes (the BalLOT assignment).

    minimise    sum_i D[i, labels[i]]    over labels with  #{i : labels[i] = j} = sizes[j]

is the balanced transport LP of :mod:`fairopt.models.balanced_transport` (a transportation
problem with n unit sources and k sinks; integral vertices). With k small the LP has a compact
optimality certificate that these solvers all end with (:mod:`fairopt.balanced.transfer_graph`): the
labelling is optimal iff the k-node graph of cheapest moves between clusters has no negative
cycle, and Bellman-Ford on it (O(k^3)) then gives dual prices p with
D[i, labels[i]] - p[labels[i]] <= D[i, j] - p[j] for all i, j. :func:`cancel_negative_cycles`
cancels negative cycles (moving, along every arc of a cycle, as many of the cheapest points as
keep lowering the cost) until none is left; its tolerance is a relative 1e-12 of the largest
cost, so the result is exact in floating point.

Solvers that give the polish a near-optimal start: ``"ortools"`` (OR-Tools min-cost flow
on all n*k arcs with costs scaled to int64; the scaling loses exactness, which the polish
restores), ``"pot"`` (POT's network simplex ``ot.emd``, exact on floats), ``"highs"`` (the
model's LP through :func:`fairopt.solvers.core`), and ``"multiscale"`` (the default): dual prices
from the same problem on a uniform subsample of n/8 points (recursively, down to
max(2000, 20k) points solved densely by ``ot.emd``, or by the flow without POT), then
min-cost flow (OR-Tools, or HiGHS without it) restricted to the 4 arcs of smallest reduced
cost D[i, j] - p[j] per point (plus a feasible labelling's arcs, so the restricted problem is
always feasible), then the polish on the full cost matrix. With warm ``prices`` (the previous BalLOT step) the subsample is
skipped.

Measured on 2 shared cores (``python -m benchmarks ballot_step``, one cold assignment at k
random centres, distances included): at n = 1e5 the multiscale solver took 0.45 s (k = 10) and
1.8 s (k = 100), against 25 s and 29 s for ``ot.emd`` on all arcs, 1.0 s and 14 s for
k-means-constrained's step (which is not optimal for the squared cost), and 0.75 s (k = 10) for
OR-Tools on all arcs; it was the fastest in every cell from n = 1e3. Dense ``ot.emd`` beats
dense OR-Tools up to n = 2000 (20 vs 61 ms at k = 100), hence its use at the recursion's bottom.

References
----------
W. Luo, D. G. Mixon. BalLOT: Balanced k-means clustering with optimal transport. arXiv:2512.05926, 2025.
"""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairopt.balanced.transfer_graph import (
    cancel_negative_cycles,
    repair_sizes,
    transfer_graph,
)
from fairopt.exceptions import (
    SolverNotAvailableError,
    SolverStatusError,
    ValidationError,
)
from fairopt.models.balanced_transport import from_costs
from fairopt.solvers.core import solve
from fairopt.solvers.flow import default_flow_solver, min_cost_flow
from fairopt.solvers.resources import check_fits

__all__ = [
    "TransportAssignment",
    "balanced_assignment",
    "cancel_negative_cycles",
    "repair_sizes",
    "transfer_graph",
    "proportional_sizes",
    "SOLVERS",
]

SOLVERS = ("auto", "multiscale", "ortools", "pot", "highs")
_PRUNE_ARCS = 4  # arcs of smallest reduced cost kept per point by the multiscale solver


@dataclass(frozen=True)
class TransportAssignment:
    """An optimal balanced assignment with its certificate.

    Attributes
    ----------
    labels : ndarray of shape (n,), int64
        Cluster of every point; exactly ``sizes[j]`` points in cluster j.
    cost : float
        ``sum_i D[i, labels[i]]``.
    prices : ndarray of shape (k,)
        Dual prices: ``D[i, labels[i]] - prices[labels[i]] <= D[i, j] - prices[j]`` for all i, j
        (up to the tolerance), which proves ``labels`` optimal.
    solver : str
    seconds : float
    info : dict
        ``cycles`` and ``moved`` (the polish's work), ``arcs`` (arcs given to the flow solver).
    """

    labels: np.ndarray
    cost: float
    prices: np.ndarray
    solver: str
    seconds: float
    info: dict = field(default_factory=dict)


def proportional_sizes(sizes: np.ndarray, m: int) -> np.ndarray:
    """Integer sizes summing to m, proportional to ``sizes`` (largest remainders round up)."""
    x = sizes * (m / sizes.sum())
    out = np.floor(x).astype(np.int64)
    out[np.argsort(-(x - out), kind="stable")[: m - out.sum()]] += 1
    return out


# ----------------------------------------------------------------------------- flow solvers
def _flow_on_arcs(D: np.ndarray, sizes: np.ndarray, rows: np.ndarray, cols: np.ndarray, backend: str) -> np.ndarray:
    """Labels of a min-cost transport using only the arcs (rows[t] -> cols[t]).

    Point i supplies 1, cluster j demands sizes[j]; every arc has capacity 1. Each point
    sends its unit over one arc, so shifting all costs by their minimum changes the objective
    by a constant and widens the integer cost range OR-Tools sees.
    """
    n, k = D.shape
    cost = D[rows, cols]
    supply = np.concatenate([np.ones(n), -sizes.astype(np.float64)])
    ones = np.ones(rows.size)
    flow = min_cost_flow(rows, n + cols, 0 * ones, ones, cost - cost.min(initial=0.0), supply, n + k, solver=backend)
    if flow is None and backend != "highs":
        flow = min_cost_flow(rows, n + cols, 0 * ones, ones, cost, supply, n + k, solver="highs")
    if flow is None:
        raise SolverStatusError("the min-cost flow of the balanced transport found no feasible flow on its arcs")
    flow = flow > 0.5
    labels = np.full(n, -1, dtype=np.int64)
    labels[rows[flow]] = cols[flow]
    if (labels < 0).any():
        raise SolverStatusError("the flow solver returned a fractional transport; try solver='pot'")
    return labels


def _all_arcs(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(n), k), np.tile(np.arange(k), n)


def _pruned_arcs(D: np.ndarray, sizes: np.ndarray, prices: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The r arcs of smallest reduced cost per point, plus the arcs of one feasible labelling."""
    n, k = D.shape
    R = D - prices
    r = min(r, k)
    near = np.argpartition(R, r - 1, axis=1)[:, :r] if r < k else np.broadcast_to(np.arange(k), (n, k))
    Rn = np.take_along_axis(R, near, axis=1)
    pick = Rn.argmin(axis=1)
    best = near[np.arange(n), pick]
    # A feasible labelling: points sorted by (cheapest cluster, its reduced cost), cut into
    # consecutive blocks of the prescribed sizes. Its arcs make the restricted problem feasible;
    # the ones already among the r nearest are not repeated.
    order = np.lexsort((Rn[np.arange(n), pick], best))
    feasible = np.empty(n, dtype=np.int64)
    feasible[order] = np.repeat(np.arange(k), sizes)
    extra = np.flatnonzero((near != feasible[:, None]).all(axis=1))
    rows = np.concatenate([np.repeat(np.arange(n), r), extra])
    return rows, np.concatenate([near.ravel(), feasible[extra]])


def _multiscale_labels(D: np.ndarray, sizes: np.ndarray, prices: np.ndarray | None, rng: np.random.Generator,
                       backend: str, info: dict) -> np.ndarray:
    n, k = D.shape
    base = max(2000, 20 * k)
    if prices is None and n <= base:
        info["arcs"] = info.get("arcs", 0) + n * k
        # Small dense problems: POT's network simplex was fastest (n = 2000: 5 ms at k = 10 and
        # 20 ms at k = 100, against 7 and 61 ms for OR-Tools on all arcs).
        if importlib.util.find_spec("ot") is not None:
            return _pot_labels(D, sizes)
        rows, cols = _all_arcs(n, k)
        return _flow_on_arcs(D, sizes, rows, cols, backend)
    if prices is None:
        # Dual prices of a uniform subsample approximate the full problem's (both estimate the
        # population's cell boundaries); a too-coarse price only costs the polish more cycles.
        m = max(base, n // 8)
        idx = rng.choice(n, m, replace=False)
        sub = D[idx]
        sub_sizes = proportional_sizes(sizes, m)
        sub_labels = _multiscale_labels(sub, sub_sizes, None, rng, backend, info)
        prices = cancel_negative_cycles(sub, sub_labels)[1]
    rows, cols = _pruned_arcs(D, sizes, prices, _PRUNE_ARCS)
    info["arcs"] = info.get("arcs", 0) + rows.size
    return _flow_on_arcs(D, sizes, rows, cols, backend)


def _pot_labels(D: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    try:
        import ot
    except ImportError:
        raise SolverNotAvailableError("solver='pot' needs POT: pip install pot") from None
    n, k = D.shape
    F, log = ot.emd(np.ones(n), sizes.astype(float), D, numItermax=max(10**6, 100 * n * k), log=True)
    if log.get("warning"):
        raise SolverStatusError(f"ot.emd did not reach an optimum: {log['warning']}")
    return _labels_from_coupling(D, F, sizes)


def _labels_from_coupling(D: np.ndarray, F: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    # A vertex is integral; argmax is robust to solver noise, and a non-vertex optimum (ties)
    # is fixed by repair + polish.
    labels = np.asarray(F).argmax(axis=1).astype(np.int64)
    if not np.array_equal(np.bincount(labels, minlength=D.shape[1]), sizes):
        labels = repair_sizes(D, labels, sizes)
    return labels


def _highs_labels(D: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    n, k = D.shape
    # The dense transport LP (n*k arcs): refused before it is built when it would not fit.
    check_fits("the balanced transport LP (solver='highs')", n_vars=n * k, nnz=2 * n * k, n_rows=n + k,
               fix="use solver='auto' (multiscale min-cost flow) or 'ortools'")
    res = solve(from_costs(D, sizes), solver="highs", require_optimal=True)
    return _labels_from_coupling(D, res.values["F"], sizes)


# ----------------------------------------------------------------------------- public entry
def _validate(D: Any, sizes: Any, prices: Any, solver: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        D = np.ascontiguousarray(D, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"D must be a numeric array of shape (n, k); got {type(D).__name__}: {exc}") from None
    if D.ndim != 2 or D.shape[0] < 1 or D.shape[1] < 1:
        raise ValidationError(f"D must have shape (n, k) with n, k >= 1; got shape {D.shape}")
    if not np.all(np.isfinite(D)):
        raise ValidationError("D contains NaN or inf; every point must be able to go to every cluster")
    n, k = D.shape
    s = np.asarray(sizes)
    if s.shape != (k,) or s.dtype.kind not in "iuf" or not np.all(np.isfinite(s)) or np.any(s != np.round(s)) or np.any(s < 0):
        raise ValidationError(f"sizes must be {k} non-negative integers (one per column of D); got {sizes!r}")
    s = s.astype(np.int64)
    if s.sum() != n:
        raise ValidationError(f"sizes must sum to the number of points n={n}; they sum to {int(s.sum())}")
    if solver not in SOLVERS:
        raise ValidationError(f"solver must be one of {SOLVERS}; got {solver!r}")
    if prices is not None:
        prices = np.asarray(prices, dtype=np.float64)
        if prices.shape != (k,) or not np.all(np.isfinite(prices)):
            raise ValidationError(f"prices must be a finite array of shape ({k},); got shape {prices.shape}")
    return D, s, prices


def balanced_assignment(D: Any, sizes: Any, solver: str = "auto", prices: Any = None,
                        random_state: int | np.random.Generator | None = None) -> TransportAssignment:
    """Exact optimal assignment of n points to k clusters of prescribed sizes.

    Solves ``min sum_i D[i, labels[i]]`` subject to cluster j receiving exactly ``sizes[j]``
    points: the BalLOT assignment step (the balanced transport LP of
    :mod:`fairopt.models.balanced_transport`, whose vertices are these labellings). Every
    solver ends with :func:`cancel_negative_cycles`, so the result is optimal on the float
    costs and comes with dual prices proving it.

    Parameters
    ----------
    D : ndarray of shape (n, k)
        Costs, e.g. squared distances from the points to the centres.
    sizes : ndarray of int, shape (k,)
        Non-negative, summing to n.
    solver : {"auto", "multiscale", "ortools", "pot", "highs"}
        ``"auto"`` is ``"multiscale"`` (see the module docstring). ``"multiscale"`` runs its
        flows with OR-Tools when installed, HiGHS otherwise. ``"ortools"`` and ``"pot"`` solve
        all n*k arcs; ``"highs"`` solves the model's LP (small instances).
    prices : ndarray of shape (k,), optional
        Warm-start dual prices (e.g. ``.prices`` of the previous BalLOT step); the multiscale
        solver then prunes arcs with them instead of solving a subsample first.
    random_state : int, Generator or None
        Subsample of the multiscale solver (the result is optimal whatever it is).

    Returns
    -------
    TransportAssignment
    """
    D, sizes, prices = _validate(D, sizes, prices, solver)
    return _solve(D, sizes, solver, prices, np.random.default_rng(random_state))


def _solve(D: np.ndarray, sizes: np.ndarray, solver: str, prices: np.ndarray | None,
           rng: np.random.Generator) -> TransportAssignment:
    """:func:`balanced_assignment` on validated input."""
    t0 = time.perf_counter()
    n, k = D.shape
    info: dict = {}
    if solver in ("auto", "multiscale"):
        solver = "multiscale"
        labels = _multiscale_labels(D, sizes, prices, rng, default_flow_solver(), info)
    elif solver == "ortools":
        if default_flow_solver() != "ortools":
            raise SolverNotAvailableError("solver='ortools' needs OR-Tools: pip install ortools")
        rows, cols = _all_arcs(n, k)
        info["arcs"] = rows.size
        labels = _flow_on_arcs(D, sizes, rows, cols, "ortools")
    elif solver == "pot":
        labels = _pot_labels(D, sizes)
    else:
        labels = _highs_labels(D, sizes)
    labels, prices, cycles, moved = cancel_negative_cycles(D, labels)
    info.update(cycles=cycles, moved=moved)
    cost = float(D[np.arange(n), labels].sum())
    return TransportAssignment(labels, cost, prices, solver, time.perf_counter() - t0, info)
