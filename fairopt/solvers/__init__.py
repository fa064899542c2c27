"""The solver layer, the bottom of fairopt: nothing else imports highspy, gurobipy or OR-Tools.

* :mod:`~fairopt.solvers.result`: :class:`SolveResult` and the status names.
* :mod:`~fairopt.solvers.registry`: one :class:`SolverSpec` row per LP solver.
* :mod:`~fairopt.solvers.core`: :func:`solve` and :func:`export` over Pyomo, CVXPY and matrices.
* :mod:`~fairopt.solvers.matrices`: :class:`LPMatrices`, the sparse form of an LP.
* backends: :mod:`~fairopt.solvers.highs` (incl. ``new_highs`` for the column generations),
  :mod:`~fairopt.solvers.gurobi`, :mod:`~fairopt.solvers.pyomo`, :mod:`~fairopt.solvers.cvxpy`.
* :mod:`~fairopt.solvers.flow`: integral min-cost flow (OR-Tools, HiGHS, networkx).
* :mod:`~fairopt.solvers.resources`: memory estimates before dense models are built.
"""
from fairopt.solvers.core import export, solve
from fairopt.solvers.flow import min_cost_flow
from fairopt.solvers.matrices import LPMatrices
from fairopt.solvers.registry import SOLVERS, SolverSpec, available_solvers, register
from fairopt.solvers.result import SolveResult

__all__ = ["solve", "export", "min_cost_flow", "LPMatrices", "SOLVERS", "SolverSpec", "available_solvers",
           "register", "SolveResult"]
