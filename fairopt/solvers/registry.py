"""One row per LP solver: its name, install line, probe, model kinds and option names.

Adding a solver is one :class:`SolverSpec` row passed to :func:`register` (plus a backend
module when it speaks an interface none of ``highs``, ``gurobi``, ``pyomo``, ``cvxpy`` covers).
Every other module asks this registry; none keeps a table of its own.
"""
from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, field
from typing import Callable

from fairopt.exceptions import SolverNotAvailableError
from fairopt.solvers.result import license_error

__all__ = ["SolverSpec", "SOLVERS", "register", "get_solver", "available_solvers", "gurobi_size_limit"]

KINDS = ("matrices", "pyomo", "cvxpy")


def _has_module(name: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(name) is not None


def _has_program(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


@dataclass(frozen=True)
class SolverSpec:
    """How fairopt reaches one LP solver.

    Attributes
    ----------
    name : str
        The name users pass as ``solver=``.
    description, install : str
        What it is, and the command line that installs it.
    probe : callable () -> bool
        True when the solver is installed here.
    kinds : tuple of str
        Model kinds it solves: ``"matrices"``, ``"pyomo"``, ``"cvxpy"``.
    matrices : str or None
        How :class:`~fairopt.solvers.matrices.LPMatrices` reach it: ``"highs"`` or ``"gurobi"``
        (their own matrix APIs) or ``"pyomo"`` (a generic Pyomo model).
    pyomo_name : str or None
        ``pyomo.environ.SolverFactory`` name.
    pyomo_options : dict
        Pyomo option keys for ``"time_limit"`` and ``"threads"`` (absent: not settable).
    cvxpy_name : str or None
        CVXPY's solver constant.
    cvxpy_options : dict
        CVXPY keyword names for ``"time_limit"`` and ``"threads"``.
    cvxpy_install : str
        What installs CVXPY's interface to it, when that differs from ``install``.
    external : bool
        Runs as a second process reading an LP file (counts in the memory estimate).
    integer_time_limit : bool
        Takes whole seconds only (rounded up).
    """

    name: str
    description: str
    install: str
    probe: Callable[[], bool]
    kinds: tuple = KINDS
    matrices: str | None = "pyomo"
    pyomo_name: str | None = None
    pyomo_options: dict = field(default_factory=dict)
    cvxpy_name: str | None = None
    cvxpy_options: dict = field(default_factory=dict)
    cvxpy_install: str = ""
    external: bool = False
    integer_time_limit: bool = False


SOLVERS: dict[str, SolverSpec] = {}


def register(spec: SolverSpec) -> SolverSpec:
    """Add (or replace) a solver row; returns it."""
    SOLVERS[spec.name] = spec
    return spec


register(SolverSpec(
    "highs", "HiGHS simplex/IPM (default; direct highspy path for matrices)", "pip install highspy",
    _has_module("highspy"), matrices="highs", pyomo_name="appsi_highs",
    pyomo_options={"time_limit": "time_limit", "threads": "threads"},
    cvxpy_name="HIGHS", cvxpy_options={"time_limit": "time_limit", "threads": "threads"},
))
register(SolverSpec(
    "glpk", "GNU Linear Programming Kit (glpsol)", "apt-get install glpk-utils  (or: conda install glpk)",
    _has_program("glpsol"), pyomo_name="glpk", pyomo_options={"time_limit": "tmlim"},
    cvxpy_name="GLPK", cvxpy_install="pip install cvxopt", external=True, integer_time_limit=True,
))
register(SolverSpec(
    "cbc", "COIN-OR CBC", "apt-get install coinor-cbc  (or: conda install coin-or-cbc)",
    _has_program("cbc"), pyomo_name="cbc", pyomo_options={"time_limit": "sec", "threads": "threads"},
    cvxpy_name="CBC", cvxpy_install="pip install cylp", external=True,
))
register(SolverSpec(
    "gurobi", "Gurobi (pip licence: at most 2000 variables and 2000 constraints)",
    "pip install 'fairopt[gurobi]'  (gurobipy; a full licence lifts the size limit)",
    _has_module("gurobipy"), matrices="gurobi", pyomo_name="gurobi_direct",
    pyomo_options={"time_limit": "TimeLimit", "threads": "Threads"},
    cvxpy_name="GUROBI", cvxpy_options={"time_limit": "TimeLimit", "threads": "Threads"},
))
register(SolverSpec(
    "clarabel", "Clarabel interior point (CVXPY problems only)", "pip install clarabel",
    _has_module("clarabel"), kinds=("cvxpy",), matrices=None,
    cvxpy_name="CLARABEL", cvxpy_options={"time_limit": "time_limit"},
))


def available_solvers() -> dict:
    """Map every known solver name to True/False: is it installed and usable here."""
    return {name: bool(spec.probe()) for name, spec in SOLVERS.items()}


def get_solver(solver: str, kind: str) -> SolverSpec:
    """The registry row of ``solver`` after checking it is known, installed and takes ``kind``.

    Raises
    ------
    SolverNotAvailableError
        Unknown name (lists the known and installed ones), not installed (gives the install
        line), or not able to solve this kind of model.
    """
    if not isinstance(solver, str):
        raise SolverNotAvailableError(f"solver must be a name such as 'highs'; got {solver!r}")
    name = solver.lower()
    if name not in SOLVERS:
        avail = [s for s, ok in available_solvers().items() if ok]
        raise SolverNotAvailableError(f"unknown solver {solver!r}; known solvers: {sorted(SOLVERS)}; installed here: {avail}")
    spec = SOLVERS[name]
    if not available_solvers()[name]:
        raise SolverNotAvailableError(f"solver {name!r} is not installed; install it with: {spec.install}")
    if kind not in spec.kinds:
        able = "CVXPY problems" if spec.kinds == ("cvxpy",) else ", ".join(spec.kinds)
        raise SolverNotAvailableError(
            f"solver {name!r} is available for {able} only; use 'highs' for Pyomo models and matrices"
        )
    return spec


_GUROBI_LIMIT: list = []


def gurobi_size_limit() -> int | None:
    """2000 when the installed Gurobi licence is the size-limited pip one, else None (cached).

    Probed once by optimising an empty model with 2001 variables, which a size-limited
    licence refuses with error 10010.
    """
    if not _GUROBI_LIMIT:
        limit = None
        try:
            import gurobipy as gp  # optional dependency

            with gp.Env(empty=True) as env:
                env.setParam("OutputFlag", 0)
                env.start()
                with gp.Model(env=env) as m:
                    m.addMVar(2001)
                    try:
                        m.optimize()
                    except gp.GurobiError as exc:
                        if license_error(exc) is not None:
                            limit = 2000
        except Exception:  # no gurobipy, or no licence at all: not a size limit
            limit = None
        _GUROBI_LIMIT.append(limit)
    return _GUROBI_LIMIT[0]
