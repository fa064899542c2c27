"""LP (16), the fixed-support Wasserstein barycenter: validated measures, the solve paths, the cost.

Song, Mo, Yang, Ding, "Relax and Merge", LP (16): given measures mu_1..mu_m and a support S,

    minimise    sum_i sum_{x, s} T_i(x, s) ||x - s||^2
    subject to  sum_s T_i(x, s) = mu_i(x),   sum_x T_i(x, s) = nu(s),   T_i >= 0.

Paths: ``direct`` (the dense model's matrices on HiGHS), ``colgen``
(:mod:`fairopt.barycenter.colgen`), ``pyomo`` and ``cvxpy`` (the model of
:mod:`fairopt.models.barycenter`).
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from fairopt.barycenter.colgen import _lp16_colgen
from fairopt.barycenter.result import BarycenterResult, barycenter_cost
from fairopt.exceptions import SolverStatusError, ValidationError
from fairopt.models import barycenter as lp16
from fairopt.problem import validate_points
from fairopt.solvers.core import solve
from fairopt.solvers.registry import get_solver
from fairopt.solvers.resources import LP16_FIX, check_fits
from fairopt.validation import check_time_limit

__all__ = [
    "BarycenterResult",
    "validate_measures",
    "fixed_support_barycenter",
    "solve_lp16",
    "barycenter_cost",
]

METHODS = ("direct", "colgen", "pyomo", "cvxpy")


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
    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}; got {method!r}")
    if method == "colgen" and str(solver).lower() != "highs":
        raise ValidationError(f"method='colgen' runs on HiGHS only; got solver={solver!r} (use method='direct')")
    get_solver(solver, "cvxpy" if method == "cvxpy" else "matrices")


def solve_lp16(measures: list, support: np.ndarray, solver: str = "highs", method: str = "direct",
               time_limit: float | None = None, require_optimal: bool = True) -> BarycenterResult:
    """LP (16) on validated input (inner function: inputs are trusted).

    ``method="direct"`` hands :func:`fairopt.models.barycenter.to_matrices` to the solver (HiGHS
    through highspy by default); ``"colgen"`` solves the same LP by column generation on HiGHS
    (:func:`_lp16_colgen`; 2-3x faster from about 10^5 arcs on); ``"pyomo"`` and ``"cvxpy"``
    build the same LP in those languages.
    """
    if method == "colgen":
        res = _lp16_colgen(measures, support, time_limit=time_limit)
        if res.status != "optimal" and require_optimal:
            raise SolverStatusError(
                f"LP (16) by column generation on {support.shape[0]} support points ended with status "
                f"{res.status!r} ({res.info['raw_status']}): no proven optimum. Raise time_limit or use method='direct'.",
                res,
            )
        return res

    builder = {"direct": lp16.to_matrices, "pyomo": lp16.build_pyomo, "cvxpy": lp16.build_cvxpy}[method]
    check_fits("LP (16)", **lp16.dense_size([X.shape[0] for X, _ in measures], support.shape[0]), path=method,
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
    time_limit = check_time_limit(time_limit)
    return solve_lp16(meas, S, solver=solver, method=method, time_limit=time_limit)
