"""One solver interface over Pyomo models, CVXPY problems and the matrix form.

``solve(model, solver=...)`` accepts

* a Pyomo ``ConcreteModel`` (solved through ``pyomo.environ.SolverFactory``),
* a ``cvxpy.Problem`` (solved through ``problem.solve``),
* an :class:`fairopt.solvers.matrices.LPMatrices` (handed straight to highspy, or to gurobipy's matrix
  API; other solvers go through a generic Pyomo model),

and always returns a :class:`SolveResult`.

Dual sign convention (every backend): for a minimisation, every constraint is read as
``body (<=, =, >=) rhs`` with the variables in ``body``; its dual is the derivative of the
optimal objective with respect to ``rhs``. So a binding ``>=`` row has a dual >= 0, a binding
``<=`` row a dual <= 0. This is HiGHS's ``row_dual`` and Pyomo's ``dual`` suffix; CVXPY's
multipliers are converted to it.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from fairopt.exceptions import SolverStatusError, ValidationError
from fairopt.files import atomic_write
from fairopt.solvers import cvxpy as cvxpy_backend
from fairopt.solvers import gurobi as gurobi_backend
from fairopt.solvers import highs as highs_backend
from fairopt.solvers import pyomo as pyomo_backend
from fairopt.solvers.matrices import LPMatrices
from fairopt.solvers.registry import SOLVERS, available_solvers, get_solver
from fairopt.solvers.result import STATUS_HINTS, SolveResult
from fairopt.validation import check_threads, check_time_limit

__all__ = ["SolveResult", "solve", "export", "available_solvers", "SOLVERS"]

#: How matrices reach a solver, by the registry's ``SolverSpec.matrices``.
_MATRIX_PATHS = {
    "highs": lambda lp, spec, *a: highs_backend.solve_matrices(lp, *a),
    "gurobi": lambda lp, spec, *a: gurobi_backend.solve_matrices(lp, *a),
    "pyomo": lambda lp, spec, *a: pyomo_backend.solve_matrices(lp, spec.name, *a),
}


def _finish(result: SolveResult, require_optimal: bool) -> SolveResult:
    if result.optimal and (result.objective is None or not np.isfinite(result.objective)):
        # A NaN or inf cost coefficient (e.g. a NaN point in a hand-built model) comes back "optimal".
        result = SolveResult("error", result.objective, result.values, result.duals, result.seconds, result.solver,
                             f"{result.raw_status}; fairopt's check: objective {result.objective!r} is not finite")
    if require_optimal and not result.optimal:
        hint = STATUS_HINTS.get(result.status, "run with verbose=True to see the solver log")
        raise SolverStatusError(
            f"{result.solver} stopped with status {result.status!r} ({result.raw_status}): no proven optimum; {hint}",
            result,
        )
    return result


def solve(
    model: Any,
    solver: str = "highs",
    time_limit: float | None = None,
    threads: int | None = None,
    options: dict | None = None,
    verbose: bool = False,
    require_optimal: bool = False,
) -> SolveResult:
    """Solve a Pyomo model, a CVXPY problem or an :class:`~fairopt.solvers.matrices.LPMatrices`.

    Parameters
    ----------
    model : pyomo ConcreteModel, cvxpy.Problem or LPMatrices
    solver : {"highs", "glpk", "cbc", "gurobi", "clarabel"}
        ``"clarabel"`` for CVXPY problems only.
    time_limit : float, optional
        Seconds; a solve stopped by it returns status ``"time_limit"``.
    threads : int, optional
    options : dict, optional
        Passed to the solver as they are (HiGHS option names for highs, ...).
    verbose : bool
        Show the solver log.
    require_optimal : bool
        Raise :class:`~fairopt.exceptions.SolverStatusError` unless the status is optimal.

    Returns
    -------
    SolveResult
        Never reports ``"optimal"`` unless the solver proved optimality.
    """
    check_time_limit(time_limit)
    check_threads(threads)
    options = dict(options or {})
    if isinstance(model, LPMatrices):
        spec = get_solver(solver, "matrices")
        model.validate()
        res = _MATRIX_PATHS[spec.matrices](model, spec, time_limit, threads, options, verbose)
    elif _is_cvxpy(model):
        spec = get_solver(solver, "cvxpy")
        res = cvxpy_backend.solve_cvxpy(model, spec.name, time_limit, threads, options, verbose)
    elif _is_pyomo(model):
        spec = get_solver(solver, "pyomo")
        res = pyomo_backend.solve_pyomo(model, spec.name, time_limit, threads, options, verbose)
    else:
        raise ValidationError(
            f"solve() takes a Pyomo ConcreteModel, a cvxpy.Problem or an LPMatrices; got {type(model).__name__}"
        )
    return _finish(res, require_optimal)


def _is_cvxpy(model: Any) -> bool:
    mod = type(model).__module__
    return mod.startswith("cvxpy")


def _is_pyomo(model: Any) -> bool:
    mod = type(model).__module__
    return mod.startswith("pyomo")


def export(model: Any, path: str | os.PathLike, overwrite: bool = False) -> str:
    """Write a model to an ``.lp`` or ``.mps`` file, whole or not at all.

    Parameters
    ----------
    model : pyomo ConcreteModel or LPMatrices
        Pyomo models keep their component names (``phi[3,1]``, ``fair_upper[2,0]``);
        matrices get their block names (``phi(3,1)``).
    path : str or path-like
        Ends in ``.lp`` or ``.mps``.
    overwrite : bool
        An existing file is only replaced when True.

    Returns
    -------
    str
        The path written.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".lp", ".mps"):
        raise ValidationError(f"export path must end in .lp or .mps; got {path!r}")
    if isinstance(model, LPMatrices):
        write = lambda tmp: highs_backend.write_matrices(model, tmp)
    elif _is_pyomo(model):
        from pyomo.opt import (
            ProblemFormat,  # pyomo loads on first use: `import fairopt` stays fast
        )

        fmt = ProblemFormat.cpxlp if ext == ".lp" else ProblemFormat.mps

        def write(tmp):
            model.write(tmp, format=fmt, io_options={"symbolic_solver_labels": True})
            if ext == ".mps":
                _drop_min_objsense(tmp)
    elif _is_cvxpy(model):
        raise ValidationError(
            "export() writes Pyomo models and LPMatrices; for a CVXPY problem build the same LP with "
            "the model's to_matrices() (or build_pyomo()) and export that"
        )
    else:
        raise ValidationError(f"export() takes a Pyomo model or LPMatrices; got {type(model).__name__}")
    # One helper for every output: a temporary file in the target folder, renamed when whole,
    # with the user's normal file mode (fairopt.files).
    return atomic_write(path, write, overwrite=overwrite, by_name=True)


def _drop_min_objsense(path: str) -> None:
    """Remove Pyomo's ``OBJSENSE MIN`` section from an MPS file.

    OBJSENSE is an extension of MPS that GLPK (``glpsol --freemps``) and older readers refuse;
    minimisation is the MPS default, so leaving it out changes nothing. A maximisation keeps it.
    """
    with open(path) as src:
        head = [src.readline() for _ in range(12)]
    keys = [line.strip().upper() for line in head]
    if "OBJSENSE" not in keys:
        return
    i = keys.index("OBJSENSE")
    if i + 1 >= len(keys) or keys[i + 1] not in ("MIN", "MINIMIZE", "MINIMISE"):
        return
    # ``path`` is export's own temporary file: rewrite it in place.
    with open(path) as src:
        lines = [line for j, line in enumerate(src) if j not in (i, i + 1)]
    with open(path, "w") as dst:
        dst.writelines(lines)
