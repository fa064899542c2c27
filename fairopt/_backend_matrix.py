"""Solve and write :class:`~fairopt.lp.LPMatrices`: highspy and gurobipy directly, others via Pyomo."""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

from .exceptions import SolverNotAvailableError, ValidationError
from .lp import LPMatrices
from .solve import SolveResult

_INF = 1e30


def highs_status(h) -> tuple[str, str]:
    """Map a highspy model status to fairopt's status names."""
    import highspy

    st = h.getModelStatus()
    S = highspy.HighsModelStatus
    table = {
        S.kOptimal: "optimal",
        S.kInfeasible: "infeasible",
        S.kUnbounded: "unbounded",
        S.kUnboundedOrInfeasible: "infeasible_or_unbounded",
        S.kTimeLimit: "time_limit",
        S.kIterationLimit: "iteration_limit",
        S.kInterrupt: "interrupted",
        S.kModelEmpty: "optimal",
    }
    return table.get(st, "error"), h.modelStatusToString(st)


def highs_lp(lp: LPMatrices, names: bool = False):
    """Build a ``highspy.HighsLp`` from matrices (column-wise CSC, as HiGHS stores it)."""
    import highspy

    A = sp.csc_matrix(lp.A)
    A.sort_indices()
    h_lp = highspy.HighsLp()
    h_lp.num_col_ = lp.n_vars
    h_lp.num_row_ = lp.n_rows
    h_lp.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    h_lp.col_lower_ = np.clip(lp.col_lower, -_INF, _INF)
    h_lp.col_upper_ = np.clip(lp.col_upper, -_INF, _INF)
    h_lp.row_lower_ = np.clip(lp.row_lower, -_INF, _INF)
    h_lp.row_upper_ = np.clip(lp.row_upper, -_INF, _INF)
    h_lp.offset_ = float(lp.offset)
    h_lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    h_lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    h_lp.a_matrix_.index_ = A.indices.astype(np.int32)
    h_lp.a_matrix_.value_ = A.data.astype(np.float64)
    h_lp.a_matrix_.num_col_ = lp.n_vars
    h_lp.a_matrix_.num_row_ = lp.n_rows
    if names:
        h_lp.col_names_ = lp.var_names()
        h_lp.row_names_ = lp.row_names()
        h_lp.model_name_ = lp.name
    return h_lp


_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout_fd():
    """Send C-level stdout to /dev/null for the duration (HiGHS prints its banner there)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no real fd 1 (embedded interpreters): leave it be
        yield
        return
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def quiet_highs_banner() -> None:
    """Construct the process's first ``highspy.Highs`` silently.

    HiGHS prints a copyright banner on its first construction in a process, before any
    option can be set; ``verbose=False`` should mean no output at all. Later instances
    (ours, CVXPY's, Pyomo's) print no banner.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    import highspy

    with _quiet_stdout_fd():
        highspy.Highs()
    _BANNER_SHOWN = True


def new_highs(time_limit=None, threads=None, options=None, verbose=False):
    """A ``highspy.Highs`` with fairopt's options set (log off unless ``verbose``)."""
    import highspy

    if not verbose:
        quiet_highs_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for key, val in (options or {}).items():
        if h.setOptionValue(key, val) == highspy.HighsStatus.kError:
            raise ValidationError(f"HiGHS rejected option {key}={val!r}: unknown name or a value of the wrong type/range")
    return h


# Statuses under which a returned primal point is meaningful (feasible, maybe not optimal).
_WITH_SOLUTION = ("optimal", "time_limit", "iteration_limit", "interrupted")


def _solve_highs(lp, time_limit, threads, options, verbose) -> SolveResult:
    import highspy

    h = new_highs(time_limit, threads, options, verbose)
    # Squared distances of unscaled data reach 1e12 (creditcard): HiGHS then stops with "Solve
    # error". Scale the objective by a power of two (exact in floating point) so that its largest
    # coefficient is about 1, and scale the objective value and the duals back.
    cmax = float(np.max(np.abs(lp.c), initial=0.0))
    scale = 2.0 ** -np.round(np.log2(cmax)) if cmax > 0 and not 1e-2 <= cmax <= 1e4 else 1.0
    h_lp = highs_lp(lp)
    if scale != 1.0 and "dual_feasibility_tolerance" not in (options or {}):
        # After scaling, HiGHS's default dual tolerance (1e-7) leaves a relative objective error of
        # a few 1e-6 on LP (2) (bank: 2.8e-6 against the certified column-generation optimum);
        # 1e-10 matches it exactly at about the same solve time.
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
    if scale != 1.0:
        h_lp.col_cost_ = np.asarray(lp.c, dtype=np.float64) * scale
        h_lp.offset_ = float(lp.offset) * scale
    if h.passModel(h_lp) == highspy.HighsStatus.kError:
        # Without this check HiGHS keeps an empty model and reports it "optimal" with objective 0.
        raise ValidationError(f"HiGHS rejected the LP {lp.name!r} (bad bounds or coefficients); see LPMatrices.check")
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status, raw = highs_status(h)
    info = h.getInfo()
    values, duals, obj = {}, {}, None
    # primal_solution_status 2 = feasible; an unbounded LP's feasible point is not reported.
    if status == "optimal" or (status in _WITH_SOLUTION and info.primal_solution_status == 2):
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        values = lp.split_vars(x)
        obj = float(info.objective_function_value) / scale
        if status == "optimal" and sol.dual_valid:
            duals = lp.split_rows(np.asarray(sol.row_dual) / scale)
    return SolveResult(status, obj, values, duals, seconds, "highs", raw)


def _solve_gurobi(lp, time_limit, threads, options, verbose) -> SolveResult:
    import gurobipy as gp
    from gurobipy import GRB

    from .solve import _license_error

    env = m = None
    try:
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 1 if verbose else 0)
        env.start()
        m = gp.Model(lp.name, env=env)
        if time_limit is not None:
            m.Params.TimeLimit = time_limit
        if threads is not None:
            m.Params.Threads = threads
        for k, v in (options or {}).items():
            m.setParam(k, v)
        inf = lambda a: np.where(np.isinf(a), np.sign(a) * GRB.INFINITY, a)
        x = m.addMVar(lp.n_vars, lb=inf(lp.col_lower), ub=inf(lp.col_upper), obj=lp.c)
        A = sp.csr_matrix(lp.A)
        eq = lp.row_lower == lp.row_upper
        lo = np.isfinite(lp.row_lower) & ~eq
        up = np.isfinite(lp.row_upper) & ~eq
        cons = {}
        for tag, mask, sense, rhs in (("eq", eq, "=", lp.row_lower), ("ge", lo, ">", lp.row_lower), ("le", up, "<", lp.row_upper)):
            if mask.any():
                cons[tag] = (mask, m.addMConstr(A[mask], x, sense, rhs[mask]))
        m.ObjCon = lp.offset
        t0 = time.perf_counter()
        m.optimize()
        seconds = time.perf_counter() - t0
        table = {GRB.OPTIMAL: "optimal", GRB.INFEASIBLE: "infeasible", GRB.UNBOUNDED: "unbounded",
                 GRB.INF_OR_UNBD: "infeasible_or_unbounded", GRB.TIME_LIMIT: "time_limit",
                 GRB.ITERATION_LIMIT: "iteration_limit", GRB.INTERRUPTED: "interrupted"}
        status = table.get(m.Status, "error")
        raw = f"gurobi status {m.Status}"
        values, duals, obj = {}, {}, None
        if m.SolCount > 0 and status in _WITH_SOLUTION:
            values = lp.split_vars(np.asarray(x.X))
            obj = float(m.ObjVal)
            if status == "optimal":
                y = np.zeros(lp.n_rows)
                for mask, c in cons.values():
                    # A ranged row is two Gurobi rows (>= and <=); its dual is their sum, as in HiGHS.
                    y[mask] += c.Pi  # Gurobi's Pi is d objective / d rhs for a minimisation
                duals = lp.split_rows(y)
    except gp.GurobiError as exc:
        err = _license_error(exc)
        if err is not None:
            raise err from None
        raise
    finally:
        # Free the licence token and the model memory now rather than at garbage collection.
        if m is not None:
            m.dispose()
        if env is not None:
            env.dispose()
    return SolveResult(status, obj, values, duals, seconds, "gurobi", raw)


def matrices_to_pyomo(lp: LPMatrices):
    """A generic Pyomo model of the matrix LP (variables ``x[j]``, rows ``row[i]``).

    Rows without a nonzero are left out (Pyomo refuses constant constraints); callers check
    them with :func:`empty_rows_feasible`.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    A = sp.csr_matrix(lp.A)
    m = pyo.ConcreteModel(name=lp.name)
    m.J = pyo.RangeSet(0, lp.n_vars - 1)
    m.I = pyo.RangeSet(0, lp.n_rows - 1)

    def bounds(_, j):
        lo, up = lp.col_lower[j], lp.col_upper[j]
        return (None if np.isinf(lo) else float(lo), None if np.isinf(up) else float(up))

    m.x = pyo.Var(m.J, bounds=bounds)
    xs = list(m.x.values())
    indptr, indices, data = A.indptr, A.indices, A.data

    def row(mdl, i):
        a, b = indptr[i], indptr[i + 1]
        if a == b:
            return pyo.Constraint.Skip
        body = LinearExpression(
            constant=0.0, linear_coefs=data[a:b].tolist(), linear_vars=[xs[j] for j in indices[a:b].tolist()]
        )
        lo, up = lp.row_lower[i], lp.row_upper[i]
        if lo == up:
            return body == float(lo)
        return (None if np.isinf(lo) else float(lo), body, None if np.isinf(up) else float(up))

    m.row = pyo.Constraint(m.I, rule=row)
    nz = np.flatnonzero(lp.c)
    m.cost = pyo.Objective(
        expr=LinearExpression(constant=float(lp.offset), linear_coefs=lp.c[nz].tolist(), linear_vars=[xs[j] for j in nz.tolist()])
    )
    return m


def empty_rows_feasible(lp: LPMatrices, tol: float = 1e-9) -> bool:
    """True when every row without a nonzero admits 0 (its bounds contain 0)."""
    empty = np.diff(sp.csr_matrix(lp.A).indptr) == 0
    return bool(np.all((lp.row_lower[empty] <= tol) & (lp.row_upper[empty] >= -tol)))


def solve_matrices(lp: LPMatrices, solver, time_limit, threads, options, verbose) -> SolveResult:
    if solver == "highs":
        return _solve_highs(lp, time_limit, threads, options, verbose)
    if solver == "gurobi":
        return _solve_gurobi(lp, time_limit, threads, options, verbose)
    if solver in ("glpk", "cbc"):
        from ._backend_pyomo import solve_pyomo

        if not empty_rows_feasible(lp):
            return SolveResult("infeasible", None, {}, {}, 0.0, solver, "a row without nonzeros excludes 0")
        m = matrices_to_pyomo(lp)
        res = solve_pyomo(m, solver, time_limit, threads, options, verbose)
        values = {}
        if "x" in res.values:
            # A column in no row and not in the objective never reaches the solver: any value
            # in its bounds is optimal, take the one nearest 0.
            x = np.asarray(res.values["x"], dtype=float).ravel()
            x = np.concatenate([x, np.full(lp.n_vars - x.size, np.nan)])
            x = np.where(np.isnan(x), np.clip(0.0, lp.col_lower, lp.col_upper), x)
            values = lp.split_vars(x)
        duals = lp.split_rows(_full(res.duals.get("row"), lp.n_rows)) if "row" in res.duals else {}
        return SolveResult(res.status, res.objective, values, duals, res.seconds, res.solver, res.raw_status)
    raise SolverNotAvailableError(f"solver {solver!r} cannot solve matrices; use 'highs', 'gurobi', 'glpk' or 'cbc'")


def _full(arr, size: int) -> np.ndarray:
    """Pyomo row duals padded to ``size`` (skipped empty rows get 0, their dual)."""
    out = np.zeros(size)
    arr = np.asarray(arr, dtype=float).ravel()
    out[: arr.size] = np.nan_to_num(arr, nan=0.0)
    return out


def write_matrices(lp: LPMatrices, path: str) -> None:
    """Write matrices to an .lp or .mps file through HiGHS, with the block names."""
    import highspy

    h = new_highs()
    if h.passModel(highs_lp(lp, names=True)) == highspy.HighsStatus.kError:
        raise ValidationError(f"HiGHS rejected the LP {lp.name!r} (bad bounds or coefficients); nothing written")
    if h.writeModel(path) == highspy.HighsStatus.kError:
        raise OSError(f"HiGHS could not write {path}")
