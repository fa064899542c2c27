"""One solver interface over Pyomo models, CVXPY problems and the matrix form.

``solve(model, solver=...)`` accepts

* a Pyomo ``ConcreteModel`` (solved through ``pyomo.environ.SolverFactory``),
* a ``cvxpy.Problem`` (solved through ``problem.solve``),
* an :class:`fairopt.lp.LPMatrices` (handed straight to highspy, or to gurobipy's matrix
  API; other solvers go through a generic Pyomo model),

and always returns a :class:`SolveResult`.

Dual sign convention (every backend): for a minimisation, every constraint is read as
``body (<=, =, >=) rhs`` with the variables in ``body``; its dual is the derivative of the
optimal objective with respect to ``rhs``. So a binding ``>=`` row has a dual >= 0, a binding
``<=`` row a dual <= 0. This is HiGHS's ``row_dual`` and Pyomo's ``dual`` suffix; CVXPY's
multipliers are converted to it.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exceptions import SolverLicenseError, SolverNotAvailableError, SolverStatusError, ValidationError
from .lp import LPMatrices

__all__ = ["SolveResult", "solve", "export", "available_solvers", "SOLVERS"]

OPTIMAL = "optimal"

# name -> (what it is, how to install it)
SOLVERS = {
    "highs": ("HiGHS simplex/IPM (default; direct highspy path for matrices)", "pip install highspy"),
    "glpk": ("GNU Linear Programming Kit (glpsol)", "apt-get install glpk-utils  (or: conda install glpk)"),
    "cbc": ("COIN-OR CBC", "apt-get install coinor-cbc  (or: conda install coin-or-cbc)"),
    "gurobi": ("Gurobi (pip licence: at most 2000 variables and 2000 constraints)", "pip install 'fairopt[gurobi]'  (gurobipy; a full licence lifts the size limit)"),
    "clarabel": ("Clarabel interior point (CVXPY problems only)", "pip install clarabel"),
}


@dataclass(frozen=True)
class SolveResult:
    """What every solve returns.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"``, ``"unbounded"``, ``"infeasible_or_unbounded"``,
        ``"time_limit"``, ``"iteration_limit"``, ``"interrupted"``, ``"inaccurate"`` (CVXPY's
        optimal_inaccurate) or ``"error"``.
    objective : float or None
        Objective of the returned point: the optimum when ``status == "optimal"``, the best
        point found under a limit, None when no feasible point is available.
    values : dict of str -> ndarray
        Primal values by variable name, shaped like the variable (Pyomo variables with
        non-integer indices come as dicts index -> value).
    duals : dict of str -> ndarray
        Constraint duals by constraint name (see the module docstring for the sign).
    seconds : float
        Wall seconds spent in the solver call (model building excluded).
    solver : str
    raw_status : str
        The solver's own status text.
    """

    status: str
    objective: float | None
    values: dict = field(default_factory=dict)
    duals: dict = field(default_factory=dict)
    seconds: float = 0.0
    solver: str = ""
    raw_status: str = ""

    @property
    def optimal(self) -> bool:
        return self.status == OPTIMAL


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def available_solvers() -> dict:
    """Map every known solver name to True/False: is it installed and usable here."""
    out = {
        "highs": _has_module("highspy"),
        "glpk": shutil.which("glpsol") is not None,
        "cbc": shutil.which("cbc") is not None,
        "gurobi": _has_module("gurobipy"),
        "clarabel": _has_module("clarabel"),
    }
    return out


def _check_solver(solver: str, kind: str) -> str:
    if not isinstance(solver, str):
        raise SolverNotAvailableError(f"solver must be a name such as 'highs'; got {solver!r}")
    name = solver.lower()
    if name not in SOLVERS:
        avail = [s for s, ok in available_solvers().items() if ok]
        raise SolverNotAvailableError(
            f"unknown solver {solver!r}; known solvers: {sorted(SOLVERS)}; installed here: {avail}"
        )
    if not available_solvers()[name]:
        raise SolverNotAvailableError(f"solver {name!r} is not installed; install it with: {SOLVERS[name][1]}")
    if name == "clarabel" and kind != "cvxpy":
        raise SolverNotAvailableError("solver 'clarabel' is available for CVXPY problems only; use 'highs' for Pyomo models and matrices")
    return name


def _license_error(exc: BaseException) -> SolverLicenseError | None:
    text = str(exc)
    low = text.lower()
    if "10010" in text or "size-limited" in low:
        return SolverLicenseError(
            "Gurobi refused the model: the pip licence is limited to 2000 variables and 2000 "
            f"constraints ({text.strip()}). Use solver='highs', a smaller instance, or install a full Gurobi licence."
        )
    if "license" in low or "licence" in low:
        return SolverLicenseError(f"Gurobi has no usable licence ({text.strip()}); use solver='highs' or set up a Gurobi licence")
    return None


_GUROBI_LIMIT: list = []


def gurobi_size_limit() -> int | None:
    """2000 when the installed Gurobi licence is the size-limited pip one, else None (cached).

    Probed once by optimising an empty model with 2001 variables, which a size-limited
    licence refuses with error 10010.
    """
    if not _GUROBI_LIMIT:
        limit = None
        try:
            import gurobipy as gp

            with gp.Env(empty=True) as env:
                env.setParam("OutputFlag", 0)
                env.start()
                with gp.Model(env=env) as m:
                    m.addMVar(2001)
                    try:
                        m.optimize()
                    except gp.GurobiError as exc:
                        if _license_error(exc) is not None:
                            limit = 2000
        except Exception:  # no gurobipy, or no licence at all: not a size limit
            limit = None
        _GUROBI_LIMIT.append(limit)
    return _GUROBI_LIMIT[0]


def _finish(result: SolveResult, require_optimal: bool) -> SolveResult:
    if require_optimal and not result.optimal:
        hint = {
            "time_limit": "raise time_limit, or use a smaller candidate set",
            "iteration_limit": "raise the iteration limit through options",
            "infeasible": "check the fairness bounds (alpha/beta) and any constraint you added",
            "unbounded": "check the objective and variable bounds of the model",
            "infeasible_or_unbounded": "check the bounds and the objective of the model",
        }.get(result.status, "run with verbose=True to see the solver log")
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
    """Solve a Pyomo model, a CVXPY problem or an :class:`~fairopt.lp.LPMatrices`.

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
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, (int, float, np.integer, np.floating)) or not time_limit > 0
    ):
        raise ValidationError(f"time_limit must be a positive number of seconds; got {time_limit!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise ValidationError(f"threads must be a positive integer; got {threads!r}")
    options = dict(options or {})
    if isinstance(model, LPMatrices):
        from . import _backend_matrix as backend

        name = _check_solver(solver, "matrices")
        model.validate()
        res = backend.solve_matrices(model, name, time_limit, threads, options, verbose)
    elif _is_cvxpy(model):
        from . import _backend_cvxpy as backend

        name = _check_solver(solver, "cvxpy")
        res = backend.solve_cvxpy(model, name, time_limit, threads, options, verbose)
    elif _is_pyomo(model):
        from . import _backend_pyomo as backend

        name = _check_solver(solver, "pyomo")
        res = backend.solve_pyomo(model, name, time_limit, threads, options, verbose)
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
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValidationError(f"the folder of {path!r} does not exist")
    # Write to a temporary file in the same folder, then rename: the file is whole or absent.
    fd, tmp = tempfile.mkstemp(suffix=ext, dir=folder, prefix=".fairopt-partial-")
    os.close(fd)
    try:
        if isinstance(model, LPMatrices):
            from ._backend_matrix import write_matrices

            write_matrices(model, tmp)
        elif _is_pyomo(model):
            from pyomo.opt import ProblemFormat

            fmt = ProblemFormat.cpxlp if ext == ".lp" else ProblemFormat.mps
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
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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
    fd, tmp = tempfile.mkstemp(suffix=".mps", dir=os.path.dirname(path), prefix=".fairopt-partial-")
    try:
        with os.fdopen(fd, "w") as dst, open(path) as src:
            for j, line in enumerate(src):
                if j not in (i, i + 1):
                    dst.write(line)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def timer() -> float:
    return time.perf_counter()
