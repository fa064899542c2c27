"""Solve Pyomo models through ``SolverFactory`` and collect values and duals as arrays."""
from __future__ import annotations

import time

import numpy as np

from .solve import SolveResult, _license_error

_FACTORY = {"highs": "appsi_highs", "glpk": "glpk", "cbc": "cbc", "gurobi": "gurobi_direct"}


def component_array(comp, getter) -> np.ndarray | dict | float:
    """Values of an indexed Pyomo component as an ndarray when its indices are integer tuples."""
    if not comp.is_indexed():
        return getter(comp)
    keys = list(comp.keys())
    if not keys:
        return np.zeros(0)
    sample = keys[0]
    tup = sample if isinstance(sample, tuple) else (sample,)
    if all(isinstance(t, (int, np.integer)) for t in tup):
        idx = np.array([k if isinstance(k, tuple) else (k,) for k in keys], dtype=np.int64)
        if idx.min() >= 0:
            out = np.full(tuple(idx.max(axis=0) + 1), np.nan)
            vals = np.array([getter(comp[k]) for k in keys], dtype=float)
            out[tuple(idx.T)] = vals
            return out
    return {k: getter(comp[k]) for k in keys}


def _status(results) -> tuple[str, str]:
    from pyomo.opt import SolverStatus, TerminationCondition as TC

    tc = results.solver.termination_condition
    table = {
        TC.optimal: "optimal",
        TC.infeasible: "infeasible",
        TC.unbounded: "unbounded",
        TC.infeasibleOrUnbounded: "infeasible_or_unbounded",
        TC.maxTimeLimit: "time_limit",
        TC.maxIterations: "iteration_limit",
        TC.userInterrupt: "interrupted",
    }
    status = table.get(tc, "error")
    if status == "optimal" and results.solver.status not in (SolverStatus.ok, SolverStatus.warning):
        status = "error"
    return status, f"{results.solver.status}/{tc}"


def solve_pyomo(model, solver, time_limit, threads, options, verbose) -> SolveResult:
    import pyomo.environ as pyo

    opt = pyo.SolverFactory(_FACTORY[solver])
    opts = dict(options or {})
    if time_limit is not None:
        key = {"highs": "time_limit", "glpk": "tmlim", "cbc": "sec", "gurobi": "TimeLimit"}[solver]
        opts[key] = int(np.ceil(time_limit)) if solver == "glpk" else float(time_limit)
    if threads is not None and solver != "glpk":
        opts[{"highs": "threads", "cbc": "threads", "gurobi": "Threads"}[solver]] = int(threads)
    if solver == "highs":
        for k, v in opts.items():
            opt.highs_options[k] = v
        opts = {}
    added_suffix = False
    if not hasattr(model, "dual"):
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        added_suffix = True
    t0 = time.perf_counter()
    try:
        kwargs = dict(tee=verbose, load_solutions=False)
        if opts:
            kwargs["options"] = opts
        results = opt.solve(model, **kwargs)
    except Exception as exc:
        if solver == "gurobi":
            err = _license_error(exc)
            if err is not None:
                raise err from None
        raise
    finally:
        seconds = time.perf_counter() - t0
    status, raw = _status(results)
    values, duals, obj = {}, {}, None
    if status in ("optimal", "time_limit") and len(getattr(results, "solution", [])) > 0 or (
        status == "optimal" and solver == "highs"
    ):
        try:
            model.solutions.load_from(results)
        except Exception:
            if solver == "highs":
                opt.load_vars()
            else:
                raise
        if solver == "highs" and status == "optimal":
            try:
                for c, val in opt.get_duals().items():
                    model.dual[c] = val
            except Exception:
                pass
        for var in model.component_objects(pyo.Var, active=True):
            values[var.local_name] = component_array(var, lambda v: np.nan if v.value is None else float(v.value))
        objs = list(model.component_objects(pyo.Objective, active=True))
        if objs:
            obj = float(pyo.value(objs[0]))
        if status == "optimal":
            for con in model.component_objects(pyo.Constraint, active=True):
                duals[con.local_name] = component_array(con, lambda c: float(model.dual.get(c, np.nan)))
    if added_suffix:
        model.del_component(model.dual)
    return SolveResult(status, obj, values, duals, seconds, solver, raw)
