"""Solve Pyomo models through ``SolverFactory`` and collect values and duals as arrays."""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from fairopt.exceptions import ValidationError
from fairopt.solvers.highs import new_highs
from fairopt.solvers.matrices import LPMatrices
from fairopt.solvers.registry import SOLVERS
from fairopt.solvers.result import WITH_SOLUTION, SolveResult, license_error


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
    from pyomo.opt import SolverStatus
    from pyomo.opt import TerminationCondition as TC

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

    spec = SOLVERS[solver]
    opt = pyo.SolverFactory(spec.pyomo_name)
    opts = dict(options or {})
    if time_limit is not None and "time_limit" in spec.pyomo_options:
        opts[spec.pyomo_options["time_limit"]] = int(np.ceil(time_limit)) if spec.integer_time_limit else float(time_limit)
    if threads is not None and "threads" in spec.pyomo_options:
        opts[spec.pyomo_options["threads"]] = int(threads)
    if solver == "highs":
        new_highs(options=options)  # unknown HiGHS option names or values: a ValidationError, not ignored
        for k, v in opts.items():
            opt.highs_options[k] = v
        opts = {}
    added_suffix = False
    if not hasattr(model, "dual"):
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        added_suffix = True
    try:
        return _run(model, opt, solver, opts, verbose, time_limit)
    finally:
        if added_suffix:
            model.del_component(model.dual)


def _max_violation(model) -> float:
    """Largest violation of a constraint or variable bound at the loaded values (inf if a body is unset)."""
    import pyomo.environ as pyo

    worst = 0.0
    for var in model.component_data_objects(pyo.Var, active=True):
        if var.value is None:  # not seen by the solver; a constraint using it is caught below
            continue
        lb, ub = var.lb, var.ub
        worst = max(worst, 0.0 if lb is None else lb - var.value, 0.0 if ub is None else var.value - ub)
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body, exception=False)
        if body is None:
            return np.inf
        lb, ub = pyo.value(con.lower), pyo.value(con.upper)
        scale = 1.0 + abs(body)
        worst = max(worst, 0.0 if lb is None else (lb - body) / scale, 0.0 if ub is None else (body - ub) / scale)
    return worst


def _run(model, opt, solver, opts, verbose, time_limit) -> SolveResult:
    import logging

    import pyomo.environ as pyo
    from pyomo.common.errors import ApplicationError

    t0 = time.perf_counter()
    opt_log = logging.getLogger("pyomo.opt")
    opt_level = opt_log.level
    if not verbose:
        opt_log.setLevel(logging.CRITICAL)  # its multi-line "Solver log" is folded into our one error below
    try:
        kwargs = dict(tee=verbose, load_solutions=False)
        if opts:
            kwargs["options"] = opts
        results = opt.solve(model, **kwargs)
    except ApplicationError as exc:
        # GLPK exits with status 1 on an unknown option ("Invalid option '--nope'").
        hint = (f"with options {opts}: an unknown option name or value is the usual cause" if opts
                else "run with verbose=True to see its log")
        raise ValidationError(f"{solver} did not exit normally ({exc}); {hint}") from None
    except Exception as exc:
        if solver == "gurobi":
            err = license_error(exc)
            if err is not None:
                raise err from None
        raise
    finally:
        seconds = time.perf_counter() - t0
        opt_log.setLevel(opt_level)
    status, raw = _status(results)
    if solver == "cbc" and status == "iteration_limit" and time_limit is not None and "maxIterations" not in opts:
        # CLP reports a time limit as "stopped on iterations or time"; with only a time limit set,
        # it was the time.
        status = "time_limit"
    values, duals, obj = {}, {}, None
    has_solution = len(getattr(results, "solution", [])) > 0
    if status in WITH_SOLUTION and (has_solution or solver == "highs"):
        pyomo_log = logging.getLogger("pyomo.core")
        level = pyomo_log.level
        pyomo_log.setLevel(logging.ERROR)  # "loading a SolverResults object with an 'aborted' status"
        try:
            model.solutions.load_from(results)
        except Exception:
            if solver != "highs":
                raise
            try:
                opt.load_vars()
            except Exception:
                if status == "optimal":
                    raise
                return SolveResult(status, None, {}, {}, seconds, solver, raw)  # no point to report
        finally:
            pyomo_log.setLevel(level)
        # A solve stopped by a limit may leave an infeasible iterate (HiGHS' simplex mid-phase 1):
        # only a point that satisfies the model is reported.
        if status != "optimal" and _max_violation(model) > 1e-6:
            return SolveResult(status, None, {}, {}, seconds, solver, raw)
        if solver == "highs" and status == "optimal":
            try:
                for c, val in opt.get_duals().items():
                    model.dual[c] = val
            except Exception:  # no dual solution from HiGHS: duals come back as NaN
                pass
        for var in model.component_objects(pyo.Var, active=True):
            values[var.local_name] = component_array(var, lambda v: np.nan if v.value is None else float(v.value))
        objs = list(model.component_objects(pyo.Objective, active=True))
        if objs:
            obj = float(pyo.value(objs[0]))
        if status == "optimal":
            for con in model.component_objects(pyo.Constraint, active=True):
                duals[con.local_name] = component_array(con, lambda c: float(model.dual.get(c, np.nan)))
    return SolveResult(status, obj, values, duals, seconds, solver, raw)


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
    """Solve matrices with a Pyomo solver through the generic model of :func:`matrices_to_pyomo`."""
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


def _full(arr, size: int) -> np.ndarray:
    """Pyomo row duals padded to ``size`` (skipped empty rows get 0, their dual)."""
    out = np.zeros(size)
    arr = np.asarray(arr, dtype=float).ravel()
    out[: arr.size] = np.nan_to_num(arr, nan=0.0)
    return out
