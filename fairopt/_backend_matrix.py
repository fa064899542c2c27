"""Solve and write :class:`~fairopt.lp.LPMatrices`: highspy and gurobipy directly, others via Pyomo."""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .exceptions import SolverNotAvailableError
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


def new_highs(time_limit=None, threads=None, options=None, verbose=False):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for key, val in (options or {}).items():
        h.setOptionValue(key, val)
    return h


def _solve_highs(lp, time_limit, threads, options, verbose) -> SolveResult:
    h = new_highs(time_limit, threads, options, verbose)
    h.passModel(highs_lp(lp))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status, raw = highs_status(h)
    info = h.getInfo()
    values, duals, obj = {}, {}, None
    if info.primal_solution_status == 2 or status == "optimal":
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        values = lp.split_vars(x)
        obj = float(h.getInfo().objective_function_value)
        if sol.dual_valid:
            duals = lp.split_rows(np.asarray(sol.row_dual))
    return SolveResult(status, obj, values, duals, seconds, "highs", raw)


def _solve_gurobi(lp, time_limit, threads, options, verbose) -> SolveResult:
    import gurobipy as gp
    from gurobipy import GRB

    from .solve import _license_error

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
        x = m.addMVar(lp.n_vars, lb=lp.col_lower, ub=np.where(np.isinf(lp.col_upper), GRB.INFINITY, lp.col_upper), obj=lp.c)
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
    except gp.GurobiError as exc:
        err = _license_error(exc)
        if err is not None:
            raise err from None
        raise
    table = {GRB.OPTIMAL: "optimal", GRB.INFEASIBLE: "infeasible", GRB.UNBOUNDED: "unbounded",
             GRB.INF_OR_UNBD: "infeasible_or_unbounded", GRB.TIME_LIMIT: "time_limit",
             GRB.ITERATION_LIMIT: "iteration_limit", GRB.INTERRUPTED: "interrupted"}
    status = table.get(m.Status, "error")
    values, duals, obj = {}, {}, None
    if m.SolCount > 0:
        values = lp.split_vars(np.asarray(x.X))
        obj = float(m.ObjVal)
        if status == "optimal":
            y = np.zeros(lp.n_rows)
            for mask, c in cons.values():
                y[mask] = c.Pi  # Gurobi's Pi is d objective / d rhs for a minimisation
            duals = lp.split_rows(y)
    return SolveResult(status, obj, values, duals, seconds, "gurobi", f"gurobi status {m.Status}")


def matrices_to_pyomo(lp: LPMatrices):
    """A generic Pyomo model of the matrix LP (variables ``x[j]``, rows ``row[i]``)."""
    import pyomo.environ as pyo

    A = sp.csr_matrix(lp.A)
    m = pyo.ConcreteModel(name=lp.name)
    m.J = pyo.RangeSet(0, lp.n_vars - 1)
    m.I = pyo.RangeSet(0, lp.n_rows - 1)

    def bounds(_, j):
        lo, up = lp.col_lower[j], lp.col_upper[j]
        return (None if np.isinf(lo) else float(lo), None if np.isinf(up) else float(up))

    m.x = pyo.Var(m.J, bounds=bounds)
    indptr, indices, data = A.indptr, A.indices, A.data

    def row(mdl, i):
        body = sum(float(data[p]) * mdl.x[int(indices[p])] for p in range(indptr[i], indptr[i + 1]))
        lo, up = lp.row_lower[i], lp.row_upper[i]
        return (None if np.isinf(lo) else float(lo), body, None if np.isinf(up) else float(up))

    m.row = pyo.Constraint(m.I, rule=row)
    m.cost = pyo.Objective(expr=sum(float(lp.c[j]) * m.x[j] for j in np.flatnonzero(lp.c)) + float(lp.offset))
    return m


def solve_matrices(lp: LPMatrices, solver, time_limit, threads, options, verbose) -> SolveResult:
    if solver == "highs":
        return _solve_highs(lp, time_limit, threads, options, verbose)
    if solver == "gurobi":
        return _solve_gurobi(lp, time_limit, threads, options, verbose)
    if solver in ("glpk", "cbc"):
        from ._backend_pyomo import solve_pyomo

        m = matrices_to_pyomo(lp)
        res = solve_pyomo(m, solver, time_limit, threads, options, verbose)
        values = lp.split_vars(res.values["x"]) if "x" in res.values else {}
        duals = lp.split_rows(res.duals["row"]) if "row" in res.duals else {}
        return SolveResult(res.status, res.objective, values, duals, res.seconds, res.solver, res.raw_status)
    raise SolverNotAvailableError(f"solver {solver!r} cannot solve matrices; use 'highs', 'gurobi', 'glpk' or 'cbc'")


def write_matrices(lp: LPMatrices, path: str) -> None:
    """Write matrices to an .lp or .mps file through HiGHS, with the block names."""
    h = new_highs()
    h.passModel(highs_lp(lp, names=True))
    status = h.writeModel(path)
    import highspy

    if status == highspy.HighsStatus.kError:
        raise OSError(f"HiGHS could not write {path}")
