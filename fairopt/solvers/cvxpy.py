"""Solve CVXPY problems and report values and duals in fairopt's convention."""
from __future__ import annotations

import time

import numpy as np

from fairopt.exceptions import SolverLicenseError, SolverNotAvailableError
from fairopt.solvers.highs import quiet_highs_banner
from fairopt.solvers.registry import SOLVERS, gurobi_size_limit
from fairopt.solvers.result import SolveResult, license_error


def _dual(constraint) -> np.ndarray | None:
    """CVXPY multiplier -> d objective / d rhs (constant side), see fairopt.solvers.core."""
    y = constraint.dual_value
    if y is None:
        return None
    y = np.asarray(y, dtype=float)
    lhs, rhs = constraint.args[0], constraint.args[1]
    # CVXPY stores lhs - rhs (== or <=) 0 with a multiplier y; the optimum moves by -y per unit
    # of the right-hand side and by +y per unit of a constant left-hand side.
    if lhs.is_constant() and not rhs.is_constant():
        return y
    return -y


def _max_violation(problem) -> float:
    """Largest constraint violation at the variables' current values (inf when unset)."""
    if any(v.value is None for v in problem.variables()):
        return np.inf
    worst = 0.0
    for con in problem.constraints:
        viol = con.violation()
        if viol is None:
            return np.inf
        worst = max(worst, float(np.max(np.asarray(viol), initial=0.0)))
    return worst


def _gurobi_size_error(problem):
    """A licence error when CVXPY's generic Gurobi failure is the pip licence's size limit.

    CVXPY swallows gurobipy's error 10010 and raises a bare "Solver 'GUROBI' failed"; the
    size of the problem and a probe of the licence tell whether that was the cause.
    """
    limit = gurobi_size_limit()
    if limit is None:
        return None
    sm = problem.size_metrics
    n_vars = int(sm.num_scalar_variables)
    n_rows = int(sm.num_scalar_eq_constr + sm.num_scalar_leq_constr)
    if n_vars <= limit and n_rows <= limit:
        return None
    return SolverLicenseError(
        f"Gurobi refused the model: the pip licence is limited to {limit} variables and {limit} constraints "
        f"and this problem has {n_vars} variables and {n_rows} constraint rows. Use solver='highs', a smaller "
        "instance, or install a full Gurobi licence."
    )


def solve_cvxpy(problem, solver, time_limit, threads, options, verbose) -> SolveResult:
    import cvxpy as cp

    spec = SOLVERS[solver]
    name = spec.cvxpy_name
    if name not in cp.installed_solvers():
        hint = spec.cvxpy_install or spec.install
        raise SolverNotAvailableError(
            f"CVXPY has no interface to {solver!r} installed ({hint}); CVXPY here has {cp.installed_solvers()}"
        )
    opts = dict(options or {})
    if time_limit is not None and "time_limit" in spec.cvxpy_options:
        opts[spec.cvxpy_options["time_limit"]] = float(time_limit)
    if threads is not None and "threads" in spec.cvxpy_options:
        opts[spec.cvxpy_options["threads"]] = int(threads)
    if solver == "highs" and not verbose:
        quiet_highs_banner()
    t0 = time.perf_counter()
    try:
        problem.solve(solver=name, verbose=verbose, **opts)
    except cp.error.SolverError as exc:
        err = license_error(exc) if solver == "gurobi" else None
        if err is None and solver == "gurobi":
            err = _gurobi_size_error(problem)
        if err is not None:
            raise err from None
        return SolveResult("error", None, {}, {}, time.perf_counter() - t0, solver, str(exc))
    except Exception as exc:  # gurobipy.GurobiError and friends
        err = license_error(exc) if solver == "gurobi" else None
        if err is not None:
            raise err from None
        raise
    seconds = time.perf_counter() - t0
    st = problem.status
    table = {
        cp.OPTIMAL: "optimal",
        cp.INFEASIBLE: "infeasible",
        cp.UNBOUNDED: "unbounded",
        cp.OPTIMAL_INACCURATE: "inaccurate",
        cp.INFEASIBLE_INACCURATE: "infeasible",
        cp.UNBOUNDED_INACCURATE: "unbounded",
        getattr(cp, "INFEASIBLE_OR_UNBOUNDED", "infeasible_or_unbounded"): "infeasible_or_unbounded",
        getattr(cp, "USER_LIMIT", "user_limit"): "time_limit",
    }
    status = table.get(st, "error")
    values, duals, obj = {}, {}, None
    if status == "time_limit" and _max_violation(problem) > 1e-6:
        # A solve stopped by a limit may leave an infeasible iterate (an interior point, or a
        # simplex basis in phase 1): only a point that satisfies the problem is reported.
        return SolveResult(status, None, {}, {}, seconds, solver, str(st))
    if st in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE, getattr(cp, "USER_LIMIT", "user_limit")):
        for v in problem.variables():
            if v.value is not None:
                values[v.name()] = np.asarray(v.value, dtype=float)
        obj = None if problem.value is None else float(problem.value)
        for i, con in enumerate(problem.constraints):
            d = _dual(con)
            if d is not None:
                # The constraint's CVXPY label (``con.label = "capacity"``) names its dual; an
                # unlabelled constraint is keyed by its constr_id.
                nm = getattr(con, "label", None)
                duals[str(nm if nm else con.constr_id)] = d
    return SolveResult(status, obj, values, duals, seconds, solver, str(st))
