"""Gurobi through gurobipy's matrix API (optional extra ``fairopt[gurobi]``)."""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from fairopt.solvers.result import WITH_SOLUTION, SolveResult, license_error

__all__ = ["solve_matrices"]


def solve_matrices(lp, time_limit, threads, options, verbose) -> SolveResult:
    import gurobipy as gp  # optional dependency (fairopt[gurobi])
    from gurobipy import GRB

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
        if m.SolCount > 0 and status in WITH_SOLUTION:
            values = lp.split_vars(np.asarray(x.X))
            obj = float(m.ObjVal)
            if status == "optimal":
                y = np.zeros(lp.n_rows)
                for mask, c in cons.values():
                    # A ranged row is two Gurobi rows (>= and <=); its dual is their sum, as in HiGHS.
                    y[mask] += c.Pi  # Gurobi's Pi is d objective / d rhs for a minimisation
                duals = lp.split_rows(y)
    except gp.GurobiError as exc:
        err = license_error(exc)
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
